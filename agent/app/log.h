#pragma once
// The agent's log: one line per event on stderr,
// "2024-05-01T12:00:00Z vigil-agent[info]: message". Never log secrets (key
// material, PEM contents); paths and addresses are fine.
//
// Thread-safe: each line is written with one fwrite under a mutex.

#include <string_view>

#include "agent/app/agent_config.h"

namespace vigil::agent::app {

void SetLogLevel(LogLevel level);
void Log(LogLevel level, std::string_view message);
inline void LogDebug(std::string_view m) { Log(LogLevel::kDebug, m); }
inline void LogInfo(std::string_view m) { Log(LogLevel::kInfo, m); }
inline void LogWarning(std::string_view m) { Log(LogLevel::kWarning, m); }
inline void LogError(std::string_view m) { Log(LogLevel::kError, m); }

}  // namespace vigil::agent::app
