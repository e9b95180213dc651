#pragma once
// The collector's configuration: typed structs mapped from YAML
// (docs/configuration.md is the reference). Loading never throws and reports
// every error with file:line:column. Plain values; copy freely.

#include <chrono>
#include <cstdint>
#include <expected>
#include <map>
#include <string>
#include <vector>

#include "collector/app/config_reader.h"

namespace vigil::collector::app {

struct TlsConfig {
  std::string ca, cert, key, crl;
};

struct AgentIdentityConfig {
  std::string identity;  ///< certificate CN
  std::string agency;
  std::string site;
};

struct RulesConfig {
  std::vector<std::string> directories;
  std::vector<std::string> filters;
  std::map<std::string, std::string> lists;  ///< placeholder name -> file
  bool watch = true;
};

struct ForwardConfig {
  std::string address;  ///< host:port or [v6]:port as written; empty = off
  std::string host;     ///< parsed from address (brackets removed)
  uint16_t port = 0;    ///< parsed from address
  std::string ca;
  std::string cert, key;  ///< optional client certificate
  uint64_t buffer_max_alerts = 100000;
};

struct IncidentsConfig {
  std::string database;
  std::chrono::milliseconds group_window{std::chrono::hours(1)};
  std::string signing_key;
  uint64_t checkpoint_interval = 1000;
  std::chrono::milliseconds retention{std::chrono::hours(24 * 365)};
  ForwardConfig forward;
};

struct MetricsConfig {
  std::string listen = "127.0.0.1:9100";
  uint64_t top_talkers = 20;
};

struct CollectorConfig {
  std::string listen = "0.0.0.0:7443";
  TlsConfig tls;
  bool insecure_plaintext = false;
  std::vector<AgentIdentityConfig> agents;
  bool allow_unlisted_agents = false;
  std::chrono::milliseconds heartbeat_silence_after{30000};
  RulesConfig rules;
  IncidentsConfig incidents;
  MetricsConfig metrics;
  std::string log_level = "info";
};

/// Defaults for a given state directory: the incident database and signing
/// key live there, rules come from `rules_dir`.
CollectorConfig DefaultCollectorConfig(const std::string& state_dir, const std::string& rules_dir);

/// Parses YAML text; relative paths resolve against `base_dir`. On failure
/// returns every diagnostic.
std::expected<CollectorConfig, std::vector<Diagnostic>> ParseCollectorConfig(
    const std::string& text, const std::string& file_name, const std::string& base_dir,
    CollectorConfig defaults = {});

/// Reads and parses a file.
std::expected<CollectorConfig, std::vector<Diagnostic>> LoadCollectorConfig(
    const std::string& path, CollectorConfig defaults = {});

}  // namespace vigil::collector::app
