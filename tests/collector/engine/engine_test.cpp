// The engine around the rules: reload swaps (exactly-once evaluation, state
// kept for unchanged rules, old set kept on error), filters with expiry,
// shadow mode, overlays, throttling with suppression summaries, lists and
// CIDR edges, and the stats that make all of it observable.
#include <atomic>
#include <thread>

#include "collector/engine/rule_tests.h"
#include "tests/collector/engine/rule_harness.h"

namespace vigil::testing {
namespace {

using engine::AlertKind;
constexpr int64_t kSec = 1'000'000'000;
constexpr double kT0 = 1700000000.0;

std::string Dns(double ts, const std::string& query, const std::string& src = "10.0.0.1") {
  char buf[512];
  std::snprintf(
      buf, sizeof buf,
      R"({"_path":"dns","ts":%.6f,"id.orig_h":"%s","id.orig_p":5353,"id.resp_h":"10.0.0.53","id.resp_p":53,"query":"%s"})",
      ts, src.c_str(), query.c_str());
  return buf;
}

std::string Conn(double ts, const std::string& src, const std::string& dst) {
  char buf[512];
  std::snprintf(
      buf, sizeof buf,
      R"({"_path":"conn","ts":%.6f,"id.orig_h":"%s","id.orig_p":40000,"id.resp_h":"%s","id.resp_p":443,"proto":"tcp","conn_state":"SF"})",
      ts, src.c_str(), dst.c_str());
  return buf;
}

std::string DnsRule(const std::string& id, const std::string& detection,
                    const std::string& extra = "") {
  return "title: rule " + id + "\nid: " + id +
         "\nlevel: medium\nlogsource: {product: zeek, service: dns}\ndetection:\n" + detection +
         "\n" + extra;
}

std::shared_ptr<const engine::RuleSet> Load(const std::string& yaml, engine::LoadOptions o = {}) {
  auto r = LoadYaml(yaml, std::move(o));
  EXPECT_TRUE(r.ok()) << AllDiagnostics(r);
  return r.rule_set;
}

size_t Count(const std::vector<engine::Alert>& alerts, const std::string& id,
             AlertKind kind = AlertKind::kDetection) {
  size_t n = 0;
  for (const auto& a : alerts) n += (a.rule_id == id && a.kind == kind) ? 1 : 0;
  return n;
}

// --- reload --------------------------------------------------------------

TEST(Reload, SwapTakesEffectBetweenEvents) {
  engine::Engine e;
  e.Swap(Load(DnsRule("a", "  s:\n    query|exists: true\n  condition: s")));
  std::vector<engine::Alert> out;
  e.Evaluate(Ev(Dns(kT0, "x.example")), out);
  e.Swap(Load(DnsRule("b", "  s:\n    query|exists: true\n  condition: s")));
  e.Evaluate(Ev(Dns(kT0 + 1, "y.example")), out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].rule_id, "a");
  EXPECT_EQ(out[1].rule_id, "b");
  EXPECT_EQ(e.Stats()->reloads_applied.Get(), 2u);
  EXPECT_EQ(e.Stats()->events[static_cast<size_t>(engine::LogType::kDns)].Get(), 2u);
}

TEST(Reload, EveryEventIsEvaluatedByExactlyOneRuleSetUnderAConcurrentSwap) {
  // Two sets whose only rule matches everything: each event raises exactly
  // one alert, from A before the swap and from B after it, never both or none.
  auto a = Load(DnsRule("a", "  s:\n    query|exists: true\n  condition: s"));
  auto b = Load(DnsRule("b", "  s:\n    query|exists: true\n  condition: s"));
  constexpr int kEvents = 20000;
  std::vector<engine::Event> events;
  for (int i = 0; i < kEvents; ++i)
    events.push_back(Ev(Dns(kT0 + i, "q" + std::to_string(i) + ".example")));
  engine::Engine e;
  e.Swap(a);
  std::atomic<int> progress{0};
  std::thread reloader([&] {
    while (progress.load() < kEvents / 3) std::this_thread::yield();
    e.Swap(b);  // from another thread, mid-stream
  });
  std::vector<engine::Alert> out;
  for (int i = 0; i < kEvents; ++i) {
    e.Evaluate(events[static_cast<size_t>(i)], out);
    progress.store(i + 1);
  }
  reloader.join();
  ASSERT_EQ(out.size(), static_cast<size_t>(kEvents));
  size_t first_b = out.size();
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i].rule_id == "b") {
      first_b = i;
      break;
    }
  }
  ASSERT_GE(first_b, static_cast<size_t>(kEvents / 3));
  for (size_t i = 0; i < out.size(); ++i) {
    EXPECT_EQ(out[i].rule_id, i < first_b ? "a" : "b") << "event " << i;
    EXPECT_EQ(out[i].event_time_ns, static_cast<int64_t>(kT0 + static_cast<double>(i)) * kSec);
  }
}

