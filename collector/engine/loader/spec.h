#pragma once
// Spec structs: what the reader extracts from rule YAML, before any
// semantic check. Every piece carries its position so later stages
// (resolver, compiler) can report file:line:column. Plain values.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "collector/engine/json_reader.h"

namespace vigil::collector::engine {

struct Pos {
  int line = 0;    ///< 1-based
  int column = 0;  ///< 1-based
};

/// A YAML scalar typed as PyYAML (YAML 1.1) types it: quoted scalars are
/// strings, plain ones may be null, bool, int or float.
struct RuleValue {
  enum class Type : uint8_t { kNull, kBool, kInt, kFloat, kString };
  Type type = Type::kString;
  std::string text;  ///< the scalar as written (after YAML unquoting)
  bool b = false;
  int64_t i = 0;
  double d = 0;
  Pos pos;
  /// Canonical text: decimal for numbers ("23" for 0x17), "true"/"false".
  std::string CanonicalText() const;
};

struct Named {
  std::string text;
  Pos pos;
};

/// `field|mod1|mod2: values` (field empty for keyword items).
struct ItemSpec {
  std::string key;  ///< as written
  Pos pos;
  std::string field;
  std::vector<Named> modifiers;
  std::vector<RuleValue> values;
  bool keyword = false;  ///< from a keyword list (no key at all)
};

/// A search identifier: OR over AND-groups of items. A map is one group; a
/// list of maps is one group per map; a list of scalars is one keyword item.
struct SelectionSpec {
  std::string name;
  Pos pos;
  std::vector<std::vector<ItemSpec>> any_of;
};

struct DetectionSpec {
  Pos pos;
  std::vector<SelectionSpec> selections;
  std::vector<Named> conditions;  ///< a YAML list of conditions means OR
};

struct LogsourceSpec {
  Pos pos;
  std::optional<Named> category;
  std::optional<Named> product;
  std::optional<Named> service;
};

struct ThrottleSpec {
  Pos pos;
  uint64_t max_alerts = 0;
  int64_t window_ns = 0;
  std::vector<Named> group_by;
};

/// One example event: Zeek JSON members written as YAML, optionally repeated
/// (`repeat`, `every`, `increment`) to build correlation inputs compactly.
struct TestEventSpec {
  Pos pos;
  JsonMembers members;
  int repeat = 1;
  int64_t every_ns = 1'000'000'000;
  std::vector<Named> increment;  ///< numeric fields +1, IPv4 address fields +1 per copy
};

struct TestCaseSpec {
  Pos pos;
  std::string name;
  bool expect_match = true;
  std::vector<TestEventSpec> events;
};

/// The `vigil:` block of a rule (Vigil's own keys, ignored by other tools).
struct VigilSpec {
  Pos pos;
  std::optional<Named> mode;  ///< "shadow" | "enforce"
  std::optional<ThrottleSpec> throttle;
  std::vector<Named> group_by;  ///< fields forming a detection alert's group key
  std::vector<TestCaseSpec> tests;
};

struct CorrelationSpec {
  Pos pos;
  Named type;
  std::vector<Named> rules;
  std::vector<Named> group_by;
  Named timespan;
  Pos condition_pos;
  struct Op {
    std::string op;  ///< gt gte lt lte eq neq
    double value = 0;
    Pos pos;
  };
  std::vector<Op> condition;
  std::vector<Named> fields;  ///< condition.field (value_count may list several)
  /// aliases: alias -> (rule reference -> field)
  std::map<std::string, std::map<std::string, Named>> aliases;
  Pos aliases_pos;
  bool generate = false;
};

struct FilterSpec {
  Pos pos;
  bool any_rule = false;
  std::vector<Named> rules;
  DetectionSpec detection;
  std::optional<Named> expires;
};

/// A Vigil overlay: per-rule settings applied without editing the rule.
struct OverlaySpec {
  Pos pos;
  std::vector<Named> rules;
  std::optional<Named> mode;
  std::optional<ThrottleSpec> throttle;
  std::optional<Named> level;
};

enum class DocKind : uint8_t { kDetection, kCorrelation, kFilter, kOverlay };
std::string_view DocKindName(DocKind k);

struct DocSpec {
  DocKind kind = DocKind::kDetection;
  std::string file;
  std::string file_hash;
  Pos pos;
  int doc_index = 0;
  std::optional<Named> id;
  std::optional<Named> name;
  std::optional<Named> title;
  std::optional<Named> status;
  std::optional<Named> level;
  std::string description;
  std::string author;
  std::vector<std::string> tags;
  std::vector<std::string> falsepositives;
  std::optional<LogsourceSpec> logsource;
  std::optional<DetectionSpec> detection;
  std::optional<CorrelationSpec> correlation;
  std::optional<FilterSpec> filter;
  std::optional<OverlaySpec> overlay;
  VigilSpec vigil;
  std::string content_hash;  ///< SHA-256 of the document's canonical YAML
  /// Set by the reader when a problem makes the document unusable.
  bool broken = false;
  /// Errors the reader reported for this document.
  int reader_errors = 0;

  /// id, else name, else title: what diagnostics and alerts call the rule.
  std::string Handle() const;
};

}  // namespace vigil::collector::engine
