// End to end with a real Prometheus: the Debian `prometheus` binary, started
// here on a loopback port with a temporary data directory, a 1 s scrape and
// evaluation interval and the shipped alert rules (every non-zero `for:`
// shortened to 1s in a test copy), scrapes a target that serves the
// collector's /metrics. Then every PromQL expression of every dashboard
// panel and template variable must return data through /api/v1/query, and
// the expected alerts must reach the firing state in /api/v1/alerts.
//
// The target is a parameter (docs/dashboards.md, "End-to-end test"):
//   VIGIL_E2E_TARGET_COMMAND  shell command that serves /metrics on
//                             {metrics_listen} until SIGTERM ({workdir}: a
//                             scratch directory). Default: vigil-metrics-demo.
//   VIGIL_E2E_EXPECT_FIRING   comma-separated alert names that must fire, or
//                             "all" (the default with the demo target).
//   VIGIL_E2E_DEADLINE_SECONDS  how long to wait for data and alerts (90).
// CMake cache variables of the same names set the defaults at build time.
// A dead second target in job vigil-collector makes VigilCollectorDown fire.

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "tests/collector/metrics/support/child_process.h"
#include "tests/collector/metrics/support/loopback_http.h"
#include "tests/dashboards/dashboard_queries.h"

#ifndef VIGIL_E2E_TARGET_COMMAND_DEFAULT
#error "VIGIL_E2E_TARGET_COMMAND_DEFAULT must be defined by CMake"
#endif
#ifndef VIGIL_E2E_EXPECT_FIRING_DEFAULT
#define VIGIL_E2E_EXPECT_FIRING_DEFAULT "all"
#endif

namespace vigil::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

std::string Env(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::string(v) : fallback;
}

std::string Source(const std::string& relative) {
  return Env("VIGIL_SOURCE_DIR", ".") + "/" + relative;
}

void Replace(std::string& s, const std::string& from, const std::string& to) {
  for (std::size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size()) {
    s.replace(pos, from.size(), to);
  }
}

std::string Tail(const std::string& text, std::size_t n = 3000) {
  return text.size() <= n ? text : "..." + text.substr(text.size() - n);
}

bool WaitFor(const std::function<bool()>& ready, std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (ready()) return true;
    std::this_thread::sleep_for(200ms);  // polling an external process, not synchronising ours
  }
  return false;
}

// Result of one instant query: "" when it returned at least one finite
// value, else a short reason.
std::string QueryProblem(int port, const std::string& expr) {
  const auto r = HttpGet(port, "/api/v1/query?query=" + UrlEncode(expr));
  if (!r) return "request failed: " + r.error();
  const json j = json::parse(r->body, nullptr, false);
  if (j.is_discarded()) return "HTTP " + std::to_string(r->status) + ": " + Tail(r->body, 300);
  if (j.value("status", "") != "success") {
    return "error: " + j.value("error", std::string("?"));
  }
  const auto& data = j["data"];
  const std::string type = data.value("resultType", "");
  if (type == "scalar") {
    const std::string v = data["result"][1];
    return v == "NaN" ? "scalar NaN" : "";
  }
  if (!data["result"].is_array() || data["result"].empty()) return "empty result";
  for (const auto& series : data["result"]) {
    const std::string v = series["value"][1];
    if (v != "NaN" && v != "+Inf" && v != "-Inf") return "";
  }
  return "only NaN/Inf values";
}

class PrometheusEndToEnd : public ::testing::Test {
 protected:
  void TearDown() override {
    if (HasFailure()) {
      std::cerr << "--- prometheus log ---\n"
                << Tail(ReadFile(dir_.Path() + "/prometheus.log")) << "\n--- target log ---\n"
                << Tail(ReadFile(dir_.Path() + "/target.log")) << "\n";
    }
  }
  TempDir dir_;
};

