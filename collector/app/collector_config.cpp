#include "collector/app/collector_config.h"

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace vigil::collector::app {
namespace {

std::string Resolve(const std::string& base, const std::string& path) {
  if (path.empty() || base.empty() || std::filesystem::path(path).is_absolute()) return path;
  return (std::filesystem::path(base) / path).lexically_normal().string();
}

void ReadTls(ConfigReader& r, const YAML::Node& n, TlsConfig& tls) {
  r.Map(n, "tls",
        {{"ca", [&](const YAML::Node& v) { r.Read(v, tls.ca); }},
         {"cert", [&](const YAML::Node& v) { r.Read(v, tls.cert); }},
         {"key", [&](const YAML::Node& v) { r.Read(v, tls.key); }},
         {"crl", [&](const YAML::Node& v) { r.Read(v, tls.crl); }}});
}

// "host:port" or "[v6 address]:port", port 1-65535 in decimal digits only.
bool SplitHostPort(const std::string& text, std::string& host, uint16_t& port) {
  std::string h;
  std::string p;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return false;
    h = text.substr(1, close - 1);
    p = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string::npos) return false;
    h = text.substr(0, colon);
    p = text.substr(colon + 1);
    if (h.find(':') != std::string::npos) return false;  // bare IPv6 needs brackets
  }
  if (h.empty() || p.empty() || p.size() > 5) return false;
  uint32_t value = 0;
  for (const char c : p) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<uint32_t>(c - '0');
  }
  if (value == 0 || value > 65535) return false;
  host = std::move(h);
  port = static_cast<uint16_t>(value);
  return true;
}

void ReadAgents(ConfigReader& r, const YAML::Node& n, std::vector<AgentIdentityConfig>& agents) {
  if (!n.IsSequence()) {
    r.Error(n, "agents must be a list of {identity, agency, site}");
    return;
  }
  std::set<std::string> seen;
  for (const auto& item : n) {
    AgentIdentityConfig a;
    r.Map(item, "agents[]",
          {{"identity", [&](const YAML::Node& v) { r.Read(v, a.identity); }},
           {"agency", [&](const YAML::Node& v) { r.Read(v, a.agency); }},
           {"site", [&](const YAML::Node& v) { r.Read(v, a.site); }}});
    if (a.identity.empty()) {
      r.Error(item, "agents[]: identity is required (the agent certificate's CN)");
      continue;
    }
    if (!seen.insert(a.identity).second) {
      r.Error(item, "agents[]: identity '" + a.identity + "' listed twice");
      continue;
    }
    if (a.agency.empty()) r.Error(item, "agents[]: agency is required for '" + a.identity + "'");
    agents.push_back(std::move(a));
  }
}

void ReadRules(ConfigReader& r, const YAML::Node& n, RulesConfig& rules) {
  r.Map(n, "rules",
        {{"directories", [&](const YAML::Node& v) { r.Read(v, rules.directories); }},
         {"filters", [&](const YAML::Node& v) { r.Read(v, rules.filters); }},
         {"watch", [&](const YAML::Node& v) { r.Read(v, rules.watch); }},
         {"lists", [&](const YAML::Node& v) {
            if (!v.IsMap()) {
              r.Error(v, "rules.lists must map placeholder names to files");
              return;
            }
            for (const auto& kv : v) {
              std::string name = kv.first.Scalar(), file;
              r.Read(kv.second, file);
              rules.lists[name] = file;
            }
          }}});
}

void ReadIncidents(ConfigReader& r, const YAML::Node& n, IncidentsConfig& inc) {
  r.Map(n, "incidents",
        {{"database", [&](const YAML::Node& v) { r.Read(v, inc.database); }},
         {"group_window", [&](const YAML::Node& v) { r.ReadDuration(v, inc.group_window); }},
         {"signing_key", [&](const YAML::Node& v) { r.Read(v, inc.signing_key); }},
         {"checkpoint_interval",
          [&](const YAML::Node& v) { r.Read(v, inc.checkpoint_interval, 1, 10'000'000); }},
         {"retention", [&](const YAML::Node& v) { r.ReadDuration(v, inc.retention); }},
         {"forward", [&](const YAML::Node& v) {
            r.Map(v, "incidents.forward",
                  {{"address",
                    [&](const YAML::Node& x) {
                      r.Read(x, inc.forward.address);
                      if (x.IsScalar() &&
                          !SplitHostPort(inc.forward.address, inc.forward.host, inc.forward.port)) {
                        r.Error(x,
                                "incidents.forward.address must be host:port ([address]:port "
                                "for IPv6), port 1-65535");
                      }
                    }},
                   {"ca", [&](const YAML::Node& x) { r.Read(x, inc.forward.ca); }},
                   {"cert", [&](const YAML::Node& x) { r.Read(x, inc.forward.cert); }},
                   {"key", [&](const YAML::Node& x) { r.Read(x, inc.forward.key); }},
                   {"buffer_max_alerts", [&](const YAML::Node& x) {
                      r.Read(x, inc.forward.buffer_max_alerts, 1, 100'000'000);
                    }}});
          }}});
}

}  // namespace

