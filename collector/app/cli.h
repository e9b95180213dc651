#pragma once
// Command-line options of vigil-collector. Parsing lives in cli.cpp, the
// only translation unit that includes CLI11 (it is expensive to compile).

#include <optional>
#include <string>

namespace vigil::collector::app {

struct CollectorOptions {
  std::string config_path;          ///< --config; empty = embedded defaults
  bool check_config = false;        ///< --check-config: validate and exit
  std::string state_dir;            ///< --state-dir: database, key (defaults)
  std::string rules_dir;            ///< --rules: rule folder for embedded defaults
  std::string listen;               ///< --listen overrides the config
  std::string metrics_listen;       ///< --metrics-listen overrides the config
  std::string ready_file;           ///< --ready-file: bound addresses, written once ready
  std::string log_level;            ///< --log-level overrides the config
  bool insecure_plaintext = false;  ///< --insecure-plaintext: no TLS (lab only, warns)
};

/// Parses argv. Returns the options, or an exit code when parsing ends the
/// program (--help, --version: 0; usage error: 2).
std::optional<CollectorOptions> ParseCollectorArgs(int argc, char** argv, int& exit_code);

}  // namespace vigil::collector::app
