#include "tests/dashboards/dashboard_queries.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "tests/collector/metrics/support/child_process.h"

namespace vigil::testing {
namespace {

using nlohmann::json;

void Replace(std::string& s, const std::string& from, const std::string& to) {
  for (std::size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size()) {
    s.replace(pos, from.size(), to);
  }
}

void CollectPanels(const json& panels, const std::string& file, std::vector<Query>& out) {
  for (const auto& p : panels) {
    if (p.contains("panels")) CollectPanels(p["panels"], file, out);
    if (!p.contains("targets")) continue;
    for (const auto& t : p["targets"]) {
      if (!t.contains("expr")) continue;
      out.push_back({file + " / " + p.value("title", "?") + " / " + t.value("refId", "?"),
                     t["expr"].get<std::string>()});
    }
  }
}

}  // namespace

std::expected<std::vector<DashboardFile>, std::string> ReadDashboards(const std::string& dir) {
  std::vector<DashboardFile> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.path().extension() != ".json") continue;
    out.push_back({entry.path().filename().string(), ReadFile(entry.path().string())});
  }
  if (ec) return std::unexpected(dir + ": " + ec.message());
  std::sort(out.begin(), out.end(),
            [](const DashboardFile& a, const DashboardFile& b) { return a.file < b.file; });
  return out;
}

std::expected<std::vector<Query>, std::string> DashboardQueries(
    const std::vector<DashboardFile>& dashboards) {
  std::vector<Query> out;
  static const std::regex label_values(
      R"(^\s*label_values\((.*),\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)\s*$)");
  for (const auto& d : dashboards) {
    json j = json::parse(d.text, nullptr, false);
    if (j.is_discarded()) return std::unexpected(d.file + ": not valid JSON");
    CollectPanels(j.value("panels", json::array()), d.file, out);
    for (const auto& v : j["templating"].value("list", json::array())) {
      if (v.value("type", "") != "query") continue;
      std::string q =
          v["query"].is_object() ? v["query"].value("query", "") : v["query"].get<std::string>();
      std::smatch m;
      if (std::regex_match(q, m, label_values)) {
        q = "count by (" + m[2].str() + ") (" + m[1].str() + ")";
      }
      out.push_back({d.file + " / variable $" + v.value("name", "?"), q});
    }
  }
  return out;
}

std::expected<std::vector<AlertRule>, std::string> ReadAlertRules(const std::string& path) {
  std::vector<AlertRule> out;
  try {
    const YAML::Node root = YAML::LoadFile(path);
    for (const auto& group : root["groups"]) {
      for (const auto& r : group["rules"]) {
        if (!r["alert"]) continue;
        AlertRule rule;
        rule.name = r["alert"].as<std::string>();
        rule.expr = r["expr"].as<std::string>();
        if (r["for"]) rule.for_duration = r["for"].as<std::string>();
        for (const auto& kv : r["labels"]) {
          rule.labels[kv.first.as<std::string>()] = kv.second.as<std::string>();
        }
        for (const auto& kv : r["annotations"]) {
          rule.annotations[kv.first.as<std::string>()] = kv.second.as<std::string>();
        }
        out.push_back(std::move(rule));
      }
    }
  } catch (const YAML::Exception& e) {
    return std::unexpected(path + ": " + e.what());
  }
  return out;
}

std::string SubstituteTestVariables(const std::string& expr) {
  std::string s = expr;
  // Longest names first: $__rate_interval before $__range / $__interval.
  Replace(s, "$__rate_interval", "10s");
  Replace(s, "$__interval", "2s");
  Replace(s, "$__range", "5m");
  Replace(s, "${agency}", ".*");
  Replace(s, "$agency", ".*");
  Replace(s, "${agent}", ".*");
  Replace(s, "$agent", ".*");
  return s;
}

std::expected<std::string, std::string> WithShortFor(const std::string& alerts_yaml,
                                                     const std::string& for_value) {
  try {
    YAML::Node root = YAML::Load(alerts_yaml);
    for (auto group : root["groups"]) {
      for (auto rule : group["rules"]) {
        if (!rule["for"]) continue;
        const std::string f = rule["for"].as<std::string>();
        if (f != "0" && f != "0s" && f != "0m") rule["for"] = for_value;
      }
    }
    YAML::Emitter out;
    out << root;
    return std::string(out.c_str()) + "\n";
  } catch (const YAML::Exception& e) {
    return std::unexpected(std::string("alerts: ") + e.what());
  }
}

std::vector<std::string> MetricNames(const std::string& expr) {
  // Label values ("up", "other") are not metric names: drop quoted text.
  static const std::regex quoted(R"("(?:[^"\\]|\\.)*")");
  const std::string bare = std::regex_replace(expr, quoted, "\"\"");
  static const std::regex name(R"(\b(vigil_[a-z0-9_]+|up)\b)");
  std::set<std::string> names;
  for (auto it = std::sregex_iterator(bare.begin(), bare.end(), name); it != std::sregex_iterator();
       ++it) {
    std::string n = (*it)[1].str();
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      if (n.ends_with(suffix)) {
        n.resize(n.size() - std::strlen(suffix));
        break;
      }
    }
    names.insert(n);
  }
  return {names.begin(), names.end()};
}

}  // namespace vigil::testing
