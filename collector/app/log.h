#pragma once
// The collector's log: one line per event on stderr (journald adds its own
// metadata under systemd), UTC RFC 3339 timestamps, a level, and key=value
// fields. Thread-safe. Never pass secrets (keys, passwords) to it.

#include <atomic>
#include <string_view>

namespace vigil::collector::app {

enum class LogLevel : int { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

class Log {
 public:
  static void SetLevel(LogLevel level) { level_.store(level, std::memory_order_relaxed); }
  static bool SetLevel(std::string_view name);
  static bool Enabled(LogLevel level) { return level >= level_.load(std::memory_order_relaxed); }
  static void Write(LogLevel level, std::string_view message);

 private:
  static std::atomic<LogLevel> level_;
};

inline void LogDebug(std::string_view m) { Log::Write(LogLevel::kDebug, m); }
inline void LogInfo(std::string_view m) { Log::Write(LogLevel::kInfo, m); }
inline void LogWarning(std::string_view m) { Log::Write(LogLevel::kWarning, m); }
inline void LogError(std::string_view m) { Log::Write(LogLevel::kError, m); }

}  // namespace vigil::collector::app
