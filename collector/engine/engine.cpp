#include "collector/engine/engine.h"

#include <algorithm>
#include <bit>
#include <chrono>
#include <climits>
#include <deque>
#include <list>
#include <queue>
#include <set>
#include <unordered_map>

#include "collector/engine/match/field_view.h"

namespace vigil::collector::engine {
namespace {

constexpr int64_t kNever = INT64_MIN;
constexpr char kKeySeparator = '\x1f';

// Saturating time arithmetic: timespans may be long (years) and event times
// are clamped near the int64 range; a window edge never wraps around.
int64_t AddSat(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r)) return b > 0 ? INT64_MAX : INT64_MIN;
  return r;
}
int64_t SubSat(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_sub_overflow(a, b, &r)) return b > 0 ? INT64_MIN : INT64_MAX;
  return r;
}

// Sliding event_count / value_sum / value_avg aggregate their inputs into
// time buckets of timespan/kBucketsPerSpan, so a group holds at most about
// kBucketsPerSpan + 2 buckets whatever the input rate, and counts and sums
// stay exact. A bucket leaves the window when its newest input does: an
// input may be counted up to timespan/kBucketsPerSpan longer than timespan.
constexpr int64_t kBucketsPerSpan = 64;
// Timestamps one temporal_ordered source keeps per group.
constexpr size_t kMaxOrderedTimes = 64;

struct Bucket {
  int64_t index;   // floor(time / width)
  int64_t newest;  // newest input time in the bucket
  uint64_t count;
  double sum;
};

struct GroupState {
  std::vector<std::string> group_values;
  std::deque<Bucket> buckets;                       // sliding event_count / value_sum / value_avg
  std::unordered_map<std::string, int64_t> values;  // value_count: value -> newest time
  // Sliding value_count expiry order: one entry per distinct value (its newest
  // time); the views point into `values`' keys (stable node storage).
  std::set<std::pair<int64_t, std::string_view>> value_order;
  double sum = 0;
  std::vector<std::deque<int64_t>> source_times;  // temporal / temporal_ordered
  int64_t latest = kNever;
  int64_t last_update = kNever;
  bool window_open = false;  // windows decided at close (lt/lte/eq/neq)
  int64_t window_start = 0;
  uint64_t window_count = 0;     // inputs in the window (sliding: in `buckets`)
  int64_t quiet_until = kNever;  // one firing per group per window
  std::vector<Event> sample;     // rendered into the alert when the group fires
  std::list<std::string>::iterator lru;

  void ClearWindow() {
    buckets.clear();
    value_order.clear();
    values.clear();
    sum = 0;
    for (auto& s : source_times) s.clear();
    window_open = false;
    window_count = 0;
    sample.clear();
  }
};

struct ThrottleGroup {
  int64_t window_start = 0;
  uint64_t sent = 0;
  uint64_t suppressed = 0;
  int64_t first_suppressed = 0;
  int64_t last_suppressed = 0;
  std::list<std::string>::iterator lru;
};

// Keyed maps with least-recently-updated eviction.
template <class State>
struct GroupTable {
  std::unordered_map<std::string, State> groups;
  std::list<std::string> lru;  // front: most recent

  State* Find(const std::string& key) {
    auto it = groups.find(key);
    return it == groups.end() ? nullptr : &it->second;
  }
  const State* Find(const std::string& key) const {
    auto it = groups.find(key);
    return it == groups.end() ? nullptr : &it->second;
  }
  // Returns the state and whether it was created.
  std::pair<State*, bool> Touch(const std::string& key) {
    auto [it, created] = groups.try_emplace(key);
    if (created) {
      lru.push_front(key);
      it->second.lru = lru.begin();
    } else {
      lru.splice(lru.begin(), lru, it->second.lru);
    }
    return {&it->second, created};
  }
  void Erase(const std::string& key) {
    auto it = groups.find(key);
    if (it == groups.end()) return;
    lru.erase(it->second.lru);
    groups.erase(it);
  }
  const std::string* Oldest() const { return lru.empty() ? nullptr : &lru.back(); }
};

struct CorrelationRuntime {
  std::string key;  // rule id + document hash: state survives reloads while it holds
  GroupTable<GroupState> table;
};

struct ThrottleRuntime {
  std::string key;
  GroupTable<ThrottleGroup> table;
};

std::string RuntimeKey(const RuleMeta& m) { return m.id + '\n' + m.content_hash; }

std::string FormatTime(int64_t ns) {
  const std::time_t t = static_cast<std::time_t>(ns / 1'000'000'000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string FormatSpan(int64_t ns) {
  const int64_t s = ns / 1'000'000'000;
  if (s % 86400 == 0) return std::to_string(s / 86400) + "d";
  if (s % 3600 == 0) return std::to_string(s / 3600) + "h";
  if (s % 60 == 0) return std::to_string(s / 60) + "m";
  return std::to_string(s) + "s";
}

void FillMeta(Alert& a, const RuleMeta& m, const RuleSet& rs) {
  a.rule_id = m.id;
  a.rule_title = m.title;
  a.level = m.level;
  a.author = m.author;
  a.tags = m.tags;
  a.rule_file = m.file;
  a.rule_file_hash = m.file_hash;
  a.ruleset_hash = rs.hash;
}

AlertEvent MakeAlertEvent(const Event& e) {
  return AlertEvent{e.origin(), e.time_ns(), std::string(LogTypeName(e.log())), e.ToJson()};
}

std::vector<AlertEvent> Render(const std::vector<Event>& events) {
  std::vector<AlertEvent> out;
  out.reserve(events.size() + 1);
  for (const auto& e : events) out.push_back(MakeAlertEvent(e));
  return out;
}

}  // namespace

