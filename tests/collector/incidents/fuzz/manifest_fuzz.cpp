// Fuzzes the manifest reader used by `vigilctl incidents verify-export` and
// the export row counters (an export file is untrusted input to the auditor).
#include <cstdint>
#include <string_view>

#include "collector/incidents/export_manifest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace inc = vigil::collector::incidents;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)inc::ParseManifestFacts(text);
  bool ok = false;
  for (const char* format : {"csv", "jsonl", "cef", "syslog"}) {
    (void)inc::CountExportRows(format, text, ok);
  }
  return 0;
}
