// Crash safety of the whole path with the real programs: the collector is
// killed with SIGKILL while it writes alerts heavily, restarted on the same
// incident log, and the agent resumes from its on-disk spool. Every alert
// must be in the log exactly once (acknowledged means committed; a resent
// batch is recognised by the persisted high-water mark) and the hash chain
// must verify against the collector's public key.

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>

#include "tests/support/subprocess.h"
#include "transport/certificate_authority.h"

namespace vigil::testing {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

constexpr int kLookups = 3000;
constexpr const char* kBadDomainRule = "c6d2dd6f-7266-482d-bf60-e41cab5a7073";

std::string Env(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : fallback;
}
std::string Bin(const std::string& name) { return Env("VIGIL_BINARY_DIR", ".") + "/bin/" + name; }
std::string Source(const std::string& rel) { return Env("VIGIL_SOURCE_DIR", ".") + "/" + rel; }

// A port the kernel just gave out and released: both collector runs use it
// so the agent finds the restarted collector at the same address.
int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

size_t CountLines(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

TEST(CollectorCrash, Kill9DuringHeavyAlertWritingLosesAndDuplicatesNothing) {
  const std::string dir = MakeTempDir("vigil-crash");
  ASSERT_FALSE(dir.empty());
  {
    auto ca = transport::CertificateAuthority::Init(dir + "/pki", {});
    ASSERT_TRUE(ca.has_value()) << ca.error().message;
    transport::IssueRequest c;
    c.name = "collector";
    c.kind = transport::CertificateKind::kCollector;
    c.sans = {"IP:127.0.0.1"};
    c.out_dir = dir + "/pki";
    ASSERT_TRUE(ca->Issue(c).has_value());
    transport::IssueRequest a;
    a.name = "agent-crash";
    a.out_dir = dir + "/pki";
    ASSERT_TRUE(ca->Issue(a).has_value());
  }
  std::string out;
  ASSERT_EQ(RunCapture({Bin("vigil-capgen"), "--scenario", "alert-storm", "--seed", "3", "--flows",
                        std::to_string(kLookups), "--pcap", dir + "/storm.pcap", "--truth",
                        dir + "/truth.jsonl"},
                       out),
            0);
  // A capture with no packets: an agent run that only drains its spool.
  {
    const std::string storm = ReadFile(dir + "/storm.pcap");
    std::ofstream(dir + "/empty.pcap", std::ios::binary) << storm.substr(0, 24);
  }
  const int port = FreePort();
  {
    std::ofstream c(dir + "/collector.yaml");
    c << "listen: 127.0.0.1:" << port
      << "\ntls: {ca: pki/ca.crt, cert: pki/collector.crt, key: pki/collector.key}\n"
         "agents: [{identity: agent-crash, agency: Crash Test}]\n"
         "rules:\n  directories: ["
      << Source("rules") << "]\n  lists: {bad_domains: " << Source("rules/lists/bad_domains.txt")
      << ", bad_addresses: " << Source("rules/lists/bad_addresses.txt")
      << "}\n  watch: false\n"
         "incidents: {database: incidents.db, signing_key: checkpoint.key}\n"
         "metrics: {listen: 127.0.0.1:0}\n";
    std::ofstream a(dir + "/agent.yaml");
    a << "collector:\n  addresses: [\"127.0.0.1:" << port
      << "\"]\n  tls: {ca: pki/ca.crt, cert: pki/agent-crash.crt, key: pki/agent-crash.key}\n"
         "  batch_max_events: 50\n  batch_max_delay: 100ms\n"
         "  reconnect_initial_backoff: 100ms\n  reconnect_max_backoff: 500ms\n"
         "spool: {directory: spool}\n";
  }
  auto start_collector = [&](Subprocess& p, const std::string& ready) {
    ASSERT_TRUE(p.Start({Bin("vigil-collector"), "--config", dir + "/collector.yaml",
                         "--ready-file", dir + "/" + ready},
                        "", dir + "/collector.log"));
    ASSERT_TRUE(WaitUntil([&] { return fs::exists(dir + "/" + ready); }, std::chrono::seconds(30)))
        << ReadFile(dir + "/collector.log");
  };

  // First collector: killed while it is busy writing alerts.
  Subprocess first;
  start_collector(first, "ready1");
  Subprocess agent;
  ASSERT_TRUE(agent.Start(
      {Bin("vigil-agent"), "--config", dir + "/agent.yaml", "--read", dir + "/storm.pcap"}, "",
      dir + "/agent1.log"));
  ASSERT_TRUE(
      WaitUntil([&] { return CountLines(ReadFile(dir + "/collector.log"), " ALERT ") >= 200; },
                std::chrono::seconds(60)))
      << ReadFile(dir + "/collector.log");
  first.Signal(SIGKILL);
  ASSERT_EQ(first.Wait(std::chrono::seconds(10)).value_or(-1), 128 + SIGKILL);
  const size_t alerts_before_crash = CountLines(ReadFile(dir + "/collector.log"), " ALERT ");
  EXPECT_LT(alerts_before_crash, static_cast<size_t>(kLookups))
      << "the collector finished before it was killed: the test proves nothing";
  // The agent finishes reading and keeps what is not acknowledged.
  ASSERT_TRUE(agent.Wait(std::chrono::seconds(60)).has_value());

  // Second collector on the same log; agent runs that only drain the spool.
  Subprocess second;
  start_collector(second, "ready2");
  bool drained = false;
  for (int attempt = 0; attempt < 5 && !drained; ++attempt) {
    Subprocess drain;
    const std::string log = dir + "/agent-drain" + std::to_string(attempt) + ".log";
    ASSERT_TRUE(drain.Start(
        {Bin("vigil-agent"), "--config", dir + "/agent.yaml", "--read", dir + "/empty.pcap"}, "",
        log));
    ASSERT_TRUE(drain.Wait(std::chrono::seconds(60)).has_value());
    drained = ReadFile(log).find(" 0 kept in the spool") != std::string::npos;
  }
  ASSERT_TRUE(drained) << "the spool did not drain";
  second.Signal(SIGTERM);
  ASSERT_EQ(second.Wait(std::chrono::seconds(60)).value_or(-1), 0);

  // Every lookup alerted exactly once.
  ASSERT_EQ(
      RunCapture({Bin("vigilctl"), "incidents", "--db", dir + "/incidents.db", "export", "--since",
                  "2020-01-01T00:00:00Z", "--until", "2030-01-01T00:00:00Z", "--format", "jsonl",
                  "--rule", kBadDomainRule, "--output", dir + "/alerts.jsonl"},
                 out),
      0)
      << out;
  std::set<std::string> uids;
  size_t rows = 0;
  std::istringstream in(ReadFile(dir + "/alerts.jsonl"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    ++rows;
    uids.insert(Json::parse(line).at("events").at(0).at("event").at("uid").get<std::string>());
  }
  EXPECT_EQ(uids.size(), static_cast<size_t>(kLookups)) << "alerts lost";
  EXPECT_EQ(rows, uids.size()) << "alerts stored twice";

  // The chain survived the crash and verifies with the public key.
  EXPECT_EQ(RunCapture({Bin("vigilctl"), "incidents", "--db", dir + "/incidents.db", "verify",
                        "--pubkey", dir + "/checkpoint.key.pub"},
                       out),
            0)
      << out;
  if (!::testing::Test::HasFailure()) fs::remove_all(dir);
}

}  // namespace
}  // namespace vigil::testing