TEST(Reload, FailedLoadKeepsTheOldRules) {
  engine::Engine e;
  e.Swap(Load(DnsRule("a", "  s:\n    query: x.example\n  condition: s")));
  auto broken = LoadYaml(DnsRule("a", "  s:\n    query|bogus: x\n  condition: s"));
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.rule_set, nullptr);
  e.NoteFailedReload();  // what the reloader does instead of Swap()
  std::vector<engine::Alert> out;
  e.Evaluate(Ev(Dns(kT0, "x.example")), out);
  EXPECT_EQ(Count(out, "a"), 1u);
  EXPECT_EQ(e.Stats()->reloads_failed.Get(), 1u);
}

const char* kBurst =
    "title: base\nid: base\nlogsource: {product: zeek, service: dns}\ndetection:\n  s:\n    "
    "query|endswith: .bad.example\n"
    "  condition: s\n---\ntitle: burst\nid: burst\ncorrelation:\n  type: event_count\n  rules: "
    "[base]\n"
    "  group-by: [id.orig_h]\n  timespan: 1m\n  condition: {gte: 3}\n";

TEST(Reload, CorrelationStateSurvivesASwapWhenTheRuleIsUnchanged) {
  engine::Engine e;
  e.Swap(Load(kBurst));
  std::vector<engine::Alert> out;
  e.Evaluate(Ev(Dns(kT0, "a.bad.example")), out);
  e.Evaluate(Ev(Dns(kT0 + 1, "b.bad.example")), out);
  // Reload with an unrelated rule added: the burst keeps counting.
  e.Swap(
      Load(std::string(kBurst) + "---\n" + DnsRule("other", "  s:\n    query: z\n  condition: s")));
  e.Evaluate(Ev(Dns(kT0 + 2, "c.bad.example")), out);
  EXPECT_EQ(Count(out, "burst", AlertKind::kCorrelation), 1u);
}

TEST(Reload, CorrelationStateResetsWhenTheRuleChanged) {
  engine::Engine e;
  e.Swap(Load(kBurst));
  std::vector<engine::Alert> out;
  e.Evaluate(Ev(Dns(kT0, "a.bad.example")), out);
  e.Evaluate(Ev(Dns(kT0 + 1, "b.bad.example")), out);
  std::string changed = kBurst;
  changed.replace(changed.find("timespan: 1m"), 12, "timespan: 2m");
  e.Swap(Load(changed));
  e.Evaluate(Ev(Dns(kT0 + 2, "c.bad.example")), out);
  EXPECT_EQ(Count(out, "burst", AlertKind::kCorrelation), 0u);
}