struct Engine::Runtime {
  struct Timer {
    int64_t at;
    uint8_t kind;  // 0: correlation window close, 1: detection throttle, 2: correlation throttle
    uint32_t index;
    std::string key;
    bool operator>(const Timer& o) const { return at > o.at; }
  };
  std::vector<std::unique_ptr<ThrottleRuntime>> detection_throttles;
  std::vector<std::unique_ptr<CorrelationRuntime>> correlations;
  std::vector<std::unique_ptr<ThrottleRuntime>> correlation_throttles;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<Timer>> timers;
  // Timers of evicted groups or superseded windows stay in the heap until
  // due; past this size the heap is rebuilt without them, so it stays
  // bounded by the live groups rather than by the groups seen per timespan.
  size_t timer_limit = kMinTimerLimit;
  std::vector<Alert> pending_out;
  EngineStats* stats = nullptr;
  std::unique_ptr<FieldView> view;

  static constexpr size_t kMinTimerLimit = 256;

  // Whether the timer would still act when due (AdvanceTime's checks).
  bool TimerLive(const Timer& t, const RuleSet& rs) const {
    if (t.kind == 0) {
      if (t.index >= correlations.size() || !correlations[t.index]) return false;
      const GroupState* g = correlations[t.index]->table.Find(t.key);
      return g && g->window_open &&
             AddSat(g->window_start, rs.correlations[t.index].timespan_ns) == t.at;
    }
    const bool correlation = t.kind == 2;
    const auto& throttles = correlation ? correlation_throttles : detection_throttles;
    if (t.index >= throttles.size() || !throttles[t.index]) return false;
    const std::optional<Throttle>& throttle =
        correlation ? rs.correlations[t.index].throttle : rs.detections[t.index].throttle;
    const ThrottleGroup* g = throttles[t.index]->table.Find(t.key);
    return g && throttle && AddSat(g->window_start, throttle->window_ns) == t.at;
  }

  void PushTimer(Timer t, const RuleSet& rs) {
    timers.push(std::move(t));
    if (timers.size() <= timer_limit) return;
    std::vector<Timer> live;
    live.reserve(timers.size());
    while (!timers.empty()) {
      if (TimerLive(timers.top(), rs)) live.push_back(timers.top());
      timers.pop();
    }
    timer_limit = std::max(kMinTimerLimit, 2 * live.size());
    timers = decltype(timers)(std::greater<Timer>(), std::move(live));
  }
};

Engine::Engine(EngineOptions options) : options_(options), rt_(std::make_unique<Runtime>()) {
  stats_ = std::make_shared<EngineStats>();
  rt_->stats = stats_.get();
  static const Event kEmpty(LogType::kConn);
  rt_->view = std::make_unique<FieldView>(kEmpty, PublicSuffixList::BuiltIn());
}

Engine::~Engine() = default;

void Engine::Swap(std::shared_ptr<const RuleSet> rules) {
  std::lock_guard<std::mutex> lock(mu_);
  pending_ = std::move(rules);
  has_pending_.store(true, std::memory_order_release);
}

void Engine::NoteFailedReload() {
  std::lock_guard<std::mutex> lock(mu_);
  // The only counter written off the pipeline thread: under the lock so two
  // reloaders cannot lose an increment.
  stats_->reloads_failed.Add();
}

std::shared_ptr<const EngineStats> Engine::Stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

size_t Engine::PendingTimers() const { return rt_->timers.size(); }

void Engine::SetMatchObserver(std::function<void(const MatchInfo&)> observer) {
  observer_ = std::move(observer);
}

namespace {

// Emits the "N suppressed" summary of a throttle group (if it folded any).
void EmitSummary(const RuleMeta& meta, const RuleSet& rs, bool correlation, bool shadow,
                 const Throttle& throttle, const std::string& group_key, ThrottleGroup& g,
                 EngineStats& stats, uint32_t stats_index, std::vector<Alert>& out) {
  if (g.suppressed == 0) return;
  Alert a;
  a.kind = AlertKind::kSuppressed;
  FillMeta(a, meta, rs);
  a.shadow = shadow;
  a.group_key = group_key;
  a.event_time_ns = g.last_suppressed;
  a.suppressed_count = g.suppressed;
  a.message = std::to_string(g.suppressed) + " alert" + (g.suppressed == 1 ? "" : "s") + " of '" +
              meta.title + "' suppressed" + (group_key.empty() ? "" : " for " + group_key) +
              " between " + FormatTime(g.first_suppressed) + " and " +
              FormatTime(g.last_suppressed) + " (throttle: at most " +
              std::to_string(throttle.max_alerts) + " per " + FormatSpan(throttle.window_ns) +
              (correlation ? ", per correlation group" : "") + ")";
  (void)stats_index;
  stats.suppressed_summaries.Add();
  stats.alerts.Add();
  out.push_back(std::move(a));
  g.suppressed = 0;
}

}  // namespace

