#pragma once
// Coverage statements for a time window, computed from the chained coverage
// records and the (unchained) per-agent hourly ledger: when agents were
// disconnected, silent or stopped, which batches were lost or never arrived,
// when capture drop exceeded a threshold, and when the collector itself was
// down. Export manifests embed this so an auditor knows what the export
// cannot contain. Stateless functions; callers pass an open connection (a
// read transaction gives a consistent snapshot).

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <vector>

#include "collector/incidents/sqlite_connection.h"
#include "collector/incidents/store_error.h"

namespace vigil::collector::incidents {

struct CoverageGap {
  /// agent_disconnected | agent_silent | agent_stopped | loss_report | sequence_gap |
  /// capture_drop | collector_down
  std::string kind;
  std::string agent_id, agency;      ///< empty for collector_down
  int64_t start_ns = 0, end_ns = 0;  ///< clipped to the window; 0 when unknown
  uint64_t first_sequence = 0, last_sequence = 0, batches = 0, records = 0;
  double drop_ratio = 0;
  std::string detail;
  uint64_t record_seq = 0;  ///< the chain record the gap comes from
};

struct AgentCoverage {
  std::string agent_id, agency;
  uint64_t batches_received = 0;  ///< from the hourly ledger (hour granularity)
  uint64_t events_received = 0;
  /// Loss reports + sequence gaps in the window, each lost batch sequence
  /// once (a sequenced loss report and the sequence gap it causes overlap).
  uint64_t batches_lost = 0;
  /// As reported by the agent (a resent report of the same batches once).
  uint64_t records_lost = 0;
  double max_drop_ratio = 0;  ///< highest capture drop snapshot in the window
};

struct CoverageReport {
  int64_t since_ns = 0, until_ns = 0;
  double drop_threshold = 0;
  std::vector<CoverageGap> gaps;
  std::vector<AgentCoverage> agents;
};

std::expected<CoverageReport, StoreError> ComputeCoverage(
    Connection& db, int64_t since_ns, int64_t until_ns, double drop_threshold,
    const std::optional<std::string>& agency, const std::optional<std::string>& agent_id);

}  // namespace vigil::collector::incidents
