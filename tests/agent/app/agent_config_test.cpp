// The agent configuration: the shipped example loads, every key of the
// schema maps to its struct, and every mistake is reported with
// file:line:column, all at once.

#include "agent/app/agent_config.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace vigil::agent::app {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

std::string SourceDir() {
  const char* env = std::getenv("VIGIL_SOURCE_DIR");
  return env != nullptr && *env != '\0' ? env : VIGIL_SOURCE_DIR_DEFAULT;
}

std::vector<Diagnostic> Errors(const std::string& yaml) {
  auto r = ParseAgentConfig(yaml, "/etc/vigil/agent.yaml");
  return r ? std::vector<Diagnostic>{} : r.error();
}

TEST(AgentConfig, ShippedExampleLoads) {
  LoadOptions o;
  o.check_files = false;  // the example names files of a production host
  auto cfg = LoadAgentConfig(SourceDir() + "/agent/agent.example.yaml", o);
  ASSERT_TRUE(cfg.has_value()) << (cfg ? "" : cfg.error().front().ToString());
  ASSERT_EQ(cfg->interfaces.size(), 1u);
  EXPECT_EQ(cfg->interfaces[0].name, "eth0");
  EXPECT_EQ(cfg->interfaces[0].buffer_size, 64ull << 20);
  EXPECT_EQ(cfg->flow.max_flows, 500000u);
  EXPECT_EQ(cfg->flow.timeouts.active, milliseconds(30 * 60 * 1000));
  ASSERT_TRUE(cfg->collector.has_value());
  EXPECT_EQ(cfg->collector->addresses.front(), "collector.province.gov:7443");
  EXPECT_EQ(cfg->collector->batch_max_delay, milliseconds(1000));
  EXPECT_EQ(cfg->spool.max_size, 1ull << 30);
  EXPECT_EQ(cfg->log.level, LogLevel::kInfo);
}

TEST(AgentConfig, EveryKeyMapsToItsField) {
  const std::string yaml = R"(capture:
  interfaces:
    - name: eth1
      bpf_filter: "tcp port 443"
      snaplen: 1500
      buffer_size: 512KiB
      promiscuous: false
flow:
  max_flows: 1000
  include_vlan_in_key: true
  timeouts: {tcp_idle: 2h, tcp_handshake: 500ms, tcp_closed: 1s, udp_idle: 30s, icmp_idle: 10s, other_idle: 5m, active: 0s}
analyzers: {dns: false, tls: true, http: false}
collector:
  addresses: ["a:1", "b:2"]
  server_name: collector.example
  insecure_plaintext: true
  batch_max_events: 10
  batch_max_delay: 250ms
  heartbeat_interval: 2s
  reconnect_initial_backoff: 1s
  reconnect_max_backoff: 1m
  queue_max_records: 99
spool: {directory: spool, max_size: 2GiB, overflow: drop_newest}
metrics: {listen: "127.0.0.1:9101"}
log: {level: debug}
)";
  auto cfg = ParseAgentConfig(yaml, "/etc/vigil/agent.yaml");
  ASSERT_TRUE(cfg.has_value()) << cfg.error().front().ToString();
  const InterfaceConfig& i = cfg->interfaces.at(0);
  EXPECT_EQ(i.bpf_filter, "tcp port 443");
  EXPECT_EQ(i.snaplen, 1500u);
  EXPECT_EQ(i.buffer_size, 512u * 1024);
  EXPECT_FALSE(i.promiscuous);
  EXPECT_EQ(cfg->flow.max_flows, 1000u);
  EXPECT_TRUE(cfg->flow.include_vlan_in_key);  // the default is false, as Zeek
  EXPECT_EQ(cfg->flow.timeouts.tcp_idle, milliseconds(2 * 3600 * 1000));
  EXPECT_EQ(cfg->flow.timeouts.tcp_handshake, milliseconds(500));
  EXPECT_EQ(cfg->flow.timeouts.other_idle, milliseconds(300000));
  EXPECT_EQ(cfg->flow.timeouts.active, milliseconds(0));
  EXPECT_FALSE(cfg->analyzers.dns);
  EXPECT_TRUE(cfg->analyzers.tls);
  EXPECT_FALSE(cfg->analyzers.http);
  EXPECT_EQ(cfg->collector->addresses.size(), 2u);
  EXPECT_EQ(cfg->collector->server_name, "collector.example");
  EXPECT_TRUE(cfg->collector->insecure_plaintext);
  EXPECT_EQ(cfg->collector->batch_max_events, 10u);
  EXPECT_EQ(cfg->collector->heartbeat_interval, milliseconds(2000));
  EXPECT_EQ(cfg->collector->reconnect_max_backoff, milliseconds(60000));
  EXPECT_EQ(cfg->collector->queue_max_records, 99u);
  EXPECT_EQ(cfg->spool.directory, "/etc/vigil/spool");  // relative to the config file
  EXPECT_EQ(cfg->spool.max_size, 2ull << 30);
  EXPECT_EQ(cfg->spool.overflow, SpoolOverflowPolicy::kDropNewest);
  EXPECT_EQ(cfg->metrics.listen, "127.0.0.1:9101");
  EXPECT_EQ(cfg->log.level, LogLevel::kDebug);
}

