#pragma once
// Time as auditors read and type it: RFC 3339 timestamps (UTC by default, or
// a display zone from the system tz database) and retention durations
// ("90d"). The store keeps integer nanoseconds since the Unix epoch, UTC.
// Free functions are thread-safe; DisplayZone serialises its use of the
// process-wide TZ variable behind a mutex (g++ 12's libstdc++ has no
// std::chrono time zones), so it is meant for vigilctl, not the packet path.

#include <chrono>
#include <cstdint>
#include <expected>
#include <string>
#include <string_view>

#include "collector/incidents/store_error.h"

namespace vigil::collector::incidents {

/// "2026-01-31T23:59:59.123456Z" (microsecond precision, always 'Z').
std::string FormatRfc3339Utc(int64_t unix_ns);

/// Accepts RFC 3339 date-times ("2026-01-31T23:59:59Z", fractional seconds up
/// to 9 digits, "+07:00" offsets, 't'/'z' in lower case) and plain dates
/// ("2026-01-31" = midnight UTC). Returns Unix nanoseconds.
std::expected<int64_t, StoreError> ParseRfc3339(std::string_view text);

/// "90d", "12h", "30m", "45s", "2w", combinations "1d12h". Whole units only.
std::expected<std::chrono::seconds, StoreError> ParseDuration(std::string_view text);

/// A named zone of the system tz database ("Asia/Ho_Chi_Minh") used to render
/// RFC 3339 times with that zone's offset ("2026-01-31T07:00:00.000000+07:00").
class DisplayZone {
 public:
  /// "UTC" or an empty name gives the UTC formatter.
  static std::expected<DisplayZone, StoreError> Load(std::string_view name);
  std::string Format(int64_t unix_ns) const;
  const std::string& name() const { return name_; }
  bool is_utc() const { return utc_; }

 private:
  std::string name_;
  bool utc_ = true;
};

}  // namespace vigil::collector::incidents