TEST(Reload, StatsOfRemovedRulesGoAwayAndKeptRulesKeepCounting) {
  engine::Engine e;
  e.Swap(Load(DnsRule("a", "  s:\n    query: x\n  condition: s") + "---\n" +
              DnsRule("gone", "  s:\n    query: y\n  condition: s")));
  std::vector<engine::Alert> out;
  e.Evaluate(Ev(Dns(kT0, "x")), out);
  e.Swap(Load(DnsRule("a", "  s:\n    query: x\n  condition: s")));
  e.Evaluate(Ev(Dns(kT0 + 1, "x")), out);
  const auto stats = e.Stats();
  ASSERT_EQ(stats->rules.size(), 1u);
  EXPECT_EQ(stats->rules[0]->rule_id, "a");
  EXPECT_EQ(stats->rules[0]->matches.Get(), 2u);
}

TEST(Reload, NoRuleSetYetCountsEvents) {
  engine::Engine e;
  std::vector<engine::Alert> out;
  e.Evaluate(Ev(Dns(kT0, "x")), out);
  EXPECT_EQ(e.Stats()->events_without_rules.Get(), 1u);
}

// --- filters -------------------------------------------------------------

const char* kBadDomain = "  s:\n    query|endswith: .bad.example\n  condition: s";

std::string Filter(const std::string& body, const std::string& extra = "") {
  return "---\ntitle: allow the sandbox\nid: f1\nlogsource: {product: zeek, service: dns}\n" +
         extra + "filter:\n" + body;
}

TEST(Filters, AFilterWithNotExcludesEvents) {
  RuleHarness h(
      DnsRule("r", kBadDomain) +
      Filter("  rules: [r]\n  sandbox:\n    id.orig_h: 10.0.0.99\n  condition: not sandbox\n"));
  EXPECT_TRUE(h.Fires(Dns(kT0, "x.bad.example", "10.0.0.1")));
  EXPECT_FALSE(h.Fires(Dns(kT0, "x.bad.example", "10.0.0.99")));
  const auto stats = h.engine().Stats();
  ASSERT_EQ(stats->filters.size(), 1u);
  EXPECT_EQ(stats->filters[0]->hits.Get(), 1u);
  EXPECT_EQ(stats->rules[0]->filtered.Get(), 1u);
  EXPECT_EQ(stats->rules[0]->matches.Get(), 1u);
}

TEST(Filters, AFilterWithoutNotWarnsBecauseItRestricts) {
  auto r = LoadYaml(
      DnsRule("r", kBadDomain) +
      Filter("  rules: [r]\n  sandbox:\n    id.orig_h: 10.0.0.99\n  condition: sandbox\n"));
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(WithCode(r, "filter_without_not").size(), 1u);
  EXPECT_EQ(WithCode(r, "filter_without_not")[0].where.line, 17);
}

TEST(Filters, RulesAnyAndLogsourceContainment) {
  RuleHarness h(
      DnsRule("r", kBadDomain) + "---\n" +
      "title: conn rule\nid: c\nlogsource: {product: zeek, service: conn}\ndetection:\n  s:\n    "
      "proto: tcp\n  condition: s\n" +
      Filter("  rules: any\n  sandbox:\n    id.orig_h: 10.0.0.99\n  condition: not sandbox\n"));
  EXPECT_FALSE(h.Fires(Dns(kT0, "x.bad.example", "10.0.0.99"), "r"));
  // The dns filter does not contain the conn rule's logsource: not applied.
  EXPECT_TRUE(h.Fires(Conn(kT0, "10.0.0.99", "10.0.0.5"), "c"));
}

TEST(Filters, ExpiredAtLoadNoLongerAppliesAndSaysSo) {
  RuleHarness h(
      DnsRule("r", kBadDomain) +
      Filter("  rules: [r]\n  sandbox:\n    id.orig_h: 10.0.0.99\n  condition: not sandbox\n",
             "expires: 2020-01-31\n"));
  EXPECT_TRUE(h.Fires(Dns(kT0, "x.bad.example", "10.0.0.99")));
  const auto d = WithCode(h.result(), "filter_expired");
  ASSERT_EQ(d.size(), 1u);
  EXPECT_NE(d[0].message.find("2020-02-01T00:00:00Z"), std::string::npos) << d[0].message;
  for (const auto& s : h.result().rules) {
    if (s.id == "f1") {
      EXPECT_EQ(s.state, engine::RuleState::kInactive);
    }
  }
}