void Engine::ApplyPendingSwap(std::vector<Alert>& out) {
  if (!has_pending_.load(std::memory_order_acquire)) return;
  std::shared_ptr<const RuleSet> next;
  {
    std::lock_guard<std::mutex> lock(mu_);
    next = std::move(pending_);
    has_pending_.store(false, std::memory_order_relaxed);
  }
  const RuleSet* old_rs = rules_.get();
  auto old_rt = std::move(rt_);
  rt_ = std::make_unique<Runtime>();
  rt_->pending_out = std::move(old_rt->pending_out);
  rt_->view = std::move(old_rt->view);

  // New stats, carrying counters of rules that stay (by id).
  auto stats = std::make_shared<EngineStats>();
  EngineStats& old_stats = *old_rt->stats;
  for (size_t i = 0; i < kLogTypeCount; ++i) stats->events[i] = old_stats.events[i];
  stats->events_without_rules = old_stats.events_without_rules;
  stats->candidate_rules = old_stats.candidate_rules;
  stats->alerts = old_stats.alerts;
  stats->suppressed_summaries = old_stats.suppressed_summaries;
  stats->reloads_applied = old_stats.reloads_applied;
  stats->reloads_applied.Add();
  {
    std::lock_guard<std::mutex> lock(mu_);
    stats->reloads_failed = stats_->reloads_failed;
  }
  std::unordered_map<std::string, const RuleStats*> old_rule_stats;
  for (const auto& r : old_stats.rules) {
    old_rule_stats[(r->correlation ? "c:" : "d:") + r->rule_id] = r.get();
  }
  auto make_rule_stats = [&](const RuleMeta& m, bool correlation, bool shadow, std::string log) {
    auto s = std::make_unique<RuleStats>();
    if (auto it = old_rule_stats.find((correlation ? "c:" : "d:") + m.id);
        it != old_rule_stats.end()) {
      *s = *it->second;
    }
    s->rule_id = m.id;
    s->title = m.title;
    s->level = m.level;
    s->correlation = correlation;
    s->shadow = shadow;
    s->log = std::move(log);
    return s;
  };
  if (next) {
    stats->ruleset_hash = next->hash;
    for (const auto& d : next->detections) {
      stats->rules.push_back(
          make_rule_stats(d.meta, false, d.shadow, std::string(LogTypeName(d.log))));
    }
    for (const auto& c : next->correlations)
      stats->rules.push_back(make_rule_stats(c.meta, true, c.shadow, ""));
    for (const auto& f : next->filters) {
      auto fs = std::make_unique<FilterStats>();
      fs->filter_id = f.meta.id;
      fs->title = f.meta.title;
      fs->expires_ns = f.expires_ns.value_or(0);
      for (const auto& old : old_stats.filters) {
        if (old->filter_id == f.meta.id) fs->hits = old->hits;
      }
      stats->filters.push_back(std::move(fs));
    }
  }

  // Carry state of unchanged rules; flush or count what is dropped.
  std::unordered_map<std::string, std::unique_ptr<ThrottleRuntime>> old_detection_throttles;
  std::unordered_map<std::string, std::unique_ptr<ThrottleRuntime>> old_correlation_throttles;
  std::unordered_map<std::string, std::unique_ptr<CorrelationRuntime>> old_correlations;
  for (auto& t : old_rt->detection_throttles) {
    if (t) old_detection_throttles[t->key] = std::move(t);
  }
  for (auto& t : old_rt->correlation_throttles) {
    if (t) old_correlation_throttles[t->key] = std::move(t);
  }
  for (auto& c : old_rt->correlations) {
    if (c) old_correlations[c->key] = std::move(c);
  }
  if (next) {
    for (const auto& d : next->detections) {
      const std::string key = RuntimeKey(d.meta);
      std::unique_ptr<ThrottleRuntime> t;
      if (d.throttle) {
        if (auto it = old_detection_throttles.find(key); it != old_detection_throttles.end()) {
          t = std::move(it->second);
          old_detection_throttles.erase(it);
        } else {
          t = std::make_unique<ThrottleRuntime>();
          t->key = key;
        }
      }
      rt_->detection_throttles.push_back(std::move(t));
    }
    for (const auto& c : next->correlations) {
      const std::string key = RuntimeKey(c.meta);
      std::unique_ptr<CorrelationRuntime> cr;
      if (auto it = old_correlations.find(key); it != old_correlations.end()) {
        cr = std::move(it->second);
        old_correlations.erase(it);
      } else {
        cr = std::make_unique<CorrelationRuntime>();
        cr->key = key;
      }
      rt_->correlations.push_back(std::move(cr));
      std::unique_ptr<ThrottleRuntime> t;
      if (c.throttle) {
        if (auto it = old_correlation_throttles.find(key); it != old_correlation_throttles.end()) {
          t = std::move(it->second);
          old_correlation_throttles.erase(it);
        } else {
          t = std::make_unique<ThrottleRuntime>();
          t->key = key;
        }
      }
      rt_->correlation_throttles.push_back(std::move(t));
    }
  }
  // Throttles of rules that went away still owe their summaries.
  if (old_rs) {
    auto flush = [&](const std::unordered_map<std::string, std::unique_ptr<ThrottleRuntime>>& gone,
                     bool correlation) {
      for (const auto& [key, t] : gone) {
        const RuleMeta* meta = nullptr;
        const Throttle* throttle = nullptr;
        bool shadow = false;
        if (correlation) {
          for (const auto& c : old_rs->correlations) {
            if (RuntimeKey(c.meta) == key && c.throttle) {
              meta = &c.meta;
              throttle = &*c.throttle;
              shadow = c.shadow;
            }
          }
        } else {
          for (const auto& d : old_rs->detections) {
            if (RuntimeKey(d.meta) == key && d.throttle) {
              meta = &d.meta;
              throttle = &*d.throttle;
              shadow = d.shadow;
            }
          }
        }
        if (!meta) continue;
        for (auto& [group, g] : t->table.groups) {
          EmitSummary(*meta, *old_rs, correlation, shadow, *throttle, group, g, *stats, 0,
                      rt_->pending_out);
        }
      }
    };
    flush(old_detection_throttles, false);
    flush(old_correlation_throttles, true);
    // Open lt/eq windows of correlations that went away cannot be decided.
    for (const auto& [key, cr] : old_correlations) {
      uint64_t open = 0;
      for (const auto& [group, g] : cr->table.groups) open += g.window_open ? 1 : 0;
      for (const auto& r : old_stats.rules) {
        if (r->correlation && key.starts_with(r->rule_id + '\n')) r->windows_dropped.Add(open);
      }
    }
  }
  // Timers of carried state.
  if (next) {
    for (uint32_t i = 0; i < next->correlations.size(); ++i) {
      const auto& c = next->correlations[i];
      for (auto& [key, g] : rt_->correlations[i]->table.groups) {
        if (c.condition.DecidedAtClose() && g.window_open) {
          rt_->PushTimer({AddSat(g.window_start, c.timespan_ns), 0, i, key}, *next);
        }
      }
      if (c.throttle && rt_->correlation_throttles[i]) {
        for (auto& [key, g] : rt_->correlation_throttles[i]->table.groups) {
          if (g.suppressed)
            rt_->PushTimer({AddSat(g.window_start, c.throttle->window_ns), 2, i, key}, *next);
        }
      }
    }
    for (uint32_t i = 0; i < next->detections.size(); ++i) {
      const auto& d = next->detections[i];
      if (d.throttle && rt_->detection_throttles[i]) {
        for (auto& [key, g] : rt_->detection_throttles[i]->table.groups) {
          if (g.suppressed)
            rt_->PushTimer({AddSat(g.window_start, d.throttle->window_ns), 1, i, key}, *next);
        }
      }
    }
    size_t words = 0;
    for (const auto& idx : next->index) words = std::max(words, idx.always.size());
    candidates_.assign(words, 0);
  }
  rt_->stats = stats.get();
  {
    std::lock_guard<std::mutex> lock(mu_);
    stats_ = std::move(stats);
  }
  rules_ = std::move(next);
  for (auto& a : rt_->pending_out) out.push_back(std::move(a));
  rt_->pending_out.clear();
}

