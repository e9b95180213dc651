#include "agent/analyzers/http/http_analyzer.h"

#include <gtest/gtest.h>

#include "agent/analyzers/registry.h"
#include "tests/agent/analyzers/analyzer_harness.h"
#include "tests/agent/analyzers/tls_builder.h"

namespace vigil::agent::analyzers::http {
namespace {

using vigil::testing::AnalyzerFactory;
using vigil::testing::Bytes;
using vigil::testing::CheckSegmentationInvariance;
using vigil::testing::Delivery;
using vigil::testing::RunConversation;

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kT0 = 1'700'000'000'000'000'000;

AnalyzerFactory Factory(HttpAnalyzer::Mode mode = HttpAnalyzer::Mode::kPort) {
  return [=](AnalyzerContext& ctx) {
    FlowInfo flow;
    flow.transport = vigil::v1::TRANSPORT_TCP;
    flow.resp_port = mode == HttpAnalyzer::Mode::kPort ? 80 : 12345;
    return std::unique_ptr<Analyzer>(std::make_unique<HttpAnalyzer>(mode, flow, ctx));
  };
}

Delivery Orig(std::string_view s, int64_t t = kT0) { return {Direction::kOrig, Bytes(s), t}; }
Delivery Resp(std::string_view s, int64_t t = kT0 + kMs) { return {Direction::kResp, Bytes(s), t}; }

TEST(HttpAnalyzer, GetWithContentLength) {
  std::vector<Delivery> conv = {
      Orig("GET /index.html?q=%41%42 HTTP/1.1\r\nHost: www.example.com:8080\r\n"
           "User-Agent: curl/8.0\r\nReferer: http://r.example/\r\nOrigin: http://o.example\r\n"
           "Accept: */*\r\n\r\n"),
      Resp("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 20\r\n\r\n"
           "<html>hello</html>\r\n"),
  };
  auto r = RunConversation(Factory(), conv);
  EXPECT_TRUE(r.recognized);
  EXPECT_TRUE(r.anomalies.empty());
  ASSERT_EQ(r.events.size(), 1u);
  const auto& h = r.events[0].http();
  EXPECT_EQ(r.events[0].ts().seconds(), kT0 / 1'000'000'000);
  EXPECT_EQ(h.trans_depth(), 1u);
  EXPECT_EQ(h.method(), "GET");
  EXPECT_EQ(h.uri(), "/index.html?q=AB") << "Zeek logs the unescaped URI";
  EXPECT_EQ(h.host(), "www.example.com:8080");
  EXPECT_EQ(h.user_agent(), "curl/8.0");
  EXPECT_EQ(h.referrer(), "http://r.example/");
  EXPECT_EQ(h.origin(), "http://o.example");
  EXPECT_EQ(h.version(), "1.1");
  EXPECT_EQ(h.status_code(), 200u);
  EXPECT_EQ(h.status_msg(), "OK");
  EXPECT_EQ(h.request_body_len(), 0u);
  EXPECT_EQ(h.response_body_len(), 20u);
  EXPECT_FALSE(h.has_info_code());
  ASSERT_EQ(h.client_header_names_size(), 5);
  EXPECT_EQ(h.client_header_names(0), "HOST");
  EXPECT_EQ(h.client_header_names(4), "ACCEPT");
  ASSERT_EQ(h.resp_mime_types_size(), 1);
  EXPECT_EQ(h.resp_mime_types(0), "text/html");
  EXPECT_EQ(CheckSegmentationInvariance(Factory(), conv), "");
}

TEST(HttpAnalyzer, ChunkedResponseAndPipelining) {
  std::vector<Delivery> conv = {
      Orig("GET /a HTTP/1.1\r\nHost: h\r\n\r\nHEAD /b HTTP/1.1\r\nHost: h\r\n\r\n"
           "POST /c HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nabcde"),
      Resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
           "5\r\nhello\r\n1a;ext=1\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-Trailer: t\r\n\r\n"
           "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"  // HEAD: no body follows
           "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok"),
  };
  auto r = RunConversation(Factory(), conv);
  EXPECT_TRUE(r.anomalies.empty());
  ASSERT_EQ(r.events.size(), 3u);
  EXPECT_EQ(r.events[0].http().trans_depth(), 1u);
  EXPECT_EQ(r.events[0].http().response_body_len(), 31u);
  EXPECT_EQ(r.events[1].http().trans_depth(), 2u);
  EXPECT_EQ(r.events[1].http().method(), "HEAD");
  EXPECT_EQ(r.events[1].http().response_body_len(), 0u);
  EXPECT_EQ(r.events[2].http().trans_depth(), 3u);
  EXPECT_EQ(r.events[2].http().uri(), "/c");
  EXPECT_EQ(r.events[2].http().request_body_len(), 5u);
  EXPECT_EQ(r.events[2].http().status_code(), 201u);
  EXPECT_EQ(r.events[2].http().response_body_len(), 2u);
  EXPECT_EQ(CheckSegmentationInvariance(Factory(), conv), "");
}

// Zeek's 100-continue baseline: info_code/info_msg from the 1xx, status from
// the final response, one entry.
TEST(HttpAnalyzer, ExpectContinue) {
  std::vector<Delivery> conv = {
      Orig("POST /up HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n"),
      Resp("HTTP/1.1 100 Continue\r\n\r\n", kT0 + kMs),
      Orig("DATA", kT0 + 2 * kMs),
      Resp("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nyes", kT0 + 3 * kMs),
  };
  auto r = RunConversation(Factory(), conv);
  ASSERT_EQ(r.events.size(), 1u);
  const auto& h = r.events[0].http();
  EXPECT_EQ(h.info_code(), 100u);
  EXPECT_EQ(h.info_msg(), "Continue");
  EXPECT_EQ(h.status_code(), 200u);
  EXPECT_EQ(h.request_body_len(), 4u);
  EXPECT_EQ(h.response_body_len(), 3u);
  EXPECT_EQ(CheckSegmentationInvariance(Factory(), conv), "");
}

TEST(HttpAnalyzer, NoBodyResponses) {
  std::vector<Delivery> conv = {
      Orig("GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n"),
      Resp("HTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\n"
           "HTTP/1.1 204 No Content\r\n\r\n"),
  };
  auto r = RunConversation(Factory(), conv);
  ASSERT_EQ(r.events.size(), 2u);
  EXPECT_EQ(r.events[0].http().status_code(), 304u);
  EXPECT_EQ(r.events[0].http().response_body_len(), 0u);
  EXPECT_EQ(r.events[1].http().status_code(), 204u);
}

TEST(HttpAnalyzer, ReadUntilCloseAndHttp10) {
  std::vector<Delivery> conv = {
      Orig("GET / HTTP/1.0\r\n\r\n"),
      Resp("HTTP/1.0 200 OK\r\nConnection: close\r\n\r\n"),
      Resp("%PDF-1.7 lots of bytes", kT0 + 2 * kMs),
      Resp(std::string(1000, 'x'), kT0 + 3 * kMs),
  };
  auto r = RunConversation(Factory(), conv);
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].http().version(), "1.0");
  EXPECT_EQ(r.events[0].http().response_body_len(), 1022u);
  ASSERT_EQ(r.events[0].http().resp_mime_types_size(), 1);
  EXPECT_EQ(r.events[0].http().resp_mime_types(0), "application/pdf");
  EXPECT_EQ(CheckSegmentationInvariance(Factory(), conv), "");
}

