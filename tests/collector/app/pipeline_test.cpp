// The collector pipeline against a real rule engine and a real incident store
// (SQLite in a temporary directory). Store failures are produced the way
// they happen in production: another connection holds SQLite's write lock
// (as `vigilctl incidents prune` does) until the busy timeout expires.
#include "collector/app/pipeline.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "collector/engine/loader/load.h"
#include "collector/incidents/checkpoint_key.h"

namespace vigil::collector::app {
namespace {

using namespace std::chrono_literals;

constexpr int64_t kSecond = 1'000'000'000;

// A failed connection (conn_state REJ) is the base rule; the correlation
// fires when fewer than 3 arrive in a 1 s window, which can only be decided
// when the window closes: with no further batch, that is an idle tick, so
// the alert is a timer alert that belongs to no batch.
constexpr const char* kRules =
    "title: failed connection\nid: base\nname: base\nlogsource: {product: zeek, service: conn}\n"
    "detection:\n  s:\n    conn_state: REJ\n  condition: s\n"
    "---\ntitle: few failures\nid: corr\nlevel: high\nauthor: tester\ncorrelation:\n"
    "  type: event_count\n  rules: [base]\n  group-by: [id.orig_h]\n  timespan: 1s\n"
    "  condition: {lt: 3}\n";

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::shared_ptr<const vigil::v1::EventBatch> Batch(uint64_t sequence, int64_t event_ns,
                                                   int events = 1) {
  auto b = std::make_shared<vigil::v1::EventBatch>();
  b->set_sequence(sequence);
  for (int i = 0; i < events; ++i) {
    auto* e = b->add_events();
    e->set_uid("C" + std::to_string(sequence) + "x" + std::to_string(i));
    e->mutable_ts()->set_seconds(event_ns / kSecond);
    e->mutable_ts()->set_nanos(static_cast<int32_t>(event_ns % kSecond));
    auto* id = e->mutable_id();
    id->set_orig_addr(std::string("\x0a\x00\x00\x05", 4));
    id->set_orig_port(40000);
    id->set_resp_addr(std::string("\x0a\x00\x00\x09", 4));
    id->set_resp_port(445);
    id->set_transport(vigil::v1::TRANSPORT_TCP);
    id->set_ip_proto(6);
    auto* f = e->mutable_flow();
    f->set_conn_state(vigil::v1::CONN_STATE_REJ);
    f->set_history("Sr");
    f->mutable_totals()->set_orig_pkts(1);
    f->mutable_totals()->set_orig_ip_bytes(60);
  }
  return b;
}

/// What done() reported for one batch.
class Outcome {
 public:
  std::function<void(bool)> Callback(std::function<void(bool)> also = nullptr) {
    return [this, also](bool ok) {
      if (also) also(ok);
      promise_.set_value(ok);
    };
  }
  /// The result, or nullopt if done() was not called in time.
  std::optional<bool> Get(std::chrono::milliseconds timeout = 10s) {
    if (future_.wait_for(timeout) != std::future_status::ready) return std::nullopt;
    return future_.get();
  }

