// The foundation's end-to-end path with real processes: vigil-collector and
// vigil-agent on 127.0.0.1 with ephemeral ports and mutual TLS (a CA and
// certificates made for the test), the agent replaying a generated capture.
// Asserts that the collector received exactly the records the agent
// produced (per log type, from its /metrics), raised the alerts the
// generator's ground truth predicts (from the incident log, exported with
// vigilctl), acknowledged everything, and that the incident log verifies
// against the collector's public key after a clean stop.

#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "tests/support/subprocess.h"
#include "transport/certificate_authority.h"

namespace vigil::testing {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

std::string Env(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : fallback;
}
std::string Bin(const std::string& name) { return Env("VIGIL_BINARY_DIR", ".") + "/bin/" + name; }
std::string Source(const std::string& rel) { return Env("VIGIL_SOURCE_DIR", ".") + "/" + rel; }

std::vector<Json> JsonLines(const std::string& text) {
  std::vector<Json> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) out.push_back(Json::parse(line));
  }
  return out;
}

// Sum of a counter's samples whose labels include every given label.
double MetricSum(const std::string& scrape, const std::string& name,
                 const std::map<std::string, std::string>& labels) {
  double sum = 0;
  std::istringstream in(scrape);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(name + "{", 0) != 0 && line.rfind(name + " ", 0) != 0) continue;
    bool all = true;
    for (const auto& [k, v] : labels) {
      if (line.find(k + "=\"" + v + "\"") == std::string::npos) all = false;
    }
    if (all) sum += std::stod(line.substr(line.rfind(' ') + 1));
  }
  return sum;
}

// Rule ids of the shipped pack that the demo's attacks must trigger.
const std::map<std::string, std::string> kAttackRule = {
    {"bad_domain_lookup", "c6d2dd6f-7266-482d-bf60-e41cab5a7073"},
    {"telnet_session", "7ebc2901-259c-4177-ab4e-9522e9a50c86"},
    {"port_scan", "226ccec9-48b8-458a-aa42-b4fd81e0a13f"},
    {"ssh_bruteforce", "97c407e6-658d-480e-985b-af391958af32"},
    {"c2_session", "5b0f3c1e-8d8a-4c39-9a0e-6f1f4f2c7d21"},
};

class CollectorEndToEnd : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("vigil-e2e");
    ASSERT_FALSE(dir_.empty());
    auto ca = transport::CertificateAuthority::Init(dir_ + "/pki", {});
    ASSERT_TRUE(ca.has_value()) << ca.error().message;
    transport::IssueRequest collector;
    collector.name = "collector";
    collector.kind = transport::CertificateKind::kCollector;
    collector.sans = {"IP:127.0.0.1", "DNS:localhost"};
    collector.out_dir = dir_ + "/pki";
    ASSERT_TRUE(ca->Issue(collector).has_value());
    transport::IssueRequest agent;
    agent.name = kAgent;
    agent.out_dir = dir_ + "/pki";
    ASSERT_TRUE(ca->Issue(agent).has_value());
  }
  void TearDown() override {
    if (!HasFailure()) fs::remove_all(dir_);
  }

  // The shipped rules and lists, mutual TLS with the CRL, this test's agent
  // mapped to its agency; ephemeral ports announced in the ready file.
  void StartCollector(Subprocess& collector) {
    std::ofstream c(dir_ + "/collector.yaml");
    c << "listen: 127.0.0.1:0\n"
         "tls: {ca: pki/ca.crt, cert: pki/collector.crt, key: pki/collector.key, crl: pki/ca.crl}\n"
         "agents:\n  - {identity: "
      << kAgent << ", agency: " << kAgency
      << ", site: Test}\n"
         "rules:\n  directories: ["
      << Source("rules")
      << "]\n  lists:\n    bad_domains: " << Source("rules/lists/bad_domains.txt")
      << "\n    bad_addresses: " << Source("rules/lists/bad_addresses.txt")
      << "\n  watch: false\n"
         "incidents: {database: incidents.db, signing_key: checkpoint.key}\n"
         "metrics: {listen: 127.0.0.1:0}\n";
    c.close();
    ASSERT_TRUE(collector.Start({Bin("vigil-collector"), "--config", dir_ + "/collector.yaml",
                                 "--ready-file", dir_ + "/ready"},
                                "", dir_ + "/collector.log"));
    ASSERT_TRUE(WaitUntil([&] { return fs::exists(dir_ + "/ready"); }, std::chrono::seconds(30)))
        << ReadFile(dir_ + "/collector.log");
  }

  static constexpr const char* kAgent = "agent-e2e-district";
  static constexpr const char* kAgency = "District E2E";
  std::string dir_;
};

