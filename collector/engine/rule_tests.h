#pragma once
// Runs the example events rules carry (`vigil: tests:`) through an Engine and
// compares the outcome with `expect: match|no_match`; and lints a loaded set
// for problems only evaluation reveals (a filter that hides a rule's own
// positive example). Used by `vigilctl rules test|check` and CI. Each test
// case runs on a fresh Engine, so cases cannot influence each other.
// Stateless functions: thread-safe.

#include <expected>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "collector/engine/event.h"
#include "collector/engine/loader/diagnostic.h"
#include "collector/engine/rule_set.h"

namespace vigil::collector::engine {

struct TestOutcome {
  std::string rule_id;
  std::string test_name;
  std::string file;
  int line = 0;
  bool expect_match = true;
  bool matched = false;
  size_t events = 0;
  std::string error;  ///< the events could not be built (bad field value, ...)

  bool passed() const { return error.empty() && matched == expect_match; }
};

struct RuleTestOptions {
  bool apply_filters = true;
  /// Only the tests of these rule ids (empty: all).
  std::vector<std::string> only;
};

std::vector<TestOutcome> RunRuleTests(const std::shared_ptr<const RuleSet>& rules,
                                      const RuleTestOptions& options = {});

/// The events of one test case: defaults (`ts` one second after the
/// previous event, starting 2023-11-14T22:13:20Z), `repeat`/`every`/`increment`,
/// and "{n}" in string values replaced by the copy number.
std::expected<std::vector<Event>, std::string> BuildTestEvents(const TestCaseSpec& test,
                                                               std::optional<LogType> default_log);

/// Warnings: rules whose positive examples stop matching once filters apply.
std::vector<Diagnostic> LintRuleSet(const std::shared_ptr<const RuleSet>& rules);

}  // namespace vigil::collector::engine
