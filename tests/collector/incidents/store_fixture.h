#pragma once
// Test fixture for collector/incidents: a temporary directory with a fresh
// Ed25519 key, a manual clock, alert builders, and a helper that runs the
// sqlite3 command-line tool against the log (tamper tests edit the database
// behind the store's back, as an intruder would).

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "collector/engine/alert.h"
#include "collector/incidents/checkpoint_key.h"
#include "collector/incidents/incident_store.h"

namespace vigil::collector::incidents::testing {

inline constexpr int64_t kSecond = 1'000'000'000;
/// 2026-01-01T00:00:00Z
inline constexpr int64_t kT0 = int64_t{1767225600} * kSecond;

/// A clock tests move by hand (shared so lambdas can capture it).
struct ManualClock {
  std::shared_ptr<std::atomic<int64_t>> now = std::make_shared<std::atomic<int64_t>>(kT0);
  Clock AsClock() const {
    auto n = now;
    return [n] { return n->load(); };
  }
  void Advance(int64_t ns) { now->fetch_add(ns); }
  void Set(int64_t ns) { now->store(ns); }
};

inline engine::Alert MakeAlert(std::string rule_id, int64_t event_time_ns,
                               engine::Level level = engine::Level::kHigh,
                               std::string group_key = "src=10.0.0.5") {
  engine::Alert a;
  a.rule_id = rule_id;
  a.rule_title = "Title of " + rule_id;
  a.level = level;
  a.author = "Vigil tests";
  a.tags = {"attack.discovery", "attack.t1046"};
  a.rule_file = "/etc/vigil/rules/" + rule_id + ".yml";
  a.rule_file_hash = std::string(64, 'a');
  a.ruleset_hash = std::string(64, 'b');
  a.group_key = std::move(group_key);
  a.event_time_ns = event_time_ns;
  a.matched_fields = {{"id.resp_p", "445"}, {"proto", "tcp"}};
  engine::AlertEvent e;
  e.origin = {"agent-1", "agency-a", 1, event_time_ns + kSecond, 0.002};
  e.event_time_ns = event_time_ns;
  e.log = "conn";
  e.json = R"({"ts":1767225600.5,"uid":"Cabc","id.orig_h":"10.0.0.5","id.resp_p":445})";
  a.events = {e};
  a.message = "Port scan from 10.0.0.5";
  return a;
}

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/vigil-incidents-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    key_ = dir_ / "signing.pem";
    pub_ = dir_ / "signing.pub";
    ASSERT_TRUE(GenerateSigningKey(key_, pub_).has_value());
    config_.db_path = dir_ / "incidents.db";
    config_.signing_key_path = key_;
    config_.checkpoint_every_records = 1000000;
    config_.checkpoint_every = std::chrono::hours(24);
    config_.durability = Durability::kNormal;  // tests: the crash test covers FULL
  }
  void TearDown() override {
    store_.reset();
    std::error_code ec;
    if (!HasFailure()) std::filesystem::remove_all(dir_, ec);
  }

  IncidentStore& Open(OpenMode mode = OpenMode::kCollector) {
    auto s = IncidentStore::Open(config_, mode, clock_.AsClock());
    EXPECT_TRUE(s.has_value()) << (s ? "" : s.error().message);
    store_ = s ? std::move(*s) : nullptr;
    return *store_;
  }

  void Reopen(OpenMode mode = OpenMode::kCollector) {
    if (store_) {
      ASSERT_TRUE(store_->Close().has_value());
      store_.reset();
    }
    Open(mode);
  }

  /// Commits one batch for agent-1 with the given alerts.
  CommitResult Commit(uint64_t sequence, std::vector<engine::Alert> alerts,
                      std::string agent = "agent-1", std::string agency = "agency-a") {
    BatchCommit b;
    b.agent_id = agent;
    b.agency = agency;
    b.sequence = sequence;
    b.events = 100;
    b.received_ns = clock_.now->load();
    b.alerts = alerts;
    auto r = store_->CommitBatches(std::span<const BatchCommit>(&b, 1));
    EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message);
    return r.value_or(CommitResult{});
  }

  /// Simulates a collector crash: a child process opens the log, commits
  /// `sequence` and exits without Close(), as kill -9 would leave it.
  void CrashAfterCommit(uint64_t sequence) {
    if (store_) {
      ASSERT_TRUE(store_->Close().has_value());
      store_.reset();
    }
    const pid_t pid = fork();
    if (pid == 0) {
      auto s = IncidentStore::Open(config_, OpenMode::kCollector, clock_.AsClock());
      if (!s) _exit(1);
      store_ = std::move(*s);
      Commit(sequence, {MakeAlert("crash", clock_.now->load())});
      _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }

  /// Runs the sqlite3 CLI on the log; returns its stdout. Fails the test on error.
  std::string Sql(const std::string& sql) {
    const std::string cmd = "sqlite3 '" + config_.db_path.string() + "' \"" + sql + "\" 2>&1";
    FILE* p = popen(cmd.c_str(), "r");
    std::string out;
    char buf[4096];
    size_t n = 0;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    const int status = pclose(p);
    EXPECT_EQ(WEXITSTATUS(status), 0) << cmd << "\n" << out;
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
  }

  std::filesystem::path dir_, key_, pub_;
  StoreConfig config_;
  ManualClock clock_;
  std::unique_ptr<IncidentStore> store_;
};

}  // namespace vigil::collector::incidents::testing