// Zeek's vlan-mpls baseline: HTTP/0.9 request, raw response until close,
// status 0 and "<empty>".
TEST(HttpAnalyzer, Http09) {
  std::vector<Delivery> conv = {
      Orig("GET /\r\n"),
      Resp("<html>old school</html>"),
  };
  auto r = RunConversation(Factory(), conv);
  ASSERT_EQ(r.events.size(), 1u);
  const auto& h = r.events[0].http();
  EXPECT_EQ(h.uri(), "/");
  EXPECT_EQ(h.version(), "0.9");
  EXPECT_EQ(h.status_code(), 0u);
  EXPECT_EQ(h.status_msg(), "<empty>");
  EXPECT_EQ(h.response_body_len(), 23u);
  EXPECT_FALSE(h.has_host());
}

TEST(HttpAnalyzer, BasicAuthKeepsOnlyTheUserName) {
  // "alice:s3cret" and "bob" (no colon).
  auto r = RunConversation(Factory(),
                           {Orig("GET / HTTP/1.1\r\nAuthorization: Basic YWxpY2U6czNjcmV0\r\n\r\n"
                                 "GET / HTTP/1.1\r\nProxy-Authorization: basic  Ym9i\r\n\r\n"
                                 "GET / HTTP/1.1\r\nAuthorization: Bearer abc.def\r\n\r\n"),
                            Resp("HTTP/1.1 401 No\r\nContent-Length: 0\r\n\r\n"
                                 "HTTP/1.1 401 No\r\nContent-Length: 0\r\n\r\n"
                                 "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")});
  ASSERT_EQ(r.events.size(), 3u);
  EXPECT_EQ(r.events[0].http().username(), "alice");
  EXPECT_EQ(r.events[1].http().username(), "<problem-decoding>");
  EXPECT_FALSE(r.events[2].http().has_username());
  for (const auto& e : r.events) {
    EXPECT_EQ(e.DebugString().find("s3cret"), std::string::npos);
    EXPECT_EQ(e.DebugString().find("YWxpY2U6czNjcmV0"), std::string::npos);
  }
}

