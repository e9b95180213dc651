#pragma once
// The vigil-agent command line (CLI11 lives only in cli.cpp: it is the most
// expensive header to compile).
//
// Free function: thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace vigil::agent::app {

enum class OutputMode : uint8_t { kDefault, kJson, kCollector };

struct CliOptions {
  std::string config_path;
  bool check_config = false;
  std::string read_file;
  std::vector<std::string> interfaces;
  std::optional<std::string> filter;
  OutputMode output = OutputMode::kDefault;
  bool verify_checksums = false;
  bool version = false;
  /// Seeds uids; set for reproducible output (tests, replays). Default: random.
  std::optional<uint64_t> seed;
  /// With --read: 0 = as fast as possible; 1 = the capture's own pace (its
  /// timestamps), 10 = ten times faster.
  double replay_speed = 0;
};

struct CliResult {
  CliOptions options;
  bool exit = false;  ///< --help, or a usage error: exit with `exit_code`
  int exit_code = 0;
};

/// Parses argv; prints help or usage errors itself.
CliResult ParseCommandLine(int argc, char** argv);

}  // namespace vigil::agent::app
