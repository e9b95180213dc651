#pragma once
// Engine: evaluates events against the current RuleSet and produces Alerts.
// Owned by the collector's pipeline thread, which calls Evaluate() for every
// event in arrival order and AdvanceTime() between batches; both run on that
// thread only. Swap() may be called from any thread (the reloader): the new
// rule set takes effect at the start of the next Evaluate()/AdvanceTime(),
// i.e. between two events, so every event is evaluated by exactly one rule
// set. Correlation and throttle state of rules whose id and document did not
// change survives the swap. Stats() is safe from any thread.
//
// Time is event time: correlation windows slide on the records' `ts`; the
// pipeline's AdvanceTime(now) closes windows that can only be decided at
// their end (lt/lte/eq/neq), flushes throttle summaries and expires filters.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "collector/engine/alert.h"
#include "collector/engine/event.h"
#include "collector/engine/rule_set.h"
#include "collector/engine/stats.h"

namespace vigil::collector::engine {

struct EngineOptions {
  /// Most groups one correlation or throttle keeps; the least recently
  /// updated group is evicted (and counted) beyond it.
  size_t max_groups = 100'000;
  /// Most distinct values one value_count group keeps (the least recently
  /// seen is evicted and counted beyond it). Counts and sums are exact
  /// whatever the number of inputs (sliding windows aggregate them into
  /// timespan/64 buckets).
  size_t max_entries_per_group = 10'000;
  /// Events kept as samples in a correlation alert.
  size_t alert_sample_events = 3;
  /// Time one rule evaluation in this many events (0: never).
  uint32_t timing_sample = 64;
};

/// Reported to the match observer for every match, before shadow mode,
/// generate:false and throttling decide whether an alert is raised.
struct MatchInfo {
  std::string_view rule_id;
  bool correlation = false;
  int64_t event_time_ns = 0;
};

class Engine {
 public:
  explicit Engine(EngineOptions options = {});
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  /// Any thread. Takes effect between events (see the class comment).
  void Swap(std::shared_ptr<const RuleSet> rules);
  /// Any thread: counts a reload that failed (the old rules stay).
  void NoteFailedReload();

  /// Pipeline thread. Appends the alerts this event raises to `out`.
  void Evaluate(const Event& event, std::vector<Alert>& out);
  /// Pipeline thread. `now_ns` is event time (e.g. the newest record time
  /// seen, or the collector clock minus an allowed lateness).
  void AdvanceTime(int64_t now_ns, std::vector<Alert>& out);

  /// Any thread. Counters update while you read them.
  std::shared_ptr<const EngineStats> Stats() const;
  /// Pipeline thread: the rule set in effect.
  const std::shared_ptr<const RuleSet>& rule_set() const { return rules_; }

  /// Pipeline thread; for `vigilctl rules test` and tests.
  void SetMatchObserver(std::function<void(const MatchInfo&)> observer);
  /// Pipeline thread; for tests: window-close and throttle timers held.
  size_t PendingTimers() const;
  /// Pipeline thread; false evaluates rules without their filters (lint).
  void SetApplyFilters(bool apply) { apply_filters_ = apply; }

  struct Runtime;  // correlation and throttle state (engine.cpp)

 private:
  void ApplyPendingSwap(std::vector<Alert>& out);
  void EvaluateRule(uint32_t rule_index, const Event& event, bool timed, std::vector<Alert>& out);
  void EmitDetection(uint32_t rule_index, const Event& event, std::vector<Alert>& out);
  void FeedCorrelation(uint32_t corr, uint32_t source, int64_t time_ns,
                       const std::vector<std::string>* child_groups, const Event* event,
                       std::vector<Alert>& out);
  void FireCorrelation(uint32_t corr, const std::vector<std::string>& values, double metric,
                       int64_t t, std::vector<AlertEvent> sample, std::vector<Alert>& out);
  void Output(Alert alert, uint32_t stats_index, const std::optional<Throttle>& throttle,
              uint32_t throttle_slot, std::vector<Alert>& out);

  EngineOptions options_;
  std::shared_ptr<const RuleSet> rules_;
  std::unique_ptr<Runtime> rt_;
  int64_t now_ns_ = 0;
  uint64_t event_counter_ = 0;
  std::vector<uint64_t> candidates_;
  std::string scratch_;
  std::string text_scratch_;
  std::function<void(const MatchInfo&)> observer_;
  bool apply_filters_ = true;

  mutable std::mutex mu_;  // guards pending_ and stats_ (the pointers, not the counters)
  std::shared_ptr<const RuleSet> pending_;
  std::atomic<bool> has_pending_{false};
  std::shared_ptr<EngineStats> stats_;
};

}  // namespace vigil::collector::engine
