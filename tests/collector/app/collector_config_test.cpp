#include "collector/app/collector_config.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

namespace vigil::collector::app {
namespace {

constexpr const char* kMinimal = R"(listen: 127.0.0.1:7443
tls: {ca: ca.crt, cert: c.crt, key: c.key}
rules: {directories: [rules]}
incidents: {database: /tmp/x.db}
)";

TEST(CollectorConfig, ExampleFileInRepositoryLoads) {
  const char* src = std::getenv("VIGIL_SOURCE_DIR");
  ASSERT_NE(src, nullptr);
  auto c = LoadCollectorConfig(std::string(src) + "/collector/collector.example.yaml");
  ASSERT_TRUE(c.has_value()) << (c ? "" : c.error().front().ToString());
  EXPECT_EQ(c->listen, "0.0.0.0:7443");
  ASSERT_EQ(c->agents.size(), 4u);
  EXPECT_EQ(c->agents[0].identity, "agent-finance-hq");
  EXPECT_EQ(c->agents[0].agency, "Department of Finance");
  EXPECT_EQ(c->rules.lists.at("bad_domains"), "/usr/share/vigil/rules/lists/bad_domains.txt");
  EXPECT_EQ(c->incidents.group_window, std::chrono::hours(1));
  EXPECT_EQ(c->incidents.retention, std::chrono::hours(24 * 365));
}

TEST(CollectorConfig, RelativePathsResolveAgainstConfigFolder) {
  auto c = ParseCollectorConfig(kMinimal, "c.yaml", "/etc/vigil");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->tls.ca, "/etc/vigil/ca.crt");
  EXPECT_EQ(c->rules.directories.at(0), "/etc/vigil/rules");
  EXPECT_EQ(c->incidents.database, "/tmp/x.db");
}

TEST(CollectorConfig, ReportsEveryErrorWithLineAndColumn) {
  const std::string text = std::string(kMinimal) +
                           "heartbeat_silence_after: soon\n"  // line 5
                           "metrics: {top_talkers: 500}\n"    // line 6
                           "lsten: 1.2.3.4:1\n";              // line 7
  auto c = ParseCollectorConfig(text, "c.yaml", "");
  ASSERT_FALSE(c.has_value());
  const auto& d = c.error();
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(d[0].ToString().substr(0, 12), "c.yaml:5:26:");
  EXPECT_NE(d[0].message.find("duration"), std::string::npos);
  EXPECT_EQ(d[1].line, 6);
  EXPECT_NE(d[1].message.find("out of range"), std::string::npos);
  EXPECT_EQ(d[2].line, 7);
  EXPECT_EQ(d[2].column, 1);
  EXPECT_NE(d[2].message.find("unknown key 'lsten'"), std::string::npos);
}

TEST(CollectorConfig, SyntaxErrorIsOneDiagnosticAtParserPosition) {
  auto c = ParseCollectorConfig("listen: [1, 2\nother: x\n", "c.yaml", "");
  ASSERT_FALSE(c.has_value());
  ASSERT_EQ(c.error().size(), 1u);
  // yaml-cpp reports where it gave up: the line after the unclosed bracket.
  EXPECT_EQ(c.error()[0].line, 2);
}

TEST(CollectorConfig, MutualTlsIsRequiredUnlessPlaintextIsExplicit) {
  auto c =
      ParseCollectorConfig("rules: {directories: [r]}\nincidents: {database: d}\n", "c.yaml", "");
  ASSERT_FALSE(c.has_value());
  EXPECT_NE(c.error()[0].message.find("mutual TLS"), std::string::npos);
  auto p = ParseCollectorConfig(
      "insecure_plaintext: true\nrules: {directories: [r]}\nincidents: {database: d}\n", "c.yaml",
      "");
  EXPECT_TRUE(p.has_value());
}

TEST(CollectorConfig, DuplicateAgentIdentityIsAnError) {
  auto c = ParseCollectorConfig(std::string(kMinimal) +
                                    "agents:\n  - {identity: a, agency: X}\n"
                                    "  - {identity: a, agency: Y}\n",
                                "c.yaml", "");
  ASSERT_FALSE(c.has_value());
  EXPECT_NE(c.error()[0].message.find("listed twice"), std::string::npos);
}

std::string WithForward(const std::string& address) {
  return "listen: 127.0.0.1:7443\n"
         "tls: {ca: ca.crt, cert: c.crt, key: c.key}\n"
         "rules: {directories: [rules]}\n"
         "incidents:\n"
         "  database: /tmp/x.db\n"
         "  forward: {address: '" +
         address + "', ca: ca.crt}\n";
}

TEST(CollectorConfig, ForwardAddressIsParsedHostAndPort) {
  auto c = ParseCollectorConfig(WithForward("siem.gov.example:6514"), "c.yaml", "");
  ASSERT_TRUE(c.has_value()) << c.error().front().ToString();
  EXPECT_EQ(c->incidents.forward.host, "siem.gov.example");
  EXPECT_EQ(c->incidents.forward.port, 6514);
  auto v6 = ParseCollectorConfig(WithForward("[2001:db8::5]:514"), "c.yaml", "");
  ASSERT_TRUE(v6.has_value()) << v6.error().front().ToString();
  EXPECT_EQ(v6->incidents.forward.host, "2001:db8::5");
  EXPECT_EQ(v6->incidents.forward.port, 514);
}

// These used to reach std::stoul at start-up (an uncaught exception for a
// non-numeric port, silent truncation above 65535, brackets kept for IPv6).
TEST(CollectorConfig, MalformedForwardAddressIsAConfigErrorAtItsPosition) {
  for (const char* bad : {"siem:tls", "siem", "siem:70000", "siem:0", ":514", "2001:db8::5:514",
                          "[2001:db8::5]514", "[2001:db8::5]:", "siem:+514"}) {
    auto c = ParseCollectorConfig(WithForward(bad), "c.yaml", "");
    ASSERT_FALSE(c.has_value()) << bad;
    ASSERT_EQ(c.error().size(), 1u) << bad;
    EXPECT_EQ(c.error()[0].line, 6) << bad;
    EXPECT_EQ(c.error()[0].column, 22) << bad;
    EXPECT_NE(c.error()[0].message.find("host:port"), std::string::npos) << bad;
  }
}

TEST(ConfigValues, DurationsAndSizes) {
  std::chrono::milliseconds d{};
  EXPECT_TRUE(ParseDuration("500ms", d));
  EXPECT_EQ(d.count(), 500);
  EXPECT_TRUE(ParseDuration("2h", d));
  EXPECT_EQ(d.count(), 7'200'000);
  EXPECT_FALSE(ParseDuration("2", d));
  EXPECT_FALSE(ParseDuration("h", d));
  EXPECT_FALSE(ParseDuration("99999999999999999999d", d));
  uint64_t s = 0;
  EXPECT_TRUE(ParseSize("64MiB", s));
  EXPECT_EQ(s, 64ull << 20);
  EXPECT_TRUE(ParseSize("1000", s));
  EXPECT_EQ(s, 1000u);
  EXPECT_FALSE(ParseSize("1 GB", s));
}

}  // namespace
}  // namespace vigil::collector::app