TEST(Filters, ExpiryReachedWhileRunningStopsTheFilterAndShowsInStats) {
  engine::LoadOptions o;
  o.now_ns = static_cast<int64_t>(kT0) * kSec;  // "today" is kT0: the filter is still valid
  RuleHarness h(
      DnsRule("r", kBadDomain) +
          Filter("  rules: [r]\n  sandbox:\n    id.orig_h: 10.0.0.99\n  condition: not sandbox\n",
                 "expires: 2023-11-15T00:00:00Z\n"),
      o);
  EXPECT_FALSE(h.Fires(Dns(kT0, "x.bad.example", "10.0.0.99")));
  EXPECT_FALSE(h.engine().Stats()->filters[0]->expired.load());
  h.Advance(int64_t{1700006400} * kSec);  // 2023-11-15T00:00:00Z
  EXPECT_TRUE(h.engine().Stats()->filters[0]->expired.load());
  EXPECT_TRUE(h.Fires(Dns(kT0 + 7000, "x.bad.example", "10.0.0.99")));
}

TEST(Filters, ShadowedRuleIsReportedByLint) {
  auto r = LoadYaml(DnsRule("r", kBadDomain,
                            "vigil:\n  tests:\n    - expect: match\n      event: {_path: dns, "
                            "id.orig_h: 10.0.0.5, query: x.bad.example}\n") +
                    Filter("  rules: [r]\n  everything:\n    query|endswith: .example\n  "
                           "condition: not everything\n"));
  ASSERT_TRUE(r.ok());
  const auto lint = engine::LintRuleSet(r.rule_set);
  ASSERT_EQ(lint.size(), 1u);
  EXPECT_EQ(lint[0].code, "shadowed_by_filter");
  EXPECT_EQ(lint[0].rule_id, "r");
}

// --- shadow mode and overlays -------------------------------------------

TEST(Shadow, ShadowRulesAlertFlaggedAndCountSeparately) {
  RuleHarness h(DnsRule("r", kBadDomain, "vigil: {mode: shadow}\n"));
  auto alerts = h.Run(Dns(kT0, "x.bad.example"));
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_TRUE(alerts[0].shadow);
  const auto stats = h.engine().Stats();
  EXPECT_TRUE(stats->rules[0]->shadow);
  EXPECT_EQ(stats->rules[0]->shadow_matches.Get(), 1u);
  EXPECT_EQ(h.result().counts.shadow, 1u);
}

TEST(Shadow, OverlayShadowsARuleWithoutEditingIt) {
  RuleHarness h(
      DnsRule("r", kBadDomain) +
      "---\ntitle: tuning period\noverlay:\n  rules: [r]\n  mode: shadow\n  level: low\n");
  auto alerts = h.Run(Dns(kT0, "x.bad.example"));
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_TRUE(alerts[0].shadow);
  EXPECT_EQ(alerts[0].level, engine::Level::kLow);
  EXPECT_EQ(h.result().counts.overlays, 1u);
}