void Engine::Evaluate(const Event& event, std::vector<Alert>& out) {
  ApplyPendingSwap(out);
  EngineStats& st = *rt_->stats;
  const auto log = static_cast<size_t>(event.log());
  st.events[log].Add();
  now_ns_ = std::max(now_ns_, event.time_ns());
  const RuleSet* rs = rules_.get();
  if (!rs) {
    st.events_without_rules.Add();
    return;
  }
  const LogIndex& idx = rs->index[log];
  if (idx.rules.empty()) return;
  FieldView& view = *rt_->view;
  view.Reset(event, *rs->psl);

  const size_t words = idx.always.size();
  std::copy(idx.always.begin(), idx.always.end(), candidates_.begin());
  auto mark = [&](uint32_t local) { candidates_[local / 64] |= uint64_t{1} << (local % 64); };
  for (const auto& f : idx.fields) {
    const Value& v = view.Get(f.field);
    if (!v.present() || v.is_null()) continue;
    auto visit = [&](const Value& s) {
      if (s.is_null() || s.is_array()) return;
      if (!f.exact.empty() || !f.substrings.empty()) {
        scratch_.clear();
        if (s.is_string())
          scratch_.assign(s.string_value());
        else
          s.AppendText(scratch_);
        for (char& c : scratch_) c = FoldCase(c);
        if (!f.exact.empty()) {
          if (auto it = f.exact.find(std::string_view(scratch_)); it != f.exact.end()) {
            for (uint32_t local : it->second) mark(local);
          }
        }
        if (!f.substrings.empty()) f.substrings.Scan(scratch_, mark);
      }
      if (f.has_networks) {
        if (const IpAddress* known = view.KnownAddress(f.field)) {
          f.networks.Lookup(*known, mark);
        } else if (s.is_string()) {
          if (auto addr = IpAddress::Parse(s.string_value())) f.networks.Lookup(*addr, mark);
        }
      }
    };
    if (v.is_array()) {
      for (const auto& el : v.array()) visit(el);
    } else {
      visit(v);
    }
  }
  const bool timed =
      options_.timing_sample != 0 && (++event_counter_ % options_.timing_sample) == 0;
  uint64_t candidates = 0;
  for (size_t w = 0; w < words; ++w) {
    uint64_t bits = candidates_[w];
    while (bits) {
      const int b = std::countr_zero(bits);
      bits &= bits - 1;
      ++candidates;
      EvaluateRule(idx.rules[w * 64 + static_cast<size_t>(b)], event, timed, out);
    }
  }
  st.candidate_rules.Add(candidates);
  if (!rt_->pending_out.empty()) {
    for (auto& a : rt_->pending_out) out.push_back(std::move(a));
    rt_->pending_out.clear();
  }
}

