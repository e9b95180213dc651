// Fuzzes the test-side exposition parser (tests/collector/metrics/support):
// it reads whatever a server sends, so it must reject garbage with an error,
// never crash or loop.

#include <cstdint>
#include <string_view>

#include "tests/collector/metrics/support/exposition.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = vigil::testing::ParseExposition(text);
  if (parsed) {
    for (const auto& s : parsed->samples) (void)vigil::testing::Find(*parsed, s.name, s.labels);
  }
  return 0;
}