TEST(Shadow, OverlayNamingAnUnknownRuleWarns) {
  auto r = LoadYaml(DnsRule("r", kBadDomain) +
                    "---\ntitle: t\noverlay:\n  rules: [nope]\n  mode: shadow\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(WithCode(r, "overlay_unknown_rule").size(), 1u);
}

// --- throttling ------------------------------------------------------------

TEST(Throttle, ExcessAlertsBecomeOneSuppressedSummary) {
  RuleHarness h(DnsRule(
      "r", kBadDomain, "vigil:\n  throttle: {max_alerts: 2, window: 1m, group-by: [id.orig_h]}\n"));
  std::vector<engine::Alert> all;
  for (int i = 0; i < 10; ++i) {
    auto out = h.Run(Dns(kT0 + i, "x.bad.example"));
    all.insert(all.end(), out.begin(), out.end());
  }
  auto other = h.Run(Dns(kT0 + 10, "x.bad.example", "10.0.0.2"));  // another group is not throttled
  EXPECT_EQ(Count(other, "r"), 1u);
  EXPECT_EQ(Count(all, "r"), 2u);
  EXPECT_EQ(Count(all, "r", AlertKind::kSuppressed), 0u);  // window still open
  auto closed = h.Advance(static_cast<int64_t>(kT0 + 61) * kSec);
  ASSERT_EQ(Count(closed, "r", AlertKind::kSuppressed), 1u);
  EXPECT_EQ(closed[0].suppressed_count, 8u);
  EXPECT_EQ(closed[0].group_key, "id.orig_h=10.0.0.1");
  EXPECT_NE(closed[0].message.find("8 alerts"), std::string::npos) << closed[0].message;
  const auto stats = h.engine().Stats();
  EXPECT_EQ(stats->rules[0]->suppressed.Get(), 8u);
  EXPECT_EQ(stats->rules[0]->alerts.Get(), 3u);
  EXPECT_EQ(stats->suppressed_summaries.Get(), 1u);
  // A new window starts fresh.
  EXPECT_TRUE(h.Fires(Dns(kT0 + 120, "x.bad.example")));
}

TEST(Throttle, SummaryAlsoComesWithTheNextAlertAfterTheWindow) {
  RuleHarness h(DnsRule("r", kBadDomain, "vigil:\n  throttle: {max_alerts: 1, window: 10s}\n"));
  h.Run(Dns(kT0, "x.bad.example"));
  h.Run(Dns(kT0 + 1, "x.bad.example"));
  auto next = h.Run(Dns(kT0 + 20, "x.bad.example"));
  EXPECT_EQ(Count(next, "r", AlertKind::kSuppressed), 1u);
  EXPECT_EQ(Count(next, "r"), 1u);
}

TEST(Throttle, RemovingAThrottledRuleFlushesItsSummary) {
  engine::Engine e;
  e.Swap(Load(DnsRule("r", kBadDomain, "vigil:\n  throttle: {max_alerts: 1, window: 1h}\n")));
  std::vector<engine::Alert> out;
  for (int i = 0; i < 5; ++i) e.Evaluate(Ev(Dns(kT0 + i, "x.bad.example")), out);
  e.Swap(Load(DnsRule("other", "  s:\n    query: y\n  condition: s")));
  std::vector<engine::Alert> after;
  e.AdvanceTime(static_cast<int64_t>(kT0 + 6) * kSec, after);
  ASSERT_EQ(Count(after, "r", AlertKind::kSuppressed), 1u);
  EXPECT_EQ(after[0].suppressed_count, 4u);
}

// --- lists and CIDR ------------------------------------------------------

TEST(Lists, PlaceholdersExpandFromListFiles) {
  TempFile list("bad_domains.txt",
                "# comment\nmalware-c2.example\n\n  phish.example   # trailing comment\n");
  engine::LoadOptions o;
  o.lists.push_back(engine::ParseListArgument(list.path()));
  RuleHarness h(DnsRule("r",
                        "  s:\n    query|expand:\n      - '%bad_domains%'\n      - "
                        "'*.%bad_domains%'\n  condition: s"),
                o);
  EXPECT_TRUE(h.Fires(Dns(kT0, "update.malware-c2.example")));
  EXPECT_TRUE(h.Fires(Dns(kT0, "PHISH.example")));
  EXPECT_FALSE(h.Fires(Dns(kT0, "notmalware-c2.example")));
  EXPECT_FALSE(h.Fires(Dns(kT0, "comment")));
}

TEST(Lists, AnEmptyListMatchesNothing) {
  TempFile list("empty.txt", "# nothing yet\n");
  engine::LoadOptions o;
  o.lists.push_back({"empty", list.path()});
  RuleHarness h(DnsRule("r", "  s:\n    query|expand: '%empty%'\n  condition: s"), o);
  EXPECT_EQ(WithCode(h.result(), "empty_list").size(), 1u);
  EXPECT_FALSE(h.Fires(Dns(kT0, "anything.example")));
  EXPECT_FALSE(h.Fires(Dns(kT0, "")));
}

TEST(Lists, ListEditsTakeEffectOnReload) {
  TempFile list("bad.txt", "one.example\n");
  engine::LoadOptions o;
  o.lists.push_back({"bad", list.path()});
  const std::string rule = DnsRule("r", "  s:\n    query|expand: '%bad%'\n  condition: s");
  engine::Engine e;
  auto first = LoadYaml(rule, o);
  e.Swap(first.rule_set);
  std::vector<engine::Alert> out;
  e.Evaluate(Ev(Dns(kT0, "two.example")), out);
  EXPECT_TRUE(out.empty());
  list.Write("one.example\ntwo.example\n");
  auto second = LoadYaml(rule, o);
  EXPECT_NE(first.ruleset_hash, second.ruleset_hash);  // the list is part of the rule set
  e.Swap(second.rule_set);
  e.Evaluate(Ev(Dns(kT0 + 1, "two.example")), out);
  EXPECT_EQ(Count(out, "r"), 1u);
}

TEST(Lists, BadCidrInAListIsReportedAtTheListLine) {
  TempFile list("nets.txt", "10.0.0.0/8\n10.1.2.3/16\n");
  engine::LoadOptions o;
  o.lists.push_back({"nets", list.path()});
  auto r = LoadYaml(
      "title: t\nid: r\nlogsource: {product: zeek, service: conn}\ndetection:\n  s:\n"
      "    id.resp_h|cidr|expand: '%nets%'\n  condition: s\n",
      o);
  EXPECT_FALSE(r.ok());
  const auto d = WithCode(r, "bad_cidr");
  ASSERT_EQ(d.size(), 1u);
  EXPECT_NE(d[0].message.find(list.path() + ":2"), std::string::npos) << d[0].message;
}

struct CidrCase {
  const char* network;
  const char* address;
  bool match;
};

class CidrEdges : public ::testing::TestWithParam<CidrCase> {};

TEST_P(CidrEdges, Membership) {
  const auto& c = GetParam();
  RuleHarness h(
      "title: t\nid: r\nlogsource: {product: zeek, service: conn}\ndetection:\n  s:\n    "
      "id.resp_h|cidr: '" +
      std::string(c.network) + "'\n  condition: s\n");
  const std::string ev =
      R"({"_path":"conn","ts":1,"id.orig_h":"192.0.2.1","id.orig_p":1,"id.resp_h":")" +
      std::string(c.address) + R"(","id.resp_p":2})";
  EXPECT_EQ(h.Fires(ev), c.match) << c.network << " vs " << c.address;
}

