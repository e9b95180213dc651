#pragma once
// IncidentStore: the collector's durable, tamper-evident incident log
// (SQLite, WAL). Every alert, incident lifecycle change, coverage event,
// export, prune and checkpoint is a record of one hash chain
// (chain_record.h); checkpoints sign the chain head with the collector's
// Ed25519 key. Alerts are grouped into incidents (derived, mutable summary
// rows) without losing the individual alerts. The store also keeps each
// agent's batch high-water mark, committed in the same transaction as the
// batch's alerts, so "acknowledged" always means "durable".
//
// Ownership and threads: the collector owns one instance opened in
// kCollector mode and calls it from its pipeline thread; vigilctl opens its
// own instance (kOperator) in another process at the same time (WAL readers
// never block the writer; writers serialise on SQLite's lock with a busy
// timeout, and every write transaction re-reads the chain head, so several
// writer processes still produce one linear chain). Calls on one instance are
// serialised by an internal mutex; stats() may be read from any thread.

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <expected>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "collector/engine/alert.h"
#include "collector/incidents/chain_record.h"
#include "collector/incidents/export_format.h"
#include "collector/incidents/store_config.h"
#include "collector/incidents/store_error.h"
#include "collector/incidents/time_text.h"

namespace vigil::collector::incidents {

class SyslogForwarder;
struct ForwarderStats;

/// Schema version this build writes (PRAGMA user_version).
inline constexpr int kSchemaVersion = 2;

/// Returns Unix nanoseconds (UTC). Injected in tests.
using Clock = std::function<int64_t()>;
int64_t SystemClockNs();

enum class OpenMode {
  kCollector,  ///< creates the log if missing; signing key required; records collector start/stop
  kOperator,   ///< vigilctl: the log must exist; signing key optional (needed for prune/checkpoint)
};

/// One agent batch to commit: its alerts plus the new high-water mark.
/// Views only: the caller keeps the strings and alerts alive during the call.
struct BatchCommit {
  std::string_view agent_id;  ///< verified certificate CN
  std::string_view agency;
  uint64_t sequence = 0;    ///< the agent's batch sequence
  uint64_t events = 0;      ///< events in the batch (completeness ledger)
  int64_t received_ns = 0;  ///< collector receive time of the batch
  std::span<const engine::Alert> alerts;
  /// Alerts that belong to no new batch (a correlation window that closed,
  /// a throttling summary flushed while the agents were quiet): stored with
  /// `sequence` as provenance (the agent's last batch), without touching the
  /// high-water mark or the completeness ledger.
  bool alerts_only = false;
};

struct CommitResult {
  uint64_t batches_committed = 0;
  uint64_t duplicate_batches = 0;  ///< sequence <= high-water mark: skipped, nothing stored
  uint64_t alerts_stored = 0;
  uint64_t sequence_gaps = 0;  ///< jumps in an agent's sequence, recorded as coverage
  uint64_t head_seq = 0;       ///< chain head after the commit
};

/// Coverage events feed the manifests' "coverage gaps".
enum class CoverageKind {
  kConnected,         ///< agent stream established (Hello accepted)
  kDisconnected,      ///< stream ended without Goodbye
  kSilent,            ///< no batch/heartbeat for longer than the silence threshold
  kGoodbye,           ///< agent announced a graceful shutdown
  kLossReport,        ///< agent reported batches it will never deliver
  kCaptureHealth,     ///< capture drop snapshot over [window_start, window_end]
  kSequenceGap,       ///< recorded by the store: an agent's sequence jumped
  kCollectorStarted,  ///< recorded by the store when opened in kCollector mode
  kCollectorStopped,  ///< recorded by the store on Close()
};
std::string_view CoverageKindName(CoverageKind kind);

struct CoverageEvent {
  CoverageKind kind = CoverageKind::kConnected;
  std::string agent_id;
  std::string agency;
  int64_t occurred_ns = 0;      ///< 0 = now (collector clock)
  int64_t window_start_ns = 0;  ///< loss / capture window, when known
  int64_t window_end_ns = 0;
  uint64_t first_sequence = 0;  ///< loss reports: inclusive lost batch range
  uint64_t last_sequence = 0;
  uint64_t batches = 0;
  uint64_t records = 0;
  double drop_ratio = 0;  ///< capture health: dropped / (received + dropped)
  std::string detail;     ///< reason text (loss reason, goodbye reason ...)
  /// Loss reports: the agent's name for the report (LossReport.report_id),
  /// the same across resends. A non-empty (agent_id, report_id) is recorded
  /// once; later copies are skipped (counted in duplicate_loss_reports_skipped).
  /// Empty = unknown (older agents): recorded every time.
  std::string report_id;
};

struct AgentWatermark {
  std::string agent_id;
  std::string agency;
  uint64_t high_water = 0;
  uint64_t batches = 0;
  uint64_t events = 0;
  int64_t last_commit_ns = 0;
};

enum class IncidentStatus { kOpen, kAcknowledged, kClosed };
std::string_view IncidentStatusName(IncidentStatus status);
std::optional<IncidentStatus> ParseIncidentStatus(std::string_view name);

enum class IncidentAction { kAcknowledge, kClose, kReopen };
std::string_view IncidentActionName(IncidentAction action);

struct IncidentSummary {
  int64_t id = 0;
  std::string rule_id, rule_title, level, agency, group_key;
  bool shadow = false;
  std::string status;
  int64_t first_seen_ns = 0, last_seen_ns = 0;
  uint64_t alert_count = 0, suppressed_count = 0;
  int64_t status_changed_ns = 0;
  std::string status_by, status_note;
};

struct IncidentFilter {
  std::optional<std::string> status;
  std::optional<std::string> agency;
  std::optional<std::string> rule_id;
  std::optional<std::string> min_level;
  bool include_shadow = false;
  std::optional<int64_t> since_ns;  ///< last_seen >= since
  std::optional<int64_t> until_ns;  ///< first_seen < until
  size_t limit = 100;
};

struct IncidentChangeRecord {
  uint64_t seq = 0;
  int64_t recorded_ns = 0;
  std::string action, from_status, to_status, by, note;
};

struct IncidentDetail {
  IncidentSummary summary;
  std::vector<IncidentChangeRecord> history;
  std::vector<ExportRow> alerts;  ///< the first max_alerts alerts, oldest first
};

struct CheckpointInfo {
  uint64_t seq = 0;         ///< the checkpoint record
  uint64_t covers_seq = 0;  ///< the head it signs
  std::string covers_hash;  ///< hex
};

struct PruneResult {
  uint64_t records_removed = 0;
  uint64_t alerts_removed = 0;
  uint64_t pruned_through_seq = 0;
  uint64_t prune_record_seq = 0;  ///< 0 when nothing was old enough
};

struct ChainHead {
  uint64_t seq = 0;
  Hash hash{};
};

struct ExportQuery {
  int64_t since_ns = 0;  ///< event time >= since
  int64_t until_ns = 0;  ///< event time < until
  std::optional<std::string> agency, agent_id, rule_id, min_level, status;
  bool include_shadow = true;
};

struct ExportOptions {
  ExportQuery query;
  ExportFormat format = ExportFormat::kJsonl;
  std::string time_zone = "UTC";
  std::filesystem::path output;    ///< the export file (written as output.partial, then renamed)
  std::filesystem::path manifest;  ///< default: output + ".manifest.json"
  std::string exporter;            ///< who exports (OS user)
  double drop_threshold = 0.01;    ///< capture drop ratio above which a gap is reported
  SyslogIdentity identity;
};

struct ExportResult {
  uint64_t rows = 0;
  uint64_t bytes = 0;
  std::string sha256;  ///< hex
  ChainHead head;      ///< chain head the export was read at
  uint64_t export_record_seq = 0;
  std::filesystem::path manifest;
  size_t coverage_gaps = 0;
};

/// Counters for /metrics (read by collector/metrics; atomics, any thread).
struct StoreStats {
  static constexpr size_t kLevels = 5;  ///< informational .. critical
  /// Write latency histogram buckets (upper bounds, seconds; last is +Inf).
  static constexpr std::array<double, 12> kLatencyBounds = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5};