TEST(HttpAnalyzer, ConnectHandsTheTunnelToTls) {
  namespace tb = vigil::testing::tls;
  const tb::Bytes hello = tb::HandshakeRecord(tb::Handshake(
      1, tb::ClientHelloBody(0x0303, {}, {0x1301, 0xc02f}, {tb::Sni("inner.example")})));
  const tb::Bytes server_hello =
      tb::HandshakeRecord(tb::Handshake(2, tb::ServerHelloBody(0x0303, {}, 0xc02f, {})));
  std::vector<Delivery> conv = {
      Orig("CONNECT inner.example:443 HTTP/1.1\r\nHost: inner.example:443\r\n\r\n"),
      Resp("HTTP/1.1 200 Connection established\r\n\r\n"),
      {Direction::kOrig, hello, kT0 + 2 * kMs},
      {Direction::kResp, server_hello, kT0 + 3 * kMs},
  };
  auto r = RunConversation(Factory(), conv);
  ASSERT_EQ(r.events.size(), 2u);
  EXPECT_EQ(r.events[0].http().method(), "CONNECT");
  EXPECT_EQ(r.events[0].http().uri(), "inner.example:443");
  EXPECT_EQ(r.events[0].http().status_code(), 200u);
  ASSERT_TRUE(r.events[1].has_tls());
  EXPECT_EQ(r.events[1].tls().server_name(), "inner.example");
  EXPECT_EQ(r.services, std::vector<std::string>{"ssl"});
  EXPECT_EQ(CheckSegmentationInvariance(Factory(), conv), "");
}

TEST(HttpAnalyzer, RefusedConnectGoesBackToHttp) {
  std::vector<Delivery> conv = {
      Orig("CONNECT x:25 HTTP/1.0\r\n\r\n"),
      Orig("GET /after HTTP/1.0\r\n\r\n", kT0 + kMs / 2),
      Resp("HTTP/1.0 403 Forbidden\r\nContent-Length: 0\r\n\r\n"
           "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n"),
  };
  auto r = RunConversation(Factory(), conv);
  ASSERT_EQ(r.events.size(), 2u);
  EXPECT_EQ(r.events[0].http().status_code(), 403u);
  EXPECT_EQ(r.events[1].http().uri(), "/after");
  EXPECT_TRUE(r.services.empty());
}

