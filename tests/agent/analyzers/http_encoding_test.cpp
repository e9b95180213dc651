// Bodies sent with Content-Encoding: Zeek decompresses gzip, x-gzip and
// deflate (zlib-wrapped or raw) before counting request/response_body_len
// and sniffing MIME types; other encodings are counted as sent. The
// compressed bodies here are made with zlib by the test.

#include <gtest/gtest.h>
#include <zlib.h>

#include <string>

#include "agent/analyzers/http/body_inflater.h"
#include "agent/analyzers/http/http_analyzer.h"
#include "tests/agent/analyzers/analyzer_harness.h"

namespace vigil::agent::analyzers::http {
namespace {

using vigil::testing::AnalyzerFactory;
using vigil::testing::Bytes;
using vigil::testing::CheckSegmentationInvariance;
using vigil::testing::Delivery;
using vigil::testing::RunConversation;

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kT0 = 1'700'000'000'000'000'000;

AnalyzerFactory Factory() {
  return [](AnalyzerContext& ctx) {
    FlowInfo flow;
    flow.transport = vigil::v1::TRANSPORT_TCP;
    flow.resp_port = 80;
    return std::unique_ptr<Analyzer>(
        std::make_unique<HttpAnalyzer>(HttpAnalyzer::Mode::kPort, flow, ctx));
  };
}

// window_bits: 15 + 16 gzip, 15 zlib, -15 raw deflate.
std::string Compress(const std::string& plain, int window_bits) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY),
            Z_OK);
  std::string out(deflateBound(&z, plain.size()) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(plain.data()));
  z.avail_in = static_cast<uInt>(plain.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

std::string Page() {
  std::string page = "<!DOCTYPE html><html><head><title>Portal</title></head><body>";
  for (int i = 0; i < 400; ++i) page += "<p>Row " + std::to_string(i) + " of the report</p>";
  return page + "</body></html>";
}

std::vector<Delivery> Exchange(const std::string& encoding, const std::string& body) {
  return {{Direction::kOrig, Bytes("GET /report HTTP/1.1\r\nHost: portal.example\r\n\r\n"), kT0},
          {Direction::kResp,
           Bytes("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Encoding: " + encoding +
                 "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body),
           kT0 + kMs}};
}

TEST(HttpEncoding, GzipAndDeflateBodiesCountUncompressedBytes) {
  const std::string page = Page();
  struct Case {
    const char* encoding;
    int window_bits;
  };
  for (const Case c : {Case{"gzip", 15 + 16}, Case{"x-gzip", 15 + 16}, Case{"deflate", 15},
                       Case{"deflate", -15}, Case{"GZIP, identity", 15 + 16}}) {
    SCOPED_TRACE(std::string(c.encoding) + " " + std::to_string(c.window_bits));
    const std::string body = Compress(page, c.window_bits);
    ASSERT_LT(body.size(), page.size() / 4);
    const auto conv = Exchange(c.encoding, body);
    auto r = RunConversation(Factory(), conv);
    ASSERT_EQ(r.events.size(), 1u);
    EXPECT_TRUE(r.anomalies.empty());
    EXPECT_EQ(r.events[0].http().response_body_len(), page.size());
    ASSERT_EQ(r.events[0].http().resp_mime_types_size(), 1);
    EXPECT_EQ(r.events[0].http().resp_mime_types(0), "text/html");
    EXPECT_EQ(CheckSegmentationInvariance(Factory(), conv), "");
  }
  EXPECT_EQ(BodyInflater::Live(), 0) << "every inflater freed with its message";
}

TEST(HttpEncoding, ChunkedGzipBodyCountsUncompressedBytes) {
  const std::string page = Page();
  const std::string gz = Compress(page, 15 + 16);
  std::string chunked;
  for (size_t at = 0; at < gz.size(); at += 100) {
    const std::string part = gz.substr(at, 100);
    char size[16];
    std::snprintf(size, sizeof size, "%zx", part.size());
    chunked += std::string(size) + "\r\n" + part + "\r\n";
  }
  chunked += "0\r\n\r\n";
  const std::vector<Delivery> conv = {
      {Direction::kOrig, Bytes("GET / HTTP/1.1\r\nHost: h\r\n\r\n"), kT0},
      {Direction::kResp,
       Bytes("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n\r\n" +
             chunked),
       kT0 + kMs}};
  auto r = RunConversation(Factory(), conv);
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].http().response_body_len(), page.size());
  EXPECT_EQ(CheckSegmentationInvariance(Factory(), conv), "");
}

TEST(HttpEncoding, OtherEncodingsCountAsSent) {
  const std::string body(300, 'x');
  auto r = RunConversation(Factory(), Exchange("br", body));
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].http().response_body_len(), 300u);
}

TEST(HttpEncoding, UndecodableBodyIsAnAnomalyAndCountsWhatDecompressed) {
  // Not deflate at all (neither with a header nor raw).
  auto r = RunConversation(Factory(), Exchange("gzip", std::string(64, '\xff')));
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].http().response_body_len(), 0u);
  EXPECT_EQ(r.anomalies, (std::vector<std::string>{"http_inflate_failed"}));
  // A stream cut short: what decompressed is counted, nothing more.
  const std::string page = Page();
  std::string gz = Compress(page, 15 + 16);
  gz.resize(gz.size() / 2);
  auto cut = RunConversation(Factory(), Exchange("gzip", gz));
  ASSERT_EQ(cut.events.size(), 1u);
  EXPECT_GT(cut.events[0].http().response_body_len(), 0u);
  EXPECT_LT(cut.events[0].http().response_body_len(), page.size());
  EXPECT_EQ(BodyInflater::Live(), 0);
}

TEST(HttpEncoding, InflatersAreBoundedProcessWide) {
  std::vector<std::unique_ptr<BodyInflater>> held;
  for (int i = 0; i < BodyInflater::kMaxLive; ++i) {
    held.push_back(BodyInflater::Create());
    ASSERT_NE(held.back(), nullptr);
  }
  EXPECT_EQ(BodyInflater::Create(), nullptr);
  // Past the budget a compressed body is counted as sent, with an anomaly.
  const std::string gz = Compress(Page(), 15 + 16);
  auto r = RunConversation(Factory(), Exchange("gzip", gz));
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].http().response_body_len(), gz.size());
  EXPECT_EQ(r.anomalies, (std::vector<std::string>{"http_inflate_budget_exhausted"}));
  held.clear();
  EXPECT_EQ(BodyInflater::Live(), 0);
}

}  // namespace
}  // namespace vigil::agent::analyzers::http
