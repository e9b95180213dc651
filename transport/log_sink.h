#pragma once
// How vigil_transport, collector/ingest and agent/export report what an
// operator must see (rejections, reconnects, spool loss) without depending
// on either program's logger: the program passes a LogSink; the default
// writes one line to stderr. A LogSink must be thread-safe. Never give it
// secrets: key material never reaches these messages.

#include <functional>
#include <string_view>

namespace vigil::transport {

enum class LogLevel : int { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

using LogSink = std::function<void(LogLevel, std::string_view)>;

/// One line per message on stderr: "<level> <message>".
LogSink StderrLogSink();
const char* LogLevelName(LogLevel level);

}  // namespace vigil::transport
