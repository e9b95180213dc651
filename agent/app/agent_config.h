#pragma once
// The agent's configuration (docs/configuration.md, Agent section) as typed
// structs, and its loader. Every key of the schema is mapped; unknown keys,
// wrong types and out-of-range values are errors with file:line:column, all
// reported at once. Relative paths are resolved against the config file's
// folder.
//
// Plain values; LoadAgentConfig is a free function (thread-safe).

#include <chrono>
#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <vector>

#include "agent/app/config_reader.h"

namespace vigil::agent::app {

struct InterfaceConfig {
  std::string name;
  std::string bpf_filter;
  uint32_t snaplen = 65535;
  uint64_t buffer_size = 64ull << 20;
  bool promiscuous = true;
};

struct FlowTimeoutsConfig {
  std::chrono::milliseconds tcp_idle{5 * 60 * 1000};
  std::chrono::milliseconds tcp_handshake{5000};
  std::chrono::milliseconds tcp_closed{5000};
  std::chrono::milliseconds udp_idle{60 * 1000};
  std::chrono::milliseconds icmp_idle{60 * 1000};
  std::chrono::milliseconds other_idle{60 * 1000};
  std::chrono::milliseconds active{30 * 60 * 1000};
};

struct FlowConfig {
  uint32_t max_flows = 500000;
  bool include_vlan_in_key = false;
  FlowTimeoutsConfig timeouts;
};

struct AnalyzersConfig {
  bool dns = true;
  bool tls = true;
  bool http = true;
};

struct CollectorConfig {
  std::vector<std::string> addresses;
  std::string server_name;
  std::string ca, cert, key;
  bool insecure_plaintext = false;
  uint32_t batch_max_events = 1000;
  std::chrono::milliseconds batch_max_delay{1000};
  std::chrono::milliseconds heartbeat_interval{10000};
  std::chrono::milliseconds reconnect_initial_backoff{500};
  std::chrono::milliseconds reconnect_max_backoff{30000};
  uint64_t queue_max_records = 200000;
};

enum class SpoolOverflowPolicy : uint8_t { kDropOldest, kDropNewest };

struct SpoolConfig {
  std::string directory = "/var/lib/vigil-agent/spool";
  uint64_t max_size = 1ull << 30;
  SpoolOverflowPolicy overflow = SpoolOverflowPolicy::kDropOldest;
};

struct MetricsConfig {
  std::string listen;  ///< "" = no listener
};

enum class LogLevel : uint8_t { kDebug, kInfo, kWarning, kError };

struct LogConfig {
  LogLevel level = LogLevel::kInfo;
};

struct AgentConfig {
  std::string path;  ///< the file it was loaded from ("" = built-in defaults)
  std::vector<InterfaceConfig> interfaces;
  FlowConfig flow;
  AnalyzersConfig analyzers;
  std::optional<CollectorConfig> collector;
  SpoolConfig spool;
  MetricsConfig metrics;
  LogConfig log;
};

struct LoadOptions {
  /// Check that the TLS files the collector section names exist. Off only
  /// where the file describes another host (e.g. the shipped example).
  bool check_files = true;
};

/// Loads and validates `path`. On failure returns every diagnostic.
std::expected<AgentConfig, std::vector<Diagnostic>> LoadAgentConfig(
    const std::string& path, const LoadOptions& options = {});
/// Same, from text already read (`file` names it in diagnostics and anchors
/// relative paths).
std::expected<AgentConfig, std::vector<Diagnostic>> ParseAgentConfig(
    const std::string& text, const std::string& file, const LoadOptions& options = {});

}  // namespace vigil::agent::app
