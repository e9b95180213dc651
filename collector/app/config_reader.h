#pragma once
// Maps YAML documents onto typed config structs while collecting every
// problem as a Diagnostic with file:line:column, so an operator sees all
// mistakes at once. yaml-cpp exceptions never escape: a syntax error becomes
// one diagnostic at the parser's position. Not thread-safe; one reader per
// file being loaded.

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace vigil::collector::app {

struct Diagnostic {
  std::string file;
  int line = 0;    ///< 1-based; 0 when the problem is not in the file
  int column = 0;  ///< 1-based
  std::string message;
  /// "file:line:column: error: message"
  std::string ToString() const;
};

class ConfigReader {
 public:
  explicit ConfigReader(std::string file) : file_(std::move(file)) {}

  /// Parses `text`; returns the root node, or a null node after recording
  /// the syntax error.
  YAML::Node Parse(const std::string& text);

  void Error(const YAML::Node& at, std::string message);
  void Error(std::string message);
  const std::vector<Diagnostic>& diagnostics() const { return diagnostics_; }
  bool ok() const { return diagnostics_.empty(); }
  const std::string& file() const { return file_; }

  /// Visits a mapping: calls the handler of each known key and reports
  /// unknown keys, duplicate keys, and a node that is not a mapping.
  using KeyHandler = std::function<void(const YAML::Node& value)>;
  void Map(const YAML::Node& node, std::string_view what,
           const std::map<std::string, KeyHandler, std::less<>>& handlers);

  // Scalar readers: on a wrong type they record an error and leave `out`.
  void Read(const YAML::Node& n, std::string& out);
  void Read(const YAML::Node& n, bool& out);
  void Read(const YAML::Node& n, uint64_t& out, uint64_t min = 0, uint64_t max = UINT64_MAX);
  void Read(const YAML::Node& n, std::vector<std::string>& out);
  /// "500ms", "30s", "5m", "2h", "7d".
  void ReadDuration(const YAML::Node& n, std::chrono::milliseconds& out);
  /// "512KiB", "64MiB", "2GiB", "1000" (bytes).
  void ReadSize(const YAML::Node& n, uint64_t& out);

 private:
  std::string file_;
  std::vector<Diagnostic> diagnostics_;
};

/// Parses durations and sizes (exposed for tests and CLI flags).
bool ParseDuration(std::string_view text, std::chrono::milliseconds& out);
bool ParseSize(std::string_view text, uint64_t& out);

}  // namespace vigil::collector::app
