#include "agent/analyzers/registry.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "agent/analyzers/anomaly_names.h"
#include "agent/analyzers/text_escape.h"
#include "tests/agent/analyzers/analyzer_harness.h"

namespace vigil::agent::analyzers {
namespace {

using vigil::testing::Bytes;
using vigil::testing::RecordingContext;

std::vector<std::string> Services(const std::vector<std::unique_ptr<Analyzer>>& analyzers) {
  std::vector<std::string> out;
  for (const auto& a : analyzers) out.emplace_back(a->Service());
  return out;
}

FlowInfo Tcp(uint16_t port) {
  FlowInfo f;
  f.transport = vigil::v1::TRANSPORT_TCP;
  f.orig_port = 50000;
  f.resp_port = port;
  return f;
}

TEST(Registry, PortsMakeCandidatesNotServices) {
  RecordingContext ctx;
  FlowInfo udp53;
  udp53.transport = vigil::v1::TRANSPORT_UDP;
  udp53.resp_port = 53;
  EXPECT_EQ(Services(CreateCandidates(udp53, ctx)), std::vector<std::string>{"dns"});
  EXPECT_EQ(Services(CreateCandidates(Tcp(53), ctx)),
            (std::vector<std::string>{"dns", "http", "ssl"}))
      << "no payload given: every protocol detectable on TCP is a candidate";
  EXPECT_EQ(Services(CreateCandidates(Tcp(443), ctx)), (std::vector<std::string>{"http", "ssl"}));
}

TEST(Registry, UnrelatedUdpGetsNothing) {
  RecordingContext ctx;
  FlowInfo f;
  f.transport = vigil::v1::TRANSPORT_UDP;
  f.orig_port = 40000;
  f.resp_port = 9999;
  EXPECT_TRUE(CreateCandidates(f, ctx).empty());
  f.transport = vigil::v1::TRANSPORT_ICMP;
  f.resp_port = 53;
  EXPECT_TRUE(CreateCandidates(f, ctx).empty());
}

TEST(Registry, FirstPayloadPrunesCandidatesOnOtherPorts) {
  RecordingContext ctx;
  const auto get = Bytes("GET / HTTP/1.1\r\n");
  const auto hello = std::vector<uint8_t>{0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00};
  const auto ssh = Bytes("SSH-2.0-OpenSSH\r\n");

  FlowInfo f = Tcp(27272);
  f.first_payload = get;
  EXPECT_EQ(Services(CreateCandidates(f, ctx)), std::vector<std::string>{"http"});
  f.first_payload = hello;
  EXPECT_EQ(Services(CreateCandidates(f, ctx)), std::vector<std::string>{"ssl"});
  f.first_payload = ssh;
  EXPECT_TRUE(CreateCandidates(f, ctx).empty()) << "no allocation for flows no analyzer wants";
  const auto status = Bytes("HTTP/1.0 200 OK\r\n");
  f.first_dir = Direction::kResp;
  f.first_payload = status;
  EXPECT_EQ(Services(CreateCandidates(f, ctx)), std::vector<std::string>{"http"});
  // A short first segment cannot rule anything out yet.
  const auto g = Bytes("G");
  f.first_dir = Direction::kOrig;
  f.first_payload = g;
  EXPECT_EQ(Services(CreateCandidates(f, ctx)), std::vector<std::string>{"http"});
}

TEST(Registry, ServiceComesFromRecognitionNotPort) {
  // SSH on port 80: the HTTP candidate gives up, the flow gets no service.
  RecordingContext ctx;
  FlowInfo f = Tcp(80);
  auto candidates = CreateCandidates(f, ctx);
  ASSERT_FALSE(candidates.empty());
  const auto ssh = Bytes("SSH-2.0-OpenSSH_9.2\r\n");
  for (auto& a : candidates) {
    EXPECT_EQ(a->OnData(Direction::kOrig, ssh, 0), Verdict::kGiveUp) << a->Service();
  }
  // HTTP on port 443: HTTP is recognised, TLS gives up.
  FlowInfo g = Tcp(443);
  auto on443 = CreateCandidates(g, ctx);
  const auto get = Bytes("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  const auto ok = Bytes("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  std::vector<std::string> recognised;
  for (auto& a : on443) {
    Verdict v = a->OnData(Direction::kOrig, get, 0);
    if (v != Verdict::kGiveUp) v = a->OnData(Direction::kResp, ok, 1);
    if (v == Verdict::kRecognized) recognised.emplace_back(a->Service());
  }
  EXPECT_EQ(recognised, std::vector<std::string>{"http"});
}

TEST(Registry, KnownServices) {
  auto known = KnownServices();
  EXPECT_EQ(std::vector<std::string_view>(known.begin(), known.end()),
            (std::vector<std::string_view>{"dns", "http", "ssl"}));
}

TEST(TextEscape, AsciiAndUtf8) {
  std::string a;
  const uint8_t raw[] = {'a', 0x00, 0x7f, 0xc3, 0xa9, '\\'};
  AppendEscapedAscii(a, raw);
  EXPECT_EQ(a, "a\\x00\\x7f\\xc3\\xa9\\");
  std::string u;
  AppendEscapedUtf8(u, raw);
  EXPECT_EQ(u, "a\\x00\\x7f\xc3\xa9\\");
  // Overlong, surrogate and truncated sequences are not UTF-8.
  EXPECT_EQ(EscapedUtf8("\xc0\xaf"), "\\xc0\\xaf");
  EXPECT_EQ(EscapedUtf8("\xed\xa0\x80"), "\\xed\\xa0\\x80");
  EXPECT_EQ(EscapedUtf8("\xe2\x82"), "\\xe2\\x82");
  EXPECT_EQ(EscapedUtf8("\xf0\x9f\x98\x80"), "\xf0\x9f\x98\x80");
}

// The registered names (metric label values) and the operators' table in
// agent/analyzers/README.md list the same anomalies.
TEST(AnomalyNames, RegisteredNamesAreExactlyTheDocumentedOnes) {
  const char* src = std::getenv("VIGIL_SOURCE_DIR");
  ASSERT_NE(src, nullptr);
  std::ifstream in(std::string(src) + "/agent/analyzers/README.md");
  ASSERT_TRUE(in.good());
  std::stringstream text;
  text << in.rdbuf();
  std::set<std::string> documented;
  const std::regex name("`((dns|http|tls)_[a-z0-9_]+)`");
  std::istringstream lines(text.str());
  bool in_section = false;
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("## ", 0) == 0) in_section = line.rfind("## Anomalies", 0) == 0;
    if (!in_section || line.rfind("| `", 0) != 0) continue;  // the anomaly table's rows
    for (std::sregex_iterator it(line.begin(), line.end(), name), end; it != end; ++it) {
      documented.insert((*it)[1].str());
    }
  }
  std::set<std::string> registered(kAnomalyNames.begin(), kAnomalyNames.end());
  EXPECT_EQ(registered.size(), kAnomalyNames.size()) << "duplicate name";
  EXPECT_EQ(documented, registered);
}

}  // namespace
}  // namespace vigil::agent::analyzers