INSTANTIATE_TEST_SUITE_P(
    V4AndV6, CidrEdges,
    ::testing::Values(
        CidrCase{"0.0.0.0/0", "203.0.113.9", true}, CidrCase{"0.0.0.0/0", "2001:db8::1", false},
        CidrCase{"10.0.0.5/32", "10.0.0.5", true}, CidrCase{"10.0.0.5/32", "10.0.0.6", false},
        CidrCase{"10.0.0.5", "10.0.0.5", true},  // bare address = /32
        CidrCase{"10.0.0.0/31", "10.0.0.1", true}, CidrCase{"10.0.0.0/31", "10.0.0.2", false},
        CidrCase{"172.16.0.0/12", "172.31.255.255", true},
        CidrCase{"172.16.0.0/12", "172.32.0.0", false}, CidrCase{"::/0", "2001:db8::1", true},
        CidrCase{"::/0", "10.0.0.1", false}, CidrCase{"2001:db8::1/128", "2001:db8::1", true},
        CidrCase{"2001:db8::1/128", "2001:db8::2", false},
        CidrCase{"2001:db8::/127", "2001:db8::1", true}, CidrCase{"fe80::/10", "febf::1", true},
        CidrCase{"fe80::/10", "fec0::1", false},
        // IPv4-mapped IPv6 is the IPv4 host.
        CidrCase{"10.0.0.0/8", "::ffff:10.1.2.3", true}));