void Engine::EvaluateRule(uint32_t rule_index, const Event& event, bool timed,
                          std::vector<Alert>& out) {
  const RuleSet& rs = *rules_;
  const DetectionRule& rule = rs.detections[rule_index];
  RuleStats& rst = *rt_->stats->rules[rule_index];
  FieldView& view = *rt_->view;
  rst.evaluations.Add();
  bool matched;
  if (timed) {
    const auto t0 = std::chrono::steady_clock::now();
    matched = rule.program.Evaluate(view);
    const auto t1 = std::chrono::steady_clock::now();
    rst.eval_ns.Add(static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count()));
    rst.eval_samples.Add();
  } else {
    matched = rule.program.Evaluate(view);
  }
  if (!matched) return;
  for (const auto& af : rule.filters) {
    if (!apply_filters_) break;
    const FilterRule& f = rs.filters[af.filter];
    FilterStats& fst = *rt_->stats->filters[af.filter];
    if (f.expires_ns && now_ns_ >= *f.expires_ns) {
      fst.expired.store(true, std::memory_order_relaxed);
      continue;  // an expired filter stops applying
    }
    if (!af.program.Evaluate(view)) {
      fst.hits.Add();
      rst.filtered.Add();
      return;
    }
  }
  rst.matches.Add();
  if (rule.shadow) rst.shadow_matches.Add();
  if (observer_) observer_(MatchInfo{rule.meta.id, false, event.time_ns()});
  for (uint32_t c : rule.feeds) {
    const auto& sources = rs.correlations[c].sources;
    for (uint32_t s = 0; s < sources.size(); ++s) {
      if (!sources[s].is_correlation && sources[s].index == rule_index) {
        FeedCorrelation(c, s, event.time_ns(), nullptr, &event, out);
      }
    }
  }
  if (rule.output) EmitDetection(rule_index, event, out);
}

void Engine::EmitDetection(uint32_t rule_index, const Event& event, std::vector<Alert>& out) {
  const RuleSet& rs = *rules_;
  const DetectionRule& rule = rs.detections[rule_index];
  FieldView& view = *rt_->view;
  Alert a;
  a.kind = AlertKind::kDetection;
  FillMeta(a, rule.meta, rs);
  a.shadow = rule.shadow;
  for (size_t i = 0; i < rule.group_key.size(); ++i) {
    const Value& v = view.Get(rule.group_key[i]);
    if (!a.group_key.empty()) a.group_key += ',';
    a.group_key += rule.group_key_names[i] + "=" + (v.present() ? v.Text() : "-");
  }
  a.event_time_ns = event.time_ns();
  rule.program.CollectMatched(view, a.matched_fields);
  a.events.push_back(MakeAlertEvent(event));
  const Value& orig = event.Get(kSlotOrigH);
  const Value& resp = event.Get(kSlotRespH);
  const Value& port = event.Get(kSlotRespP);
  a.message = rule.meta.title + ": " + (orig.present() ? orig.Text() : "?") + " -> " +
              (resp.present() ? resp.Text() : "?") + (port.present() ? ":" + port.Text() : "") +
              (event.origin().agent_id.empty() ? "" : " (agent " + event.origin().agent_id + ")");
  Output(std::move(a), rule_index, rule.throttle, rule_index, out);
}

void Engine::Output(Alert alert, uint32_t stats_index, const std::optional<Throttle>& throttle,
                    uint32_t throttle_slot, std::vector<Alert>& out) {
  EngineStats& st = *rt_->stats;
  RuleStats& rst = *st.rules[stats_index];
  const bool correlation = alert.kind == AlertKind::kCorrelation;
  if (throttle) {
    ThrottleRuntime* tr = correlation ? rt_->correlation_throttles[throttle_slot].get()
                                      : rt_->detection_throttles[throttle_slot].get();
    const RuleSet& rs = *rules_;
    const RuleMeta& meta =
        correlation ? rs.correlations[throttle_slot].meta : rs.detections[throttle_slot].meta;
    const bool shadow = alert.shadow;
    auto touched = tr->table.Touch(alert.group_key);
    ThrottleGroup* g = touched.first;
    const bool created = touched.second;
    const int64_t t = alert.event_time_ns;
    if (created) {
      g->window_start = t;
      if (tr->table.groups.size() > options_.max_groups) {
        const std::string oldest = *tr->table.Oldest();
        EmitSummary(meta, rs, correlation, shadow, *throttle, oldest, tr->table.groups[oldest], st,
                    stats_index, out);
        tr->table.Erase(oldest);
        rst.groups_evicted.Add();
        g = tr->table.Find(alert.group_key);
      }
    } else if (t >= AddSat(g->window_start, throttle->window_ns)) {
      EmitSummary(meta, rs, correlation, shadow, *throttle, alert.group_key, *g, st, stats_index,
                  out);
      g->window_start = t;
      g->sent = 0;
    }
    if (g->sent >= throttle->max_alerts) {
      if (g->suppressed == 0) {
        g->first_suppressed = t;
        rt_->PushTimer({AddSat(g->window_start, throttle->window_ns),
                        static_cast<uint8_t>(correlation ? 2 : 1), throttle_slot, alert.group_key},
                       rs);
      }
      ++g->suppressed;
      g->last_suppressed = std::max(g->last_suppressed, t);
      rst.suppressed.Add();
      return;
    }
    ++g->sent;
  }
  rst.alerts.Add();
  st.alerts.Add();
  out.push_back(std::move(alert));
}