  std::array<std::atomic<uint64_t>, kLevels> alerts_stored_by_level{};  ///< non-shadow
  std::atomic<uint64_t> shadow_alerts_stored{0};
  std::atomic<uint64_t> suppressed_summaries_stored{0};
  std::atomic<uint64_t> batches_committed{0};
  std::atomic<uint64_t> duplicate_batches_skipped{0};
  std::atomic<uint64_t> sequence_gaps_recorded{0};
  /// Loss reports resent with a (agent, report_id) already recorded: skipped.
  std::atomic<uint64_t> duplicate_loss_reports_skipped{0};
  std::atomic<uint64_t> transactions_committed{0};
  std::atomic<uint64_t> records_appended{0};
  std::atomic<uint64_t> checkpoints_written{0};
  std::atomic<uint64_t> records_pruned{0};
  std::atomic<uint64_t> exports_written{0};
  /// Open + acknowledged incidents, shadow excluded; exact after each
  /// checkpoint, adjusted by this process's changes in between.
  std::atomic<int64_t> incidents_open{0};
  /// The same, by level (informational .. critical).
  std::array<std::atomic<int64_t>, kLevels> incidents_open_by_level{};
  std::atomic<uint64_t> chain_head_seq{0};
  /// Failed write transactions, by reason (busy, io, other): the batch was
  /// not acknowledged.
  std::atomic<uint64_t> commit_errors_busy{0};
  std::atomic<uint64_t> commit_errors_io{0};
  std::atomic<uint64_t> commit_errors_other{0};
  /// Named anomaly: an alert event whose JSON did not parse was stored as a string.
  std::atomic<uint64_t> event_json_invalid{0};
  /// Commit latency (CommitBatches wall time): cumulative histogram counts.
  std::array<std::atomic<uint64_t>, kLatencyBounds.size() + 1> commit_latency_buckets{};
  std::atomic<uint64_t> commit_latency_sum_ns{0};
  std::atomic<uint64_t> commit_latency_count{0};
};