TEST(Lists, LargeAddressListsUseTheTrie) {
  std::string entries;
  for (int i = 0; i < 2000; ++i)
    entries += "10." + std::to_string(i / 250) + "." + std::to_string(i % 250) + ".0/24\n";
  entries += "2001:db8:bad::/48\n";
  TempFile list("nets.txt", entries);
  engine::LoadOptions o;
  o.lists.push_back({"nets", list.path()});
  RuleHarness h(
      "title: t\nid: r\nlogsource: {product: zeek, service: conn}\ndetection:\n  s:\n"
      "    id.resp_h|cidr|expand: '%nets%'\n  condition: s\n",
      o);
  EXPECT_TRUE(h.Fires(Conn(kT0, "192.0.2.1", "10.7.249.200")));
  EXPECT_FALSE(h.Fires(Conn(kT0, "192.0.2.1", "10.8.0.1")));
  EXPECT_TRUE(h.Fires(
      R"({"_path":"conn","ts":1,"id.orig_h":"::1","id.orig_p":1,"id.resp_h":"2001:db8:bad:1::5","id.resp_p":2})"));
}

// --- index and stats -----------------------------------------------------

TEST(Index, OnlyCandidateRulesAreEvaluated) {
  std::string rules;
  for (int i = 0; i < 50; ++i) {
    rules += (i ? "---\n" : "") +
             DnsRule("r" + std::to_string(i),
                     "  s:\n    query: host" + std::to_string(i) + ".example\n  condition: s");
  }
  rules += "---\n" + DnsRule("always", "  s:\n    query|re: 'nomatch$'\n  condition: s");
  RuleHarness h(rules);
  EXPECT_TRUE(h.Fires(Dns(kT0, "HOST7.example"), "r7"));
  const auto stats = h.engine().Stats();
  // The exact-value index selected r7; the regex rule has no anchor and runs always.
  EXPECT_EQ(stats->candidate_rules.Get(), 2u);
  EXPECT_EQ(stats->rules[7]->evaluations.Get(), 1u);
  EXPECT_EQ(stats->rules[8]->evaluations.Get(), 0u);
}

TEST(Index, SubstringAndCidrAnchorsSelectCandidates) {
  RuleHarness h(DnsRule("sub", "  s:\n    query|contains: evil\n  condition: s") + "---\n" +
                "title: net\nid: net\nlogsource: {product: zeek, service: conn}\ndetection:\n  s:\n"
                "    id.resp_h|cidr: 198.51.100.0/24\n  condition: s\n");
  EXPECT_FALSE(h.Fires(Dns(kT0, "good.example"), "sub"));
  EXPECT_TRUE(h.Fires(Dns(kT0, "very-EVIL.example"), "sub"));
  EXPECT_FALSE(h.Fires(Conn(kT0, "10.0.0.1", "198.51.101.1"), "net"));
  EXPECT_TRUE(h.Fires(Conn(kT0, "10.0.0.1", "198.51.100.77"), "net"));
  EXPECT_EQ(h.engine().Stats()->candidate_rules.Get(), 2u);
}

TEST(Stats, EvaluationTimeIsSampled) {
  engine::EngineOptions eo;
  eo.timing_sample = 4;
  RuleHarness h(DnsRule("r", "  s:\n    query|re: 'x'\n  condition: s"), {}, eo);
  for (int i = 0; i < 16; ++i) h.Run(Dns(kT0 + i, "y"));
  const auto& r = *h.engine().Stats()->rules[0];
  EXPECT_EQ(r.evaluations.Get(), 16u);
  EXPECT_EQ(r.eval_samples.Get(), 4u);
}

}  // namespace
}  // namespace vigil::testing
