#pragma once
// The error type of every control-plane call of the incident store. A value,
// no exceptions: callers decide whether to retry (kBusy), report and exit
// (vigilctl), or refuse to acknowledge a batch (the collector pipeline).

#include <string>
#include <string_view>

namespace vigil::collector::incidents {

enum class ErrorCode {
  kIo,                 ///< file cannot be opened, read or written
  kSqlite,             ///< SQLite reported an error (message says which)
  kBusy,               ///< another writer held the lock past the busy timeout
  kSchemaTooNew,       ///< the database was written by a newer Vigil
  kSchemaInvalid,      ///< not a Vigil incident log, or a damaged schema
  kKey,                ///< signing/verification key missing, unreadable or wrong type
  kInvalidArgument,    ///< bad filter, time, duration, format ...
  kNotFound,           ///< no such incident
  kInvalidTransition,  ///< lifecycle change not allowed from the current status
};

std::string_view ErrorCodeName(ErrorCode code);

struct StoreError {
  ErrorCode code = ErrorCode::kSqlite;
  std::string message;

  std::string ToString() const { return std::string(ErrorCodeName(code)) + ": " + message; }
};

}  // namespace vigil::collector::incidents
