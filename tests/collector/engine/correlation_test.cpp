// Correlation rules on event time: window edges, order, group keys,
// conditions decided at window close, chaining, aliases, generate, bounded
// state. Time is explicit in every event (no clock, no sleeps).
#include <cstdlib>
#include <fstream>
#include <iterator>

#include "tests/collector/engine/rule_harness.h"

namespace vigil::testing {
namespace {

using engine::AlertKind;

constexpr int64_t kSec = 1'000'000'000;
constexpr double kT0 = 1700000000.0;

std::string Conn(double ts, const std::string& src, const std::string& dst, int dport,
                 const std::string& extra = "") {
  char buf[512];
  std::snprintf(
      buf, sizeof buf,
      R"({"_path":"conn","ts":%.6f,"id.orig_h":"%s","id.orig_p":40000,"id.resp_h":"%s","id.resp_p":%d,"proto":"tcp","conn_state":"REJ","history":"Sr"%s})",
      ts, src.c_str(), dst.c_str(), dport, extra.c_str());
  return buf;
}

std::string Dns(double ts, const std::string& src, const std::string& query) {
  char buf[512];
  std::snprintf(
      buf, sizeof buf,
      R"({"_path":"dns","ts":%.6f,"id.orig_h":"%s","id.orig_p":5353,"id.resp_h":"10.0.0.53","id.resp_p":53,"query":"%s"})",
      ts, src.c_str(), query.c_str());
  return buf;
}

const char* kBase =
    "title: failed connection\nid: base\nname: base\nlogsource: {product: zeek, service: conn}\n"
    "detection:\n  s:\n    conn_state: REJ\n  condition: s\n";

std::string Corr(const std::string& body) {
  return std::string(kBase) +
         "---\ntitle: correlated\nid: corr\nlevel: high\nauthor: tester\ncorrelation:\n" + body;
}

size_t CountKind(const std::vector<engine::Alert>& alerts, AlertKind kind,
                 const std::string& id = "corr") {
  size_t n = 0;
  for (const auto& a : alerts) n += (a.kind == kind && a.rule_id == id) ? 1 : 0;
  return n;
}

struct Feed {
  explicit Feed(RuleHarness& harness) : h(harness) {}
  RuleHarness& h;
  std::vector<engine::Alert> all;
  void operator()(const std::string& json) {
    auto out = h.Run(json);
    all.insert(all.end(), out.begin(), out.end());
  }
  size_t Correlations(const std::string& id = "corr") const {
    return CountKind(all, AlertKind::kCorrelation, id);
  }
};

const char* kEventCount =
    "  type: event_count\n  rules: [base]\n  group-by: [id.orig_h]\n  timespan: 10s\n  condition: "
    "{gte: 3}\n";

TEST(Correlation, EventCountInsideTheWindowFiresOnce) {
  RuleHarness h(Corr(kEventCount));
  Feed f{h};
  f(Conn(kT0, "10.0.0.1", "10.0.0.9", 1));
  f(Conn(kT0 + 4, "10.0.0.1", "10.0.0.9", 2));
  EXPECT_EQ(f.Correlations(), 0u);
  f(Conn(kT0 + 9, "10.0.0.1", "10.0.0.9", 3));
  ASSERT_EQ(f.Correlations(), 1u);
  const auto& a = f.all.back();
  EXPECT_EQ(a.group_key, "id.orig_h=10.0.0.1");
  EXPECT_EQ(a.author, "tester");
  EXPECT_EQ(a.level, engine::Level::kHigh);
  EXPECT_EQ(a.event_time_ns, static_cast<int64_t>(kT0 + 9) * kSec);
  EXPECT_EQ(a.events.size(), 3u);  // a bounded sample of the inputs
  // generate: false (the default): the base rule raised nothing itself.
  EXPECT_EQ(CountKind(f.all, AlertKind::kDetection, "base"), 0u);
}

TEST(Correlation, EventsOutsideTheWindowDoNotCount) {
  RuleHarness h(Corr(kEventCount));
  Feed f{h};
  f(Conn(kT0, "10.0.0.1", "10.0.0.9", 1));
  f(Conn(kT0 + 6, "10.0.0.1", "10.0.0.9", 2));
  f(Conn(kT0 + 12, "10.0.0.1", "10.0.0.9", 3));  // kT0 left the window (12 - 10 > 0)
  EXPECT_EQ(f.Correlations(), 0u);
}

TEST(Correlation, WindowEdgesAreInclusive) {
  RuleHarness h(Corr(kEventCount));
  Feed f{h};
  f(Conn(kT0, "10.0.0.1", "10.0.0.9", 1));
  f(Conn(kT0 + 5, "10.0.0.1", "10.0.0.9", 2));
  f(Conn(kT0 + 10, "10.0.0.1", "10.0.0.9", 3));  // exactly one timespan after the first
  EXPECT_EQ(f.Correlations(), 1u);
}

TEST(Correlation, WindowsSlideRatherThanTumble) {
  // Fixed 10 s buckets [0,10) [10,20) would split these; a sliding window sees 3 in 10 s.
  RuleHarness h(Corr(kEventCount));
  Feed f{h};
  f(Conn(kT0 + 8, "10.0.0.1", "10.0.0.9", 1));
  f(Conn(kT0 + 11, "10.0.0.1", "10.0.0.9", 2));
  f(Conn(kT0 + 14, "10.0.0.1", "10.0.0.9", 3));
  EXPECT_EQ(f.Correlations(), 1u);
}

TEST(Correlation, GroupMismatchDoesNotCombine) {
  RuleHarness h(Corr(kEventCount));
  Feed f{h};
  f(Conn(kT0, "10.0.0.1", "10.0.0.9", 1));
  f(Conn(kT0 + 1, "10.0.0.2", "10.0.0.9", 2));
  f(Conn(kT0 + 2, "10.0.0.3", "10.0.0.9", 3));
  EXPECT_EQ(f.Correlations(), 0u);
}

TEST(Correlation, NoGroupByIsOneGlobalGroup) {
  RuleHarness h(
      Corr("  type: event_count\n  rules: [base]\n  timespan: 10s\n  condition: {gte: 3}\n"));
  Feed f{h};
  f(Conn(kT0, "10.0.0.1", "10.0.0.9", 1));
  f(Conn(kT0 + 1, "10.0.0.2", "10.0.0.9", 2));
  f(Conn(kT0 + 2, "10.0.0.3", "10.0.0.9", 3));
  ASSERT_EQ(f.Correlations(), 1u);
  EXPECT_EQ(f.all.back().group_key, "");
}

TEST(Correlation, OneFiringPerGroupPerWindow) {
  RuleHarness h(Corr(kEventCount));
  Feed f{h};
  for (int i = 0; i < 9; ++i) f(Conn(kT0 + i, "10.0.0.1", "10.0.0.9", i));  // one per second
  // Fires at the 3rd event; the 4th..9th fall in the window after the firing.
  EXPECT_EQ(f.Correlations(), 1u);
  for (int i = 13; i < 16; ++i) f(Conn(kT0 + i, "10.0.0.1", "10.0.0.9", i));
  EXPECT_EQ(f.Correlations(), 2u);  // a new window opened after kT0+2+10 s
}

TEST(Correlation, ValueCountCountsDistinctValues) {
  RuleHarness h(Corr(
      "  type: value_count\n  rules: [base]\n  group-by: [id.orig_h, id.resp_h]\n  timespan: 1m\n"
      "  condition: {gt: 3, field: id.resp_p}\n"));
  Feed f{h};
  for (int i = 0; i < 10; ++i) f(Conn(kT0 + i, "10.0.0.1", "10.0.0.9", 80));  // one port, ten times
  EXPECT_EQ(f.Correlations(), 0u);
  f(Conn(kT0 + 11, "10.0.0.1", "10.0.0.9", 81));
  f(Conn(kT0 + 12, "10.0.0.1", "10.0.0.9", 82));
  f(Conn(kT0 + 13, "10.0.0.1", "10.0.0.9", 83));
  ASSERT_EQ(f.Correlations(), 1u);
  const auto& a = f.all.back();
  EXPECT_EQ(a.group_key, "id.orig_h=10.0.0.1,id.resp_h=10.0.0.9");
  ASSERT_EQ(a.matched_fields.size(), 3u);
  EXPECT_EQ(a.matched_fields[2].name, "value_count");
  EXPECT_EQ(a.matched_fields[2].value, "4");
}

TEST(Correlation, ValueCountOfSeveralFieldsCountsTuples) {
  RuleHarness h(
      Corr("  type: value_count\n  rules: [base]\n  group-by: [id.orig_h]\n  timespan: 1m\n"
           "  condition:\n    gte: 3\n    field: [id.resp_h, id.resp_p]\n"));
  Feed f{h};
  f(Conn(kT0, "10.0.0.1", "10.0.0.9", 80));
  f(Conn(kT0 + 1, "10.0.0.1", "10.0.0.8", 80));
  f(Conn(kT0 + 2, "10.0.0.1", "10.0.0.9", 80));  // same tuple again
  EXPECT_EQ(f.Correlations(), 0u);
  f(Conn(kT0 + 3, "10.0.0.1", "10.0.0.9", 81));
  EXPECT_EQ(f.Correlations(), 1u);
}

TEST(Correlation, ValueSumAddsNumericValues) {
  RuleHarness h(
      Corr("  type: value_sum\n  rules: [base]\n  group-by: [id.orig_h]\n  timespan: 1m\n"
           "  condition: {gt: 1000, field: orig_pkts}\n"));
  Feed f{h};
  f(Conn(kT0, "10.0.0.1", "10.0.0.9", 1, R"(,"orig_pkts":600)"));
  EXPECT_EQ(f.Correlations(), 0u);
  f(Conn(kT0 + 30, "10.0.0.1", "10.0.0.9", 1, R"(,"orig_pkts":500)"));
  EXPECT_EQ(f.Correlations(), 1u);
  // Inputs without the field are not counted, and say so in the stats.
  f(Conn(kT0 + 31, "10.0.0.1", "10.0.0.9", 1));
  const auto stats = h.engine().Stats();
  EXPECT_EQ(stats->rules.back()->missing_group.Get(), 1u);
}

TEST(Correlation, ValueAvg) {
  RuleHarness h(
      Corr("  type: value_avg\n  rules: [base]\n  group-by: [id.orig_h]\n  timespan: 1m\n"
           "  condition: {gte: 100, field: orig_pkts}\n"));
  Feed f{h};
  f(Conn(kT0, "10.0.0.1", "10.0.0.9", 1, R"(,"orig_pkts":50)"));
  f(Conn(kT0 + 1, "10.0.0.1", "10.0.0.9", 1, R"(,"orig_pkts":140)"));
  EXPECT_EQ(f.Correlations(), 0u);  // average 95
  f(Conn(kT0 + 2, "10.0.0.1", "10.0.0.9", 1, R"(,"orig_pkts":115)"));
  EXPECT_EQ(f.Correlations(), 1u);  // average 101.67
}

const char* kTwoBases =
    "title: scan\nid: scan\nname: scan\nlogsource: {product: zeek, service: conn}\n"
    "detection:\n  s:\n    conn_state: REJ\n  condition: s\n---\n"
    "title: lookup\nid: lookup\nname: lookup\nlogsource: {product: zeek, service: dns}\n"
    "detection:\n  s:\n    query|endswith: .bad.example\n  condition: s\n---\n";

TEST(Correlation, TemporalFiresInAnyOrderWithinTheWindow) {
  RuleHarness h(std::string(kTwoBases) +
                "title: both\nid: corr\ncorrelation:\n  type: temporal\n  rules: [scan, lookup]\n"
                "  group-by: [id.orig_h]\n  timespan: 1m\n");
  Feed f{h};
  f(Dns(kT0, "10.0.0.1", "x.bad.example"));
  EXPECT_EQ(f.Correlations(), 0u);
  f(Conn(kT0 + 30, "10.0.0.1", "10.0.0.9", 1));
  EXPECT_EQ(f.Correlations(), 1u);
}

TEST(Correlation, TemporalOutsideTheWindowOrOtherGroupDoesNotFire) {
  RuleHarness h(std::string(kTwoBases) +
                "title: both\nid: corr\ncorrelation:\n  type: temporal\n  rules: [scan, lookup]\n"
                "  group-by: [id.orig_h]\n  timespan: 1m\n");
  Feed f{h};
  f(Dns(kT0, "10.0.0.1", "x.bad.example"));
  f(Conn(kT0 + 90, "10.0.0.1", "10.0.0.9", 1));
  f(Conn(kT0 + 91, "10.0.0.2", "10.0.0.9", 1));
  f(Dns(kT0 + 200, "10.0.0.3", "y.bad.example"));
  EXPECT_EQ(f.Correlations(), 0u);
}

TEST(Correlation, TemporalOrderedNeedsTheListedOrder) {
  const std::string rules =
      std::string(kTwoBases) +
      "title: scan then lookup\nid: corr\ncorrelation:\n  type: temporal_ordered\n"
      "  rules: [scan, lookup]\n  group-by: [id.orig_h]\n  timespan: 1m\n";
  {
    RuleHarness h(rules);
    Feed f{h};
    f(Conn(kT0, "10.0.0.1", "10.0.0.9", 1));
    f(Dns(kT0 + 10, "10.0.0.1", "x.bad.example"));
    EXPECT_EQ(f.Correlations(), 1u);
  }
  {
    RuleHarness h(rules);
    Feed f{h};
    f(Dns(kT0, "10.0.0.1", "x.bad.example"));  // reversed order
    f(Conn(kT0 + 10, "10.0.0.1", "10.0.0.9", 1));
    EXPECT_EQ(f.Correlations(), 0u);
  }
}

TEST(Correlation, AliasesMapOneKeyToDifferentFields) {
  // A lookup by X followed by a failed connection *to* X.
  RuleHarness h(
      std::string(kTwoBases) +
      "title: aliased\nid: corr\ncorrelation:\n  type: temporal\n  rules: [scan, lookup]\n"
      "  group-by: [host]\n  timespan: 1m\n  aliases:\n    host:\n      scan: id.resp_h\n"
      "      lookup: id.orig_h\n");
  Feed f{h};
  f(Dns(kT0, "10.0.0.7", "x.bad.example"));
  f(Conn(kT0 + 5, "10.0.0.1", "10.0.0.7", 1));
  ASSERT_EQ(f.Correlations(), 1u);
  EXPECT_EQ(f.all.back().group_key, "host=10.0.0.7");
}

TEST(Correlation, LtIsDecidedWhenTheWindowCloses) {
  RuleHarness h(
      Corr("  type: event_count\n  rules: [base]\n  group-by: [id.orig_h]\n  timespan: 1m\n"
           "  condition: {lt: 3}\n"));
  Feed f{h};
  f(Conn(kT0, "10.0.0.1", "10.0.0.9", 1));
  f(Conn(kT0 + 10, "10.0.0.1", "10.0.0.9", 2));
  EXPECT_EQ(f.Correlations(), 0u);  // more events could still come
  EXPECT_EQ(CountKind(h.Advance(static_cast<int64_t>(kT0 + 59) * kSec), AlertKind::kCorrelation),
            0u);
  const auto closed = h.Advance(static_cast<int64_t>(kT0 + 61) * kSec);
  ASSERT_EQ(CountKind(closed, AlertKind::kCorrelation), 1u);
  EXPECT_EQ(closed[0].event_time_ns, static_cast<int64_t>(kT0 + 60) * kSec);
  // Three events in the window: the condition fails at close.
  Feed g{h};
  for (int i = 0; i < 3; ++i) g(Conn(kT0 + 100 + i, "10.0.0.2", "10.0.0.9", i));
  EXPECT_EQ(CountKind(h.Advance(static_cast<int64_t>(kT0 + 200) * kSec), AlertKind::kCorrelation),
            0u);
}

TEST(Correlation, EqIsDecidedAtCloseAlsoWhenTheNextEventArrives) {
  RuleHarness h(
      Corr("  type: value_count\n  rules: [base]\n  group-by: [id.orig_h]\n  timespan: 10s\n"
           "  condition: {eq: 2, field: id.resp_p}\n"));
  Feed f{h};
  f(Conn(kT0, "10.0.0.1", "10.0.0.9", 1));
  f(Conn(kT0 + 1, "10.0.0.1", "10.0.0.9", 2));
  EXPECT_EQ(f.Correlations(), 0u);
  f(Conn(kT0 + 20, "10.0.0.1", "10.0.0.9", 3));  // belongs to the next window: closes the first
  EXPECT_EQ(f.Correlations(), 1u);
}

TEST(Correlation, RangeConditions) {
  RuleHarness h(
      Corr("  type: event_count\n  rules: [base]\n  group-by: [id.orig_h]\n  timespan: 10s\n"
           "  condition:\n    gt: 1\n    lte: 3\n"));
  Feed f{h};
  f(Conn(kT0, "10.0.0.1", "10.0.0.9", 1));
  f(Conn(kT0 + 1, "10.0.0.1", "10.0.0.9", 2));
  EXPECT_EQ(CountKind(h.Advance(static_cast<int64_t>(kT0 + 30) * kSec), AlertKind::kCorrelation),
            1u);
  EXPECT_EQ(WithCode(h.result(), "range_condition").size(), 1u);
}

TEST(Correlation, GenerateTrueKeepsTheBaseRuleAlerts) {
  RuleHarness h(Corr(std::string(kEventCount) + "  generate: true\n"));
  Feed f{h};
  f(Conn(kT0, "10.0.0.1", "10.0.0.9", 1));
  EXPECT_EQ(CountKind(f.all, AlertKind::kDetection, "base"), 1u);
}

TEST(Correlation, ChainedCorrelations) {
  // Three "three failures in 10 s" bursts within a minute.
  RuleHarness h(
      std::string(kBase) +
      "---\ntitle: burst\nid: burst\nname: burst\ncorrelation:\n  type: event_count\n  rules: "
      "[base]\n"
      "  group-by: [id.orig_h]\n  timespan: 10s\n  condition: {gte: 3}\n"
      "---\ntitle: bursts\nid: corr\ncorrelation:\n  type: event_count\n  rules: [burst]\n"
      "  group-by: [id.orig_h]\n  timespan: 1m\n  condition: {gte: 2}\n");
  Feed f{h};
  for (int i = 0; i < 3; ++i) f(Conn(kT0 + i, "10.0.0.1", "10.0.0.9", i));
  EXPECT_EQ(f.Correlations(), 0u);
  EXPECT_EQ(CountKind(f.all, AlertKind::kCorrelation, "burst"),
            0u);  // intermediate: generate false
  for (int i = 0; i < 3; ++i) f(Conn(kT0 + 20 + i, "10.0.0.1", "10.0.0.9", i));
  ASSERT_EQ(f.Correlations(), 1u);
  EXPECT_EQ(f.all.back().group_key, "id.orig_h=10.0.0.1");
}

TEST(Correlation, ReferencesAreCheckedAtLoad) {
  auto r = LoadYaml(
      Corr("  type: event_count\n  rules: [nosuchrule]\n  timespan: 10s\n  condition: {gte: 3}\n"));
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(WithCode(r, "unresolved_reference").size(), 1u);
  auto cycle = LoadYaml(
      "title: a\nid: a\ncorrelation:\n  type: event_count\n  rules: [b]\n  timespan: 1m\n  "
      "condition: {gte: 1}\n"
      "---\ntitle: b\nid: b\ncorrelation:\n  type: event_count\n  rules: [a]\n  timespan: 1m\n  "
      "condition: {gte: 1}\n");
  EXPECT_FALSE(cycle.ok());
  EXPECT_EQ(WithCode(cycle, "correlation_cycle").size(), 1u);
  auto bad_span = LoadYaml(Corr(
      "  type: event_count\n  rules: [base]\n  timespan: 10 minutes\n  condition: {gte: 3}\n"));
  EXPECT_EQ(WithCode(bad_span, "bad_timespan").size(), 1u);
  auto no_field = LoadYaml(
      Corr("  type: value_count\n  rules: [base]\n  timespan: 10s\n  condition: {gte: 3}\n"));
  EXPECT_EQ(WithCode(no_field, "missing_key").size(), 1u);
  auto bad_group =
      LoadYaml(Corr("  type: event_count\n  rules: [base]\n  group-by: [src_addr]\n  timespan: "
                    "10s\n  condition: {gte: 3}\n"));
  EXPECT_EQ(WithCode(bad_group, "unknown_field").size(), 1u);
  auto percentile =
      LoadYaml(Corr("  type: value_percentile\n  rules: [base]\n  timespan: 10s\n  condition: "
                    "{gte: 3, field: duration}\n"));
  EXPECT_EQ(WithCode(percentile, "unsupported_correlation").size(), 1u);
}

TEST(Correlation, InactiveBaseRuleMakesTheCorrelationInactive) {
  auto r = LoadYaml(
      "title: smb\nid: smb\nlogsource: {product: zeek, service: smb_files}\ndetection:\n  s:\n    "
      "path: x\n"
      "  condition: s\n---\ntitle: c\nid: c\ncorrelation:\n  type: event_count\n  rules: [smb]\n"
      "  timespan: 1m\n  condition: {gte: 2}\n");
  ASSERT_TRUE(r.ok()) << AllDiagnostics(r);
  for (const auto& s : r.rules) {
    if (s.id == "c") {
      EXPECT_EQ(s.state, engine::RuleState::kInactive);
      EXPECT_NE(s.reason.find("smb"), std::string::npos);
    }
  }
}

TEST(Correlation, StateIsBoundedAndEvictionsAreCounted) {
  engine::EngineOptions eo;
  eo.max_groups = 10;
  eo.max_entries_per_group = 5;
  RuleHarness h(
      Corr("  type: value_count\n  rules: [base]\n  group-by: [id.orig_h]\n  timespan: 1h\n"
           "  condition: {gt: 1000, field: id.resp_p}\n"),
      {}, eo);
  for (int src = 0; src < 30; ++src)
    h.Run(Conn(kT0 + src, "10.1.0." + std::to_string(src), "10.0.0.9", 1));
  for (int port = 0; port < 20; ++port) h.Run(Conn(kT0 + 100 + port, "10.2.0.1", "10.0.0.9", port));
  const auto stats = h.engine().Stats();
  const auto& corr = *stats->rules.back();
  EXPECT_TRUE(corr.correlation);
  EXPECT_EQ(corr.groups_evicted.Get(), 21u);  // 31 groups seen, 10 kept
  EXPECT_EQ(corr.values_evicted.Get(), 15u);  // 20 ports, 5 kept
}

TEST(Correlation, LateEventsAreCountedNotSilentlyUsed) {
  RuleHarness h(Corr(kEventCount));
  h.Run(Conn(kT0 + 100, "10.0.0.1", "10.0.0.9", 1));
  h.Run(Conn(kT0, "10.0.0.1", "10.0.0.9", 2));  // 100 s older than the group's newest input
  EXPECT_EQ(h.engine().Stats()->rules.back()->late_events.Get(), 1u);
}

TEST(Correlation, IdleGroupsAreForgottenOnAdvanceTime) {
  RuleHarness h(Corr(kEventCount));
  h.Run(Conn(kT0, "10.0.0.1", "10.0.0.9", 1));
  h.Run(Conn(kT0 + 1, "10.0.0.2", "10.0.0.9", 2));
  EXPECT_EQ(h.engine().Stats()->rules.back()->groups.Get(), 2u);
  h.Advance(static_cast<int64_t>(kT0 + 5) * kSec);
  EXPECT_EQ(h.engine().Stats()->rules.back()->groups.Get(), 2u);  // still inside their window
  h.Advance(static_cast<int64_t>(kT0 + 3600) * kSec);
  EXPECT_EQ(h.engine().Stats()->rules.back()->groups.Get(), 0u);  // memory released
  // After an hour the two old inputs no longer count towards a new burst.
  Feed f{h};
  f(Conn(kT0 + 3601, "10.0.0.1", "10.0.0.9", 3));
  EXPECT_EQ(f.Correlations(), 0u);
}

// --- Regressions -----------------------------------------------------------

TEST(Correlation, ChildFiringOnTheInputThatOpensItsNextWindowKeepsItsOwnGroup) {
  // The child closes its first window when the 61 s input arrives, fires, and
  // feeds the parent (another group key) before recording that input.
  RuleHarness h(std::string(kBase) +
                "---\ntitle: few\nid: few\nname: few\ncorrelation:\n  type: event_count\n"
                "  rules: [base]\n  group-by: [id.orig_h, id.resp_h]\n  timespan: 1m\n"
                "  condition: {lt: 3}\n"
                "---\ntitle: parent\nid: corr\ncorrelation:\n  type: event_count\n"
                "  rules: [few]\n  group-by: [id.orig_h]\n  timespan: 1h\n  condition: {gte: 1}\n");
  Feed f{h};
  f(Conn(kT0, "10.0.0.1", "10.0.0.9", 1));
  f(Conn(kT0 + 61, "10.0.0.1", "10.0.0.9", 1));
  ASSERT_EQ(f.Correlations(), 1u);
  EXPECT_EQ(f.all.back().group_key, "id.orig_h=10.0.0.1");
  // The 61 s input opened the child's second window, which closes at 121 s.
  h.Advance(static_cast<int64_t>(kT0 + 200) * kSec);
  const auto stats = h.engine().Stats();
  int found = 0;
  for (const auto& r : stats->rules) {
    if (r->rule_id == "few") {
      EXPECT_EQ(r->matches.Get(), 2u);
      ++found;
    }
  }
  EXPECT_EQ(found, 1);
}

TEST(Correlation, ChildFiringDoesNotOverwriteTheValueItIsCounting) {
  // Same group-by in child and parent: the child's next window must record
  // the port of the input that closed the previous one, not the parent's "".
  RuleHarness h(std::string(kBase) +
                "---\ntitle: one port\nid: oneport\nname: oneport\ncorrelation:\n"
                "  type: value_count\n  rules: [base]\n  group-by: [id.orig_h]\n  timespan: 10s\n"
                "  condition: {eq: 1, field: id.resp_p}\n"
                "---\ntitle: parent\nid: corr\ncorrelation:\n  type: event_count\n"
                "  rules: [oneport]\n  group-by: [id.orig_h]\n  timespan: 1h\n"
                "  condition: {gte: 2}\n");
  Feed f{h};
  f(Conn(kT0, "10.0.0.1", "10.0.0.9", 80));
  f(Conn(kT0 + 20, "10.0.0.1", "10.0.0.9", 81));  // closes window 1 (one port): child fires
  f(Conn(kT0 + 21, "10.0.0.1", "10.0.0.9", 81));  // window 2: still one port
  EXPECT_EQ(f.Correlations(), 0u);
  const auto closed = h.Advance(static_cast<int64_t>(kT0 + 60) * kSec);
  EXPECT_EQ(CountKind(closed, AlertKind::kCorrelation), 1u);  // the child fired twice
}

TEST(Correlation, EventCountThresholdAboveTheEntryCapIsReachable) {
  engine::EngineOptions eo;
  eo.max_entries_per_group = 5;
  RuleHarness h(
      Corr("  type: event_count\n  rules: [base]\n  group-by: [id.orig_h]\n  timespan: 1m\n"
           "  condition: {gte: 8}\n"),
      {}, eo);
  Feed f{h};
  for (int i = 0; i < 7; ++i) f(Conn(kT0 + i, "10.0.0.1", "10.0.0.9", i));
  EXPECT_EQ(f.Correlations(), 0u);
  f(Conn(kT0 + 7, "10.0.0.1", "10.0.0.9", 7));
  ASSERT_EQ(f.Correlations(), 1u);
  EXPECT_EQ(f.all.back().matched_fields.back().value, "8");
}

TEST(Correlation, EventCountOfManyInputsIsExactWithDefaultLimits) {
  // More inputs than the default per-group entry limit (10,000) in one window.
  RuleHarness h(
      Corr("  type: event_count\n  rules: [base]\n  group-by: [id.orig_h]\n  timespan: 1h\n"
           "  condition: {gte: 12000}\n"));
  const engine::Event e = Ev(Conn(kT0, "10.0.0.1", "10.0.0.9", 1));
  size_t fired = 0;
  for (int i = 0; i < 12000; ++i) {
    engine::Event copy = e;
    copy.set_time_ns(static_cast<int64_t>(kT0) * kSec + int64_t{i} * 100'000'000);  // 10 per s
    fired += CountKind(h.Run(copy), AlertKind::kCorrelation);
    if (i == 11998) {
      EXPECT_EQ(fired, 0u);
    }
  }
  EXPECT_EQ(fired, 1u);
}

TEST(Correlation, ValueSumCountsEveryInputBeyondTheEntryCap) {
  engine::EngineOptions eo;
  eo.max_entries_per_group = 5;
  RuleHarness h(Corr("  type: value_sum\n  rules: [base]\n  group-by: [id.orig_h]\n  timespan: 1h\n"
                     "  condition: {gt: 2000, field: orig_bytes}\n"),
                {}, eo);
  Feed f{h};
  for (int i = 0; i < 13; ++i) f(Conn(kT0 + i, "10.0.0.1", "10.0.0.9", 1, R"(,"orig_bytes":150)"));
  EXPECT_EQ(f.Correlations(), 0u);  // 1950
  f(Conn(kT0 + 13, "10.0.0.1", "10.0.0.9", 1, R"(,"orig_bytes":150)"));
  ASSERT_EQ(f.Correlations(), 1u);  // 2100
  EXPECT_EQ(f.all.back().matched_fields.back().value, "2100");
}

TEST(Correlation, ValueAvgAveragesEveryInputBeyondTheEntryCap) {
  engine::EngineOptions eo;
  eo.max_entries_per_group = 5;
  RuleHarness h(Corr("  type: value_avg\n  rules: [base]\n  group-by: [id.orig_h]\n  timespan: 1h\n"
                     "  condition: {gte: 60, field: orig_pkts}\n"),
                {}, eo);
  Feed f{h};
  for (int i = 0; i < 10; ++i) f(Conn(kT0 + i, "10.0.0.1", "10.0.0.9", 1, R"(,"orig_pkts":0)"));
  // k inputs of 100 after ten of 0 average 100k/(10+k): >= 60 from k = 15.
  for (int k = 1; k <= 14; ++k)
    f(Conn(kT0 + 10 + k, "10.0.0.1", "10.0.0.9", 1, R"(,"orig_pkts":100)"));
  EXPECT_EQ(f.Correlations(), 0u);
  f(Conn(kT0 + 25, "10.0.0.1", "10.0.0.9", 1, R"(,"orig_pkts":100)"));
  EXPECT_EQ(f.Correlations(), 1u);
}

TEST(Correlation, BucketedSlidingWindowStillExpiresOldInputs) {
  RuleHarness h(
      Corr("  type: value_sum\n  rules: [base]\n  group-by: [id.orig_h]\n  timespan: 1m\n"
           "  condition: {gt: 1000, field: orig_pkts}\n"));
  Feed f{h};
  f(Conn(kT0, "10.0.0.1", "10.0.0.9", 1, R"(,"orig_pkts":600)"));
  f(Conn(kT0 + 61, "10.0.0.1", "10.0.0.9", 1, R"(,"orig_pkts":500)"));  // the 600 left
  EXPECT_EQ(f.Correlations(), 0u);
  f(Conn(kT0 + 62, "10.0.0.1", "10.0.0.9", 1, R"(,"orig_pkts":501)"));
  EXPECT_EQ(f.Correlations(), 1u);
}

TEST(Correlation, ValueCountKeepsOneEntryPerValueAndExpiresByNewestTime) {
  engine::EngineOptions eo;
  eo.max_entries_per_group = 3;
  RuleHarness h(
      Corr("  type: value_count\n  rules: [base]\n  group-by: [id.orig_h]\n  timespan: 1m\n"
           "  condition: {gte: 3, field: id.resp_p}\n"),
      {}, eo);
  Feed f{h};
  f(Conn(kT0, "10.0.0.1", "10.0.0.9", 80));
  for (int i = 1; i <= 50; ++i) f(Conn(kT0 + i, "10.0.0.1", "10.0.0.9", 81));  // a repeat
  f(Conn(kT0 + 50, "10.0.0.1", "10.0.0.9", 80));                               // 80 refreshed
  f(Conn(kT0 + 100, "10.0.0.1", "10.0.0.9", 82));  // 80 and 81 (newest 50) still in [40, 100]
  ASSERT_EQ(f.Correlations(), 1u);
  EXPECT_EQ(h.engine().Stats()->rules.back()->values_evicted.Get(), 0u);
}

TEST(Correlation, TemporalKeepsTheNewestInputOfASourceOverALateOlderOne) {
  RuleHarness h(std::string(kTwoBases) +
                "title: both\nid: corr\ncorrelation:\n  type: temporal\n  rules: [scan, lookup]\n"
                "  group-by: [id.orig_h]\n  timespan: 1m\n");
  Feed f{h};
  f(Conn(kT0 + 100, "10.0.0.1", "10.0.0.9", 1));
  f(Conn(kT0 + 50, "10.0.0.1", "10.0.0.9", 1));    // late but inside the window
  f(Dns(kT0 + 155, "10.0.0.1", "x.bad.example"));  // the scan at 100 is within 1m
  EXPECT_EQ(f.Correlations(), 1u);
}

TEST(Correlation, ClosedTemporalOrderedWindowsKeepBoundedTimes) {
  RuleHarness h(std::string(kTwoBases) +
                "title: few\nid: corr\ncorrelation:\n  type: temporal_ordered\n"
                "  rules: [scan, lookup]\n  group-by: [id.orig_h]\n  timespan: 1h\n"
                "  condition: {lt: 2}\n");
  for (int i = 0; i < 100; ++i) h.Run(Conn(kT0 + i, "10.0.0.1", "10.0.0.9", 1));
  EXPECT_EQ(h.engine().Stats()->rules.back()->values_evicted.Get(), 36u);  // 64 kept
  const auto closed = h.Advance(static_cast<int64_t>(kT0 + 4000) * kSec);
  EXPECT_EQ(CountKind(closed, AlertKind::kCorrelation), 1u);  // chain of 1 < 2
}

TEST(Correlation, TimersOfEvictedGroupsDoNotAccumulate) {
  engine::EngineOptions eo;
  eo.max_groups = 10;
  RuleHarness h(Corr("  type: event_count\n  rules: [base]\n  group-by: [id.orig_h, id.resp_p]\n"
                     "  timespan: 1h\n  condition: {lt: 3}\n"),
                {}, eo);
  for (int i = 0; i < 5000; ++i) h.Run(Conn(kT0 + i * 0.1, "10.0.0.1", "10.0.0.9", i));
  EXPECT_EQ(h.engine().Stats()->rules.back()->groups_evicted.Get(), 4990u);
  EXPECT_LE(h.engine().PendingTimers(), 300u);  // not one per group ever opened
  // The kept groups still close and fire.
  const auto closed = h.Advance(static_cast<int64_t>(kT0 + 8000) * kSec);
  EXPECT_EQ(CountKind(closed, AlertKind::kCorrelation), 10u);
}

TEST(Correlation, WindowArithmeticSaturatesNearTheEndOfTime) {
  // Event times saturate near year 2261; a window of years must not wrap.
  const double kLate = 9.19e9;
  RuleHarness h(
      Corr("  type: event_count\n  rules: [base]\n  group-by: [id.orig_h]\n  timespan: 10y\n"
           "  condition: {lt: 3}\n"));
  Feed f{h};
  f(Conn(kLate, "10.0.0.1", "10.0.0.9", 1));
  f(Conn(kLate + 1, "10.0.0.1", "10.0.0.9", 2));
  EXPECT_EQ(f.Correlations(), 0u);  // both inputs in one window still open
  RuleHarness s(
      Corr("  type: event_count\n  rules: [base]\n  group-by: [id.orig_h]\n"
           "  timespan: 10y\n  condition: {gte: 2}\n"));
  Feed g{s};
  g(Conn(kLate, "10.0.0.1", "10.0.0.9", 1));
  g(Conn(kLate + 1, "10.0.0.1", "10.0.0.9", 2));
  EXPECT_EQ(g.Correlations(), 1u);
  g(Conn(kLate + 2, "10.0.0.1", "10.0.0.9", 3));
  g(Conn(kLate + 3, "10.0.0.1", "10.0.0.9", 4));
  EXPECT_EQ(g.Correlations(), 1u);  // one firing per window: quiet until the window ends
}

TEST(Correlation, ShippedOutboundVolumeSumsMoreThanTheEntryCapOfFlows) {
  // vigil.conn.outbound_volume (value_sum gt 2 GiB in 1h): 20,000 flows of
  // 150 kB are 3 GB; summing only the newest 10,000 saw 1.5 GB.
  const char* src = std::getenv("VIGIL_SOURCE_DIR");
  if (!src) GTEST_SKIP() << "VIGIL_SOURCE_DIR not set";
  std::ifstream in(std::string(src) + "/rules/conn/exfiltration.yml");
  ASSERT_TRUE(in) << "cannot read rules/conn/exfiltration.yml";
  const std::string yaml((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  RuleHarness h(yaml);
  const engine::Event e = Ev(
      R"({"_path":"conn","ts":1700000000.0,"id.orig_h":"10.20.1.40","id.orig_p":53000,)"
      R"("id.resp_h":"198.51.100.5","id.resp_p":443,"proto":"tcp","conn_state":"SF",)"
      R"("duration":1.0,"orig_bytes":150000,"resp_bytes":100,"local_orig":true,"local_resp":false})");
  size_t fired = 0;
  int64_t first_at = -1;
  for (int i = 0; i < 20'000; ++i) {
    engine::Event copy = e;
    copy.set_time_ns(static_cast<int64_t>(kT0) * kSec + int64_t{i} * 150'000'000);  // 50 min
    const size_t n =
        CountKind(h.Run(copy), AlertKind::kCorrelation, "f5ec8629-24ca-4428-a8e0-8effd28a3b12");
    if (n && first_at < 0) first_at = i;
    fired += n;
  }
  EXPECT_EQ(fired, 1u);
  EXPECT_EQ(first_at, 14'316);  // the first sum above 2147483648 (14,317 x 150,000)
}

}  // namespace
}  // namespace vigil::testing