TEST_F(CollectorEndToEnd, DemoCaptureOverMutualTlsGivesExactlyTheRecordsAndPredictedAlerts) {
  // The capture and what the agent makes of it offline.
  const std::string pcap = dir_ + "/demo.pcap", truth_path = dir_ + "/truth.jsonl";
  std::string out;
  ASSERT_EQ(RunCapture({Bin("vigil-capgen"), "--scenario", "demo", "--seed", "42", "--pcap", pcap,
                        "--truth", truth_path},
                       out),
            0);
  ASSERT_EQ(RunCapture({Bin("vigil-agent"), "--read", pcap, "--output", "json"}, out), 0);
  std::map<std::string, int> offline;
  for (const auto& r : JsonLines(out)) ++offline[r.at("_path").get<std::string>()];
  ASSERT_GT(offline["conn"], 0);

  // The collector.
  Subprocess collector;
  ASSERT_NO_FATAL_FAILURE(StartCollector(collector));
  const Json ready = Json::parse(ReadFile(dir_ + "/ready"));
  const std::string ingest = ready.at("ingest"), metrics = ready.at("metrics");

  // The agent streams the same capture over mutual TLS and exits once
  // everything is acknowledged.
  {
    std::ofstream a(dir_ + "/agent.yaml");
    a << "collector:\n  addresses: [\"" << ingest << "\"]\n  tls: {ca: pki/ca.crt, cert: pki/"
      << kAgent << ".crt, key: pki/" << kAgent
      << ".key}\n  batch_max_delay: 200ms\nspool: {directory: spool}\n";
  }
  Subprocess agent;
  ASSERT_TRUE(agent.Start({Bin("vigil-agent"), "--config", dir_ + "/agent.yaml", "--read", pcap},
                          "", dir_ + "/agent.log"));
  auto agent_status = agent.Wait(std::chrono::seconds(120));
  ASSERT_TRUE(agent_status.has_value()) << "agent did not finish";
  ASSERT_EQ(*agent_status, 0) << ReadFile(dir_ + "/agent.log");

  // Exactly the records the agent produced, per log type, for this agent.
  std::string scrape;
  ASSERT_EQ(RunCapture({"/usr/bin/curl", "-sf", "http://" + metrics + "/metrics"}, scrape), 0);
  int total = 0;
  for (const auto& [log, n] : offline) {
    EXPECT_EQ(MetricSum(scrape, "vigil_ingest_events_total",
                        {{"agent", kAgent}, {"agency", kAgency}, {"log_type", log}}),
              n)
        << log;
    total += n;
  }
  EXPECT_EQ(MetricSum(scrape, "vigil_ingest_dropped_events_total", {}), 0);
  EXPECT_EQ(MetricSum(scrape, "vigil_tls_handshake_rejections_total", {}), 0);
  EXPECT_EQ(MetricSum(scrape, "vigil_fleet_agent_dropped_records_total", {}), 0);
  const std::string agent_log = ReadFile(dir_ + "/agent.log");
  EXPECT_NE(agent_log.find(std::to_string(total) + " records acknowledged, 0 kept in the spool"),
            std::string::npos)
      << agent_log;

  // Stop cleanly: final signed checkpoint.
  collector.Signal(SIGTERM);
  auto collector_status = collector.Wait(std::chrono::seconds(60));
  ASSERT_TRUE(collector_status.has_value());
  EXPECT_EQ(*collector_status, 0) << ReadFile(dir_ + "/collector.log");

  // The alerts the ground truth predicts, from the incident log.
  ASSERT_EQ(RunCapture({Bin("vigilctl"), "incidents", "--db", dir_ + "/incidents.db", "export",
                        "--since", "2026-01-01T00:00:00Z", "--until", "2027-01-01T00:00:00Z",
                        "--format", "jsonl", "--output", dir_ + "/alerts.jsonl"},
                       out),
            0)
      << out;
  const auto alerts = JsonLines(ReadFile(dir_ + "/alerts.jsonl"));
  std::set<std::pair<std::string, std::string>> raised;  // (rule id, source address)
  for (const auto& a : alerts) {
    EXPECT_EQ(a.at("agent_id"), kAgent);
    EXPECT_EQ(a.at("agency"), kAgency);
    const auto& ev = a.at("events").at(0).at("event");
    raised.insert({a.at("rule_id").get<std::string>(), ev.value("id.orig_h", "")});
  }
  int attacks = 0;
  for (const auto& t : JsonLines(ReadFile(truth_path))) {
    if (t.at("type") != "attack") continue;
    ++attacks;
    const std::string rule = kAttackRule.at(t.at("name").get<std::string>());
    EXPECT_TRUE(raised.contains({rule, t.at("src").get<std::string>()}))
        << "no alert of rule " << rule << " for attack " << t.dump();
  }
  EXPECT_EQ(attacks, 5);

  // The log verifies against the key the collector generated.
  const int verify = RunCapture({Bin("vigilctl"), "incidents", "--db", dir_ + "/incidents.db",
                                 "verify", "--pubkey", dir_ + "/checkpoint.key.pub"},
                                out);
  EXPECT_EQ(verify, 0) << out;
}

