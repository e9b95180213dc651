#pragma once
// RuleSet: one loaded, compiled, immutable generation of rules — detection
// rules with their filters, correlations, the candidate index per log type,
// the public suffix list, per-rule example tests, and what the loader found
// (per-file hashes, the ruleset hash, per-rule state and reason). Built by
// LoadRuleSet(), shared read-only (std::shared_ptr<const RuleSet>) between
// the loader thread and the engine: thread-safe.

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "collector/engine/alert.h"
#include "collector/engine/fields/field_catalog.h"
#include "collector/engine/fields/public_suffix.h"
#include "collector/engine/loader/diagnostic.h"
#include "collector/engine/loader/spec.h"
#include "collector/engine/match/aho_corasick.h"
#include "collector/engine/match/ip_set.h"
#include "collector/engine/match/item.h"
#include "collector/engine/program.h"

namespace vigil::collector::engine {

enum class RuleState : uint8_t { kActive, kInactive, kRejected };
std::string_view RuleStateName(RuleState s);  // "active", "inactive", "rejected"

struct RuleMeta {
  std::string id;  ///< `id`, else `name`, else title (what alerts and metrics use)
  std::string name;
  std::string title;
  Level level = Level::kMedium;
  std::string author;
  std::vector<std::string> tags;
  std::string description;
  std::vector<std::string> falsepositives;
  std::string status;
  std::string file;
  std::string file_hash;
  int line = 0;
  std::string content_hash;  ///< of the rule's own document; state survives reloads while it holds
};

struct Throttle {
  uint64_t max_alerts = 0;
  int64_t window_ns = 0;
  std::vector<FieldRef> group_by;  ///< for detections; correlations throttle per correlation group
  std::vector<std::string> group_names;
};

/// A filter compiled for one rule's log type.
struct AppliedFilter {
  uint32_t filter = 0;  ///< index into RuleSet::filters
  Program program;
};

/// A literal the rule needs, for the candidate index.
struct AnchorKey {
  enum class Kind : uint8_t { kExact, kSubstring, kCidr };
  Kind kind = Kind::kExact;
  FieldRef field;
  std::string text;  ///< folded
  IpNetwork network;
};

struct DetectionRule {
  RuleMeta meta;
  LogType log = LogType::kConn;
  Program program;
  std::string condition_text;  ///< normalised condition, e.g. "and(selection,not(filter))"
  std::vector<AppliedFilter> filters;
  bool shadow = false;
  bool output = true;  ///< false when only generate:false correlations use it
  std::optional<Throttle> throttle;
  std::vector<FieldRef> group_key;
  std::vector<std::string> group_key_names;
  std::vector<uint32_t> feeds;                   ///< correlations fed by this rule's matches
  std::optional<std::vector<AnchorKey>> anchor;  ///< nullopt: evaluate on every event of its log
};

enum class CorrelationType : uint8_t {
  kEventCount,
  kValueCount,
  kTemporal,
  kTemporalOrdered,
  kValueSum,
  kValueAvg,
};
std::string_view CorrelationTypeName(CorrelationType t);

struct CorrelationCondition {
  enum class Op : uint8_t { kGt, kGte, kLt, kLte, kEq, kNeq };
  struct Term {
    Op op;
    double value;
  };
  std::vector<Term> terms;  ///< all must hold (a range has two)
  bool Holds(double x) const;
  /// lt/lte/eq/neq can only be decided when the window closes.
  bool DecidedAtClose() const;
  std::string ToString() const;
};

/// How one source rule of a correlation provides the group key and value.
struct CorrelationSource {
  bool is_correlation = false;
  uint32_t index = 0;                           ///< into detections or correlations
  std::vector<FieldRef> group_refs;             ///< detection source: per group-by key
  std::vector<std::string> group_source_names;  ///< correlation source: child's group-by names
  std::vector<FieldRef> value_refs;             ///< detection source: value_count/value_sum fields
};

struct CorrelationRule {
  RuleMeta meta;
  CorrelationType type = CorrelationType::kEventCount;
  int64_t timespan_ns = 0;
  std::vector<std::string> group_by;
  CorrelationCondition condition;
  std::vector<std::string> value_fields;
  std::vector<CorrelationSource> sources;
  bool generate = false;
  bool output = true;
  bool shadow = false;
  std::optional<Throttle> throttle;
  std::vector<uint32_t> feeds;  ///< parent correlations
};

struct FilterRule {
  RuleMeta meta;
  std::optional<int64_t> expires_ns;
  bool has_not = true;
  bool any_rule = false;
  std::vector<std::string> rule_refs;
  std::vector<std::string> applied_to;  ///< rule ids it was compiled into
};

/// Candidate index of one log type.
struct LogIndex {
  struct FieldIndex {
    FieldRef field;
    std::unordered_map<std::string, std::vector<uint32_t>, StringHash, std::equal_to<>> exact;
    AhoCorasick substrings;
    IpTrie networks;
    bool has_networks = false;
  };
  std::vector<uint32_t> rules;   ///< detection indexes, in load order
  std::vector<uint64_t> always;  ///< bitset over `rules`: no anchor
  std::vector<FieldIndex> fields;
  size_t anchored = 0;
};

struct FileInfo {
  std::string path;
  std::string sha256;
  size_t bytes = 0;
  enum class Kind : uint8_t { kRules, kList } kind = Kind::kRules;
};

struct RuleSummary {
  std::string id;
  std::string title;
  std::string file;
  int line = 0;
  DocKind kind = DocKind::kDetection;
  RuleState state = RuleState::kActive;
  std::string reason;  ///< why inactive or rejected (first error)
  std::string log;     ///< "dns", ... for active detections
  bool shadow = false;
  Level level = Level::kMedium;
  std::string content_hash;
  size_t tests = 0;
};

struct LoadCounts {
  size_t active = 0;
  size_t inactive = 0;
  size_t rejected = 0;
  size_t shadow = 0;
  size_t correlations = 0;
  size_t filters = 0;
  size_t overlays = 0;
};

/// Example events attached to a rule (`vigil: tests:`).
struct RuleTests {
  std::string rule_id;
  bool is_correlation = false;
  uint32_t index = 0;
  std::string file;
  std::vector<TestCaseSpec> cases;
};

struct RuleSet {
  std::vector<DetectionRule> detections;
  std::vector<CorrelationRule> correlations;
  std::vector<FilterRule> filters;
  std::array<LogIndex, kLogTypeCount> index;
  std::shared_ptr<const PublicSuffixList> psl;
  std::string hash;  ///< SHA-256 of every loaded file's bytes, files sorted by path
  std::vector<FileInfo> files;
  std::vector<RuleSummary> summaries;
  LoadCounts counts;
  std::vector<RuleTests> tests;
  std::vector<Diagnostic> diagnostics;  ///< warnings and notes of the load that built it

  const DetectionRule* FindDetection(std::string_view id) const;
  const CorrelationRule* FindCorrelation(std::string_view id) const;
};

}  // namespace vigil::collector::engine
