#pragma once
// AgentMetrics: the agent's own /metrics (served only when `metrics.listen`
// is set), built at scrape time from one snapshot of the agent's plain stats
// structs. The agent app provides the snapshot callback; this module knows
// nothing of capture, decode, flow or export.
//
// Every series that can exist is present from start at 0: per configured
// interface and drop layer, per anomaly name the decoders define, per flow
// eviction reason and record drop reason. Snapshot entries outside those
// registered sets are folded into an `other` series and counted in
// vigil_agent_metrics_label_folds_total, so a bug elsewhere can never grow
// the series count.
//
// Ownership: created by the agent app with std::make_shared (the Exposer
// keeps a weak_ptr). Thread-safe: Collect() serialises scrapes, so the
// snapshot callback runs on one scrape thread at a time; an exception from
// it is caught, counted, and the last good snapshot is served.

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"

namespace vigil::agent::metrics {

struct NamedCount {
  std::string name;
  uint64_t value = 0;
};

/// Cumulative counters of one capture interface (or capture file).
struct InterfaceCounters {
  std::string name;
  uint64_t packets = 0;          ///< packets handed to the agent
  uint64_t bytes = 0;            ///< wire bytes of those packets
  uint64_t kernel_drops = 0;     ///< pcap ps_drop
  uint64_t interface_drops = 0;  ///< pcap ps_ifdrop
};

/// Everything the agent exposes, read once per scrape. Counters are
/// cumulative since the agent started.
struct AgentSnapshot {
  std::vector<InterfaceCounters> interfaces;
  std::vector<NamedCount> anomalies;  ///< decoder/analyzer anomalies by name
  uint64_t flows_active = 0;
  std::vector<NamedCount> flow_evictions;  ///< flows removed from the table, by reason
  uint64_t records_produced = 0;
  uint64_t records_acked = 0;               ///< acknowledged durable by the collector
  uint64_t records_pending = 0;             ///< queued, in an open batch or spooled unacked
  std::vector<NamedCount> records_dropped;  ///< by reason
  uint64_t batches_sealed = 0;
  uint64_t batches_acked = 0;
  uint64_t spool_bytes = 0;
  uint64_t spool_capacity_bytes = 0;
  bool collector_connected = false;
  uint64_t collector_connects = 0;
  uint64_t collector_connect_failures = 0;
  int64_t certificate_not_after_unix = 0;  ///< the agent's own certificate; 0 = unknown
};

struct AgentMetricsOptions {
  std::string version;
  /// Configured interfaces (or the capture file name with --read).
  std::vector<std::string> interfaces;
  /// The decoders' and analyzers' anomaly names (agent/decode/anomaly.h).
  std::vector<std::string> anomaly_names;
  /// Flow-table removal reasons (conn.log end_reason values).
  std::vector<std::string> eviction_reasons = {"closed", "idle_timeout", "evicted", "shutdown"};
  /// agent/export CollectorSinkStats drop counters.
  std::vector<std::string> drop_reasons = {"queue_full", "spool_overflow", "spool_corrupt"};
  std::function<std::chrono::system_clock::time_point()> clock;
};

class AgentMetrics : public prometheus::Collectable {
 public:
  AgentMetrics(AgentMetricsOptions options, std::function<AgentSnapshot()> source);

  std::vector<prometheus::MetricFamily> Collect() const override;
  /// Collect() in the Prometheus text format (tests, debugging).
  std::string ScrapeText() const;

 private:
  struct Folds {
    uint64_t interface = 0, anomaly = 0, reason = 0;
  };
  /// Sums snapshot values into the registered names (last entry: other).
  std::vector<uint64_t> Bucket(std::string_view label, const std::vector<std::string>& names,
                               const std::vector<NamedCount>& values, uint64_t& folds) const;
  /// True the first time `name` is folded for `label` (bounded memory).
  bool FirstFold(std::string_view label, std::string_view name) const;

  AgentMetricsOptions options_;
  std::function<AgentSnapshot()> source_;
  std::chrono::system_clock::time_point start_time_;

  mutable std::mutex mu_;
  mutable AgentSnapshot last_;
  mutable uint64_t source_errors_ = 0;
  mutable Folds folds_;
  mutable std::set<std::string, std::less<>> unknown_names_;  // folded names seen, bounded
};

/// Interface names come from the config file: keep printable ASCII, replace
/// the rest, bound the length, so a label value is always valid.
std::string CleanLabelValue(std::string_view raw);

}  // namespace vigil::agent::metrics
