// Fuzzes the strict JSON reader and the JSON event adapter: any bytes give
// an event or a named error; an accepted event renders to JSON that reads
// back to the same event (the adapters are lossless).
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "collector/engine/event_json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vigil::collector::engine;  // NOLINT
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  JsonAdapterStats stats;
  auto e = EventFromJson(line, {}, LogType::kConn, &stats);
  if (!e) {
    if (e.error().code.empty()) std::abort();  // every error has a name
    return 0;
  }
  const std::string rendered = e->ToJson();
  auto again = EventFromJson(rendered, {}, LogType::kConn);
  if (!again) std::abort();
  if (!(again->ToJson() == rendered)) std::abort();
  return 0;
}
