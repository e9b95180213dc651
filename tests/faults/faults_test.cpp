// Fault tests: a real collector process and real agent processes on
// 127.0.0.1 with mutual TLS (certificates from the CA library behind
// `vigilctl pki`), killed, stopped, stalled and overflowed. Each scenario
// checks that every record arrives exactly once except counted spool
// overflow, and the agent's accounting identity. Label: faults.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/transport/test_pki.h"

extern char** environ;

namespace vigil::faults {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::TempDir;
using testing::TestCert;
using testing::TestPki;
using Stats = std::map<std::string, uint64_t>;

/// A child process with its stdout on a pipe and stderr in a file.
class Child {
 public:
  Child(const std::vector<std::string>& argv, const fs::path& stderr_file) {
    int fds[2];
    if (::pipe(fds) != 0) throw std::runtime_error("pipe");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    posix_spawn_file_actions_addopen(&fa, 2, stderr_file.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                     0644);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    if (posix_spawn(&pid_, args[0], &fa, nullptr, args.data(), environ) != 0) {
      throw std::runtime_error("spawn " + argv[0]);
    }
    posix_spawn_file_actions_destroy(&fa);
    ::close(fds[1]);
    out_ = fds[0];
  }
  ~Child() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (out_ >= 0) ::close(out_);
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  /// Waits for a stdout line starting with `prefix`; returns it ("" on timeout/exit).
  std::string WaitLine(const std::string& prefix, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      size_t nl;
      while ((nl = buf_.find('\n')) != std::string::npos) {
        std::string line = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        if (line.rfind(prefix, 0) == 0) return line;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return "";
      pollfd p{out_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return "";
      char chunk[4096];
      ssize_t n = ::read(out_, chunk, sizeof(chunk));
      if (n <= 0) return "";
      buf_.append(chunk, static_cast<size_t>(n));
    }
  }
  void Signal(int sig) { ::kill(pid_, sig); }
  /// Waits for exit; returns the exit code (-signal if killed, -100 on timeout).
  int Wait(std::chrono::milliseconds timeout = 30s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
      }
      std::this_thread::sleep_for(10ms);
    }
    return -100;
  }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  std::string buf_;
};

bool Eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout = 30s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

std::vector<Stats> ReadAgentStats(const fs::path& file) {
  std::vector<Stats> out(1);
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    if (line == "--") {
      out.emplace_back();
      continue;
    }
    std::istringstream ls(line);
    std::string k;
    uint64_t v;
    if (ls >> k >> v) out.back()[k] = v;
  }
  if (out.back().empty()) out.pop_back();
  return out;
}

Stats ReadKeyValues(const fs::path& file) {
  Stats s;
  std::ifstream in(file);
  std::string k;
  uint64_t v;
  while (in >> k >> v) s[k] = v;
  return s;
}

uint64_t Dropped(const Stats& s) {
  uint64_t n = 0;
  for (const auto& [k, v] : s) {
    if (k.rfind("records_dropped_", 0) == 0) n += v;
  }
  return n;
}

void ExpectIdentity(const Stats& s) {
  EXPECT_EQ(s.at("records_emitted") + s.at("records_recovered"),
            s.at("records_acked") + s.at("records_pending") + Dropped(s))
      << "emitted=" << s.at("records_emitted") << " recovered=" << s.at("records_recovered")
      << " acked=" << s.at("records_acked") << " pending=" << s.at("records_pending")
      << " dropped=" << Dropped(s);
}

uint64_t VmRssKb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6));
  }
  return 0;
}

class FaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    collector_cert_ = pki_.Collector("collector");
    agent_cert_ = pki_.Agent("agent-a");
    collector_dir_ = work_.path() / "collector";
    spool_ = work_.path() / "spool";
    fs::create_directories(collector_dir_);
  }

  std::unique_ptr<Child> StartCollector(int port = 0, std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {
        FAULT_COLLECTOR,      "--dir", collector_dir_.string(), "--ca",  pki_.ca_file(),  "--cert",
        collector_cert_.cert, "--key", collector_cert_.key,     "--crl", pki_.crl_file(), "--port",
        std::to_string(port)};
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto c = std::make_unique<Child>(argv, work_.path() / "collector.log");
    std::string line = c->WaitLine("LISTENING ", 20s);
    EXPECT_FALSE(line.empty()) << "collector did not start";
    if (!line.empty()) port_ = std::stoi(line.substr(10));
    return c;
  }
  /// Starts and stops a collector: the port it had is ours to reuse.
  int ReservePort() {
    auto c = StartCollector();
    c->Signal(SIGTERM);
    EXPECT_EQ(c->Wait(), 0);
    return port_;
  }
  std::unique_ptr<Child> StartAgent(std::vector<std::string> extra, const TestCert* cert = nullptr,
                                    const std::string& ca = "") {
    const TestCert& c = cert ? *cert : agent_cert_;
    std::vector<std::string> argv = {FAULT_AGENT,
                                     "--address",
                                     "127.0.0.1:" + std::to_string(port_),
                                     "--ca",
                                     ca.empty() ? pki_.ca_file() : ca,
                                     "--cert",
                                     c.cert,
                                     "--key",
                                     c.key,
                                     "--spool",
                                     spool_.string(),
                                     "--stats",
                                     (work_.path() / "agent.stats").string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return std::make_unique<Child>(argv, work_.path() / "agent.log");
  }
  Stats AgentStats(size_t sink = 0) {
    auto all = ReadAgentStats(work_.path() / "agent.stats");
    return all.size() > sink ? all[sink] : Stats{};
  }
  Stats CollectorStats() { return ReadKeyValues(collector_dir_ / "stats"); }

  /// uid -> times stored, over every batch file of `agent`.
  std::map<std::string, int> Collected(const std::string& agent = "agent-a") {
    std::map<std::string, int> out;
    fs::path dir = collector_dir_ / "agents" / agent;
    if (!fs::exists(dir)) return out;
    for (const auto& f : fs::directory_iterator(dir)) {
      std::string n = f.path().filename().string();
      if (n.rfind("batch-", 0) != 0 || n.find(".tmp") != std::string::npos) continue;
      std::ifstream in(f.path());
      std::string uid;
      while (std::getline(in, uid)) ++out[uid];
    }
    return out;
  }
  size_t BatchFiles(const std::string& agent = "agent-a") {
    fs::path dir = collector_dir_ / "agents" / agent;
    if (!fs::exists(dir)) return 0;
    size_t n = 0;
    for (const auto& f : fs::directory_iterator(dir)) {
      n += f.path().filename().string().rfind("batch-", 0) == 0 ? 1 : 0;
    }
    return n;
  }
  void ExpectExactlyOnce(uint64_t from, uint64_t to, const std::string& agent = "agent-a",
                         const std::string& prefix = "r") {
    auto got = Collected(agent);
    EXPECT_EQ(got.size(), to - from) << agent;
    uint64_t missing = 0, duplicated = 0;
    for (uint64_t i = from; i < to; ++i) {
      auto it = got.find(prefix + std::to_string(i));
      if (it == got.end()) {
        ++missing;
      } else if (it->second != 1) {
        ++duplicated;
      }
    }
    EXPECT_EQ(missing, 0u) << agent;
    EXPECT_EQ(duplicated, 0u) << agent;
    if (missing != 0 || duplicated != 0) DumpState();
  }
  /// On failure: what each side said, to tell a bug from a slow machine.
  void DumpState() {
    std::printf("---- collector stats\n");
    for (auto& [k, v] : CollectorStats()) {
      if (v) std::printf("  %s %llu\n", k.c_str(), static_cast<unsigned long long>(v));
    }
    std::printf("---- agent stats\n");
    for (auto& [k, v] : AgentStats()) {
      std::printf("  %s %llu\n", k.c_str(), static_cast<unsigned long long>(v));
    }
    for (const char* f : {"agent.log", "collector.log"}) {
      std::ifstream in(work_.path() / f);
      std::printf("---- %s\n%s\n", f, std::string(std::istreambuf_iterator<char>(in), {}).c_str());
    }
    std::ifstream order(collector_dir_ / "agents" / "agent-a" / "order.log");
    std::printf("---- order.log: %s\n",
                std::string(std::istreambuf_iterator<char>(order), {}).c_str());
  }
  std::string CollectorLog() {
    std::ifstream in(work_.path() / "collector.log");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  TempDir work_{"vigil-faults"};
  TestPki pki_;
  TestCert collector_cert_, agent_cert_;
  fs::path collector_dir_, spool_;
  int port_ = 0;
};

TEST_F(FaultTest, CollectorKilledMidStreamLosesAndDuplicatesNothing) {
  const uint64_t n = 200000;
  auto collector = StartCollector();
  int port = port_;
  auto agent = StartAgent({"--count", std::to_string(n), "--rate", "100000", "--wait", "acked",
                           "--wait-timeout-ms", "120000"});
  ASSERT_TRUE(Eventually([&] { return BatchFiles() >= 40; })) << "nothing arrived";
  collector->Signal(SIGKILL);
  EXPECT_EQ(collector->Wait(), -SIGKILL);
  ASSERT_TRUE(Eventually(
      [&] { return AgentStats().count("connected") && AgentStats()["connected"] == 0; }, 20s));
  collector = StartCollector(port);
  ASSERT_EQ(agent->WaitLine("ACKED", 120s), "ACKED");
  ASSERT_EQ(agent->Wait(), 0);
  ExpectExactlyOnce(0, n);
  Stats s = AgentStats();
  EXPECT_EQ(s["records_acked"], n);
  EXPECT_EQ(Dropped(s), 0u);
  EXPECT_GE(s["connects"], 2u);
  ExpectIdentity(s);
}

TEST_F(FaultTest, StoppedCollectorMeansSpoolThenDrainInOrder) {
  const uint64_t n = 50000;
  int port = ReservePort();
  auto agent =
      StartAgent({"--count", std::to_string(n), "--wait", "acked", "--wait-timeout-ms", "120000"});
  ASSERT_TRUE(Eventually([&] {
    Stats s = AgentStats();
    return s["records_emitted"] == n && s["records_pending"] == n && s["spool_batches"] > 0 &&
           s["connect_failures"] >= 2;
  }));
  Stats before = AgentStats();
  EXPECT_EQ(before["connected"], 0u);
  ExpectIdentity(before);
  auto collector = StartCollector(port);
  ASSERT_EQ(agent->WaitLine("ACKED", 120s), "ACKED");
  ASSERT_EQ(agent->Wait(), 0);
  ExpectExactlyOnce(0, n);
  // The spool drained in sequence order.
  std::ifstream order(collector_dir_ / "agents" / "agent-a" / "order.log");
  uint64_t prev = 0, seq, batches = 0;
  while (order >> seq) {
    EXPECT_GT(seq, prev);
    prev = seq;
    ++batches;
  }
  EXPECT_GT(batches, 1u);
  ExpectIdentity(AgentStats());
}

TEST_F(FaultTest, SpoolOverflowIsCountedReportedAndNothingElseIsLost) {
  const uint64_t n = 100000;
  int port = ReservePort();
  auto agent = StartAgent({"--count", std::to_string(n), "--spool-max", "1048576", "--wait",
                           "acked", "--wait-timeout-ms", "120000"});
  ASSERT_EQ(agent->WaitLine("EMITTED", 60s), "EMITTED");
  ASSERT_TRUE(Eventually([&] {
    Stats s = AgentStats();
    return s["records_dropped_spool_overflow"] > 0 &&
           s["records_pending"] + Dropped(s) == n;  // everything sealed or dropped
  }));
  auto collector = StartCollector(port);
  ASSERT_EQ(agent->WaitLine("ACKED", 120s), "ACKED");
  ASSERT_EQ(agent->Wait(), 0);
  Stats s = AgentStats();
  ExpectIdentity(s);
  uint64_t lost = s["records_dropped_spool_overflow"];
  EXPECT_EQ(Dropped(s), lost) << "overflow is the only loss";
  auto got = Collected();
  EXPECT_EQ(got.size() + lost, n);
  if (got.size() + lost != n) DumpState();
  for (const auto& [uid, times] : got) ASSERT_EQ(times, 1) << uid;
  // The collector recorded a LossReport for exactly what was dropped.
  uint64_t reported = 0;
  std::ifstream losses(collector_dir_ / "agents" / "agent-a" / "losses.log");
  std::string reason;
  uint64_t first, last, records;
  while (losses >> reason >> first >> last >> records) {
    EXPECT_EQ(reason, "LOSS_REASON_SPOOL_OVERFLOW");
    EXPECT_LE(first, last);
    reported += records;
  }
  EXPECT_EQ(reported, lost);
  // The collector's stats file is rewritten periodically: wait for it.
  EXPECT_TRUE(Eventually([&] { return CollectorStats()["records_lost_reported"] == lost; }))
      << CollectorStats()["records_lost_reported"] << " != " << lost;
}

TEST_F(FaultTest, AgentKilledWithAFullSpoolResumesFromIt) {
  const uint64_t n = 30000;
  int port = ReservePort();
  {
    auto agent = StartAgent({"--count", std::to_string(n), "--wait", "spooled", "--hold"});
    ASSERT_EQ(agent->WaitLine("SPOOLED", 60s), "SPOOLED");
    agent->Signal(SIGKILL);
    EXPECT_EQ(agent->Wait(), -SIGKILL);
  }
  auto collector = StartCollector(port);
  auto agent = StartAgent({"--count", "0", "--wait", "acked", "--wait-timeout-ms", "60000"});
  ASSERT_EQ(agent->WaitLine("ACKED", 60s), "ACKED");
  ASSERT_EQ(agent->Wait(), 0);
  ExpectExactlyOnce(0, n);
  Stats s = AgentStats();
  EXPECT_EQ(s["records_recovered"], n);
  EXPECT_EQ(s["records_acked"], n);
  ExpectIdentity(s);
}

TEST_F(FaultTest, BadCertificatesAreRejectedWithTheRightReason) {
  auto now = std::chrono::system_clock::now();
  TestPki other("Other CA");
  TestCert expired = pki_.Agent("agent-expired", now - 48h, now - 24h);
  TestCert future = pki_.Agent("agent-future", now + 24h, now + 48h);
  TestCert revoked = pki_.Agent("agent-revoked");
  pki_.Revoke("agent-revoked");
  TestCert foreign = other.Agent("agent-foreign");
  auto collector = StartCollector();

  struct Case {
    const TestCert* cert;
    const char* reason;
  };
  for (const Case& c : {Case{&expired, "expired"}, Case{&future, "not_yet_valid"},
                        Case{&revoked, "revoked"}, Case{&foreign, "unknown_ca"}}) {
    SCOPED_TRACE(c.reason);
    fs::remove_all(spool_);
    fs::remove(work_.path() / "agent.stats");  // not the previous case's
    auto agent = StartAgent({"--count", "10", "--hold"}, c.cert);
    ASSERT_TRUE(Eventually([&] { return AgentStats()["auth_rejections"] >= 1; }));
    ASSERT_TRUE(
        Eventually([&] { return CollectorStats()[std::string("rejected_") + c.reason] >= 1; }));
    EXPECT_NE(CollectorLog().find(std::string("reason=") + c.reason), std::string::npos);
    Stats s = AgentStats();
    EXPECT_EQ(s["records_acked"], 0u);
    EXPECT_EQ(s["records_pending"], 10u);  // kept, not lost
    agent->Signal(SIGKILL);
    agent->Wait();
  }
  // No client certificate at all.
  Child probe({FAULT_AGENT, "--probe-no-cert", "--address", "127.0.0.1:" + std::to_string(port_),
               "--ca", pki_.ca_file()},
              work_.path() / "probe.log");
  std::string status = probe.WaitLine("STATUS ", 20s);
  EXPECT_EQ(status.rfind("STATUS 16 ", 0), 0u) << status;  // UNAUTHENTICATED
  EXPECT_NE(status.find("no_client_certificate"), std::string::npos) << status;
  ASSERT_TRUE(Eventually([&] { return CollectorStats()["rejected_no_client_certificate"] >= 1; }));
  EXPECT_EQ(CollectorStats()["streams_accepted"], 0u);
  EXPECT_TRUE(Collected("agent-expired").empty());
}

TEST_F(FaultTest, StalledCollectorKeepsAgentMemoryBounded) {
  const uint64_t n = 600000;
  auto collector = StartCollector(0, {"--stall", "--max-inflight-records", "5000"});
  auto agent = StartAgent({"--count", std::to_string(n), "--queue-max", "20000", "--spool-max",
                           std::to_string(256ull << 20), "--wait", "spooled", "--hold",
                           "--wait-timeout-ms", "120000"});
  uint64_t peak_kb = 0;
  std::string line;
  auto deadline = std::chrono::steady_clock::now() + 120s;
  while (line.empty() && std::chrono::steady_clock::now() < deadline) {
    peak_kb = std::max(peak_kb, VmRssKb(agent->pid()));
    line = agent->WaitLine("SPOOLED", 20ms);
  }
  ASSERT_EQ(line, "SPOOLED");
  peak_kb = std::max(peak_kb, VmRssKb(agent->pid()));
  Stats s = AgentStats();
  ExpectIdentity(s);
  EXPECT_EQ(s["connected"], 1u) << "the stream stays open while the collector stalls";
  EXPECT_EQ(s["records_acked"], 0u);
  EXPECT_GT(s["spool_bytes"], 20u << 20) << "the backlog went to disk";
  std::printf("stalled collector: agent peak RSS %llu KiB, spool %llu bytes\n",
              static_cast<unsigned long long>(peak_kb),
              static_cast<unsigned long long>(s["spool_bytes"]));
  agent->Signal(SIGKILL);
  agent->Wait();
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "RSS bound not checked under AddressSanitizer (its quarantine keeps freed "
                  "memory resident); the rest of this test ran";
#else
  // 600k records are ~25 MB serialized and well over 150 MB as in-memory
  // messages; the agent may only hold queue (20k) + spool cache + window.
  EXPECT_LT(peak_kb, 100u * 1024) << "agent RSS grew with the backlog";
#endif
}

TEST_F(FaultTest, TwoHundredAgentsAllDeliverAndAllShowConnected) {
  const int agents = 200;
  const uint64_t per_agent = 500;
  fs::path certs = work_.path() / "certs";
  for (int k = 0; k < agents; ++k) {
    transport::IssueRequest r;
    r.name = "agent-" + std::to_string(k);
    r.out_dir = certs;
    ASSERT_TRUE(pki_.ca().Issue(r).has_value());
  }
  auto collector = StartCollector();
  Child agent({FAULT_AGENT,
               "--address",
               "127.0.0.1:" + std::to_string(port_),
               "--ca",
               pki_.ca_file(),
               "--agents",
               std::to_string(agents),
               "--certs",
               certs.string(),
               "--spool",
               spool_.string(),
               "--count",
               std::to_string(per_agent),
               "--wait",
               "acked",
               "--hold",
               "--wait-timeout-ms",
               "150000",
               "--stats",
               (work_.path() / "agent.stats").string()},
              work_.path() / "agent.log");
  ASSERT_EQ(agent.WaitLine("ACKED", 160s), "ACKED");
  ASSERT_TRUE(Eventually([&] {
    std::ifstream in(collector_dir_ / "fleet");
    std::string word;
    int connected = 0;
    in >> word >> connected;
    return connected == agents;
  }));
  for (int k = 0; k < agents; ++k) {
    ExpectExactlyOnce(0, per_agent, "agent-" + std::to_string(k), "a" + std::to_string(k) + ".r");
  }
  agent.Signal(SIGTERM);
  ASSERT_EQ(agent.WaitLine("DONE", 60s), "DONE");
  EXPECT_EQ(agent.Wait(), 0);
  // The stats file is rewritten every 50 ms while the agent runs; its final
  // version is written before DONE, so read it only now (under load a read
  // right after ACKED can see a version from before the last acks).
  auto all = ReadAgentStats(work_.path() / "agent.stats");
  ASSERT_EQ(all.size(), static_cast<size_t>(agents));
  for (const auto& s : all) {
    EXPECT_EQ(s.at("records_acked"), per_agent);
    ExpectIdentity(s);
  }
  EXPECT_EQ(CollectorStats()["batches_duplicate"], 0u);
}

}  // namespace
}  // namespace vigil::faults
