// Fuzzes the collector's YAML configuration parser: any bytes must give
// either a config or diagnostics with a location, never a crash, a hang or
// an escaped exception (yaml-cpp throws; the reader must catch).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "collector/app/collector_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto c = vigil::collector::app::ParseCollectorConfig(text, "fuzz.yaml", "/etc/vigil");
  if (!c && c.error().empty()) std::abort();  // a failure must say why
  return 0;
}