 private:
  std::promise<bool> promise_;
  std::future<bool> future_ = promise_.get_future();
};

/// A second connection to the log that can hold SQLite's write lock.
class WriteLock {
 public:
  explicit WriteLock(const std::filesystem::path& db) {
    EXPECT_EQ(sqlite3_open(db.c_str(), &db_), SQLITE_OK);
  }
  ~WriteLock() {
    Release();
    sqlite3_close(db_);
  }
  void Take() {
    std::lock_guard lock(mu_);
    ASSERT_EQ(sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
    held_ = true;
  }
  void Release() {
    std::lock_guard lock(mu_);
    if (!held_) return;
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    held_ = false;
  }

 private:
  std::mutex mu_;
  sqlite3* db_ = nullptr;
  bool held_ = false;
};

bool WaitFor(const std::function<bool()>& pred, std::chrono::milliseconds timeout = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(1ms);
  }
  return pred();
}

class PipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/vigil-pipeline-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    ASSERT_TRUE(incidents::GenerateSigningKey(dir_ / "signing.pem", dir_ / "signing.pub"));
    config_.db_path = dir_ / "incidents.db";
    config_.signing_key_path = dir_ / "signing.pem";
    config_.checkpoint_every_records = 1000000;
    config_.checkpoint_every = std::chrono::hours(24);
    config_.durability = incidents::Durability::kNormal;
    engine::LoadOptions load;
    load.sources.push_back(engine::SourceFile{"rules.yml", kRules});
    auto loaded = engine::LoadRuleSet(load);
    ASSERT_TRUE(loaded.ok());
    engine_.Swap(loaded.rule_set);
  }
  void TearDown() override {
    pipeline_.reset();
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  void Start(std::chrono::milliseconds busy_timeout, PipelineOptions options = {}) {
    config_.busy_timeout = busy_timeout;
    auto store = incidents::IncidentStore::Open(config_, incidents::OpenMode::kCollector);
    ASSERT_TRUE(store.has_value()) << store.error().message;
    store_ = std::move(*store);
    options.log_alerts = false;
    options.checkpoint_poll = std::chrono::hours(1);
    pipeline_ = std::make_unique<Pipeline>(engine_, *store_, metrics_, options);
    pipeline_->Start();
    lock_ = std::make_unique<WriteLock>(config_.db_path);
  }

  uint64_t StoredHighWaterMark(const std::string& agent) {
    auto hwm = store_->HighWaterMark(agent);
    EXPECT_TRUE(hwm.has_value());
    return hwm.value_or(0);
  }
  uint64_t StoredAlerts(const std::string& rule) {
    incidents::IncidentFilter filter;
    filter.rule_id = rule;
    auto list = store_->ListIncidents(filter);
    EXPECT_TRUE(list.has_value());
    uint64_t n = 0;
    if (list) {
      for (const auto& i : *list) n += i.alert_count;
    }
    return n;
  }

  std::filesystem::path dir_;
  incidents::StoreConfig config_;
  engine::Engine engine_;
  metrics::CollectorMetrics metrics_{metrics::CollectorMetricsOptions{}};
  std::unique_ptr<incidents::IncidentStore> store_;
  std::unique_ptr<Pipeline> pipeline_;
  std::unique_ptr<WriteLock> lock_;
  const ingest::AgentInfo agent_a_{"agent-a", "Finance", ""};
  const ingest::AgentInfo agent_b_{"agent-b", "Health", ""};
};

TEST_F(PipelineTest, AfterAFailedCommitLaterBatchesOfTheAgentAreRefusedUntilItsNextStream) {
  PipelineOptions options;
  options.max_batches_per_commit = 1;  // batch 2 forms the group after the failed one
  Start(100ms, options);
  const int64_t t = NowNs();
  lock_->Take();
  Outcome first, second;
  // The failed batch's done() lets the store write again, as when a prune
  // finishes right after the busy timeout: batch 2, queued meanwhile, could
  // then be committed and raise the high-water mark above batch 1.
  pipeline_->Submit(agent_a_, Batch(1, t), t, first.Callback([&](bool) { lock_->Release(); }));
  pipeline_->Submit(agent_a_, Batch(2, t), t, second.Callback());
  EXPECT_EQ(first.Get(), std::optional<bool>(false));
  EXPECT_EQ(second.Get(), std::optional<bool>(false));
  // Nothing above the failed batch is durable: a Welcome now says 0 and the
  // agent resends batch 1 instead of deleting it as acknowledged.
  EXPECT_EQ(StoredHighWaterMark("agent-a"), 0u);

  // Still the old stream (no HighWaterMark() yet): refused at once.
  Outcome third;
  pipeline_->Submit(agent_a_, Batch(3, t), t, third.Callback());
  EXPECT_EQ(third.Get(), std::optional<bool>(false));
  EXPECT_GE(pipeline_->stats().batches_refused.load(), 2u);
  EXPECT_EQ(StoredHighWaterMark("agent-a"), 0u);

  // Other agents are not held back.
  Outcome other;
  pipeline_->Submit(agent_b_, Batch(1, t), t, other.Callback());
  EXPECT_EQ(other.Get(), std::optional<bool>(true));

  // The agent's new stream asks for the mark: its resends are stored again.
  EXPECT_EQ(pipeline_->HighWaterMark("agent-a"), 0u);
  Outcome again1, again2;
  pipeline_->Submit(agent_a_, Batch(1, t), t, again1.Callback());
  pipeline_->Submit(agent_a_, Batch(2, t), t, again2.Callback());
  EXPECT_EQ(again1.Get(), std::optional<bool>(true));
  EXPECT_EQ(again2.Get(), std::optional<bool>(true));
  EXPECT_EQ(StoredHighWaterMark("agent-a"), 2u);
}

TEST_F(PipelineTest, TimerAlertsSurviveAFailedGroupCommit) {
  PipelineOptions options;
  options.idle_tick = 100ms;
  Start(100ms, options);
  const int64_t t = NowNs();
  Outcome first;
  pipeline_->Submit(agent_a_, Batch(1, t), t, first.Callback());
  ASSERT_EQ(first.Get(), std::optional<bool>(true));
  ASSERT_EQ(StoredAlerts("corr"), 0u);  // the window is still open

  // The window closes during idle ticks while the store is locked: the
  // timer alert is raised but cannot be stored yet.
  lock_->Take();
  ASSERT_TRUE(WaitFor([&] { return pipeline_->stats().alerts_raised.load() >= 1; }));
  const uint64_t busy = store_->stats().commit_errors_busy.load();
  ASSERT_TRUE(WaitFor([&] { return store_->stats().commit_errors_busy.load() > busy; }));

  // A batch arrives (empty: it opens no window of its own); its group
  // commit fails too, then the store recovers.
  Outcome second;
  pipeline_->Submit(agent_a_, Batch(2, t, /*events=*/0), t,
                    second.Callback([&](bool) { lock_->Release(); }));
  ASSERT_EQ(second.Get(), std::optional<bool>(false));
  // The timer alert exists nowhere else: it must still reach the store.
  EXPECT_TRUE(WaitFor([&] { return StoredAlerts("corr") >= 1; }, 5s));
  EXPECT_EQ(pipeline_->stats().alerts_dropped.load(), 0u);
}

TEST_F(PipelineTest, RedeliveredBatchIsNotEvaluatedAgainAndDoesNotSwallowTimerAlerts) {
  PipelineOptions options;
  options.idle_tick = 500ms;
  // Long enough that the redelivered batch's group waits for the lock
  // (released below) instead of failing.
  Start(3000ms, options);
  const int64_t t = NowNs();
  Outcome first;
  pipeline_->Submit(agent_a_, Batch(1, t), t, first.Callback());
  ASSERT_EQ(first.Get(), std::optional<bool>(true));
  const uint64_t evaluated = pipeline_->stats().events_evaluated.load();
  ASSERT_EQ(evaluated, 1u);

  // The timer alert is raised while the store is locked; its own commit fails.
  lock_->Take();
  const uint64_t busy = store_->stats().commit_errors_busy.load();
  ASSERT_TRUE(WaitFor([&] { return store_->stats().commit_errors_busy.load() > busy; }));
  ASSERT_EQ(pipeline_->stats().alerts_raised.load(), 1u);

  // Batch 1 again (an agent that was told a stale high-water mark resends
  // it): durable already, so it must not be evaluated a second time.
  Outcome resent;
  pipeline_->Submit(agent_a_, Batch(1, t), t, resent.Callback());
  std::this_thread::sleep_for(200ms);
  lock_->Release();
  EXPECT_EQ(resent.Get(), std::optional<bool>(true));
  EXPECT_EQ(pipeline_->stats().events_evaluated.load(), evaluated);
  EXPECT_EQ(pipeline_->stats().batches_duplicate.load(), 1u);
  EXPECT_EQ(StoredHighWaterMark("agent-a"), 1u);
  // The carried alert was committed with that group, not skipped with it.
  EXPECT_TRUE(WaitFor([&] { return StoredAlerts("corr") >= 1; }, 5s));
}

TEST_F(PipelineTest, LossReportReachesTheStoreWithItsReportId) {
  // Ingest forgets the ids it counted when the collector restarts; the
  // store remembers them, so a report resent after a restart is recorded
  // once only if the pipeline passes the id on.
  Start(1000ms);
  vigil::v1::LossReport report;
  report.set_reason(vigil::v1::LOSS_REASON_SPOOL_OVERFLOW);
  report.set_first_sequence(3);
  report.set_last_sequence(9);
  report.set_records(700);
  report.set_report_id("spool-overflow-3");
  ingest::AgentEvent event;
  event.kind = ingest::AgentEvent::Kind::kLossReport;
  event.received_ns = NowNs();
  event.loss_report = &report;
  pipeline_->OnAgentEvent(agent_a_, event);
  pipeline_->OnAgentEvent(agent_a_, event);
  EXPECT_TRUE(
      WaitFor([&] { return store_->stats().duplicate_loss_reports_skipped.load() == 1; }, 3s));
  EXPECT_EQ(pipeline_->stats().coverage_events.load(), 2u);
  EXPECT_EQ(pipeline_->stats().coverage_errors.load(), 0u);
}

}  // namespace
}  // namespace vigil::collector::app
