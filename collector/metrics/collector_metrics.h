#pragma once
// CollectorMetrics: everything the collector exposes on /metrics, as one
// prometheus::Collectable. It knows nothing of the modules it describes: the
// collector app fills it two ways.
//
//  - Push, on the pipeline threads, for things that happen per event: events
//    received, flows (traffic accounting and top talkers), alerts, rule
//    evaluation and incident-store write latencies. These calls never throw
//    and never take a lock another session's thread takes: OnEvents is a
//    relaxed atomic addition on a pre-resolved AgentHandle; OnFlow adds
//    atomically too and updates the session's own top-talker summary (a
//    mutex only that session and the scrape take; a host entering the
//    summary may allocate one hash node); OnAlert (rare next to events) does
//    one hash lookup under a shared lock.
//  - Pull, at scrape time, through snapshot callbacks for state the other
//    modules own (fleet view, ingest queue, engine cost, incident store).
//    Callbacks run on the scrape thread, one at a time; an exception from one
//    is caught and counted, and the last good snapshot is used instead.
//
// Every series that can exist is present from the moment it can exist, at 0:
// per known agent from the identity map (before it connects), per rule id once
// rules load, per reason and per layer from the start. Labels only come from
// bounded sets (agents, agencies, rule ids, levels, reasons, protocols,
// services, log types); values outside a registered set are folded into an
// `other` series and counted in vigil_metrics_label_folds_total. Series of
// removed agents and deleted rules disappear on the SetAgents/SetRuleset call
// that removes them; entries that stay keep their counts.
//
// Ownership: created once by the collector app with std::make_shared (the
// Exposer holds a weak_ptr) and kept for the life of the process. Handles and
// cells are never freed before the CollectorMetrics itself. Thread-safe.
// docs/metrics.md is the catalogue.

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "collector/metrics/atomic_histogram.h"
#include "collector/metrics/top_talkers.h"
#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"