TEST(HttpAnalyzer, UpgradeStopsHttpParsing) {
  auto r = RunConversation(
      Factory(), {Orig("GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"),
                  Resp("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                       "Connection: Upgrade\r\n\r\n\x81\x05hello")});
  EXPECT_TRUE(r.gave_up) << "nothing more for HTTP to parse";
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].http().status_code(), 101u);
  EXPECT_EQ(r.events[0].http().info_code(), 101u);
  EXPECT_TRUE(r.anomalies.empty());
}

// Zeek stops parsing only when the 101 names the upgrade (Connection's first
// token "upgrade" and an Upgrade header); otherwise the 101 is an interim
// reply and HTTP goes on.
TEST(HttpAnalyzer, BareSwitchingProtocolsIsAnInterimReply) {
  auto r = RunConversation(Factory(), {Orig("GET /a HTTP/1.1\r\nHost: h\r\n\r\n"),
                                       Resp("HTTP/1.1 101 Switching Protocols\r\n"
                                            "Connection: keep-alive, Upgrade\r\n\r\n"
                                            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")});
  EXPECT_FALSE(r.gave_up);
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].http().info_code(), 101u);
  EXPECT_EQ(r.events[0].http().status_code(), 200u);
  EXPECT_EQ(r.events[0].http().response_body_len(), 2u);
}

TEST(HttpAnalyzer, UnansweredRequestsAreLoggedAtTheEnd) {
  auto r = RunConversation(Factory(), {Orig("GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n")});
  ASSERT_EQ(r.events.size(), 2u);
  EXPECT_FALSE(r.events[0].http().has_status_code());
  EXPECT_EQ(r.events[1].http().trans_depth(), 2u);
}

TEST(HttpAnalyzer, ResponseWithoutRequest) {
  auto r = RunConversation(Factory(), {Resp("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")});
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_FALSE(r.events[0].http().has_method());
  EXPECT_EQ(r.events[0].http().status_code(), 200u);
}

TEST(HttpAnalyzer, NotHttpOnAnHttpPort) {
  // A TLS ClientHello on port 80: rejected at its first byte, no line wait.
  const std::string tls("\x16\x03\x01\x00\x05hello", 10);
  auto r = RunConversation(Factory(), {Orig(tls)});
  EXPECT_FALSE(r.recognized);
  EXPECT_TRUE(r.gave_up);
  EXPECT_TRUE(r.events.empty());
  EXPECT_TRUE(r.anomalies.empty());
  // A banner-first protocol (SMTP) on an HTTP port.
  auto smtp = RunConversation(Factory(), {Resp("220 mail.example ESMTP\r\n")});
  EXPECT_TRUE(smtp.gave_up);
  EXPECT_TRUE(smtp.events.empty());
  // A long line without a newline is not waited for forever.
  auto blob = RunConversation(Factory(), {Orig(std::string(20000, 'A'))});
  EXPECT_TRUE(blob.gave_up);
  EXPECT_TRUE(blob.anomalies.empty());
}

TEST(HttpAnalyzer, DetectionNeedsAnHttpResponse) {
  std::vector<Delivery> plain = {Orig("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
                                 Resp("220 smtp.example ESMTP ready\r\n")};
  auto r = RunConversation(Factory(HttpAnalyzer::Mode::kDetect), plain);
  EXPECT_FALSE(r.recognized);
  EXPECT_TRUE(r.events.empty());

  std::vector<Delivery> http = {Orig("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
                                Resp("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")};
  auto ok = RunConversation(Factory(HttpAnalyzer::Mode::kDetect), http);
  EXPECT_TRUE(ok.recognized);
  EXPECT_EQ(ok.events.size(), 1u);
}

TEST(HttpAnalyzer, HeaderLimits) {
  std::string many = "GET / HTTP/1.1\r\n";
  for (size_t i = 0; i < HttpAnalyzer::kMaxHeaders + 10; ++i) many += "X-A: b\r\n";
  many += "Host: late\r\n\r\n";
  auto r = RunConversation(Factory(), {Orig(many)});
  EXPECT_EQ(r.anomalies, std::vector<std::string>{"http_too_many_headers"});
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_FALSE(r.events[0].http().has_host()) << "fields beyond the limit are ignored";
  EXPECT_EQ(r.events[0].http().client_header_names_size(),
            static_cast<int>(HttpAnalyzer::kMaxHeaders));

  std::string huge =
      "GET / HTTP/1.1\r\nX-Big: " + std::string(HttpAnalyzer::kMaxHeaderSection, 'a');
  auto big = RunConversation(Factory(), {Orig(huge)});
  EXPECT_EQ(big.anomalies, std::vector<std::string>{"http_header_too_long"});
  ASSERT_EQ(big.events.size(), 1u) << "the request line was still logged";
  EXPECT_EQ(big.events[0].http().method(), "GET");
}

TEST(HttpAnalyzer, GapInsideABodyIsCounted) {
  vigil::testing::RecordingContext ctx;
  FlowInfo flow;
  flow.transport = vigil::v1::TRANSPORT_TCP;
  flow.resp_port = 80;
  HttpAnalyzer a(HttpAnalyzer::Mode::kPort, flow, ctx);
  EXPECT_EQ(a.OnData(Direction::kOrig, Bytes("GET / HTTP/1.1\r\n\r\n"), kT0), Verdict::kRecognized);
  a.OnData(Direction::kResp, Bytes("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789"),
           kT0 + kMs);
  a.OnGap(Direction::kResp, 80);
  a.OnData(Direction::kResp, Bytes("0123456789"), kT0 + 2 * kMs);
  a.OnData(Direction::kOrig, Bytes("GET /next HTTP/1.1\r\n\r\n"), kT0 + 3 * kMs);
  a.OnGap(Direction::kOrig, 10);  // inside a request line: parsing stops
  a.OnFlowEnd(kT0 + 4 * kMs);
  ASSERT_EQ(ctx.events.size(), 2u);
  EXPECT_EQ(ctx.events[0].http().response_body_len(), 100u);
  EXPECT_EQ(ctx.events[1].http().uri(), "/next");
  EXPECT_EQ(ctx.anomalies, (std::vector<std::string>{"http_content_gap", "http_content_gap"}));
}

TEST(HttpAnalyzer, BadStatusLineAfterRecognition) {
  auto r = RunConversation(Factory(), {Orig("GET / HTTP/1.1\r\n\r\n"), Resp("garbage line\r\n")});
  EXPECT_EQ(r.anomalies, std::vector<std::string>{"http_bad_status_line"});
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_FALSE(r.events[0].http().has_status_code());
}

TEST(HttpAnalyzer, ZeekUriQuirks) {
  // The http-connect baseline: the URI runs up to the space before "HTTP/".
  auto r =
      RunConversation(Factory(), {Orig("CONNECT mailin03.sul.t-online.de:25 / HTTP/1.0\r\n\r\n")});
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].http().uri(), "mailin03.sul.t-online.de:25 /");
  EXPECT_EQ(r.events[0].http().request_body_len(), 0u);
  auto esc = RunConversation(Factory(), {Orig("GET /a%%41%u0042%zz%4 HTTP/1.1\r\n\r\n")});
  ASSERT_EQ(esc.events.size(), 1u);
  EXPECT_EQ(esc.events[0].http().uri(), "/aAB%zz%4");
}

// Zeek's atoi_n: the leading digits of Content-Length count ("5x" is 5);
// a value without any is 0. Either is an anomaly.
TEST(HttpAnalyzer, ContentLengthUsesLeadingDigitsAsZeekDoes) {
  auto r = RunConversation(Factory(),
                           {Orig("POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 5x\r\n\r\nabcde"
                                 "GET /b HTTP/1.1\r\nHost: h\r\nContent-Length: abc\r\n\r\n"
                                 "GET /c HTTP/1.1\r\nHost: h\r\n\r\n"),
                            Resp("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
                                 "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
                                 "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")});
  ASSERT_EQ(r.events.size(), 3u);
  EXPECT_EQ(r.events[0].http().request_body_len(), 5u);
  EXPECT_EQ(r.events[1].http().uri(), "/b");
  EXPECT_EQ(r.events[1].http().request_body_len(), 0u);
  EXPECT_EQ(r.events[2].http().uri(), "/c");
  EXPECT_EQ(r.anomalies,
            (std::vector<std::string>{"http_bad_content_length", "http_bad_content_length"}));
}

TEST(HttpText, NonUtf8IsEscaped) {
  auto r = RunConversation(Factory(),
                           {Orig("GET /caf\xc3\xa9\xff HTTP/1.1\r\nUser-Agent: a\x01z\r\n\r\n")});
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].http().uri(), "/caf\xc3\xa9\\xff");
  EXPECT_EQ(r.events[0].http().user_agent(), "a\\x01z");
}

TEST(HttpText, SniffMimeTypes) {
  auto sniff = [](std::string_view s) {
    return std::string(SniffMimeType({reinterpret_cast<const uint8_t*>(s.data()), s.size()}));
  };
  EXPECT_EQ(sniff("\x89PNG\r\n\x1a\nrest"), "image/png");
  EXPECT_EQ(sniff("  \n<!DOCTYPE html><html>"), "text/html");
  EXPECT_EQ(sniff("<?xml version=\"1.0\"?>"), "application/xml");
  EXPECT_EQ(sniff("{ \"a\": 1}"), "text/json");
  EXPECT_EQ(sniff("{key:1}"), "text/json");
  EXPECT_EQ(sniff("{ \"unterminated"), "text/plain");
  EXPECT_EQ(sniff("MZ\x90"), "application/x-dosexec");
  EXPECT_EQ(sniff("plain words"), "text/plain") << "Zeek's lowest-priority plain text rule";
  EXPECT_EQ(sniff("short"), "") << "fewer than ten characters";
  EXPECT_EQ(sniff(std::string("\x00\x01binary data", 13)), "");
}

}  // namespace
}  // namespace vigil::agent::analyzers::http
