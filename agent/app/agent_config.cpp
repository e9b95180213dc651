#include "agent/app/agent_config.h"

#include <filesystem>
#include <fstream>
#include <sstream>

namespace vigil::agent::app {
namespace {

namespace fs = std::filesystem;

std::string Resolve(const std::string& path, const std::string& config_file) {
  if (path.empty() || fs::path(path).is_absolute()) return path;
  return (fs::path(config_file).parent_path() / path).lexically_normal().string();
}

void ReadInterface(ConfigReader& r, const YAML::Node& n, InterfaceConfig& out) {
  bool have_name = false;
  r.Map(n, "capture.interfaces[]",
        {
            {"name",
             [&](const YAML::Node& v) {
               r.Read(v, out.name);
               have_name = !out.name.empty();
             }},
            {"bpf_filter", [&](const YAML::Node& v) { r.Read(v, out.bpf_filter); }},
            {"snaplen", [&](const YAML::Node& v) { r.Read(v, out.snaplen, 64, 262144); }},
            {"buffer_size", [&](const YAML::Node& v) { r.ReadSize(v, out.buffer_size, 65536); }},
            {"promiscuous", [&](const YAML::Node& v) { r.Read(v, out.promiscuous); }},
        });
  if (n.IsMap() && !have_name) r.Error(n, "capture.interfaces[]: 'name' is required");
}

void ReadCapture(ConfigReader& r, const YAML::Node& n, AgentConfig& cfg) {
  r.Map(n, "capture", {{"interfaces", [&](const YAML::Node& v) {
                          if (!v.IsSequence()) {
                            r.Error(v, "capture.interfaces must be a list");
                            return;
                          }
                          for (const YAML::Node& item : v) {
                            InterfaceConfig ic;
                            ReadInterface(r, item, ic);
                            cfg.interfaces.push_back(std::move(ic));
                          }
                        }}});
}

void ReadFlow(ConfigReader& r, const YAML::Node& n, FlowConfig& f) {
  using std::chrono::milliseconds;
  r.Map(
      n, "flow",
      {
          {"max_flows", [&](const YAML::Node& v) { r.Read(v, f.max_flows, 1, 100'000'000); }},
          {"include_vlan_in_key", [&](const YAML::Node& v) { r.Read(v, f.include_vlan_in_key); }},
          {"timeouts",
           [&](const YAML::Node& v) {
             FlowTimeoutsConfig& t = f.timeouts;
             const milliseconds min(100);
             r.Map(
                 v, "flow.timeouts",
                 {
                     {"tcp_idle", [&](const YAML::Node& x) { r.ReadDuration(x, t.tcp_idle, min); }},
                     {"tcp_handshake",
                      [&](const YAML::Node& x) { r.ReadDuration(x, t.tcp_handshake, min); }},
                     {"tcp_closed",
                      [&](const YAML::Node& x) { r.ReadDuration(x, t.tcp_closed, min); }},
                     {"udp_idle", [&](const YAML::Node& x) { r.ReadDuration(x, t.udp_idle, min); }},
                     {"icmp_idle",
                      [&](const YAML::Node& x) { r.ReadDuration(x, t.icmp_idle, min); }},
                     {"other_idle",
                      [&](const YAML::Node& x) { r.ReadDuration(x, t.other_idle, min); }},
                     // 0s disables interim records.
                     {"active", [&](const YAML::Node& x) { r.ReadDuration(x, t.active); }},
                 });
           }},
      });
}

void ReadCollector(ConfigReader& r, const YAML::Node& n, CollectorConfig& c) {
  using std::chrono::milliseconds;
  r.Map(n, "collector",
        {
            {"addresses", [&](const YAML::Node& v) { r.Read(v, c.addresses); }},
            {"server_name", [&](const YAML::Node& v) { r.Read(v, c.server_name); }},
            {"tls",
             [&](const YAML::Node& v) {
               r.Map(v, "collector.tls",
                     {
                         {"ca", [&](const YAML::Node& x) { r.Read(x, c.ca); }},
                         {"cert", [&](const YAML::Node& x) { r.Read(x, c.cert); }},
                         {"key", [&](const YAML::Node& x) { r.Read(x, c.key); }},
                     });
             }},
            {"insecure_plaintext", [&](const YAML::Node& v) { r.Read(v, c.insecure_plaintext); }},
            {"batch_max_events",
             [&](const YAML::Node& v) { r.Read(v, c.batch_max_events, 1, 1'000'000); }},
            {"batch_max_delay",
             [&](const YAML::Node& v) { r.ReadDuration(v, c.batch_max_delay, milliseconds(1)); }},
            {"heartbeat_interval",
             [&](const YAML::Node& v) {
               r.ReadDuration(v, c.heartbeat_interval, milliseconds(100));
             }},
            {"reconnect_initial_backoff",
             [&](const YAML::Node& v) {
               r.ReadDuration(v, c.reconnect_initial_backoff, milliseconds(1));
             }},
            {"reconnect_max_backoff",
             [&](const YAML::Node& v) {
               r.ReadDuration(v, c.reconnect_max_backoff, milliseconds(1));
             }},
            {"queue_max_records",
             [&](const YAML::Node& v) { r.Read(v, c.queue_max_records, 1, 100'000'000); }},
        });
}

void ReadSpool(ConfigReader& r, const YAML::Node& n, SpoolConfig& s) {
  r.Map(n, "spool",
        {
            {"directory", [&](const YAML::Node& v) { r.Read(v, s.directory); }},
            {"max_size", [&](const YAML::Node& v) { r.ReadSize(v, s.max_size, 1 << 20); }},
            {"overflow",
             [&](const YAML::Node& v) {
               std::string text;
               r.Read(v, text);
               if (text == "drop_oldest") {
                 s.overflow = SpoolOverflowPolicy::kDropOldest;
               } else if (text == "drop_newest") {
                 s.overflow = SpoolOverflowPolicy::kDropNewest;
               } else {
                 r.Error(v,
                         "spool.overflow must be drop_oldest or drop_newest, got '" + text + "'");
               }
             }},
        });
}

void ReadLog(ConfigReader& r, const YAML::Node& n, LogConfig& l) {
  r.Map(n, "log",
        {{"level", [&](const YAML::Node& v) {
            std::string text;
            r.Read(v, text);
            if (text == "debug") {
              l.level = LogLevel::kDebug;
            } else if (text == "info") {
              l.level = LogLevel::kInfo;
            } else if (text == "warning") {
              l.level = LogLevel::kWarning;
            } else if (text == "error") {
              l.level = LogLevel::kError;
            } else {
              r.Error(v, "log.level must be debug, info, warning or error, got '" + text + "'");
            }
          }}});
}

// Checks that need the whole document (required keys, files that must exist).
void Validate(ConfigReader& r, const YAML::Node& root, AgentConfig& cfg,
              const LoadOptions& options) {
  if (cfg.collector) {
    CollectorConfig& c = *cfg.collector;
    const YAML::Node node = root["collector"];
    if (c.addresses.empty()) r.Error(node, "collector.addresses must list at least one host:port");
    for (const std::string& a : c.addresses) {
      const auto colon = a.rfind(':');
      if (colon == std::string::npos || colon == 0 || colon + 1 == a.size()) {
        r.Error(node["addresses"], "collector address '" + a + "' is not host:port");
      }
    }
    c.ca = Resolve(c.ca, cfg.path);
    c.cert = Resolve(c.cert, cfg.path);
    c.key = Resolve(c.key, cfg.path);
    if (!c.insecure_plaintext) {
      const YAML::Node tls = node["tls"];
      const YAML::Node at = tls ? tls : node;
      for (const auto& [name, file] : {std::pair<const char*, const std::string&>{"ca", c.ca},
                                       {"cert", c.cert},
                                       {"key", c.key}}) {
        if (file.empty()) {
          r.Error(at, std::string("collector.tls.") + name +
                          " is required (or set insecure_plaintext: true for lab tests)");
        } else if (options.check_files && !fs::exists(file)) {
          r.Error(tls && tls[name] ? tls[name] : at,
                  std::string("collector.tls.") + name + ": no such file: " + file);
        }
      }
    }
    if (c.reconnect_max_backoff < c.reconnect_initial_backoff) {
      r.Error(node, "collector.reconnect_max_backoff is below reconnect_initial_backoff");
    }
  }
  cfg.spool.directory = Resolve(cfg.spool.directory, cfg.path);
  if (!cfg.metrics.listen.empty()) {
    const auto colon = cfg.metrics.listen.rfind(':');
    if (colon == std::string::npos || colon + 1 == cfg.metrics.listen.size()) {
      r.Error(root["metrics"]["listen"],
              "metrics.listen '" + cfg.metrics.listen + "' is not host:port");
    }
  }
}

}  // namespace

std::expected<AgentConfig, std::vector<Diagnostic>> ParseAgentConfig(const std::string& text,
                                                                     const std::string& file,
                                                                     const LoadOptions& options) {
  ConfigReader r(file);
  AgentConfig cfg;
  cfg.path = file;
  const YAML::Node root = r.Parse(text);
  if (!r.ok()) return std::unexpected(r.diagnostics());
  r.Map(root, "the agent configuration",
        {
            {"capture", [&](const YAML::Node& v) { ReadCapture(r, v, cfg); }},
            {"flow", [&](const YAML::Node& v) { ReadFlow(r, v, cfg.flow); }},
            {"analyzers",
             [&](const YAML::Node& v) {
               r.Map(v, "analyzers",
                     {
                         {"dns", [&](const YAML::Node& x) { r.Read(x, cfg.analyzers.dns); }},
                         {"tls", [&](const YAML::Node& x) { r.Read(x, cfg.analyzers.tls); }},
                         {"http", [&](const YAML::Node& x) { r.Read(x, cfg.analyzers.http); }},
                     });
             }},
            {"collector",
             [&](const YAML::Node& v) {
               cfg.collector.emplace();
               ReadCollector(r, v, *cfg.collector);
             }},
            {"spool", [&](const YAML::Node& v) { ReadSpool(r, v, cfg.spool); }},
            {"metrics",
             [&](const YAML::Node& v) {
               r.Map(v, "metrics",
                     {{"listen", [&](const YAML::Node& x) { r.Read(x, cfg.metrics.listen); }}});
             }},
            {"log", [&](const YAML::Node& v) { ReadLog(r, v, cfg.log); }},
        });
  // Cross-field checks only on a well-formed document: they index into
  // sections that the mapping above has already checked are mappings.
  if (root.IsMap() && r.ok()) {
    try {
      Validate(r, root, cfg, options);
    } catch (const YAML::Exception& e) {
      // yaml-cpp throws on a subscript of a scalar; never let it escape.
      r.Error(root, std::string("invalid configuration: ") + e.what());
    }
  }
  if (!r.ok()) return std::unexpected(r.diagnostics());
  return cfg;
}

std::expected<AgentConfig, std::vector<Diagnostic>> LoadAgentConfig(const std::string& path,
                                                                    const LoadOptions& options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return std::unexpected(
        std::vector<Diagnostic>{Diagnostic{path, 0, 0, "cannot open the configuration file"}});
  }
  std::ostringstream text;
  text << in.rdbuf();
  return ParseAgentConfig(text.str(), path, options);
}

}  // namespace vigil::agent::app
