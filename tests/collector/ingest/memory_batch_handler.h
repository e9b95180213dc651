#pragma once
// In-memory BatchHandler for tests: the second implementation of the seam
// (the collector app's is the first). It completes batches in order on its
// own worker thread, like a pipeline would, keeps what it received per
// agent (sequences, record uids, agent events), and lets a test stall it,
// fail batches, or preset a high-water mark. Thread-safe.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "collector/ingest/batch_handler.h"

namespace vigil::testing {

class MemoryBatchHandler : public collector::ingest::BatchHandler {
 public:
  struct AgentData {
    uint64_t high_water_mark = 0;
    std::vector<uint64_t> sequences;  ///< accepted batches, in completion order
    std::vector<std::string> uids;    ///< Event.uid of every accepted record
    uint64_t records = 0;
    std::vector<vigil::v1::LossReport> loss_reports;
  };
  struct EventRecord {
    std::string agent_id;
    collector::ingest::AgentEvent::Kind kind;
    std::string reason;
    bool restarted = false;
    std::optional<int64_t> clock_offset_ns;
  };

  explicit MemoryBatchHandler(bool keep_uids = true);
  ~MemoryBatchHandler() override;

  // collector::ingest::BatchHandler
  uint64_t HighWaterMark(const std::string& agent_id) override;
  void Submit(const collector::ingest::AgentInfo& agent,
              std::shared_ptr<const vigil::v1::EventBatch> batch, int64_t received_ns,
              std::function<void(bool ok)> done) override;
  void OnAgentEvent(const collector::ingest::AgentInfo& agent,
                    const collector::ingest::AgentEvent& event) override;

  /// Holds every completion until Resume() (a stalled pipeline).
  void Pause();
  void Resume();
  /// The next `n` batches complete with done(false).
  void FailNext(int n);
  void SetHighWaterMark(const std::string& agent_id, uint64_t sequence);

  AgentData Agent(const std::string& agent_id) const;
  std::vector<EventRecord> Events() const;
  size_t CountEvents(collector::ingest::AgentEvent::Kind kind) const;
  uint64_t TotalRecords() const;
  /// Polls until `pred()` holds or `timeout` passes.
  bool WaitFor(const std::function<bool()>& pred,
               std::chrono::milliseconds timeout = std::chrono::seconds(20)) const;

 private:
  struct Job {
    collector::ingest::AgentInfo agent;
    std::shared_ptr<const vigil::v1::EventBatch> batch;
    std::function<void(bool)> done;
  };
  void Worker();

  const bool keep_uids_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> jobs_;
  bool paused_ = false;
  bool stop_ = false;
  int fail_next_ = 0;
  std::map<std::string, AgentData> agents_;
  std::vector<EventRecord> events_;
  std::thread worker_;
};

}  // namespace vigil::testing