TEST_F(PrometheusEndToEnd, EveryPanelShowsDataAndTheAlertsFire) {
  // 1. The target.
  const int target_port = FreeLoopbackPort();
  const int dead_port = FreeLoopbackPort();  // nothing listens: up == 0
  ASSERT_GT(target_port, 0);
  std::string command = Env("VIGIL_E2E_TARGET_COMMAND", VIGIL_E2E_TARGET_COMMAND_DEFAULT);
  Replace(command, "{metrics_listen}", "127.0.0.1:" + std::to_string(target_port));
  Replace(command, "{workdir}", dir_.Path());
  std::cerr << "target: " << command << "\n";
  auto target =
      ChildProcess::Start({"/bin/sh", "-c", "exec " + command}, dir_.Path() + "/target.log");
  ASSERT_TRUE(target) << target.error();
  ASSERT_TRUE(WaitFor(
      [&] {
        auto r = HttpGet(target_port, "/metrics", 2000ms);
        return r && r->status == 200;
      },
      60s))
      << "the target never served /metrics on 127.0.0.1:" << target_port;

  // 2. Prometheus with a test copy of the alert rules.
  const std::string alerts_yaml = ReadFile(Source("dashboards/prometheus/alerts.yml"));
  ASSERT_FALSE(alerts_yaml.empty());
  auto short_for = WithShortFor(alerts_yaml, "1s");
  ASSERT_TRUE(short_for) << short_for.error();
  const std::string rules_path = dir_.Path() + "/alerts.yml";
  std::ofstream(rules_path) << *short_for;
  const auto check = RunProcess({"promtool", "check", "rules", rules_path});
  ASSERT_TRUE(check) << check.error();
  ASSERT_EQ(check->exit_code, 0) << check->out << check->err;

  const int prom_port = FreeLoopbackPort();
  const std::string config_path = dir_.Path() + "/prometheus.yml";
  std::ofstream(config_path) << "global:\n"
                             << "  scrape_interval: 1s\n"
                             << "  scrape_timeout: 1s\n"
                             << "  evaluation_interval: 1s\n"
                             << "rule_files:\n"
                             << "  - " << rules_path << "\n"
                             << "scrape_configs:\n"
                             << "  - job_name: vigil-collector\n"
                             << "    static_configs:\n"
                             << "      - targets: [\"127.0.0.1:" << target_port
                             << "\", \"127.0.0.1:" << dead_port << "\"]\n";
  auto prometheus = ChildProcess::Start(
      {"prometheus", "--config.file=" + config_path, "--storage.tsdb.path=" + dir_.Path() + "/tsdb",
       "--web.listen-address=127.0.0.1:" + std::to_string(prom_port), "--log.level=warn",
       "--storage.tsdb.retention.time=1h"},
      dir_.Path() + "/prometheus.log");
  ASSERT_TRUE(prometheus) << prometheus.error()
                          << " (prometheus is installed by scripts/bootstrap)";
  ASSERT_TRUE(WaitFor(
      [&] {
        auto r = HttpGet(prom_port, "/-/ready", 2000ms);
        return r && r->status == 200;
      },
      60s))
      << "prometheus did not become ready";

  // 3. What must hold.
  auto dashboards = ReadDashboards(Source("dashboards/grafana/dashboards"));
  ASSERT_TRUE(dashboards) << dashboards.error();
  auto queries = DashboardQueries(*dashboards);
  ASSERT_TRUE(queries) << queries.error();
  auto alerts = ReadAlertRules(rules_path);
  ASSERT_TRUE(alerts) << alerts.error();
  std::set<std::string> expect_firing;
  const std::string expect = Env("VIGIL_E2E_EXPECT_FIRING", VIGIL_E2E_EXPECT_FIRING_DEFAULT);
  if (expect == "all") {
    for (const auto& a : *alerts) expect_firing.insert(a.name);
  } else {
    std::stringstream s(expect);
    for (std::string name; std::getline(s, name, ',');) {
      if (!name.empty()) expect_firing.insert(name);
    }
  }
  for (const auto& name : expect_firing) {
    bool known = false;
    for (const auto& a : *alerts) known |= a.name == name;
    ASSERT_TRUE(known) << "VIGIL_E2E_EXPECT_FIRING names an unknown alert: " << name;
  }
  // Alert expressions are queried too: those expected to fire must return
  // data, the others must at least evaluate without error.
  std::vector<Query> must_have_data = *queries;
  std::vector<Query> must_evaluate;
  for (const auto& a : *alerts) {
    (expect_firing.count(a.name) ? must_have_data : must_evaluate)
        .push_back({"alerts.yml / " + a.name, a.expr});
  }

  // 4. Poll until everything holds or the deadline passes.
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::seconds(std::stoi(Env("VIGIL_E2E_DEADLINE_SECONDS", "90")));
  std::map<std::string, std::string> problems;
  std::set<std::string> firing;
  for (;;) {
    problems.clear();
    for (const auto& q : must_have_data) {
      const std::string expr = SubstituteTestVariables(q.expr);
      const std::string p = QueryProblem(prom_port, expr);
      if (!p.empty()) problems[q.where] = p + "\n      " + expr;
    }
    for (const auto& q : must_evaluate) {
      const std::string p = QueryProblem(prom_port, q.expr);
      if (p.starts_with("error") || p.starts_with("request") || p.starts_with("HTTP")) {
        problems[q.where] = p;
      }
    }
    firing.clear();
    if (auto r = HttpGet(prom_port, "/api/v1/alerts"); r && r->status == 200) {
      const json j = json::parse(r->body, nullptr, false);
      if (!j.is_discarded()) {
        for (const auto& a : j["data"]["alerts"]) {
          if (a.value("state", "") == "firing") firing.insert(a["labels"]["alertname"]);
        }
      }
    }
    for (const auto& name : expect_firing) {
      if (!firing.count(name)) problems["alert " + name] = "not firing";
    }
    if (problems.empty() || std::chrono::steady_clock::now() > deadline) break;
    std::this_thread::sleep_for(1s);
  }
  ASSERT_TRUE(target->Running()) << "the target exited during the test";
  std::ostringstream report;
  for (const auto& [where, what] : problems) report << "  " << where << ": " << what << "\n";
  EXPECT_TRUE(problems.empty()) << problems.size() << " problems (" << must_have_data.size()
                                << " queries must return data, " << expect_firing.size()
                                << " alerts must fire):\n"
                                << report.str();
  std::cerr << must_have_data.size() << " panel/variable/alert queries returned data, "
            << must_evaluate.size() << " more evaluated, " << firing.size() << " alerts firing\n";
}

}  // namespace
}  // namespace vigil::testing
