#pragma once
// The fleet view: one entry per agent identity the collector has seen since
// it started (connected or not), with presence (connected, last seen, silent,
// stopped on purpose), restarts, clock offset, lag, and the agent's own
// spool and capture counters from its heartbeats. It also serialises the
// sessions of one identity: a newer stream replaces the older one, and the
// newer one waits until every batch of the older one has completed before it
// reads the high-water mark (so no batch is handled twice).
// Owned by IngestServer; every method is thread-safe (one mutex).

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "collector/ingest/batch_handler.h"
#include "collector/ingest/clock_offset.h"

namespace vigil::collector::ingest {

struct CaptureStatus {
  std::string interface;
  uint64_t packets_received = 0, bytes_received = 0, kernel_drops = 0, interface_drops = 0,
           decode_anomalies = 0;
};

/// One agent as the metrics layer and `vigilctl` see it. Times are collector
/// wall clock, ns since the epoch (0 = never).
struct AgentStatus {
  AgentInfo info;
  bool connected = false;
  bool silent = false;              ///< nothing heard for heartbeat_silence_after
  bool stopped_gracefully = false;  ///< last session ended with Goodbye
  int64_t first_seen_ns = 0, last_seen_ns = 0, connected_since_ns = 0;
  std::string peer, hostname, agent_version, last_disconnect_reason;
  uint64_t instance_id = 0;
  uint64_t restarts = 0;  ///< instance_id changes seen
  uint64_t sessions = 0;
  std::optional<int64_t> clock_offset_ns;
  int64_t lag_ns = 0;  ///< last batch: received − created (offset-corrected)
  uint64_t last_sequence_received = 0, acked_sequence = 0;
  uint64_t batches_received = 0, records_received = 0, batches_duplicate = 0;
  uint64_t loss_reports = 0, records_lost_reported = 0;
  int64_t cert_not_after_ns = 0;  ///< the agent's certificate, as last verified
  // From the last heartbeat:
  uint64_t spool_bytes_used = 0, spool_bytes_capacity = 0, spool_batches = 0;
  uint64_t records_produced = 0, agent_records_acked = 0;
  std::map<std::string, uint64_t> agent_records_dropped;
  std::vector<CaptureStatus> capture;
  // The same counters made monotonic on the collector's side: an agent's
  // own counters restart at 0 with every agent process, and a restarted
  // agent that reaches the same value as before would look like no traffic
  // at all to Prometheus. These add each heartbeat's increase (the whole
  // value after a restart), over all interfaces, for as long as the
  // collector runs.
  CaptureStatus capture_total;
  std::map<std::string, uint64_t> agent_records_dropped_total;
};

class AgentRegistry {
 public:
  using Kick = std::function<void(const std::string& reason)>;

  explicit AgentRegistry(std::chrono::nanoseconds silence_after) : silence_after_(silence_after) {}

  struct Attached {
    uint64_t generation = 0;
    Kick previous;  ///< the stream this one replaces (call it, outside any lock)
  };
  /// A verified stream of `info.agent_id` starts; `kick` ends it if replaced.
  Attached Attach(const AgentInfo& info, const std::string& peer, int64_t cert_not_after_ns,
                  int64_t now_ns, Kick kick);
  /// The stream ended. Only the current generation marks the agent offline.
  /// Returns false if a newer stream had already replaced this one.
  bool Detach(const std::string& agent_id, uint64_t generation, const std::string& reason,
              int64_t now_ns);

  /// Calls `fn` once no batch of this agent is in flight (at once if none).
  void WhenDrained(const std::string& agent_id, std::function<void()> fn);
  void BatchSubmitted(const std::string& agent_id);
  void BatchCompleted(const std::string& agent_id);

  /// Returns whether the agent restarted (instance_id changed).
  bool OnHello(const std::string& agent_id, const vigil::v1::Hello& hello, int64_t now_ns);
  void OnHeartbeat(const std::string& agent_id, const vigil::v1::Heartbeat& hb, int64_t now_ns);
  void OnBatch(const std::string& agent_id, uint64_t sequence, uint64_t records, int64_t created_ns,
               int64_t now_ns, bool duplicate);
  void OnAcked(const std::string& agent_id, uint64_t sequence);
  /// Counts the report (loss_reports, records_lost_reported) and returns
  /// true, unless its report_id was already counted for this agent: agents
  /// resend a report until a stream ends cleanly after it, and each
  /// (agent, report_id) counts once. The last kLossReportIdsKept ids per
  /// agent are remembered; an empty id (agents before the field) always
  /// counts.
  bool OnLossReport(const std::string& agent_id, const vigil::v1::LossReport& report,
                    int64_t now_ns);
  static constexpr size_t kLossReportIdsKept = 1024;
  void OnGoodbye(const std::string& agent_id, int64_t now_ns);
  void Touch(const std::string& agent_id, int64_t now_ns);
  std::optional<int64_t> ClockOffset(const std::string& agent_id) const;

  /// Marks agents silent whose last message is older than silence_after;
  /// returns those that became silent now (to raise one event each).
  std::vector<AgentInfo> Sweep(int64_t now_ns);

  std::vector<AgentStatus> Snapshot() const;
  uint64_t SilentCount() const;

 private:
  struct Slot {
    AgentStatus status;
    ClockOffsetEstimator offset;
    uint64_t generation = 0;
    Kick kick;
    uint64_t inflight = 0;
    std::vector<std::function<void()>> drain_waiters;
    // Last values of the current agent instance, to turn them into increases.
    std::map<std::string, CaptureStatus> last_capture;
    std::map<std::string, uint64_t> last_dropped;
    // Loss report ids already counted, oldest first (bounded).
    std::deque<std::string> loss_report_ids;
    std::unordered_set<std::string> loss_report_id_set;
  };
  Slot& SlotFor(const std::string& agent_id);

  const std::chrono::nanoseconds silence_after_;
  mutable std::mutex mu_;
  std::map<std::string, Slot> slots_;
  uint64_t next_generation_ = 1;
};

}  // namespace vigil::collector::ingest