namespace {

// Longest prefix of the ordered rule list that occurs in order within span.
size_t OrderedChain(const std::vector<std::deque<int64_t>>& times, int64_t span) {
  if (times.empty() || times[0].empty()) return 0;
  size_t best = 0;
  for (int64_t start : times[0]) {
    size_t len = 1;
    int64_t prev = start;
    for (size_t i = 1; i < times.size(); ++i) {
      auto it = std::lower_bound(times[i].begin(), times[i].end(), prev);
      if (it == times[i].end() || *it > AddSat(start, span)) break;
      prev = *it;
      ++len;
    }
    best = std::max(best, len);
  }
  return best;
}

void InsertSorted(std::deque<int64_t>& d, int64_t t) {
  if (d.empty() || d.back() <= t) {
    d.push_back(t);
  } else {
    d.insert(std::upper_bound(d.begin(), d.end(), t), t);
  }
}

double WindowMetric(const CorrelationRule& c, const GroupState& g) {
  switch (c.type) {
    case CorrelationType::kEventCount:
      return static_cast<double>(g.window_count);
    case CorrelationType::kValueCount:
      return static_cast<double>(g.values.size());
    case CorrelationType::kValueSum:
      return g.sum;
    case CorrelationType::kValueAvg:
      return g.window_count ? g.sum / static_cast<double>(g.window_count) : 0;
    case CorrelationType::kTemporal: {
      size_t n = 0;
      for (const auto& s : g.source_times) n += s.empty() ? 0 : 1;
      return static_cast<double>(n);
    }
    case CorrelationType::kTemporalOrdered:
      return static_cast<double>(OrderedChain(g.source_times, c.timespan_ns));
  }
  return 0;
}

}  // namespace

void Engine::FireCorrelation(uint32_t corr, const std::vector<std::string>& values, double metric,
                             int64_t t, std::vector<AlertEvent> sample, std::vector<Alert>& out) {
  const RuleSet& rs = *rules_;
  const CorrelationRule& c = rs.correlations[corr];
  const uint32_t stats_index = static_cast<uint32_t>(rs.detections.size()) + corr;
  RuleStats& rst = *rt_->stats->rules[stats_index];
  Alert a;
  a.kind = AlertKind::kCorrelation;
  FillMeta(a, c.meta, rs);
  a.shadow = c.shadow;
  for (size_t i = 0; i < c.group_by.size() && i < values.size(); ++i) {
    if (!a.group_key.empty()) a.group_key += ',';
    a.group_key += c.group_by[i] + "=" + values[i];
    a.matched_fields.push_back({c.group_by[i], values[i]});
  }
  std::string metric_text;
  AppendDouble(metric_text, metric);
  a.matched_fields.push_back({std::string(CorrelationTypeName(c.type)), metric_text});
  a.event_time_ns = t;
  a.events = std::move(sample);
  a.message = c.meta.title + ": " + std::string(CorrelationTypeName(c.type)) + " " + metric_text +
              " " + c.condition.ToString() + " within " + FormatSpan(c.timespan_ns) +
              (a.group_key.empty() ? "" : " for " + a.group_key);
  rst.matches.Add();
  if (c.shadow) rst.shadow_matches.Add();
  if (observer_) observer_(MatchInfo{c.meta.id, true, t});
  // Chaining: a parent correlation sees this firing as one input carrying
  // this correlation's group-by values.
  for (uint32_t parent : c.feeds) {
    const auto& ps = rs.correlations[parent].sources;
    for (uint32_t s = 0; s < ps.size(); ++s) {
      if (ps[s].is_correlation && ps[s].index == corr)
        FeedCorrelation(parent, s, t, &values, nullptr, out);
    }
  }
  if (c.output) Output(std::move(a), stats_index, c.throttle, corr, out);
}

