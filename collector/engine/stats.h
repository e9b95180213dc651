#pragma once
// Engine statistics: plain structs of counters the collector's metrics layer
// reads (it owns the Prometheus names; this module includes no
// prometheus-cpp). Counters are written by the pipeline thread only and read
// by any thread: single-writer relaxed atomics, so a scrape never races and
// an increment costs a plain add. Labels are bounded by construction: rule
// id, level and log type, never anything from packet content.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "collector/engine/alert.h"
#include "collector/engine/fields/field_catalog.h"

namespace vigil::collector::engine {

/// A monotonic counter with one writer (the pipeline thread) and any number
/// of readers.
class RelaxedCounter {
 public:
  RelaxedCounter() = default;
  RelaxedCounter(const RelaxedCounter& other) : v_(other.Get()) {}
  RelaxedCounter& operator=(const RelaxedCounter& other) {
    v_.store(other.Get(), std::memory_order_relaxed);
    return *this;
  }
  void Add(uint64_t n = 1) {
    v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  /// For gauges (current sizes): same single-writer rule.
  void Set(uint64_t n) { v_.store(n, std::memory_order_relaxed); }
  uint64_t Get() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

struct RuleStats {
  std::string rule_id;
  std::string title;
  Level level = Level::kMedium;
  bool correlation = false;
  bool shadow = false;
  std::string log;  ///< "conn"... for detections, empty for correlations

  RelaxedCounter evaluations;     ///< times the rule's condition was evaluated (after the index)
  RelaxedCounter matches;         ///< condition held and no filter excluded the event
  RelaxedCounter shadow_matches;  ///< matches while in shadow mode (alerts flagged shadow)
  RelaxedCounter alerts;          ///< alerts emitted
  RelaxedCounter suppressed;      ///< alerts folded by throttling (reported in summaries)
  RelaxedCounter filtered;        ///< matches a filter excluded
  /// Evaluation time, sampled (1 event in EngineOptions::timing_sample):
  /// eval_ns / eval_samples is the mean cost of one evaluation.
  RelaxedCounter eval_ns;
  RelaxedCounter eval_samples;
  // Correlations only.
  RelaxedCounter groups_evicted;   ///< group state dropped to respect max_groups
  RelaxedCounter values_evicted;   ///< per-group entries dropped to respect max_entries_per_group
  RelaxedCounter missing_group;    ///< inputs without a group-by or value field (not counted)
  RelaxedCounter late_events;      ///< inputs older than the group's window (not counted)
  RelaxedCounter windows_dropped;  ///< open lt/eq windows lost to a reload or eviction
  RelaxedCounter groups;           ///< gauge: groups currently held (correlation or throttle state)
};

struct FilterStats {
  std::string filter_id;
  std::string title;
  RelaxedCounter hits;  ///< events a rule matched that this filter excluded
  std::atomic<bool> expired{false};
  int64_t expires_ns = 0;  ///< 0 when the filter does not expire
};

struct EngineStats {
  std::string ruleset_hash;
  RelaxedCounter events[kLogTypeCount];  ///< events evaluated, by log type
  RelaxedCounter events_without_rules;   ///< events that arrived while no rule set was loaded
  RelaxedCounter candidate_rules;        ///< rules the index selected (sum over events)
  RelaxedCounter alerts;                 ///< alerts of every kind emitted
  RelaxedCounter suppressed_summaries;   ///< kSuppressed alerts emitted
  RelaxedCounter reloads_applied;        ///< Swap()s that took effect
  RelaxedCounter reloads_failed;         ///< NoteFailedReload() calls
  std::vector<std::unique_ptr<RuleStats>>
      rules;  ///< detections, then correlations (rule set order)
  std::vector<std::unique_ptr<FilterStats>> filters;
};

}  // namespace vigil::collector::engine