// The collector re-reads a replaced CRL while running; its expiry metric must
// follow, or a CRL that expires sooner than the one it replaced would raise
// no warning before every agent is refused.
TEST_F(CollectorEndToEnd, ReplacedCrlShowsItsOwnExpiryOnTheNextScrape) {
  Subprocess collector;
  ASSERT_NO_FATAL_FAILURE(StartCollector(collector));
  const std::string metrics = Json::parse(ReadFile(dir_ + "/ready")).at("metrics");
  auto crl_expiry = [&] {
    std::string scrape;
    if (RunCapture({"/usr/bin/curl", "-sf", "http://" + metrics + "/metrics"}, scrape) != 0)
      return -1.0;
    return MetricSum(scrape, "vigil_collector_certificate_expiry_timestamp_seconds",
                     {{"certificate", "crl"}});
  };
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  const double before = crl_expiry();
  ASSERT_GT(before, static_cast<double>(now + 300 * 86400)) << "CRL made at init: a year";

  auto ca = transport::CertificateAuthority::Open(dir_ + "/pki");
  ASSERT_TRUE(ca.has_value()) << ca.error().message;
  ASSERT_TRUE(ca->WriteCrl(std::chrono::days(7)).has_value());
  double after = before;
  EXPECT_TRUE(WaitUntil(
      [&] {
        after = crl_expiry();
        return after < before;
      },
      std::chrono::seconds(15)))
      << ReadFile(dir_ + "/collector.log");
  EXPECT_GT(after, static_cast<double>(now + 6 * 86400));
  EXPECT_LT(after, static_cast<double>(now + 8 * 86400));

  collector.Signal(SIGTERM);
  auto status = collector.Wait(std::chrono::seconds(60));
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(*status, 0) << ReadFile(dir_ + "/collector.log");
}

}  // namespace
}  // namespace vigil::testing
