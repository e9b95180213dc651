#pragma once
// The collector's pipeline: the one thread where every agent's events meet
// the rule engine, in arrival order, so that one source scanning several
// agencies is one correlation. It implements the ingest service's
// BatchHandler: batches queue up (bounded by the ingest service's admission
// control), the pipeline thread turns each record into an engine event,
// evaluates the rules, and commits the alerts together with the agents'
// high-water marks in one SQLite transaction per group of batches; only then
// does it report the batches durable, and the ingest service acknowledges
// them. Agent session events (connect, heartbeat, loss report, goodbye,
// silence) are queued on the same thread and recorded as coverage events for
// the auditors' manifests.
//
// Owned by the collector app. Submit/OnAgentEvent/HighWaterMark are called
// from gRPC threads; Start/Stop from the app's main thread.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "collector/engine/engine.h"
#include "collector/incidents/incident_store.h"
#include "collector/ingest/batch_handler.h"
#include "collector/metrics/collector_metrics.h"

namespace vigil::collector::app {

struct PipelineOptions {
  /// Most batches coalesced into one store transaction (group commit).
  size_t max_batches_per_commit = 256;
  /// When no event arrives for this long, event time is advanced by the
  /// wall-clock time that passed, so windows that can only be decided at
  /// their end (lt/eq correlations, throttle summaries) still close.
  std::chrono::milliseconds idle_tick{1000};
  /// Write a signed checkpoint when due, at most this often.
  std::chrono::milliseconds checkpoint_poll{5000};
  /// Log one line per raised alert (the demo and operators read them).
  bool log_alerts = true;
  /// Timer alerts held for a retry while the store refuses writes; beyond
  /// this the oldest are dropped (counted in alerts_dropped).
  size_t max_carried_alerts = 100000;
};

/// Counters of the pipeline itself (every place it can drop has a reason).
struct PipelineStats {
  std::atomic<uint64_t> batches_committed{0};
  std::atomic<uint64_t> batches_failed{0};  ///< commit failed: not acknowledged, resent later
  /// Not committed because an earlier commit of the same agent failed and its
  /// stream has not restarted yet: not acknowledged, resent later.
  std::atomic<uint64_t> batches_refused{0};
  /// At or below the agent's durable high-water mark: not evaluated again,
  /// nothing stored twice (acknowledged as durable).
  std::atomic<uint64_t> batches_duplicate{0};
  std::atomic<uint64_t> events_evaluated{0};
  std::atomic<uint64_t> records_unusable{0};  ///< records that could not become events
  std::atomic<uint64_t> alerts_raised{0};
  std::atomic<uint64_t> alerts_shadow{0};
  std::atomic<uint64_t> alerts_suppressed{0};  ///< folded into "N suppressed" summaries
  /// Timer alerts (raised outside any batch) that could never be stored.
  std::atomic<uint64_t> alerts_dropped{0};
  std::atomic<uint64_t> coverage_events{0};
  std::atomic<uint64_t> coverage_errors{0};  ///< coverage events the store refused
  std::atomic<uint64_t> queue_events{0};     ///< gauge: events waiting
  std::atomic<uint64_t> queue_batches{0};    ///< gauge
};

class Pipeline : public ingest::BatchHandler {
 public:
  Pipeline(engine::Engine& engine, incidents::IncidentStore& store,
           metrics::CollectorMetrics& metrics, PipelineOptions options = {});
  ~Pipeline() override;
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  void Start();
  /// Finishes every queued batch (committing it), then stops the thread.
  void Stop();

  // vigil::collector::ingest::BatchHandler
  uint64_t HighWaterMark(const std::string& agent_id) override;
  void Submit(const ingest::AgentInfo& agent, std::shared_ptr<const vigil::v1::EventBatch> batch,
              int64_t received_ns, std::function<void(bool ok)> done) override;
  void OnAgentEvent(const ingest::AgentInfo& agent, const ingest::AgentEvent& event) override;

  const PipelineStats& stats() const { return stats_; }
  /// Record adapter failures by stable code ("bad_address_length", ...).
  std::map<std::string, uint64_t> UnusableByCode() const;

 private:
  struct Item {
    ingest::AgentInfo agent;
    std::shared_ptr<const vigil::v1::EventBatch> batch;  // null for a coverage event
    int64_t received_ns = 0;
    std::function<void(bool)> done;
    incidents::CoverageEvent coverage;
  };

  void Run();
  void ProcessGroup(std::vector<Item>& items);
  /// Appends one alerts_only commit per carried alert (views into carry_).
  void AppendCarried(std::vector<incidents::BatchCommit>& commits) const;
  void CommitCarried();
  void Carry(std::vector<engine::Alert>& alerts);
  /// The agent's durable high-water mark as the store has it (cached).
  uint64_t DurableHighWaterMark(const std::string& agent_id);
  void EvaluateBatch(const Item& item, std::vector<engine::Alert>& alerts);
  void HandleAlerts(std::vector<engine::Alert>& alerts);
  metrics::AgentHandle Handle(const std::string& agent_id);
  double DropRatio(const std::string& agent_id) const;

  engine::Engine& engine_;
  incidents::IncidentStore& store_;
  metrics::CollectorMetrics& metrics_;
  PipelineOptions options_;
  PipelineStats stats_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> queue_;
  bool stopping_ = false;
  std::thread thread_;
  /// Agents whose commit failed: their batches are refused (done(false))
  /// until a new stream asks HighWaterMark(), so that no later batch raises
  /// the high-water mark above the failed ones. Guarded by mu_.
  std::unordered_set<std::string> failed_agents_;

  // Pipeline thread only.
  std::unordered_map<std::string, metrics::AgentHandle> handles_;
  int64_t watermark_ns_ = 0;          ///< newest event time seen (event-time clock)
  std::vector<engine::Alert> carry_;  ///< timer alerts waiting for the next commit
  /// Durable high-water mark per agent (the duplicate filter's floor).
  std::unordered_map<std::string, uint64_t> durable_hwm_;

  mutable std::mutex health_mu_;
  std::unordered_map<std::string, double> drop_ratio_;  ///< from heartbeats
  mutable std::mutex unusable_mu_;
  std::map<std::string, uint64_t> unusable_by_code_;
};

}  // namespace vigil::collector::app
