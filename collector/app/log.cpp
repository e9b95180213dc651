#include "collector/app/log.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <string>

namespace vigil::collector::app {

std::atomic<LogLevel> Log::level_{LogLevel::kInfo};

bool Log::SetLevel(std::string_view name) {
  if (name == "debug") {
    SetLevel(LogLevel::kDebug);
  } else if (name == "info") {
    SetLevel(LogLevel::kInfo);
  } else if (name == "warning") {
    SetLevel(LogLevel::kWarning);
  } else if (name == "error") {
    SetLevel(LogLevel::kError);
  } else {
    return false;
  }
  return true;
}

void Log::Write(LogLevel level, std::string_view message) {
  if (!Enabled(level)) return;
  static constexpr const char* kNames[] = {"DEBUG", "INFO", "WARNING", "ERROR"};
  const auto now = std::chrono::system_clock::now();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch());
  const std::time_t secs = static_cast<std::time_t>(ms.count() / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char stamp[64];
  std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms.count() % 1000));
  // One fwrite per line under a lock so lines from threads never interleave.
  static std::mutex mu;
  std::string line;
  line.reserve(message.size() + 48);
  line.append(stamp).append(" ").append(kNames[static_cast<int>(level)]).append(" ");
  line.append(message).append("\n");
  std::lock_guard lock(mu);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace vigil::collector::app
