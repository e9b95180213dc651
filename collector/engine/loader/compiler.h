#pragma once
// Compiler: the last loading stage for one detection (or filter) body.
// Checks modifiers and values against Sigma's rules, expands placeholders
// from lists, resolves field names for the rule's log type through the
// FieldCatalog, builds the Program, and derives the candidate-index anchor.
// Reports through the context's diagnostics; never throws (RE2 and
// conversion failures become diagnostics). Stateless: thread-safe.

#include <optional>
#include <string>
#include <vector>

#include "collector/engine/loader/diagnostic.h"
#include "collector/engine/loader/lists.h"
#include "collector/engine/loader/spec.h"
#include "collector/engine/rule_set.h"

namespace vigil::collector::engine {

struct CompileContext {
  CompileContext(const DocSpec& d, std::optional<LogType> l, const ListSet& ls,
                 std::vector<Diagnostic>& out)
      : doc(d), log(l), lists(ls), diags(out) {}

  const DocSpec& doc;
  /// The log type the rule reads; nullopt checks syntax only (rules for logs
  /// Vigil does not produce: their fields are not Vigil's).
  std::optional<LogType> log;
  const ListSet& lists;
  std::vector<Diagnostic>& diags;
  bool errors = false;
  /// Taxonomy fields the rule uses that Vigil does not produce.
  std::vector<std::string> unavailable;

  void Report(Severity sev, std::string code, std::string message, Pos pos);
};

struct CompiledDetection {
  Program program;
  std::string condition_text;
  bool has_not = false;  ///< the condition contains a `not` (filters must)
};

std::optional<CompiledDetection> CompileDetection(const DetectionSpec& spec, CompileContext& ctx);

/// Resolves a field name used outside detections (group-by, throttle,
/// correlation fields) for `ctx.log`.
std::optional<FieldRef> ResolveField(const std::string& name, Pos pos, CompileContext& ctx);

/// The literals a rule cannot match without; nullopt when there is no such
/// anchor (the rule is then evaluated on every event of its log).
std::optional<std::vector<AnchorKey>> ComputeAnchor(const Program& program, LogType log);

/// Warns about conjunctions that can never hold (a field required to equal
/// two different values, or to be both null and a value).
void CheckContradictions(const Program& program, LogType log, CompileContext& ctx, Pos pos);

}  // namespace vigil::collector::engine
