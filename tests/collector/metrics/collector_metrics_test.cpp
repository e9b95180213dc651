// CollectorMetrics: presence at 0, label sets, push counting, folding,
// series deletion on reload, fleet state, pull sources.

#include "collector/metrics/collector_metrics.h"

#include <gtest/gtest.h>

#include <set>
#include <stdexcept>

#include "tests/collector/metrics/fake_clock.h"
#include "tests/collector/metrics/support/exposition.h"

namespace vigil::collector::metrics {
namespace {

using testing::Exposition;
using testing::FakeClock;
using testing::Find;
using testing::FindExact;
using namespace std::chrono_literals;

Exposition Scrape(const CollectorMetrics& m) {
  auto e = testing::ParseExposition(m.ScrapeText());
  if (!e) ADD_FAILURE() << e.error();
  return e ? *e : Exposition{};
}

double Value(const Exposition& e, std::string_view name,
             const std::map<std::string, std::string>& labels) {
  const auto* s = FindExact(e, name, labels);
  if (s == nullptr) {
    ADD_FAILURE() << "no series " << name << " with the given labels";
    return -1;
  }
  return s->value;
}

CollectorMetricsOptions TwoAgencies(const FakeClock& clock) {
  CollectorMetricsOptions o;
  o.version = "1.2.3";
  o.agents = {{"agent-fin-1", "Finance", "HQ"},
              {"agent-fin-2", "Finance", "Annex"},
              {"agent-d3", "District 3", "District 3"}};
  o.clock = clock.Function();
  o.top_talkers.top_k = 5;
  o.top_talkers.window = 60s;
  return o;
}

std::vector<RuleInfo> ThreeRules() {
  return {{"dns.long_txt", Level::kMedium, RuleState::kEnforce, "stable"},
          {"tls.self_signed", Level::kHigh, RuleState::kShadow, "test"},
          {"http.webshell", Level::kCritical, RuleState::kEnforce, "stable"}};
}

TEST(CollectorMetrics, EverySeriesThatCanExistIsPresentAtZeroFromStart) {
  FakeClock clock;
  CollectorMetrics m(TwoAgencies(clock));
  m.SetRuleset("abc123", ThreeRules());
  const auto e = Scrape(m);

  for (const char* agent : {"agent-fin-1", "agent-fin-2", "agent-d3"}) {
    const std::string agency = std::string(agent) == "agent-d3" ? "District 3" : "Finance";
    for (const char* log : {"conn", "dns", "ssl", "http"}) {
      EXPECT_EQ(Value(e, "vigil_ingest_events_total",
                      {{"agent", agent}, {"agency", agency}, {"log_type", log}}),
                0);
    }
    for (const char* layer : {"kernel", "interface"}) {
      EXPECT_EQ(Value(e, "vigil_fleet_agent_capture_dropped_packets_total",
                      {{"agent", agent}, {"agency", agency}, {"layer", layer}}),
                0);
    }
    for (const char* reason : {"queue_full", "spool_overflow", "spool_corrupt", "other"}) {
      EXPECT_EQ(Value(e, "vigil_fleet_agent_dropped_records_total",
                      {{"agent", agent}, {"agency", agency}, {"reason", reason}}),
                0);
    }
    // Known before it ever connected: never_seen, and the silence alert can
    // be written without waiting for a first connection.
    EXPECT_EQ(Value(e, "vigil_fleet_agent_state",
                    {{"agent", agent}, {"agency", agency}, {"state", "never_seen"}}),
              1);
    EXPECT_EQ(Value(e, "vigil_fleet_agent_state",
                    {{"agent", agent}, {"agency", agency}, {"state", "up"}}),
              0);
  }
  for (const auto& rule : ThreeRules()) {
    for (const char* agency : {"Finance", "District 3"}) {
      const std::map<std::string, std::string> labels = {
          {"rule_id", rule.id}, {"level", std::string(LevelName(rule.level))}, {"agency", agency}};
      EXPECT_EQ(Value(e, "vigil_alerts_total", labels), 0) << rule.id;
      EXPECT_EQ(Value(e, "vigil_shadow_alerts_total", labels), 0) << rule.id;
      EXPECT_EQ(Value(e, "vigil_suppressed_alerts_total", labels), 0) << rule.id;
    }
  }
  for (const char* agency : {"Finance", "District 3"}) {
    for (const char* proto : {"tcp", "udp", "icmp", "other"}) {
      for (const char* service : {"dns", "http", "ssl", "other", "none"}) {
        const std::map<std::string, std::string> l = {
            {"agency", agency}, {"protocol", proto}, {"service", service}};
        EXPECT_EQ(Value(e, "vigil_traffic_bytes_total", l), 0);
        EXPECT_EQ(Value(e, "vigil_traffic_packets_total", l), 0);
        EXPECT_EQ(Value(e, "vigil_traffic_flows_total", l), 0);
      }
    }
    EXPECT_EQ(
        Value(e, "vigil_traffic_top_talker_bytes", {{"agency", agency}, {"address", "other"}}), 0);
  }
  for (const char* reason : {"duplicate", "malformed", "other"}) {
    EXPECT_EQ(Value(e, "vigil_ingest_dropped_events_total", {{"reason", reason}}), 0);
  }
  for (const char* reason : {"no_client_certificate", "expired", "revoked", "unknown_identity"}) {
    EXPECT_EQ(Value(e, "vigil_tls_handshake_rejections_total", {{"reason", reason}}), 0);
  }
  for (const char* level : {"informational", "low", "medium", "high", "critical"}) {
    EXPECT_EQ(Value(e, "vigil_incidents_open", {{"level", level}}), 0);
  }
  EXPECT_EQ(Value(e, "vigil_rules_loaded", {{"state", "enforce"}}), 2);
  EXPECT_EQ(Value(e, "vigil_rules_loaded", {{"state", "shadow"}}), 1);
  EXPECT_EQ(Value(e, "vigil_rules_loaded", {{"state", "disabled"}}), 0);
  EXPECT_EQ(Value(e, "vigil_ruleset_info", {{"ruleset_hash", "abc123"}}), 1);
  EXPECT_EQ(Value(e, "vigil_rules_evaluation_duration_seconds_count", {}), 0);
  EXPECT_EQ(Value(e, "vigil_incidents_write_duration_seconds_count", {}), 0);
  EXPECT_EQ(Value(e, "vigil_collector_build_info", {{"version", "1.2.3"}}), 1);
  // Nothing was folded into "other" yet, so no fold series of agents/rules.
  EXPECT_TRUE(Find(e, "vigil_alerts_total", {{"rule_id", "other"}}).empty());
  EXPECT_TRUE(Find(e, "vigil_ingest_events_total", {{"agent", "other"}}).empty());
  EXPECT_TRUE(Find(e, "vigil_alerts_total", {{"agency", "unassigned"}}).empty());
}

TEST(CollectorMetrics, LabelSetsAreExactlyTheDocumentedOnes) {
  FakeClock clock;
  CollectorMetrics m(TwoAgencies(clock));
  m.SetRuleset("h", ThreeRules());
  m.SetEngineStatusSource([] { return EngineStatus{}; });
  const auto e = Scrape(m);
  const std::map<std::string, std::vector<std::string>> expected = {
      {"vigil_ingest_events_total", {"agency", "agent", "log_type"}},
      {"vigil_alerts_total", {"agency", "level", "rule_id"}},
      {"vigil_shadow_alerts_total", {"agency", "level", "rule_id"}},
      {"vigil_suppressed_alerts_total", {"agency", "level", "rule_id"}},
      {"vigil_rule_info", {"level", "rule_id", "state", "status"}},
      {"vigil_rule_evaluation_seconds_total", {"level", "rule_id"}},
      {"vigil_traffic_bytes_total", {"agency", "protocol", "service"}},
      {"vigil_traffic_top_talker_bytes", {"address", "agency"}},
      {"vigil_fleet_agent_state", {"agency", "agent", "state"}},
      {"vigil_fleet_agent_info", {"agency", "agent", "site"}},
      {"vigil_fleet_agent_lag_seconds", {"agency", "agent"}},
      {"vigil_fleet_agent_capture_dropped_packets_total", {"agency", "agent", "layer"}},
      {"vigil_ingest_dropped_events_total", {"reason"}},
      {"vigil_rules_evaluation_duration_seconds_bucket", {"le"}},
      {"vigil_ruleset_info", {"ruleset_hash"}},
      {"vigil_incidents_open", {"level"}},
  };
  for (const auto& [name, labels] : expected) {
    const auto sets = testing::LabelNameSets(e, name);
    ASSERT_EQ(sets.size(), 1u) << name;
    EXPECT_EQ(sets.front(), labels) << name;
  }
  // Every family name is vigil_-prefixed and counters end in _total.
  auto parsed = testing::ParseExposition(m.ScrapeText());
  ASSERT_TRUE(parsed);
  for (const auto& [family, type] : parsed->types) {
    EXPECT_TRUE(family.starts_with("vigil_")) << family;
    if (type == "counter") {
      EXPECT_TRUE(family.ends_with("_total")) << family;
    }
  }
}

TEST(CollectorMetrics, PushCallsCountWhereTheySay) {
  FakeClock clock;
  CollectorMetrics m(TwoAgencies(clock));
  m.SetRuleset("h", ThreeRules());
  const AgentHandle fin = m.Agent("agent-fin-1");
  ASSERT_TRUE(fin);
  m.OnEvents(fin, LogType::kDns, 7);
  m.OnEvents(fin, LogType::kConn);
  m.OnAlert("http.webshell", "Finance", AlertOutcome::kRaised);
  m.OnAlert("http.webshell", "Finance", AlertOutcome::kRaised);
  m.OnAlert("tls.self_signed", "District 3", AlertOutcome::kShadow);
  m.OnAlert("dns.long_txt", "Finance", AlertOutcome::kSuppressed, 40);
  const uint8_t a[4] = {10, 0, 0, 1}, b[4] = {192, 0, 2, 7};
  FlowSample flow;
  flow.protocol = Protocol::kTcp;
  flow.service = m.ResolveService("ssl,http");
  flow.bytes = 1500;
  flow.packets = 4;
  flow.flow_ended = true;
  flow.orig_address = a;
  flow.resp_address = b;
  m.OnFlow(fin, flow);
  m.ObserveRuleEvaluation(0.0003);
  m.ObserveStoreWrite(0.002);

  const auto e = Scrape(m);
  EXPECT_EQ(Value(e, "vigil_ingest_events_total",
                  {{"agent", "agent-fin-1"}, {"agency", "Finance"}, {"log_type", "dns"}}),
            7);
  EXPECT_EQ(Value(e, "vigil_ingest_events_total",
                  {{"agent", "agent-fin-1"}, {"agency", "Finance"}, {"log_type", "conn"}}),
            1);
  EXPECT_EQ(Value(e, "vigil_alerts_total",
                  {{"rule_id", "http.webshell"}, {"level", "critical"}, {"agency", "Finance"}}),
            2);
  EXPECT_EQ(Value(e, "vigil_alerts_total",
                  {{"rule_id", "http.webshell"}, {"level", "critical"}, {"agency", "District 3"}}),
            0);
  EXPECT_EQ(Value(e, "vigil_shadow_alerts_total",
                  {{"rule_id", "tls.self_signed"}, {"level", "high"}, {"agency", "District 3"}}),
            1);
  EXPECT_EQ(Value(e, "vigil_suppressed_alerts_total",
                  {{"rule_id", "dns.long_txt"}, {"level", "medium"}, {"agency", "Finance"}}),
            40);
  EXPECT_EQ(Value(e, "vigil_traffic_bytes_total",
                  {{"agency", "Finance"}, {"protocol", "tcp"}, {"service", "ssl"}}),
            1500);
  EXPECT_EQ(Value(e, "vigil_traffic_packets_total",
                  {{"agency", "Finance"}, {"protocol", "tcp"}, {"service", "ssl"}}),
            4);
  EXPECT_EQ(Value(e, "vigil_traffic_flows_total",
                  {{"agency", "Finance"}, {"protocol", "tcp"}, {"service", "ssl"}}),
            1);
  EXPECT_EQ(Value(e, "vigil_rules_evaluation_duration_seconds_count", {}), 1);
  EXPECT_EQ(Value(e, "vigil_rules_evaluation_duration_seconds_bucket", {{"le", "0.00025"}}), 0);
  EXPECT_EQ(Value(e, "vigil_rules_evaluation_duration_seconds_bucket", {{"le", "0.0005"}}), 1);
  EXPECT_EQ(Value(e, "vigil_incidents_write_duration_seconds_count", {}), 1);
  EXPECT_EQ(Value(e, "vigil_metrics_label_folds_total", {{"label", "rule_id"}}), 0);
}

TEST(CollectorMetrics, ServicesResolveToKnownOtherOrNone) {
  FakeClock clock;
  CollectorMetrics m(TwoAgencies(clock));
  EXPECT_EQ(m.ResolveService("dns"), m.ResolveService(std::vector<std::string>{"dns"}));
  EXPECT_NE(m.ResolveService("http"), m.ResolveService("dns"));
  EXPECT_EQ(m.ResolveService("quic,http"), m.ResolveService("http"));  // first known wins
  EXPECT_EQ(m.ResolveService("quic"), m.ResolveService("smb"));        // both other
  EXPECT_NE(m.ResolveService("quic"), m.ResolveService(""));           // other != none
  EXPECT_EQ(m.ResolveService(""), m.ResolveService(std::vector<std::string>{}));

  const AgentHandle h = m.Agent("agent-d3");
  for (const char* s : {"quic", "", "dns"}) {
    FlowSample f;
    f.protocol = Protocol::kUdp;
    f.service = m.ResolveService(s);
    f.bytes = 10;
    m.OnFlow(h, f);
  }
  const auto e = Scrape(m);
  for (const char* service : {"other", "none", "dns"}) {
    EXPECT_EQ(Value(e, "vigil_traffic_bytes_total",
                    {{"agency", "District 3"}, {"protocol", "udp"}, {"service", service}}),
              10)
        << service;
  }
}

TEST(CollectorMetrics, UnknownRuleAndAgencyAreFoldedAndCountedNotLost) {
  FakeClock clock;
  CollectorMetrics m(TwoAgencies(clock));
  m.SetRuleset("h", ThreeRules());
  m.OnAlert("not.loaded", "Finance", AlertOutcome::kRaised);
  m.OnAlert("http.webshell", "Nowhere", AlertOutcome::kRaised, 3);
  const auto e = Scrape(m);
  EXPECT_EQ(Value(e, "vigil_alerts_total",
                  {{"rule_id", "other"}, {"level", "other"}, {"agency", "Finance"}}),
            1);
  EXPECT_EQ(Value(e, "vigil_alerts_total",
                  {{"rule_id", "http.webshell"}, {"level", "critical"}, {"agency", "unassigned"}}),
            3);
  EXPECT_EQ(Value(e, "vigil_metrics_label_folds_total", {{"label", "rule_id"}}), 1);
  EXPECT_EQ(Value(e, "vigil_metrics_label_folds_total", {{"label", "agency"}}), 1);
}

TEST(CollectorMetrics, DeletedRulesDisappearAndKeptRulesKeepTheirCounts) {
  FakeClock clock;
  CollectorMetrics m(TwoAgencies(clock));
  m.SetRuleset("v1", ThreeRules());
  m.OnAlert("http.webshell", "Finance", AlertOutcome::kRaised, 5);
  m.OnAlert("dns.long_txt", "Finance", AlertOutcome::kRaised, 2);

  auto rules = ThreeRules();
  rules.erase(rules.begin());  // delete dns.long_txt
  rules.push_back({"dns.new_rule", Level::kLow, RuleState::kEnforce, "experimental"});
  rules[1].level = Level::kHigh;  // http.webshell: critical -> high
  m.SetRuleset("v2", rules);

  const auto e = Scrape(m);
  EXPECT_TRUE(Find(e, "vigil_alerts_total", {{"rule_id", "dns.long_txt"}}).empty());
  EXPECT_TRUE(Find(e, "vigil_rule_info", {{"rule_id", "dns.long_txt"}}).empty());
  EXPECT_EQ(Value(e, "vigil_alerts_total",
                  {{"rule_id", "dns.new_rule"}, {"level", "low"}, {"agency", "Finance"}}),
            0);
  // The level is part of the series: the critical series is gone and the
  // high one starts at 0 (a new series, never a decreasing one).
  EXPECT_TRUE(
      Find(e, "vigil_alerts_total", {{"rule_id", "http.webshell"}, {"level", "critical"}}).empty());
  EXPECT_EQ(Value(e, "vigil_alerts_total",
                  {{"rule_id", "http.webshell"}, {"level", "high"}, {"agency", "Finance"}}),
            0);
  EXPECT_TRUE(Find(e, "vigil_ruleset_info", {{"ruleset_hash", "v1"}}).empty());
  EXPECT_EQ(Value(e, "vigil_ruleset_info", {{"ruleset_hash", "v2"}}), 1);

  // A rule that stays with the same level keeps counting from where it was.
  m.OnAlert("tls.self_signed", "Finance", AlertOutcome::kShadow, 4);
  m.SetRuleset("v3", rules);
  const auto e3 = Scrape(m);
  EXPECT_EQ(Value(e3, "vigil_shadow_alerts_total",
                  {{"rule_id", "tls.self_signed"}, {"level", "high"}, {"agency", "Finance"}}),
            4);
}

TEST(CollectorMetrics, RemovedAgentsAndAgenciesDisappearOnReload) {
  FakeClock clock;
  CollectorMetrics m(TwoAgencies(clock));
  m.SetRuleset("h", ThreeRules());
  const AgentHandle fin1 = m.Agent("agent-fin-1");
  m.OnEvents(fin1, LogType::kHttp, 9);

  // District 3 leaves; agent-fin-2 too; a new agency arrives.
  m.SetAgents({{"agent-fin-1", "Finance", "HQ"}, {"agent-health", "Health", "HQ"}}, false);
  const auto e = Scrape(m);
  EXPECT_TRUE(Find(e, "vigil_ingest_events_total", {{"agent", "agent-d3"}}).empty());
  EXPECT_TRUE(Find(e, "vigil_fleet_agent_state", {{"agent", "agent-fin-2"}}).empty());
  EXPECT_TRUE(Find(e, "vigil_alerts_total", {{"agency", "District 3"}}).empty());
  EXPECT_TRUE(Find(e, "vigil_traffic_bytes_total", {{"agency", "District 3"}}).empty());
  EXPECT_EQ(Value(e, "vigil_ingest_events_total",
                  {{"agent", "agent-fin-1"}, {"agency", "Finance"}, {"log_type", "http"}}),
            9);
  EXPECT_EQ(Value(e, "vigil_alerts_total",
                  {{"rule_id", "http.webshell"}, {"level", "critical"}, {"agency", "Health"}}),
            0);
  EXPECT_EQ(Value(e, "vigil_fleet_agent_state",
                  {{"agent", "agent-health"}, {"agency", "Health"}, {"state", "never_seen"}}),
            1);
  // A handle resolved before the reload stays safe to use.
  m.OnEvents(m.Agent("agent-d3"), LogType::kDns);
}

TEST(CollectorMetrics, UnlistedAgentsGetSeriesWithinBudgetThenFold) {
  FakeClock clock;
  auto o = TwoAgencies(clock);
  o.allow_unlisted_agents = true;
  o.max_unlisted_agents = 2;
  CollectorMetrics m(o);
  m.OnEvents(m.Agent("lab-1"), LogType::kConn);
  m.OnEvents(m.Agent("lab-2"), LogType::kConn);
  m.OnEvents(m.Agent("lab-3"), LogType::kConn, 5);  // over budget
  m.OnEvents(m.Agent("lab-1"), LogType::kConn);     // already has a cell
  const auto e = Scrape(m);
  EXPECT_EQ(Value(e, "vigil_ingest_events_total",
                  {{"agent", "lab-1"}, {"agency", "unassigned"}, {"log_type", "conn"}}),
            2);
  EXPECT_EQ(Value(e, "vigil_ingest_events_total",
                  {{"agent", "other"}, {"agency", "unassigned"}, {"log_type", "conn"}}),
            5);
  EXPECT_TRUE(Find(e, "vigil_ingest_events_total", {{"agent", "lab-3"}}).empty());
  EXPECT_EQ(Value(e, "vigil_metrics_label_folds_total", {{"label", "agent"}}), 1);

  // Unlisted agents not allowed: an unknown CN never gets its own series.
  CollectorMetrics strict(TwoAgencies(clock));
  strict.OnEvents(strict.Agent("intruder"), LogType::kConn);
  const auto s = Scrape(strict);
  EXPECT_TRUE(Find(s, "vigil_ingest_events_total", {{"agent", "intruder"}}).empty());
}

TEST(CollectorMetrics, AgentStateFollowsLastSeenGoodbyeAndSilenceThreshold) {
  FakeClock clock;
  auto o = TwoAgencies(clock);
  o.agent_silence_after = 30s;
  CollectorMetrics m(o);
  std::vector<AgentStatus> fleet(2);
  fleet[0].identity = "agent-fin-1";
  fleet[0].connected = true;
  fleet[0].last_seen_unix_ns = clock.NowNs();
  fleet[0].clock_offset_seconds = -2.5;
  fleet[0].spool_bytes = 100;
  fleet[0].spool_capacity_bytes = 1000;
  fleet[0].capture_packets = 1000;
  fleet[0].capture_kernel_drops = 12;
  fleet[0].records_dropped = {{"queue_full", 3}, {"mystery", 2}};
  fleet[0].certificate_not_after_unix = 1800000000;
  fleet[1].identity = "agent-fin-2";
  fleet[1].connected = false;
  fleet[1].said_goodbye = true;
  fleet[1].last_seen_unix_ns = clock.NowNs();
  m.SetAgentStatusSource([&] { return fleet; });

  auto state = [&](const Exposition& e, const char* agent) {
    std::string found;
    for (const auto* s : Find(e, "vigil_fleet_agent_state", {{"agent", agent}})) {
      if (s->value == 1) found += s->labels.at("state");
    }
    return found;
  };
  auto e = Scrape(m);
  EXPECT_EQ(state(e, "agent-fin-1"), "up");
  EXPECT_EQ(state(e, "agent-fin-2"), "stopped");
  EXPECT_EQ(state(e, "agent-d3"), "never_seen");
  EXPECT_EQ(Value(e, "vigil_fleet_agent_clock_offset_seconds",
                  {{"agent", "agent-fin-1"}, {"agency", "Finance"}}),
            -2.5);
  EXPECT_EQ(Value(e, "vigil_fleet_agent_capture_dropped_packets_total",
                  {{"agent", "agent-fin-1"}, {"agency", "Finance"}, {"layer", "kernel"}}),
            12);
  EXPECT_EQ(Value(e, "vigil_fleet_agent_dropped_records_total",
                  {{"agent", "agent-fin-1"}, {"agency", "Finance"}, {"reason", "queue_full"}}),
            3);
  EXPECT_EQ(Value(e, "vigil_fleet_agent_dropped_records_total",
                  {{"agent", "agent-fin-1"}, {"agency", "Finance"}, {"reason", "other"}}),
            2);
  EXPECT_EQ(Value(e, "vigil_fleet_agent_certificate_expiry_timestamp_seconds",
                  {{"agent", "agent-fin-1"}, {"agency", "Finance"}}),
            1800000000);
  EXPECT_EQ(Value(e, "vigil_fleet_agent_last_seen_timestamp_seconds",
                  {{"agent", "agent-fin-1"}, {"agency", "Finance"}}),
            static_cast<double>(clock.NowNs()) / 1e9);

  // 30 s is the threshold itself: still up. One second more: silent, even
  // though the stream is still open (a wedged agent is silent too).
  clock.Advance(30s);
  e = Scrape(m);
  EXPECT_EQ(state(e, "agent-fin-1"), "up");
  clock.Advance(1s);
  e = Scrape(m);
  EXPECT_EQ(state(e, "agent-fin-1"), "silent");
  // A planned stop never turns into "silent".
  EXPECT_EQ(state(e, "agent-fin-2"), "stopped");
  // Disconnected without Goodbye (kill -9): up until the threshold passes,
  // so a reconnect blip does not flap; silent after.
  fleet[0].connected = false;
  fleet[0].last_seen_unix_ns = clock.NowNs();
  e = Scrape(m);
  EXPECT_EQ(state(e, "agent-fin-1"), "up");
  clock.Advance(31s);
  e = Scrape(m);
  EXPECT_EQ(state(e, "agent-fin-1"), "silent");
  // The unknown drop reason was folded once, not once per scrape.
  EXPECT_EQ(Value(e, "vigil_metrics_label_folds_total", {{"label", "reason"}}), 1);
}

TEST(CollectorMetrics, AFailingSourceIsCountedAndItsLastSnapshotServed) {
  FakeClock clock;
  CollectorMetrics m(TwoAgencies(clock));
  bool fail = false;
  m.SetIngestStatusSource([&] {
    if (fail) throw std::runtime_error("ingest is restarting");
    IngestStatus s;
    s.queue_events = 42;
    s.queue_capacity_events = 1000;
    s.dropped_events = {{"malformed", 6}};
    s.handshake_rejections = {{"revoked", 1}, {"brand_new_reason", 4}};
    return s;
  });
  auto e = Scrape(m);
  EXPECT_EQ(Value(e, "vigil_ingest_queue_events", {}), 42);
  fail = true;
  e = Scrape(m);
  EXPECT_EQ(Value(e, "vigil_ingest_queue_events", {}), 42);
  EXPECT_EQ(Value(e, "vigil_ingest_dropped_events_total", {{"reason", "malformed"}}), 6);
  EXPECT_EQ(Value(e, "vigil_tls_handshake_rejections_total", {{"reason", "revoked"}}), 1);
  EXPECT_EQ(Value(e, "vigil_tls_handshake_rejections_total", {{"reason", "other"}}), 4);
  EXPECT_EQ(Value(e, "vigil_metrics_source_errors_total", {{"source", "ingest"}}), 1);
  EXPECT_EQ(Value(e, "vigil_metrics_source_errors_total", {{"source", "agents"}}), 0);
}

TEST(CollectorMetrics, ReloadStatusHashAndCertificates) {
  FakeClock clock;
  CollectorMetrics m(TwoAgencies(clock));
  auto e = Scrape(m);
  EXPECT_EQ(Value(e, "vigil_rules_last_reload_successful", {}), 0);
  EXPECT_EQ(Value(e, "vigil_ruleset_info", {{"ruleset_hash", "none"}}), 1);

  m.SetRuleset("aaaa", ThreeRules());
  m.RecordRulesReload(true);
  const double t1 = std::chrono::duration<double>(clock.Now().time_since_epoch()).count();
  clock.Advance(10s);
  m.RecordRulesReload(false);  // bad rule file: old rules stay
  const double t2 = t1 + 10;
  m.SetCertificates({{"server", 1900000000}, {"ca", 2000000000}});
  e = Scrape(m);
  EXPECT_EQ(Value(e, "vigil_rules_last_reload_successful", {}), 0);
  EXPECT_EQ(Value(e, "vigil_rules_reloads_total", {{"result", "success"}}), 1);
  EXPECT_EQ(Value(e, "vigil_rules_reloads_total", {{"result", "failure"}}), 1);
  EXPECT_EQ(Value(e, "vigil_rules_last_reload_timestamp_seconds", {}), t2);
  EXPECT_EQ(Value(e, "vigil_rules_last_successful_reload_timestamp_seconds", {}), t1);
  EXPECT_EQ(Value(e, "vigil_ruleset_info", {{"ruleset_hash", "aaaa"}}), 1);
  EXPECT_EQ(Find(e, "vigil_ruleset_info").size(), 1u);
  EXPECT_EQ(
      Value(e, "vigil_collector_certificate_expiry_timestamp_seconds", {{"certificate", "server"}}),
      1900000000);
}

TEST(CollectorMetrics, RuleCostsFollowTheLoadedRules) {
  FakeClock clock;
  CollectorMetrics m(TwoAgencies(clock));
  m.SetRuleset("h", ThreeRules());
  auto e = Scrape(m);
  // Without an engine source there is no cost to report: no series.
  EXPECT_TRUE(Find(e, "vigil_rule_evaluation_seconds_total").empty());
  m.SetEngineStatusSource([] { return EngineStatus{{{"http.webshell", 1.5}, {"gone.rule", 9}}}; });
  e = Scrape(m);
  EXPECT_EQ(Value(e, "vigil_rule_evaluation_seconds_total",
                  {{"rule_id", "http.webshell"}, {"level", "critical"}}),
            1.5);
  EXPECT_EQ(Value(e, "vigil_rule_evaluation_seconds_total",
                  {{"rule_id", "dns.long_txt"}, {"level", "medium"}}),
            0);
  EXPECT_TRUE(Find(e, "vigil_rule_evaluation_seconds_total", {{"rule_id", "gone.rule"}}).empty());
}

TEST(CollectorMetrics, HostileLabelValuesStayValidUtf8) {
  FakeClock clock;
  CollectorMetricsOptions o;
  o.clock = clock.Function();
  o.agents = {{std::string("agent-\xff\xfe", 8), std::string("Agency \"Q\"\n\\", 12), ""}};
  CollectorMetrics m(o);
  m.SetRuleset("h", {{std::string("rule\xc0\x80", 6), Level::kLow, RuleState::kEnforce, ""}});
  const auto text = m.ScrapeText();
  auto e = testing::ParseExposition(text);
  ASSERT_TRUE(e) << e.error();
  const auto rows = Find(*e, "vigil_fleet_agent_info");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0]->labels.at("agent"), "agent-\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(rows[0]->labels.at("agency"), "Agency \"Q\"\n\\");
  EXPECT_EQ(Find(*e, "vigil_alerts_total", {{"rule_id", "rule\xEF\xBF\xBD\xEF\xBF\xBD"}}).size(),
            1u);
}

}  // namespace
}  // namespace vigil::collector::metrics