TEST(AgentConfig, AllErrorsAtOnceWithPositions) {
  const std::string yaml = R"(capture:
  interfaces:
    - name: eth0
      snaplen: lots
flow:
  max_flow: 10
  timeouts:
    tcp_idle: 5 minutes
log:
  level: verbose
spool:
  overflow: drop_random
)";
  const auto errors = Errors(yaml);
  ASSERT_EQ(errors.size(), 5u);
  EXPECT_EQ(errors[0].ToString(),
            "/etc/vigil/agent.yaml:4:16: error: expected a non-negative integer, got 'lots'");
  EXPECT_EQ(errors[1].line, 6);
  EXPECT_EQ(errors[1].column, 3);
  EXPECT_NE(errors[1].message.find("unknown key 'max_flow'"), std::string::npos);
  EXPECT_EQ(errors[2].line, 8);
  EXPECT_NE(errors[2].message.find("duration"), std::string::npos);
  EXPECT_EQ(errors[3].line, 10);
  EXPECT_EQ(errors[4].line, 12);
}

TEST(AgentConfig, RangesTypesAndRequiredKeys) {
  EXPECT_EQ(Errors("flow: {max_flows: 0}\n").size(), 1u);
  EXPECT_EQ(Errors("capture: {interfaces: [{snaplen: 100}]}\n").front().message,
            "capture.interfaces[]: 'name' is required");
  EXPECT_EQ(Errors("analyzers: {dns: yes}\n").size(), 1u);
  EXPECT_EQ(Errors("capture: [1, 2]\n").front().message, "capture must be a mapping");
  EXPECT_EQ(Errors("collector: {insecure_plaintext: true}\n").front().message,
            "collector.addresses must list at least one host:port");
  const auto missing_tls = Errors("collector: {addresses: [\"c:7443\"]}\n");
  EXPECT_EQ(missing_tls.size(), 3u);  // ca, cert and key
  const auto no_such = Errors(
      "collector:\n  addresses: [\"c:7443\"]\n  tls: {ca: /nonexistent/ca.crt, "
      "cert: /nonexistent/a.crt, key: /nonexistent/a.key}\n");
  ASSERT_EQ(no_such.size(), 3u);
  EXPECT_EQ(no_such[0].line, 3);
  EXPECT_NE(no_such[0].message.find("no such file: /nonexistent/ca.crt"), std::string::npos);
  EXPECT_EQ(Errors("collector: {addresses: [nocolon], insecure_plaintext: true}\n").size(), 1u);
  EXPECT_EQ(Errors("flow: {max_flows: 1, max_flows: 2}\n").front().message,
            "duplicate key 'max_flows' in flow");
}

TEST(AgentConfig, SyntaxErrorIsOneDiagnosticWithPosition) {
  const auto errors = Errors("flow:\n  max_flows: [1, 2\nlog: x\n");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_GT(errors[0].line, 0);
  EXPECT_EQ(Errors("").front().message, "the file is empty");
}

TEST(AgentConfig, DurationAndSizeSyntax) {
  milliseconds d{};
  EXPECT_TRUE(ParseDuration("500ms", d));
  EXPECT_EQ(d, milliseconds(500));
  EXPECT_TRUE(ParseDuration("7d", d));
  EXPECT_EQ(d, milliseconds(7LL * 86400 * 1000));
  EXPECT_FALSE(ParseDuration("5", d));
  EXPECT_FALSE(ParseDuration("m", d));
  EXPECT_FALSE(ParseDuration("-1s", d));
  uint64_t s = 0;
  EXPECT_TRUE(ParseSize("64MiB", s));
  EXPECT_EQ(s, 64ull << 20);
  EXPECT_TRUE(ParseSize("1000", s));
  EXPECT_EQ(s, 1000u);
  EXPECT_FALSE(ParseSize("1GB", s));
  EXPECT_FALSE(ParseSize("99999999999999999999KiB", s));
}

TEST(AgentConfig, MissingFile) {
  auto r = LoadAgentConfig("/nonexistent/agent.yaml");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().front().ToString(),
            "/nonexistent/agent.yaml: error: cannot open the configuration file");
}

}  // namespace
}  // namespace vigil::agent::app

namespace vigil::agent::app {
namespace {

// Found by fuzzing: a section given as a scalar made the cross-field checks
// index into it and yaml-cpp threw out of the parser.
TEST(AgentConfig, SectionGivenAsAScalarIsAnErrorNotACrash) {
  for (const char* text : {"collector: aUUUUeways}\n", "metrics: 5\n", "collector: [a, b]\n"}) {
    auto r = ParseAgentConfig(text, "/etc/vigil/agent.yaml");
    ASSERT_FALSE(r.has_value()) << text;
    EXPECT_EQ(r.error().front().line, 1) << text;
  }
}

}  // namespace
}  // namespace vigil::agent::app