namespace vigil::collector::metrics {

/// Sigma levels (the engine's levels, mirrored so this module depends on no
/// other module).
enum class Level : uint8_t { kInformational, kLow, kMedium, kHigh, kCritical };
inline constexpr std::size_t kLevelCount = 5;
std::string_view LevelName(Level level);

/// Zeek log a record belongs to (`_path`).
enum class LogType : uint8_t { kConn, kDns, kSsl, kHttp };
inline constexpr std::size_t kLogTypeCount = 4;
std::string_view LogTypeName(LogType type);

/// Transport protocol of a flow (label `protocol`).
enum class Protocol : uint8_t { kTcp, kUdp, kIcmp, kOther };
inline constexpr std::size_t kProtocolCount = 4;
std::string_view ProtocolName(Protocol protocol);

/// How a rule runs: enforce raises alerts, shadow only records them.
enum class RuleState : uint8_t { kEnforce, kShadow, kDisabled };
inline constexpr std::size_t kRuleStateCount = 3;
std::string_view RuleStateName(RuleState state);

/// What happened to one alert (or a throttling summary of `count` alerts).
enum class AlertOutcome : uint8_t { kRaised, kShadow, kSuppressed };

/// Fleet state of one known agent, derived at scrape time (see docs/metrics.md).
enum class AgentState : uint8_t { kUp, kSilent, kStopped, kNeverSeen };
inline constexpr std::size_t kAgentStateCount = 4;
std::string_view AgentStateName(AgentState state);

struct AgentIdentity {
  std::string identity;  ///< certificate CN
  std::string agency;
  std::string site;
};

struct NamedCount {
  std::string name;
  uint64_t value = 0;
};

/// One agent as the ingest module sees it. Counters are the agent's
/// cumulative values from its last heartbeat (they restart at 0 when the
/// agent restarts; Prometheus handles the reset).
struct AgentStatus {
  std::string identity;
  bool connected = false;           ///< a stream is open now
  bool said_goodbye = false;        ///< its last stream ended with Goodbye (planned stop)
  int64_t last_seen_unix_ns = 0;    ///< last message of any kind; 0 = never
  double lag_seconds = 0;           ///< collector receive time - batch creation time, last batch
  double clock_offset_seconds = 0;  ///< agent clock - collector clock (positive: agent ahead)
  uint64_t spool_bytes = 0;
  uint64_t spool_capacity_bytes = 0;
  uint64_t capture_packets = 0;          ///< packets received, all interfaces
  uint64_t capture_kernel_drops = 0;     ///< pcap ps_drop, all interfaces
  uint64_t capture_interface_drops = 0;  ///< pcap ps_ifdrop, all interfaces
  /// Records the agent dropped before delivery, by reason (heartbeat
  /// PipelineCounters.records_dropped), cumulative.
  std::vector<NamedCount> records_dropped;
  int64_t certificate_not_after_unix = 0;  ///< verified client certificate; 0 = unknown
};

struct IngestStatus {
  uint64_t queue_events = 0;  ///< events waiting for the rule engine
  uint64_t queue_capacity_events = 0;
  std::vector<NamedCount> dropped_events;        ///< cumulative, by reason
  std::vector<NamedCount> handshake_rejections;  ///< cumulative, by reason
};

struct RuleCost {
  std::string rule_id;
  double seconds = 0;  ///< cumulative evaluation time spent in this rule
};

struct EngineStatus {
  std::vector<RuleCost> rule_costs;
};

struct StoreStatus {
  uint64_t alerts_stored = 0;  ///< cumulative
  uint64_t write_errors = 0;   ///< cumulative
  /// Alerts raised but never stored (timer alerts over the carry cap while
  /// the store kept failing, or still unstored at shutdown), cumulative.
  uint64_t alerts_dropped = 0;
  std::array<uint64_t, kLevelCount> open_incidents{};  ///< indexed by Level
  uint64_t forwarded = 0;                              ///< alerts forwarded to the SIEM, cumulative
  std::vector<NamedCount> forward_dropped;             ///< cumulative, by reason
  uint64_t forward_queue_alerts = 0;
};

/// One loaded rule, as the engine reports it after a successful (re)load.
struct RuleInfo {
  std::string id;
  Level level = Level::kMedium;
  RuleState state = RuleState::kEnforce;
  std::string status;  ///< Sigma status: stable, test, experimental, deprecated, unsupported
};

struct CertificateExpiry {
  std::string name;  ///< bounded: "server", "ca", "forwarder_client", ...
  int64_t not_after_unix = 0;
};

/// Bounded label sets and tuning. The reason lists are the names the other
/// modules use in their stats; a snapshot name outside its list is folded
/// into `other`.
struct CollectorMetricsOptions {
  std::string version;  ///< vigil_collector_build_info{version}
  std::vector<AgentIdentity> agents;
  bool allow_unlisted_agents = false;
  std::size_t max_unlisted_agents = 256;  ///< beyond: folded into agent="other"
  std::chrono::milliseconds agent_silence_after{30000};
  TopTalkerOptions top_talkers;                                ///< top_k = 0 disables top talkers
  std::vector<std::string> services = {"dns", "http", "ssl"};  ///< known analyzers
  /// Names as collector/ingest reports them (records dropped at ingest;
  /// `duplicate` is a redelivery already held, `stream_replaced` a batch
  /// read while its stream was being replaced and left unacknowledged so
  /// the agent resends it: neither is a loss).
  std::vector<std::string> ingest_drop_reasons = {"duplicate", "malformed", "stream_replaced"};
  /// collector/ingest StreamRejectionName() values.
  std::vector<std::string> tls_rejection_reasons = {
      "no_client_certificate", "unknown_ca",       "bad_signature",  "expired",
      "not_yet_valid",         "revoked",          "wrong_purpose",  "crl_unusable",
      "bad_certificate",       "unknown_identity", "protocol_error", "shutting_down"};
  /// Agent-side record drop reasons (agent/export CollectorSinkStats).
  std::vector<std::string> agent_drop_reasons = {"queue_full", "spool_overflow", "spool_corrupt"};
  std::vector<std::string> forward_drop_reasons = {"buffer_full", "send_failed"};
  std::vector<double> rule_evaluation_buckets = LatencyBucketsSeconds();
  std::vector<double> store_write_buckets = LatencyBucketsSeconds();
  /// Wall clock; tests inject one.
  std::function<std::chrono::system_clock::time_point()> clock;
};

namespace detail {
struct AgencyCell;
struct AgentCell;
struct RuleCell;
}  // namespace detail

/// A pre-resolved agent for the push calls. Cheap to copy; a default handle
/// is valid and counts nothing. Valid as long as its CollectorMetrics.
class AgentHandle {
 public:
  AgentHandle() = default;
  explicit operator bool() const { return cell_ != nullptr; }

