#pragma once
// Loads the rule set (rules, filters, lists) off the pipeline thread and
// swaps it into the engine atomically; on any error the running set stays
// and every diagnostic is logged with file:line:column. Reloads are
// serialised (SIGHUP and the folder watcher may fire together). Thread-safe.

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "collector/app/collector_config.h"
#include "collector/engine/engine.h"
#include "collector/engine/loader/load.h"
#include "collector/metrics/collector_metrics.h"

namespace vigil::collector::app {

struct ReloadOutcome {
  bool ok = false;
  std::string ruleset_hash;
  size_t errors = 0, warnings = 0;
  engine::LoadCounts counts;
};

class RuleReloader {
 public:
  RuleReloader(const RulesConfig& config, engine::Engine& engine,
               metrics::CollectorMetrics* metrics);

  /// Loads and, when it succeeds, swaps. `why` goes to the log ("startup",
  /// "SIGHUP", "rules folder changed").
  ReloadOutcome Reload(const std::string& why);

  /// New folders and lists for the next reload (a reloaded config file).
  void SetConfig(const RulesConfig& config);

  /// Validation only (--check-config): loads, prints diagnostics, no swap.
  static engine::LoadResult Check(const RulesConfig& config);

 private:
  static engine::LoadOptions Options(const RulesConfig& config);

  RulesConfig config_;
  engine::Engine& engine_;
  metrics::CollectorMetrics* metrics_;
  std::mutex mu_;
  std::string current_hash_;
};

}  // namespace vigil::collector::app
