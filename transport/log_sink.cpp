#include "transport/log_sink.h"

#include <cstdio>
#include <string>

namespace vigil::transport {

const char* LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

LogSink StderrLogSink() {
  return [](LogLevel level, std::string_view message) {
    std::string line = LogLevelName(level);
    line += ' ';
    line.append(message);
    line += '\n';
    std::fwrite(line.data(), 1, line.size(), stderr);
  };
}

}  // namespace vigil::transport