 private:
  friend class CollectorMetrics;
  explicit AgentHandle(detail::AgentCell* cell) : cell_(cell) {}
  detail::AgentCell* cell_ = nullptr;
};

/// Index into the service label set: known analyzers, then `other`, `none`.
using ServiceId = uint8_t;

/// One conn record, for traffic accounting. Addresses are network-order
/// bytes as in vigil.v1.FlowKey (4 or 16 bytes).
struct FlowSample {
  Protocol protocol = Protocol::kOther;
  ServiceId service = 0;
  uint64_t bytes = 0;       ///< IP bytes, both directions, since the previous record of the flow
  uint64_t packets = 0;     ///< packets, both directions, since the previous record of the flow
  bool flow_ended = false;  ///< final record of the flow: counts one flow
  std::span<const uint8_t> orig_address;
  std::span<const uint8_t> resp_address;
};

class CollectorMetrics : public prometheus::Collectable {
 public:
  explicit CollectorMetrics(CollectorMetricsOptions options);
  ~CollectorMetrics() override;
  CollectorMetrics(const CollectorMetrics&) = delete;
  CollectorMetrics& operator=(const CollectorMetrics&) = delete;

  // --- Control plane (config load and reload) -------------------------------

  /// Replaces the identity map. Agents and agencies no longer listed stop
  /// being exposed; handles to them stay valid (their counts are not shown).
  void SetAgents(std::vector<AgentIdentity> agents, bool allow_unlisted_agents);
  void SetAgentSilenceAfter(std::chrono::milliseconds silence_after);

  /// Resolves an agent once (at session start). Unknown identities get their
  /// own series when unlisted agents are allowed (up to max_unlisted_agents),
  /// else they share agent="other".
  AgentHandle Agent(std::string_view identity);

  /// A successful (re)load: the rule set and its hash. Rules not in `rules`
  /// disappear; rules that stay keep their counts.
  void SetRuleset(std::string_view ruleset_hash, std::vector<RuleInfo> rules);
  /// Every reload attempt, successful or not (also the initial load).
  void RecordRulesReload(bool success);

  void SetCertificates(std::vector<CertificateExpiry> certificates);

  void SetAgentStatusSource(std::function<std::vector<AgentStatus>()> source);
  void SetIngestStatusSource(std::function<IngestStatus()> source);
  void SetEngineStatusSource(std::function<EngineStatus()> source);
  void SetStoreStatusSource(std::function<StoreStatus()> source);

  /// Maps a conn record's services (first known analyzer wins; none known:
  /// `other`; empty: `none`). Cheap: a few string compares.
  ServiceId ResolveService(std::span<const std::string> services) const;
  /// Same for Zeek's comma-joined form ("ssl,http").
  ServiceId ResolveService(std::string_view comma_joined) const;

  // --- Event path (never throws, never blocks on another pipeline thread) ---

  void OnEvents(AgentHandle agent, LogType type, uint64_t count = 1) noexcept;
  void OnFlow(AgentHandle agent, const FlowSample& flow) noexcept;
  /// `count` > 1 for throttling summaries ("N alerts suppressed").
  void OnAlert(std::string_view rule_id, std::string_view agency, AlertOutcome outcome,
               uint64_t count = 1) noexcept;
  /// Time to evaluate one event against the whole rule set.
  void ObserveRuleEvaluation(double seconds) noexcept;
  /// Time for one incident-store write (commit).
  void ObserveStoreWrite(double seconds) noexcept;

  // --- Exposition -------------------------------------------------------------

  std::vector<prometheus::MetricFamily> Collect() const override;
  /// Collect() in the Prometheus text format (tests, debugging).
  std::string ScrapeText() const;

 private:
  struct Sources;
  struct Tables;
  enum class FoldLabel : uint8_t { kAgent, kAgency, kRuleId, kReason };
  static constexpr std::size_t kFoldLabelCount = 4;
  enum class Source : uint8_t { kAgents, kIngest, kEngine, kStore };
  static constexpr std::size_t kSourceCount = 4;

  std::chrono::system_clock::time_point Now() const;
  detail::AgencyCell* AgencyLocked(std::string_view name);  // tables_mu_ held exclusively
  void Fold(FoldLabel label) const noexcept;

  CollectorMetricsOptions options_;
  std::vector<std::string> service_names_;  // known..., "other", "none"
  std::chrono::system_clock::time_point start_time_;

  mutable std::shared_mutex tables_mu_;
  std::unique_ptr<Tables> tables_;

  std::unique_ptr<TopTalkers> top_talkers_;
  AtomicHistogram rule_evaluation_;
  AtomicHistogram store_write_;
  mutable std::array<std::atomic<uint64_t>, kFoldLabelCount> folds_{};

  // Scrape-side state: sources and their last good snapshots.
  mutable std::mutex scrape_mu_;
  std::unique_ptr<Sources> sources_;
};

}  // namespace vigil::collector::metrics