void Engine::FeedCorrelation(uint32_t corr, uint32_t source, int64_t t,
                             const std::vector<std::string>* child_groups, const Event* event,
                             std::vector<Alert>& out) {
  const RuleSet& rs = *rules_;
  const CorrelationRule& c = rs.correlations[corr];
  const CorrelationSource& src = c.sources[source];
  const uint32_t stats_index = static_cast<uint32_t>(rs.detections.size()) + corr;
  RuleStats& rst = *rt_->stats->rules[stats_index];
  FieldView& view = *rt_->view;

  // Group key: each value length-prefixed, so no value can forge another
  // group's key. Key and value are locals, not shared buffers: firing a
  // correlation below feeds its parents, which re-enter this function.
  std::string key;
  auto add_part = [](std::string& to, std::string_view part) {
    to += std::to_string(part.size());
    to += ':';
    to += part;
  };
  if (src.is_correlation) {
    const CorrelationRule& child = rs.correlations[src.index];
    for (const auto& name : src.group_source_names) {
      auto it = std::find(child.group_by.begin(), child.group_by.end(), name);
      const size_t k = static_cast<size_t>(it - child.group_by.begin());
      add_part(key, child_groups && k < child_groups->size() ? std::string_view((*child_groups)[k])
                                                             : "");
    }
  } else {
    for (const auto& ref : src.group_refs) {
      const Value& v = view.Get(ref);
      if (!v.present() || v.is_null()) {
        rst.missing_group.Add();  // documented: events without the group-by field are not counted
        return;
      }
      text_scratch_.clear();
      v.AppendText(text_scratch_);
      add_part(key, text_scratch_);
    }
  }
  // Value.
  std::string value_key;
  double number = 0;
  if (c.type == CorrelationType::kValueCount) {
    for (const auto& ref : src.value_refs) {
      const Value& v = view.Get(ref);
      if (!v.present() || v.is_null()) {
        rst.missing_group.Add();
        return;
      }
      text_scratch_.clear();
      v.AppendText(text_scratch_);
      add_part(value_key, text_scratch_);
    }
  } else if (c.type == CorrelationType::kValueSum || c.type == CorrelationType::kValueAvg) {
    if (src.value_refs.empty()) return;
    const Value& v = view.Get(src.value_refs[0]);
    if (!v.is_number()) {
      rst.missing_group.Add();
      return;
    }
    number = v.number();
  }

  CorrelationRuntime& cr = *rt_->correlations[corr];
  auto touched = cr.table.Touch(key);
  GroupState* g = touched.first;
  if (touched.second) {
    // Decode the values once, for the alert.
    for (size_t at = 0; at < key.size();) {
      const size_t colon = key.find(':', at);
      size_t len = 0;
      for (size_t i = at; i < colon; ++i) len = len * 10 + static_cast<size_t>(key[i] - '0');
      g->group_values.push_back(key.substr(colon + 1, len));
      at = colon + 1 + len;
    }
    g->source_times.resize(c.sources.size());
    if (cr.table.groups.size() > options_.max_groups) {
      const std::string oldest = *cr.table.Oldest();
      if (cr.table.groups[oldest].window_open) rst.windows_dropped.Add();
      cr.table.Erase(oldest);
      rst.groups_evicted.Add();
      g = cr.table.Find(key);
    }
  }
  g->last_update = std::max(g->last_update, t);
  rst.groups.Set(cr.table.groups.size());
  const int64_t span = c.timespan_ns;
  const size_t cap = options_.max_entries_per_group;
  // Samples are kept as events and rendered only if the correlation fires.
  auto add_sample = [&] {
    if (event && g->sample.size() < options_.alert_sample_events) g->sample.push_back(*event);
  };
  // Keeps at most kMaxOrderedTimes per temporal_ordered source (the newest).
  auto trim_ordered = [&](std::deque<int64_t>& times) {
    while (times.size() > kMaxOrderedTimes) {
      times.pop_front();
      rst.values_evicted.Add();
    }
  };

  if (c.condition.DecidedAtClose()) {
    // Window anchored at the group's first input, decided when it closes.
    if (g->window_open && t > AddSat(g->window_start, span)) {
      // This input belongs to the next window: decide the current one first.
      const double metric = WindowMetric(c, *g);
      const int64_t end = AddSat(g->window_start, span);
      std::vector<AlertEvent> sample = Render(g->sample);
      const std::vector<std::string> values = g->group_values;
      g->ClearWindow();
      if (c.condition.Holds(metric))
        FireCorrelation(corr, values, metric, end, std::move(sample), out);
      // Still there: firing feeds only parent correlations (other tables).
      g = cr.table.Find(key);
      if (!g) return;
    }
    if (!g->window_open) {
      g->window_open = true;
      g->window_start = t;
      rt_->PushTimer({AddSat(t, span), 0, corr, key}, rs);
    }
    ++g->window_count;
    switch (c.type) {
      case CorrelationType::kValueCount:
        if (g->values.size() < cap || g->values.count(value_key)) {
          g->values[value_key] = t;
        } else {
          rst.values_evicted.Add();
        }
        break;
      case CorrelationType::kValueSum:
      case CorrelationType::kValueAvg:
        g->sum += number;
        break;
      case CorrelationType::kTemporal: {
        // Only whether each source matched decides: one time per source.
        auto& s = g->source_times[source];
        if (s.empty()) s.push_back(t);
        break;
      }
      case CorrelationType::kTemporalOrdered:
        InsertSorted(g->source_times[source], t);
        trim_ordered(g->source_times[source]);
        break;
      default:
        break;
    }
    add_sample();
    return;
  }

  // Sliding windows: the condition is checked over [latest - span, latest].
  if (g->latest != kNever && t < SubSat(g->latest, span)) {
    rst.late_events.Add();
    return;
  }
  g->latest = std::max(g->latest, t);
  const int64_t horizon = SubSat(g->latest, span);
  double metric = 0;
  switch (c.type) {
    case CorrelationType::kEventCount:
    case CorrelationType::kValueSum:
    case CorrelationType::kValueAvg: {
      const int64_t width = std::max<int64_t>(1, span / kBucketsPerSpan);
      const int64_t index = t / width - ((t % width) < 0 ? 1 : 0);  // floor
      auto it = g->buckets.end();
      while (it != g->buckets.begin() && std::prev(it)->index >= index) --it;
      if (it == g->buckets.end() || it->index != index)
        it = g->buckets.insert(it, Bucket{index, t, 0, 0});
      it->newest = std::max(it->newest, t);
      ++it->count;
      it->sum += number;
      ++g->window_count;
      g->sum += number;
      bool expired = false;
      while (!g->buckets.empty() && g->buckets.front().newest < horizon) {
        g->window_count -= g->buckets.front().count;
        g->buckets.pop_front();
        expired = true;
      }
      if (expired) {
        // Re-add rather than subtract: no rounding drift over a long run.
        g->sum = 0;
        for (const auto& b : g->buckets) g->sum += b.sum;
      }
      if (c.type == CorrelationType::kEventCount) {
        metric = static_cast<double>(g->window_count);
      } else if (c.type == CorrelationType::kValueSum) {
        metric = g->sum;
      } else {
        metric = g->window_count ? g->sum / static_cast<double>(g->window_count) : 0;
      }
      break;
    }
    case CorrelationType::kValueCount: {
      auto [it, created] = g->values.try_emplace(value_key, t);
      if (!created && it->second < t) {
        // Re-key the value's node (no allocation on a repeat).
        auto node = g->value_order.extract({it->second, std::string_view(it->first)});
        it->second = t;
        if (node) {
          node.value().first = t;
          g->value_order.insert(std::move(node));
        } else {
          g->value_order.emplace(t, std::string_view(it->first));
        }
      } else if (created) {
        g->value_order.emplace(t, std::string_view(it->first));
      }
      while (!g->value_order.empty() && g->value_order.begin()->first < horizon) {
        const std::string_view v = g->value_order.begin()->second;
        g->value_order.erase(g->value_order.begin());
        g->values.erase(std::string(v));
      }
      while (g->values.size() > cap && !g->value_order.empty()) {
        const std::string_view v = g->value_order.begin()->second;
        g->value_order.erase(g->value_order.begin());
        g->values.erase(std::string(v));
        rst.values_evicted.Add();
      }
      metric = static_cast<double>(g->values.size());
      break;
    }
    case CorrelationType::kTemporal: {
      // The newest input of each source: a late, older input keeps it.
      auto& s = g->source_times[source];
      if (s.empty()) {
        s.push_back(t);
      } else {
        s.back() = std::max(s.back(), t);
      }
      size_t n = 0;
      for (const auto& times : g->source_times)
        n += (!times.empty() && times.back() >= horizon) ? 1 : 0;
      metric = static_cast<double>(n);
      break;
    }
    case CorrelationType::kTemporalOrdered: {
      auto& s = g->source_times[source];
      InsertSorted(s, t);
      for (auto& times : g->source_times) {
        while (!times.empty() && times.front() < horizon) times.pop_front();
        while (times.size() > kMaxOrderedTimes) times.pop_front();
      }
      metric = static_cast<double>(OrderedChain(g->source_times, span));
      break;
    }
  }
  add_sample();
  if (t < g->quiet_until || !c.condition.Holds(metric)) return;

  // Fire, then start over: one firing per group per window.
  std::vector<AlertEvent> sample = Render(g->sample);
  if (event && (sample.empty() || sample.back().event_time_ns != t)) {
    // Keep the input that crossed the threshold.
    if (sample.size() >= options_.alert_sample_events && !sample.empty()) sample.pop_back();
    sample.push_back(MakeAlertEvent(*event));
  }
  const std::vector<std::string> values = g->group_values;
  g->ClearWindow();
  g->latest = kNever;
  g->quiet_until = AddSat(t, span);
  FireCorrelation(corr, values, metric, t, std::move(sample), out);
}

