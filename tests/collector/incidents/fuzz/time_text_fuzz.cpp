// Fuzzes RFC 3339 and duration parsing; every accepted time must survive a
// format/parse round trip (to the microsecond the formatter keeps).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "collector/incidents/time_text.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace inc = vigil::collector::incidents;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto t = inc::ParseRfc3339(text)) {
    const std::string formatted = inc::FormatRfc3339Utc(*t);
    auto again = inc::ParseRfc3339(formatted);
    const int64_t floor_us = *t - (((*t % 1000) + 1000) % 1000);
    if (!again || *again != floor_us) {
      std::fprintf(stderr, "round trip failed: %s\n", formatted.c_str());
      std::abort();
    }
  }
  (void)inc::ParseDuration(text);
  return 0;
}
