// Fuzzes the agent's YAML configuration parser: any bytes must give either
// a config or diagnostics, never a crash, a hang or an escaped exception.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "agent/app/agent_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto c = vigil::agent::app::ParseAgentConfig(text, "fuzz.yaml");
  if (!c && c.error().empty()) std::abort();
  return 0;
}