class IncidentStore {
 public:
  static std::expected<std::unique_ptr<IncidentStore>, StoreError> Open(
      const StoreConfig& config, OpenMode mode, Clock clock = SystemClockNs);
  ~IncidentStore();
  IncidentStore(const IncidentStore&) = delete;
  IncidentStore& operator=(const IncidentStore&) = delete;

  // ---- collector pipeline -------------------------------------------------

  /// Commits the batches' alerts and high-water marks in one transaction
  /// (group commit). Batches at or below an agent's high-water mark are
  /// skipped (counted). On error nothing of the call is stored. Forwards
  /// committed, non-shadow alerts to the SIEM forwarder when configured.
  std::expected<CommitResult, StoreError> CommitBatches(std::span<const BatchCommit> batches);
  std::expected<void, StoreError> RecordCoverage(const CoverageEvent& event);
  std::expected<std::vector<AgentWatermark>, StoreError> HighWaterMarks();
  /// 0 when the agent never committed a batch.
  std::expected<uint64_t, StoreError> HighWaterMark(std::string_view agent_id);
  /// Writes a checkpoint when the interval elapsed and records are unsigned.
  /// Call periodically (e.g. every few seconds) so idle periods get signed.
  std::expected<std::optional<CheckpointInfo>, StoreError> MaybeCheckpoint();
  std::expected<CheckpointInfo, StoreError> Checkpoint(std::string_view reason);
  /// Prunes by config.retention (no-op when 0).
  std::expected<PruneResult, StoreError> PruneExpired();
  std::expected<PruneResult, StoreError> Prune(std::chrono::seconds older_than,
                                               std::string_view by);
  /// Final checkpoint, collector_stopped record, forwarder drain. Idempotent;
  /// also run (errors ignored) by the destructor.
  std::expected<void, StoreError> Close();

  // ---- operators (vigilctl) -----------------------------------------------

  std::expected<std::vector<IncidentSummary>, StoreError> ListIncidents(
      const IncidentFilter& filter);
  std::expected<IncidentDetail, StoreError> GetIncident(int64_t id, size_t max_alerts = 50);
  std::expected<IncidentChangeRecord, StoreError> ChangeIncident(int64_t id, IncidentAction action,
                                                                 std::string_view by,
                                                                 std::string_view note);
  std::expected<ExportResult, StoreError> Export(const ExportOptions& options);
  std::expected<ChainHead, StoreError> Head();

  const StoreStats& stats() const { return stats_; }
  /// nullptr when forwarding is disabled.
  const ForwarderStats* forwarder_stats() const;
  const std::string& store_id() const { return store_id_; }
  /// Public half of the signing key (PEM), empty without a key.
  std::string PublicKeyPem() const;

 private:
  struct Impl;
  IncidentStore(const StoreConfig& config, OpenMode mode, Clock clock);

  StoreConfig config_;
  OpenMode mode_;
  Clock clock_;
  std::string store_id_;
  bool opened_ = false;  ///< Open() completed: Close() may write
  StoreStats stats_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vigil::collector::incidents