void Engine::AdvanceTime(int64_t now_ns, std::vector<Alert>& out) {
  ApplyPendingSwap(out);
  now_ns_ = std::max(now_ns_, now_ns);
  const RuleSet* rs = rules_.get();
  if (rs) {
    for (size_t i = 0; i < rs->filters.size(); ++i) {
      const auto& f = rs->filters[i];
      if (f.expires_ns && now_ns_ >= *f.expires_ns) {
        rt_->stats->filters[i]->expired.store(true, std::memory_order_relaxed);
      }
    }
  }
  while (rs && !rt_->timers.empty() && rt_->timers.top().at < now_ns_) {
    Runtime::Timer timer = rt_->timers.top();
    rt_->timers.pop();
    if (timer.kind == 0) {
      const CorrelationRule& c = rs->correlations[timer.index];
      CorrelationRuntime& cr = *rt_->correlations[timer.index];
      GroupState* g = cr.table.Find(timer.key);
      if (!g || !g->window_open || AddSat(g->window_start, c.timespan_ns) != timer.at) continue;
      const double metric = WindowMetric(c, *g);
      std::vector<AlertEvent> sample = Render(g->sample);
      const std::vector<std::string> values = g->group_values;
      cr.table.Erase(timer.key);
      if (c.condition.Holds(metric))
        FireCorrelation(timer.index, values, metric, timer.at, std::move(sample), out);
    } else {
      const bool correlation = timer.kind == 2;
      ThrottleRuntime* tr = correlation ? rt_->correlation_throttles[timer.index].get()
                                        : rt_->detection_throttles[timer.index].get();
      if (!tr) continue;
      ThrottleGroup* g = tr->table.Find(timer.key);
      const std::optional<Throttle>& throttle = correlation ? rs->correlations[timer.index].throttle
                                                            : rs->detections[timer.index].throttle;
      if (!g || !throttle || AddSat(g->window_start, throttle->window_ns) != timer.at) continue;
      const RuleMeta& meta =
          correlation ? rs->correlations[timer.index].meta : rs->detections[timer.index].meta;
      const bool shadow =
          correlation ? rs->correlations[timer.index].shadow : rs->detections[timer.index].shadow;
      const uint32_t stats_index =
          correlation ? static_cast<uint32_t>(rs->detections.size()) + timer.index : timer.index;
      EmitSummary(meta, *rs, correlation, shadow, *throttle, timer.key, *g, *rt_->stats,
                  stats_index, out);
      tr->table.Erase(timer.key);
    }
  }
  // Forget sliding-window groups idle for longer than their window.
  if (rs) {
    for (uint32_t i = 0; i < rs->correlations.size(); ++i) {
      const CorrelationRule& c = rs->correlations[i];
      if (c.condition.DecidedAtClose()) continue;
      auto& table = rt_->correlations[i]->table;
      while (const std::string* oldest = table.Oldest()) {
        GroupState& g = table.groups[*oldest];
        const int64_t idle_since = std::max(g.last_update, g.quiet_until);
        if (idle_since >= SubSat(now_ns_, c.timespan_ns)) break;
        table.Erase(*oldest);
      }
      rt_->stats->rules[rs->detections.size() + i]->groups.Set(table.groups.size());
    }
  }
  if (!rt_->pending_out.empty()) {
    for (auto& a : rt_->pending_out) out.push_back(std::move(a));
    rt_->pending_out.clear();
  }
}

}  // namespace vigil::collector::engine
