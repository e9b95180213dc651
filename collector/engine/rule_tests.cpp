#include "collector/engine/rule_tests.h"

#include <algorithm>

#include "collector/engine/engine.h"
#include "collector/engine/event_json.h"

namespace vigil::collector::engine {
namespace {

constexpr double kDefaultStart = 1700000000.0;

std::optional<LogType> DefaultLog(const RuleSet& rs, const RuleTests& t) {
  if (!t.is_correlation) return rs.detections[t.index].log;
  // A correlation's first detection source (through chains).
  const CorrelationRule* c = &rs.correlations[t.index];
  for (int depth = 0; depth < 16 && c; ++depth) {
    if (c->sources.empty()) return std::nullopt;
    const auto& s = c->sources[0];
    if (!s.is_correlation) return rs.detections[s.index].log;
    c = &rs.correlations[s.index];
  }
  return std::nullopt;
}

bool Increment(Value& v, int64_t by) {
  if (v.kind() == Value::Kind::kInt) {
    v = Value::Int(v.int_value() + by);
    return true;
  }
  if (v.kind() == Value::Kind::kDouble) {
    v = Value::Double(v.double_value() + static_cast<double>(by));
    return true;
  }
  if (v.is_string()) {
    auto addr = IpAddress::Parse(v.string_value());
    if (!addr || addr->size != 4) return false;
    uint32_t n = static_cast<uint32_t>(addr->bytes[0]) << 24 |
                 static_cast<uint32_t>(addr->bytes[1]) << 16 |
                 static_cast<uint32_t>(addr->bytes[2]) << 8 | addr->bytes[3];
    n += static_cast<uint32_t>(by);
    for (int i = 0; i < 4; ++i)
      addr->bytes[static_cast<size_t>(i)] = static_cast<uint8_t>(n >> (24 - 8 * i));
    v = Value::String(addr->ToString());
    return true;
  }
  return false;
}

}  // namespace

std::expected<std::vector<Event>, std::string> BuildTestEvents(const TestCaseSpec& test,
                                                               std::optional<LogType> default_log) {
  std::vector<Event> out;
  double next_ts = kDefaultStart;
  for (const auto& spec : test.events) {
    JsonMembers base = spec.members;
    double ts = next_ts;
    bool has_ts = false;
    for (auto& [k, v] : base) {
      if (k == "ts") {
        if (!v.is_number())
          return std::unexpected("line " + std::to_string(spec.pos.line) + ": ts must be a number");
        ts = v.number();
        has_ts = true;
      }
    }
    if (!has_ts) base.emplace_back("ts", Value::Double(ts));
    for (int k = 0; k < spec.repeat; ++k) {
      JsonMembers members = base;
      const double this_ts =
          ts + static_cast<double>(k) * (static_cast<double>(spec.every_ns) / 1e9);
      for (auto& [name, v] : members) {
        if (name == "ts") v = Value::Double(this_ts);
        // "{n}" in a string becomes the copy number: distinct values per copy.
        if (v.is_string() && v.string_value().find("{n}") != std::string::npos) {
          std::string text = v.string_value();
          for (size_t at; (at = text.find("{n}")) != std::string::npos;)
            text.replace(at, 3, std::to_string(k));
          v = Value::String(std::move(text));
        }
      }
      for (const auto& inc : spec.increment) {
        auto it = std::find_if(members.begin(), members.end(),
                               [&](const auto& m) { return m.first == inc.text; });
        if (it == members.end()) {
          return std::unexpected("line " + std::to_string(inc.pos.line) + ": 'increment' names '" +
                                 inc.text + "', which the event does not set");
        }
        if (!Increment(it->second, k)) {
          return std::unexpected("line " + std::to_string(inc.pos.line) + ": cannot increment '" +
                                 inc.text + "' (numbers and IPv4 addresses only)");
        }
      }
      auto e = EventFromMembers(std::move(members), EventOrigin{}, default_log);
      if (!e)
        return std::unexpected("line " + std::to_string(spec.pos.line) + ": " + e.error().message);
      out.push_back(std::move(*e));
      next_ts = this_ts + 1.0;
    }
  }
  return out;
}

namespace {

std::vector<TestOutcome> Run(const std::shared_ptr<const RuleSet>& rules,
                             const RuleTestOptions& options, bool apply_filters) {
  std::vector<TestOutcome> outcomes;
  if (!rules) return outcomes;
  int64_t max_span = 0;
  for (const auto& c : rules->correlations) max_span = std::max(max_span, c.timespan_ns);
  for (const auto& t : rules->tests) {
    if (!options.only.empty() &&
        std::find(options.only.begin(), options.only.end(), t.rule_id) == options.only.end()) {
      continue;
    }
    for (const auto& tc : t.cases) {
      TestOutcome o;
      o.rule_id = t.rule_id;
      o.test_name = tc.name;
      o.file = t.file;
      o.line = tc.pos.line;
      o.expect_match = tc.expect_match;
      auto events = BuildTestEvents(tc, DefaultLog(*rules, t));
      if (!events) {
        o.error = events.error();
        outcomes.push_back(std::move(o));
        continue;
      }
      o.events = events->size();
      EngineOptions eo;
      eo.timing_sample = 0;
      Engine engine(eo);
      engine.SetMatchObserver([&](const MatchInfo& m) {
        if (m.rule_id == t.rule_id && m.correlation == t.is_correlation) o.matched = true;
      });
      std::shared_ptr<const RuleSet> set = rules;
      engine.Swap(set);
      std::vector<Alert> alerts;
      int64_t last = 0;
      // Compiled programs are move-only, so a filter-free copy of the set
      // is not possible: the engine skips filters instead.
      engine.SetApplyFilters(apply_filters);
      for (const auto& e : *events) {
        engine.Evaluate(e, alerts);
        last = std::max(last, e.time_ns());
      }
      // Let windows decided at their end (lt/lte/eq) close.
      engine.AdvanceTime(last + max_span + 1'000'000'000, alerts);
      outcomes.push_back(std::move(o));
    }
  }
  return outcomes;
}

}  // namespace

std::vector<TestOutcome> RunRuleTests(const std::shared_ptr<const RuleSet>& rules,
                                      const RuleTestOptions& options) {
  return Run(rules, options, options.apply_filters);
}

std::vector<Diagnostic> LintRuleSet(const std::shared_ptr<const RuleSet>& rules) {
  std::vector<Diagnostic> out;
  if (!rules || rules->filters.empty()) return out;
  RuleTestOptions o;
  const auto with = Run(rules, o, true);
  const auto without = Run(rules, o, false);
  for (size_t i = 0; i < with.size() && i < without.size(); ++i) {
    if (!with[i].expect_match || !without[i].matched || with[i].matched) continue;
    std::string filters;
    if (const DetectionRule* d = rules->FindDetection(with[i].rule_id)) {
      for (const auto& af : d->filters) {
        filters += (filters.empty() ? "'" : ", '") + rules->filters[af.filter].meta.id + "'";
      }
    }
    out.push_back(
        Diagnostic{Severity::kWarning, "shadowed_by_filter",
                   "positive example '" + with[i].test_name + "' matches the rule but not once " +
                       (filters.empty() ? std::string("its filters") : "filter " + filters) +
                       " apply: the filter hides what the rule is for",
                   SourceLocation{with[i].file, with[i].line, 0}, with[i].rule_id});
  }
  return out;
}

}  // namespace vigil::collector::engine