CollectorConfig DefaultCollectorConfig(const std::string& state_dir, const std::string& rules_dir) {
  CollectorConfig c;
  const std::filesystem::path s(state_dir);
  c.incidents.database = (s / "incidents.db").string();
  c.incidents.signing_key = (s / "checkpoint.key").string();
  if (!rules_dir.empty()) c.rules.directories = {rules_dir};
  return c;
}

std::expected<CollectorConfig, std::vector<Diagnostic>> ParseCollectorConfig(
    const std::string& text, const std::string& file_name, const std::string& base_dir,
    CollectorConfig defaults) {
  ConfigReader r(file_name);
  YAML::Node root = r.Parse(text);
  CollectorConfig c = std::move(defaults);
  if (r.ok()) {
    r.Map(
        root, "collector config",
        {{"listen", [&](const YAML::Node& v) { r.Read(v, c.listen); }},
         {"tls", [&](const YAML::Node& v) { ReadTls(r, v, c.tls); }},
         {"insecure_plaintext", [&](const YAML::Node& v) { r.Read(v, c.insecure_plaintext); }},
         {"agents", [&](const YAML::Node& v) { ReadAgents(r, v, c.agents); }},
         {"allow_unlisted_agents",
          [&](const YAML::Node& v) { r.Read(v, c.allow_unlisted_agents); }},
         {"heartbeat_silence_after",
          [&](const YAML::Node& v) { r.ReadDuration(v, c.heartbeat_silence_after); }},
         {"rules", [&](const YAML::Node& v) { ReadRules(r, v, c.rules); }},
         {"incidents", [&](const YAML::Node& v) { ReadIncidents(r, v, c.incidents); }},
         {"metrics",
          [&](const YAML::Node& v) {
            r.Map(v, "metrics",
                  {{"listen", [&](const YAML::Node& x) { r.Read(x, c.metrics.listen); }},
                   {"top_talkers",
                    [&](const YAML::Node& x) { r.Read(x, c.metrics.top_talkers, 0, 50); }}});
          }},
         {"log", [&](const YAML::Node& v) {
            r.Map(
                v, "log",
                {{"level", [&](const YAML::Node& x) {
                    r.Read(x, c.log_level);
                    static const std::set<std::string> kLevels{"debug", "info", "warning", "error"};
                    if (!kLevels.contains(c.log_level)) {
                      r.Error(x, "log.level must be debug, info, warning or error");
                    }
                  }}});
          }}});
  }
  if (r.ok()) {
    if (!c.insecure_plaintext && (c.tls.ca.empty() || c.tls.cert.empty() || c.tls.key.empty())) {
      r.Error(root,
              "tls.ca, tls.cert and tls.key are required (mutual TLS is mandatory; "
              "insecure_plaintext: true only for lab tests)");
    }
    if (c.incidents.database.empty()) r.Error(root, "incidents.database is required");
    if (c.rules.directories.empty()) r.Error(root, "rules.directories needs at least one folder");
  }
  if (!r.ok()) return std::unexpected(r.diagnostics());
  for (std::string* p : {&c.tls.ca, &c.tls.cert, &c.tls.key, &c.tls.crl, &c.incidents.database,
                         &c.incidents.signing_key, &c.incidents.forward.ca,
                         &c.incidents.forward.cert, &c.incidents.forward.key}) {
    *p = Resolve(base_dir, *p);
  }
  for (auto& d : c.rules.directories) d = Resolve(base_dir, d);
  for (auto& d : c.rules.filters) d = Resolve(base_dir, d);
  for (auto& [name, file] : c.rules.lists) file = Resolve(base_dir, file);
  return c;
}

std::expected<CollectorConfig, std::vector<Diagnostic>> LoadCollectorConfig(
    const std::string& path, CollectorConfig defaults) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return std::unexpected(std::vector<Diagnostic>{{path, 0, 0, "cannot read the file"}});
  }
  std::stringstream ss;
  ss << in.rdbuf();
  const auto base = std::filesystem::path(path).parent_path().string();
  return ParseCollectorConfig(ss.str(), path, base, std::move(defaults));
}

}  // namespace vigil::collector::app
