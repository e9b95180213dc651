#pragma once
// LoadRuleSet: reads rule files and list files once into memory, then runs
// reader -> resolver (references, overlays, filters, placeholders,
// correlations) -> compiler, and returns either a new immutable RuleSet or
// every error found. Meant to run off the pipeline thread (SIGHUP / a
// directory change); the result is handed to Engine::Swap(). A load that
// reports errors returns no rule set, so the running one stays. Stateless:
// concurrent loads are safe (the caller serialises reloads).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "collector/engine/loader/diagnostic.h"
#include "collector/engine/loader/reader.h"
#include "collector/engine/rule_set.h"

namespace vigil::collector::engine {

struct ListSource {
  std::string name;  ///< the placeholder name (%name%)
  std::string path;
};

/// "name=path" or "path" (the name is then the file's stem).
ListSource ParseListArgument(const std::string& arg);

struct LoadOptions {
  /// Rule files or directories (searched recursively for *.yml / *.yaml;
  /// hidden files and editor backups are skipped).
  std::vector<std::string> paths;
  /// In-memory rule files (tests, tools); loaded after `paths`.
  std::vector<SourceFile> sources;
  std::vector<ListSource> lists;
  /// Public suffix list for registered_domain; empty uses a small built-in
  /// list (with a warning).
  std::string public_suffix_file = "/usr/share/publicsuffix/public_suffix_list.dat";
  /// Load status: deprecated / unsupported rules as active (default: inactive).
  bool include_deprecated = false;
  /// Load the set without rules that have errors (reported, state rejected)
  /// instead of failing the whole load. Errors in files as a whole (YAML
  /// syntax, unreadable files, lists) still fail it.
  bool skip_rejected_rules = false;
  /// "Now" for filter expiry checks at load time; 0 = the system clock.
  int64_t now_ns = 0;
};

struct LoadResult {
  std::shared_ptr<const RuleSet> rule_set;  ///< null when the load failed
  std::vector<Diagnostic> diagnostics;      ///< all errors, warnings and notes
  std::vector<RuleSummary> rules;
  std::vector<FileInfo> files;
  std::string ruleset_hash;
  LoadCounts counts;

  bool ok() const { return rule_set != nullptr; }
  size_t errors() const { return CountSeverity(diagnostics, Severity::kError); }
  size_t warnings() const { return CountSeverity(diagnostics, Severity::kWarning); }
};

LoadResult LoadRuleSet(const LoadOptions& options);

}  // namespace vigil::collector::engine
