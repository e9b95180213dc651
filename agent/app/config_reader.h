#pragma once
// Maps a YAML document onto typed config structs while collecting every
// problem as a Diagnostic with file:line:column, so an operator sees all
// mistakes at once. yaml-cpp exceptions never escape: a syntax error becomes
// one diagnostic at the parser's position.
//
// One reader per file being loaded. Not thread-safe.

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace vigil::agent::app {

struct Diagnostic {
  std::string file;
  int line = 0;    ///< 1-based; 0 when the problem has no position
  int column = 0;  ///< 1-based
  std::string message;
  /// "file:line:column: error: message"
  std::string ToString() const;
};

class ConfigReader {
 public:
  explicit ConfigReader(std::string file) : file_(std::move(file)) {}

  /// Parses `text`; on a syntax error records it and returns a null node.
  YAML::Node Parse(const std::string& text);

  void Error(const YAML::Node& at, std::string message);
  void Error(const YAML::Mark& at, std::string message);
  void Error(std::string message);
  const std::vector<Diagnostic>& diagnostics() const { return diagnostics_; }
  bool ok() const { return diagnostics_.empty(); }
  const std::string& file() const { return file_; }

  /// Visits a mapping: calls the handler of each known key; reports unknown
  /// and duplicate keys, and a node that is not a mapping.
  using KeyHandler = std::function<void(const YAML::Node& value)>;
  void Map(const YAML::Node& node, std::string_view what,
           const std::map<std::string, KeyHandler, std::less<>>& handlers);

  // Scalar readers: on a wrong type they record an error and leave `out`.
  void Read(const YAML::Node& n, std::string& out);
  void Read(const YAML::Node& n, bool& out);
  void Read(const YAML::Node& n, uint64_t& out, uint64_t min = 0, uint64_t max = UINT64_MAX);
  void Read(const YAML::Node& n, uint32_t& out, uint32_t min = 0, uint32_t max = UINT32_MAX);
  void Read(const YAML::Node& n, std::vector<std::string>& out);
  /// "500ms", "30s", "5m", "2h", "7d".
  void ReadDuration(const YAML::Node& n, std::chrono::milliseconds& out,
                    std::chrono::milliseconds min = std::chrono::milliseconds(0));
  /// "512KiB", "64MiB", "2GiB", "1000" (bytes).
  void ReadSize(const YAML::Node& n, uint64_t& out, uint64_t min = 0);

 private:
  bool Scalar(const YAML::Node& n, std::string_view expected);

  std::string file_;
  std::vector<Diagnostic> diagnostics_;
};

bool ParseDuration(std::string_view text, std::chrono::milliseconds& out);
bool ParseSize(std::string_view text, uint64_t& out);

}  // namespace vigil::agent::app
