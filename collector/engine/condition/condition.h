#pragma once
// The Sigma condition language: parser and resolver. Parse() turns a
// condition string into an AST with the precedence of the specification
// (or < and < not < "x of" < brackets); Resolve() binds identifiers and
// "1 of"/"all of" patterns to the detection's search identifiers, so a
// compiled rule never looks up a name. Pure functions, thread-safe.

#include <cstddef>
#include <cstdint>
#include <expected>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace vigil::collector::engine {

struct ConditionNode {
  enum class Kind : uint8_t {
    kAnd,
    kOr,
    kNot,
    kIdentifier,  ///< name; after Resolve(): index into the identifier list
    kOneOf,       ///< "1 of"/"any of" name (pattern or "them"); Resolve() turns it into kOr
    kAllOf,       ///< "all of" name; Resolve() turns it into kAnd
  };
  Kind kind = Kind::kIdentifier;
  std::vector<std::unique_ptr<ConditionNode>> children;
  std::string name;
  int index = -1;  ///< resolved identifier index
  int column = 1;  ///< 1-based column of the token in the condition text
};

struct ConditionError {
  std::string code;  ///< "condition_syntax", "legacy_aggregation", "unknown_identifier", ...
  std::string message;
  int column = 1;
};

/// Limits ParseCondition() enforces (a "condition_syntax" error beyond
/// them), so that nothing that walks a condition recursively can exhaust
/// the stack: brackets and `not` together nest at most kMaxConditionDepth
/// levels, and a condition is at most kMaxConditionBytes long.
inline constexpr int kMaxConditionDepth = 64;
inline constexpr size_t kMaxConditionBytes = 64 * 1024;

std::expected<std::unique_ptr<ConditionNode>, ConditionError> ParseCondition(std::string_view text);

/// Binds names to `identifiers` (the detection's keys other than
/// `condition`). Patterns match whole names with `*` as the only wildcard;
/// `them` and patterns skip names starting with `_` unless the pattern does.
std::expected<void, ConditionError> ResolveCondition(ConditionNode& node,
                                                     const std::vector<std::string>& identifiers);

/// Normalised text, e.g. "and(selection,not(or(filter_a,filter_b)))".
std::string ConditionToString(const ConditionNode& node);

/// True when `pattern` (with `*` wildcards) matches all of `name`.
bool IdentifierPatternMatches(std::string_view pattern, std::string_view name);

}  // namespace vigil::collector::engine
