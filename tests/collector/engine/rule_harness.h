#pragma once
// RuleHarness: loads inline YAML rules (and optional lists) into a RuleSet
// and runs Zeek JSON events through a real Engine, so engine tests read as
// "these rules, these events, these alerts". Test-only; single-threaded.

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "collector/engine/engine.h"
#include "collector/engine/event_json.h"
#include "collector/engine/loader/load.h"

namespace vigil::testing {

namespace engine = vigil::collector::engine;

/// Loads YAML text as one in-memory rule file named `name`.
inline engine::LoadResult LoadYaml(const std::string& yaml, engine::LoadOptions options = {},
                                   const std::string& name = "inline.yml") {
  options.sources.push_back(engine::SourceFile{name, yaml});
  return engine::LoadRuleSet(options);
}

/// Writes a temporary file that is removed with the object.
class TempFile {
 public:
  TempFile(const std::string& name, const std::string& content) {
    dir_ = std::filesystem::temp_directory_path() /
           ("vigil-engine-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / name).string();
    Write(content);
  }
  ~TempFile() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  void Write(const std::string& content) const {
    std::ofstream out(path_, std::ios::binary | std::ios::trunc);
    out << content;
  }
  const std::string& path() const { return path_; }
  std::string dir() const { return dir_.string(); }

 private:
  static inline int counter_ = 0;
  std::filesystem::path dir_;
  std::string path_;
};

inline engine::Event Ev(const std::string& json, engine::EventOrigin origin = {}) {
  auto e = engine::EventFromJson(json, origin);
  if (!e) {
    ADD_FAILURE() << "bad test event: " << e.error().code << ": " << e.error().message << " in "
                  << json;
    return engine::Event(engine::LogType::kConn);
  }
  return std::move(*e);
}

class RuleHarness {
 public:
  explicit RuleHarness(const std::string& yaml, engine::LoadOptions options = {},
                       engine::EngineOptions engine_options = {})
      : engine_(engine_options) {
    result_ = LoadYaml(yaml, std::move(options));
    if (!result_.ok()) {
      std::string all;
      for (const auto& d : result_.diagnostics) all += d.ToString() + "\n";
      ADD_FAILURE() << "rules did not load:\n" << all;
      return;
    }
    engine_.Swap(result_.rule_set);
  }

  /// Alerts this event raises.
  std::vector<engine::Alert> Run(const std::string& json) {
    std::vector<engine::Alert> out;
    engine_.Evaluate(Ev(json), out);
    return out;
  }
  std::vector<engine::Alert> Run(const engine::Event& e) {
    std::vector<engine::Alert> out;
    engine_.Evaluate(e, out);
    return out;
  }
  /// Whether rule `id` raises a detection alert for this event.
  bool Fires(const std::string& json, const std::string& id = "r") {
    for (const auto& a : Run(json)) {
      if (a.rule_id == id) return true;
    }
    return false;
  }
  std::vector<engine::Alert> Advance(int64_t now_ns) {
    std::vector<engine::Alert> out;
    engine_.AdvanceTime(now_ns, out);
    return out;
  }

  engine::Engine& engine() { return engine_; }
  const engine::LoadResult& result() const { return result_; }

 private:
  engine::LoadResult result_;
  engine::Engine engine_;
};

/// Only the diagnostics with `code`.
inline std::vector<engine::Diagnostic> WithCode(const engine::LoadResult& r,
                                                const std::string& code) {
  std::vector<engine::Diagnostic> out;
  for (const auto& d : r.diagnostics) {
    if (d.code == code) out.push_back(d);
  }
  return out;
}

inline std::string AllDiagnostics(const engine::LoadResult& r) {
  std::string all;
  for (const auto& d : r.diagnostics) all += d.ToString() + "\n";
  return all;
}

/// A one-rule YAML document with id "r" for the given log and detection.
inline std::string Rule(const std::string& logsource, const std::string& detection,
                        const std::string& extra = "") {
  return "title: test rule\nid: r\nlevel: high\nlogsource:\n" + logsource + "\ndetection:\n" +
         detection + "\n" + extra;
}

inline const char* kDns = "  product: zeek\n  service: dns";
inline const char* kConn = "  product: zeek\n  service: conn";
inline const char* kHttp = "  product: zeek\n  service: http";
inline const char* kSsl = "  product: zeek\n  service: ssl";

}  // namespace vigil::testing
