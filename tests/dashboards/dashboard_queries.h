#pragma once
// Reads the shipped dashboards and alert rules as data, for the tests that
// check them: every PromQL expression of every panel, template variable and
// alert rule, with where it came from. Pure functions over files.

#include <expected>
#include <map>
#include <string>
#include <vector>

namespace vigil::testing {

struct Query {
  std::string where;  ///< "vigil-overview.json / Top rules / A", for failure messages
  std::string expr;   ///< as written, with Grafana variables
};

struct AlertRule {
  std::string name;
  std::string expr;
  std::string for_duration;  ///< "" when absent
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
};

/// The dashboards in `dir` (*.json), in file-name order, each parsed.
struct DashboardFile {
  std::string file;
  std::string text;
};
std::expected<std::vector<DashboardFile>, std::string> ReadDashboards(const std::string& dir);

/// Panel target expressions (rows' nested panels included) and template
/// variable queries. `label_values(selector, label)` becomes
/// `count by (label) (selector)`, the PromQL Grafana effectively runs.
std::expected<std::vector<Query>, std::string> DashboardQueries(
    const std::vector<DashboardFile>& dashboards);

std::expected<std::vector<AlertRule>, std::string> ReadAlertRules(const std::string& path);

/// Replaces Grafana's variables with the values the end-to-end test uses
/// (every agency and agent, short intervals). Unknown `$` variables are left
/// in place so a caller can detect them.
std::string SubstituteTestVariables(const std::string& expr);

/// The alert rules YAML with every non-zero `for:` replaced by `for_value`.
std::expected<std::string, std::string> WithShortFor(const std::string& alerts_yaml,
                                                     const std::string& for_value);

/// Metric names (vigil_*, up) an expression refers to, histogram suffixes
/// (_bucket, _sum, _count) removed.
std::vector<std::string> MetricNames(const std::string& expr);

}  // namespace vigil::testing
