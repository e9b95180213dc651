// The shipped dashboards, alert rules and metric catalogue, checked against
// each other and against what the code really exposes: current Grafana JSON
// with the datasource variable, template variables, non-overlapping panels,
// rule documentation links, only metric names that exist, a runbook for every
// alert, and docs/metrics.md listing exactly the exposed families.

#include <gtest/gtest.h>

#include <cctype>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "agent/metrics/agent_metrics.h"
#include "collector/metrics/collector_metrics.h"
#include "tests/collector/metrics/support/child_process.h"
#include "tests/collector/metrics/support/exposition.h"
#include "tests/dashboards/dashboard_queries.h"

namespace vigil::testing {
namespace {

using nlohmann::json;

std::string Source(const std::string& relative) {
  const char* root = std::getenv("VIGIL_SOURCE_DIR");
  return std::string(root != nullptr ? root : ".") + "/" + relative;
}

std::vector<DashboardFile> Dashboards() {
  auto d = ReadDashboards(Source("dashboards/grafana/dashboards"));
  EXPECT_TRUE(d) << d.error();
  return d ? *d : std::vector<DashboardFile>{};
}

// Every family the collector and the agent can expose, from their real
// Collect() with every optional part switched on.
std::map<std::string, std::string> ExposedFamilies() {
  std::map<std::string, std::string> families;
  collector::metrics::CollectorMetricsOptions o;
  o.agents = {{"a", "A", ""}};
  auto c = std::make_shared<collector::metrics::CollectorMetrics>(o);
  c->SetEngineStatusSource([] { return collector::metrics::EngineStatus{}; });
  c->SetRuleset("h", {{"r", collector::metrics::Level::kLow,
                       collector::metrics::RuleState::kEnforce, "stable"}});
  for (const auto& f : c->Collect()) families[f.name] = "collector";
  agent::metrics::AgentMetrics a({}, [] { return agent::metrics::AgentSnapshot{}; });
  for (const auto& f : a.Collect()) families[f.name] = "agent";
  return families;
}

TEST(Dashboards, AreCurrentGrafanaJsonThatSelectTheirDatasourceByVariable) {
  const auto dashboards = Dashboards();
  ASSERT_EQ(dashboards.size(), 4u);
  std::set<std::string> uids, titles;
  for (const auto& d : dashboards) {
    SCOPED_TRACE(d.file);
    const json j = json::parse(d.text, nullptr, false);
    ASSERT_FALSE(j.is_discarded());
    EXPECT_GE(j.value("schemaVersion", 0), 38);
    EXPECT_TRUE(uids.insert(j.value("uid", "")).second);
    titles.insert(j.value("title", ""));
    EXPECT_NE(j["tags"].dump().find("\"vigil\""), std::string::npos);
    std::set<std::string> vars;
    for (const auto& v : j["templating"]["list"]) {
      vars.insert(v["name"].get<std::string>());
      if (v["name"] == "DS_PROMETHEUS") {
        EXPECT_EQ(v["type"], "datasource");
        EXPECT_EQ(v["query"], "prometheus");
        EXPECT_EQ(v["current"]["value"], "vigil-prometheus");  // the provisioned uid
      }
      if (v["name"] == "agency" || v["name"] == "agent") {
        EXPECT_EQ(v["type"], "query");
        EXPECT_TRUE(v["multi"].get<bool>());
        EXPECT_TRUE(v["includeAll"].get<bool>());
        EXPECT_EQ(v["allValue"], ".*");
        EXPECT_EQ(v["datasource"]["uid"], "${DS_PROMETHEUS}");
      }
    }
    EXPECT_TRUE(vars.count("DS_PROMETHEUS"));
    EXPECT_TRUE(vars.count("agency"));
    EXPECT_TRUE(vars.count("rule_doc_base"));
    if (d.file == "vigil-agents.json") {
      EXPECT_TRUE(vars.count("agent"));
    }

    // Every query panel and target names the datasource variable.
    std::function<void(const json&)> walk = [&](const json& panels) {
      for (const auto& p : panels) {
        if (p.contains("panels")) walk(p["panels"]);
        if (p.value("type", "") == "row") continue;
        EXPECT_EQ(p["datasource"]["uid"], "${DS_PROMETHEUS}") << p.value("title", "");
        EXPECT_FALSE(p.value("title", "").empty());
        EXPECT_FALSE(p.value("description", "").empty()) << p.value("title", "");
        ASSERT_FALSE(p["targets"].empty()) << p.value("title", "");
        for (const auto& t : p["targets"]) {
          EXPECT_EQ(t["datasource"]["uid"], "${DS_PROMETHEUS}") << p.value("title", "");
          EXPECT_FALSE(t.value("expr", "").empty()) << p.value("title", "");
        }
      }
    };
    walk(j["panels"]);
  }
  EXPECT_EQ(titles, (std::set<std::string>{"Vigil / Overview", "Vigil / Agents", "Vigil / Rules",
                                           "Vigil / Traffic"}));
}

TEST(Dashboards, PanelsHaveUniqueIdsAndDoNotOverlap) {
  for (const auto& d : Dashboards()) {
    SCOPED_TRACE(d.file);
    const json j = json::parse(d.text);
    std::set<int> ids;
    std::vector<std::array<int, 4>> boxes;
    for (const auto& p : j["panels"]) {
      EXPECT_TRUE(ids.insert(p["id"].get<int>()).second);
      const auto& g = p["gridPos"];
      const std::array<int, 4> box = {g["x"], g["y"], g["w"], g["h"]};
      EXPECT_LE(box[0] + box[2], 24) << p["title"];
      for (const auto& o : boxes) {
        const bool overlap = box[0] < o[0] + o[2] && o[0] < box[0] + box[2] &&
                             box[1] < o[1] + o[3] && o[1] < box[1] + box[3];
        EXPECT_FALSE(overlap) << p["title"];
      }
      boxes.push_back(box);
    }
  }
}

TEST(Dashboards, AlertPanelsLinkToTheRuleDocumentation) {
  std::map<std::string, int> links;
  for (const auto& d : Dashboards()) {
    const json j = json::parse(d.text);
    for (const auto& p : j["panels"]) {
      const json config = p.value("fieldConfig", json::object());
      for (const auto& l : config.value("defaults", json::object()).value("links", json::array())) {
        const std::string url = l.value("url", "");
        if (url == "${rule_doc_base}/rules.md#${__field.labels.rule_id}") ++links[d.file];
      }
    }
  }
  EXPECT_GE(links["vigil-overview.json"], 1);
  EXPECT_GE(links["vigil-rules.json"], 3);
}

TEST(Dashboards, AndAlertsUseOnlyMetricsThatExist) {
  auto families = ExposedFamilies();
  families["up"] = "prometheus";
  auto queries = DashboardQueries(Dashboards());
  ASSERT_TRUE(queries) << queries.error();
  auto alerts = ReadAlertRules(Source("dashboards/prometheus/alerts.yml"));
  ASSERT_TRUE(alerts) << alerts.error();
  for (const auto& a : *alerts) queries->push_back({"alerts.yml / " + a.name, a.expr});
  ASSERT_GT(queries->size(), 60u);
  std::set<std::string> used;
  for (const auto& q : *queries) {
    const auto names = MetricNames(q.expr);
    EXPECT_FALSE(names.empty()) << q.where << ": " << q.expr;
    for (const auto& n : names) {
      EXPECT_TRUE(families.count(n)) << q.where << " uses " << n << ", which nothing exposes";
      used.insert(n);
    }
    // Only the variables the e2e test knows how to substitute.
    EXPECT_EQ(SubstituteTestVariables(q.expr).find('$'), std::string::npos) << q.where;
  }
  // The collector's fleet, detection, rule, store and traffic families all
  // reach a panel or an alert (the metrics-about-metrics ones need not).
  for (const auto& [name, owner] : families) {
    if (owner != "collector" || name.starts_with("vigil_metrics_") ||
        name == "vigil_collector_build_info" || name == "vigil_collector_start_time_seconds" ||
        name == "vigil_fleet_agent_info") {
      continue;
    }
    EXPECT_TRUE(used.count(name)) << name << " is on no dashboard and in no alert";
  }
}

TEST(MetricsCatalogue, DocumentsEveryExposedFamilyAndNothingElse) {
  const std::string doc = ReadFile(Source("docs/metrics.md"));
  ASSERT_FALSE(doc.empty());
  // Catalogue rows start with "| `vigil_...` |".
  static const std::regex row(R"(\n\|\s*`(vigil_[a-z0-9_]+)`\s*\|)");
  std::set<std::string> documented;
  for (auto it = std::sregex_iterator(doc.begin(), doc.end(), row); it != std::sregex_iterator();
       ++it) {
    documented.insert((*it)[1].str());
  }
  const auto families = ExposedFamilies();
  for (const auto& [name, owner] : families) {
    EXPECT_TRUE(documented.count(name))
        << owner << " family " << name << " is not in docs/metrics.md";
  }
  for (const auto& name : documented) {
    EXPECT_TRUE(families.count(name))
        << "docs/metrics.md lists " << name << ", which nothing exposes";
  }
}

TEST(Alerts, EachHasSeveritySummaryAndARunbookSectionThatExists) {
  auto alerts = ReadAlertRules(Source("dashboards/prometheus/alerts.yml"));
  ASSERT_TRUE(alerts) << alerts.error();
  ASSERT_GE(alerts->size(), 8u);
  const std::string doc = ReadFile(Source("docs/dashboards.md"));
  ASSERT_FALSE(doc.empty());
  std::set<std::string> names;
  for (const auto& a : *alerts) {
    SCOPED_TRACE(a.name);
    EXPECT_TRUE(names.insert(a.name).second) << "duplicate alert name";
    const std::string severity = a.labels.count("severity") ? a.labels.at("severity") : "";
    EXPECT_TRUE(severity == "critical" || severity == "warning" || severity == "info");
    EXPECT_FALSE(a.annotations.count("summary") == 0 || a.annotations.at("summary").empty());
    EXPECT_FALSE(a.annotations.count("description") == 0);
    std::string anchor = a.name;
    for (auto& c : anchor) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    ASSERT_TRUE(a.annotations.count("runbook"));
    EXPECT_EQ(a.annotations.at("runbook"), "docs/dashboards.md#" + anchor);
    // The runbook section: a heading with the alert's name, then what it
    // means, how to confirm it, and what to do, before the next heading.
    const auto start = doc.find("\n### " + a.name + "\n");
    ASSERT_NE(start, std::string::npos) << "no runbook heading in docs/dashboards.md";
    const auto end = doc.find("\n##", start + 5);
    const std::string section = doc.substr(start, end - start);
    for (const char* part : {"**Means:**", "**Confirm:**", "**Do:**"}) {
      EXPECT_NE(section.find(part), std::string::npos) << "runbook lacks " << part;
    }
  }
  // And every dashboard has its description.
  for (const char* title :
       {"Vigil / Overview", "Vigil / Agents", "Vigil / Rules", "Vigil / Traffic"}) {
    EXPECT_NE(doc.find(title), std::string::npos) << title;
  }
}

TEST(Alerts, ForDurationsCanBeShortenedForTests) {
  const std::string yaml = ReadFile(Source("dashboards/prometheus/alerts.yml"));
  auto short_for = WithShortFor(yaml, "1s");
  ASSERT_TRUE(short_for) << short_for.error();
  TempDir dir;
  const std::string path = dir.Path() + "/alerts.yml";
  { std::ofstream(path) << *short_for; }
  auto rules = ReadAlertRules(path);
  auto original = ReadAlertRules(Source("dashboards/prometheus/alerts.yml"));
  ASSERT_TRUE(rules && original);
  ASSERT_EQ(rules->size(), original->size());
  for (std::size_t i = 0; i < rules->size(); ++i) {
    EXPECT_EQ((*rules)[i].expr, (*original)[i].expr);
    EXPECT_EQ((*rules)[i].for_duration, (*original)[i].for_duration.empty() ? "" : "1s");
  }
}

TEST(Queries, MetricNamesIgnoreLabelValuesAndHistogramSuffixes) {
  EXPECT_EQ(MetricNames(R"(sum(vigil_fleet_agent_state{state="up"}) + rate(vigil_x_bucket[5m]))"),
            (std::vector<std::string>{"vigil_fleet_agent_state", "vigil_x"}));
  EXPECT_EQ(MetricNames(R"(min(up{job="vigil-collector"}))"), (std::vector<std::string>{"up"}));
}

}  // namespace
}  // namespace vigil::testing
