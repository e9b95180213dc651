#include "collector/incidents/time_text.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <mutex>

namespace vigil::collector::incidents {
namespace {

constexpr int64_t kNsPerSecond = 1'000'000'000;

// Howard Hinnant's days_from_civil / civil_from_days: proleptic Gregorian,
// independent of the TZ environment and of time_t's range.
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

struct Civil {
  int64_t year;
  unsigned month, day;
};

Civil CivilFromDays(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {y + (m <= 2 ? 1 : 0), m, d};
}

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

std::string FormatWithOffset(int64_t unix_ns, int offset_seconds) {
  const int64_t local_ns = unix_ns + static_cast<int64_t>(offset_seconds) * kNsPerSecond;
  const int64_t secs = FloorDiv(local_ns, kNsPerSecond);
  const int64_t micros = (local_ns - secs * kNsPerSecond) / 1000;
  const int64_t days = FloorDiv(secs, 86400);
  const int64_t sod = secs - days * 86400;
  const Civil c = CivilFromDays(days);
  char buf[64];
  int n = std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%06lld",
                        static_cast<long long>(c.year), c.month, c.day,
                        static_cast<long long>(sod / 3600), static_cast<long long>(sod / 60 % 60),
                        static_cast<long long>(sod % 60), static_cast<long long>(micros));
  std::string out(buf, static_cast<size_t>(n));
  if (offset_seconds == 0) {
    out += 'Z';
  } else {
    const int abs_off = offset_seconds < 0 ? -offset_seconds : offset_seconds;
    n = std::snprintf(buf, sizeof buf, "%c%02d:%02d", offset_seconds < 0 ? '-' : '+',
                      abs_off / 3600, abs_off / 60 % 60);
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

bool ReadDigits(std::string_view text, size_t& pos, size_t count, int64_t& value) {
  if (pos + count > text.size()) return false;
  value = 0;
  for (size_t i = 0; i < count; ++i) {
    const char c = text[pos + i];
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
  }
  pos += count;
  return true;
}

bool Expect(std::string_view text, size_t& pos, char c) {
  if (pos >= text.size() || text[pos] != c) return false;
  ++pos;
  return true;
}

StoreError BadTime(std::string_view text, std::string_view why) {
  return {ErrorCode::kInvalidArgument,
          "invalid time '" + std::string(text) + "': " + std::string(why) +
              " (expected RFC 3339, e.g. 2026-01-31T00:00:00Z, or a date 2026-01-31)"};
}

std::mutex& TzMutex() {
  static std::mutex mutex;
  return mutex;
}

}  // namespace

std::string FormatRfc3339Utc(int64_t unix_ns) { return FormatWithOffset(unix_ns, 0); }

std::expected<int64_t, StoreError> ParseRfc3339(std::string_view text) {
  size_t pos = 0;
  int64_t year = 0, month = 0, day = 0;
  if (!ReadDigits(text, pos, 4, year) || !Expect(text, pos, '-') ||
      !ReadDigits(text, pos, 2, month) || !Expect(text, pos, '-') ||
      !ReadDigits(text, pos, 2, day)) {
    return std::unexpected(BadTime(text, "bad date"));
  }
  static constexpr int kDaysInMonth[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12 || day < 1 || day > kDaysInMonth[month - 1]) {
    return std::unexpected(BadTime(text, "month or day out of range"));
  }
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (month == 2 && day == 29 && !leap) return std::unexpected(BadTime(text, "not a leap year"));
  const int64_t days =
      DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  if (year < 1678 || year > 2261) {
    return std::unexpected(BadTime(text, "outside the years 1678-2261"));
  }
  if (pos == text.size()) return days * 86400 * kNsPerSecond;

  if (text[pos] != 'T' && text[pos] != 't' && text[pos] != ' ') {
    return std::unexpected(BadTime(text, "expected 'T' after the date"));
  }
  ++pos;
  int64_t hour = 0, minute = 0, second = 0;
  if (!ReadDigits(text, pos, 2, hour) || !Expect(text, pos, ':') ||
      !ReadDigits(text, pos, 2, minute) || !Expect(text, pos, ':') ||
      !ReadDigits(text, pos, 2, second)) {
    return std::unexpected(BadTime(text, "bad time of day"));
  }
  // Leap second 60 is accepted by RFC 3339; like most systems we fold it
  // into the next second.
  if (hour > 23 || minute > 59 || second > 60) {
    return std::unexpected(BadTime(text, "time of day out of range"));
  }
  int64_t frac_ns = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    size_t digits = 0;
    int64_t scale = 100'000'000;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (digits < 9) frac_ns += (text[pos] - '0') * scale;
      scale /= 10;
      ++digits;
      ++pos;
    }
    if (digits == 0) return std::unexpected(BadTime(text, "empty fraction"));
  }
  if (pos >= text.size()) {
    return std::unexpected(BadTime(text, "missing time zone offset ('Z' or +hh:mm)"));
  }
  int64_t offset = 0;
  if (text[pos] == 'Z' || text[pos] == 'z') {
    ++pos;
  } else if (text[pos] == '+' || text[pos] == '-') {
    const int64_t sign = text[pos] == '-' ? -1 : 1;
    ++pos;
    int64_t oh = 0, om = 0;
    if (!ReadDigits(text, pos, 2, oh) || !Expect(text, pos, ':') || !ReadDigits(text, pos, 2, om) ||
        oh > 23 || om > 59) {
      return std::unexpected(BadTime(text, "bad offset"));
    }
    offset = sign * (oh * 3600 + om * 60);
  } else {
    return std::unexpected(BadTime(text, "bad time zone offset"));
  }
  if (pos != text.size()) return std::unexpected(BadTime(text, "trailing characters"));
  const int64_t secs = days * 86400 + hour * 3600 + minute * 60 + second - offset;
  // Nanoseconds in int64 reach from 1677 to 2262.
  constexpr int64_t kMaxSeconds = INT64_MAX / kNsPerSecond - 1;
  if (secs > kMaxSeconds || secs < -kMaxSeconds) {
    return std::unexpected(BadTime(text, "outside the years 1678-2261"));
  }
  return secs * kNsPerSecond + frac_ns;
}

std::expected<std::chrono::seconds, StoreError> ParseDuration(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return std::unexpected(StoreError{ErrorCode::kInvalidArgument,
                                      "invalid duration '" + std::string(text) +
                                          "': " + std::string(why) +
                                          " (expected e.g. 90d, 12h, 30m, 45s, 2w, 1d12h)"});
  };
  if (text.empty()) return bad("empty");
  int64_t total = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    int64_t value = 0;
    size_t digits = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (value > 1'000'000'000) return bad("too large");
      value = value * 10 + (text[pos] - '0');
      ++pos;
      ++digits;
    }
    if (digits == 0) return bad("expected a number");
    if (pos == text.size()) return bad("missing unit");
    int64_t unit = 0;
    switch (text[pos]) {
      case 's':
        unit = 1;
        break;
      case 'm':
        unit = 60;
        break;
      case 'h':
        unit = 3600;
        break;
      case 'd':
        unit = 86400;
        break;
      case 'w':
        unit = 7 * 86400;
        break;
      default:
        return bad("unknown unit");
    }
    ++pos;
    total += value * unit;
    if (total > int64_t{100} * 365 * 86400) return bad("longer than 100 years");
  }
  return std::chrono::seconds(total);
}

std::expected<DisplayZone, StoreError> DisplayZone::Load(std::string_view name) {
  DisplayZone zone;
  if (name.empty() || name == "UTC" || name == "Etc/UTC" || name == "Z") {
    zone.name_ = "UTC";
    return zone;
  }
  // Only names of the tz database: no absolute paths, no "..", no POSIX TZ
  // strings (which glibc would silently accept as "UTC" when misspelt).
  if (name.front() == '/' || name.find("..") != std::string_view::npos ||
      name.find_first_of(",<>") != std::string_view::npos) {
    return std::unexpected(StoreError{ErrorCode::kInvalidArgument,
                                      "invalid time zone name '" + std::string(name) + "'"});
  }
  const char* tzdir = std::getenv("TZDIR");
  const std::filesystem::path file =
      std::filesystem::path(tzdir != nullptr ? tzdir : "/usr/share/zoneinfo") / std::string(name);
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec)) {
    return std::unexpected(StoreError{ErrorCode::kInvalidArgument,
                                      "unknown time zone '" + std::string(name) +
                                          "' (not found in " + file.parent_path().string() +
                                          "; use a tz database name such as Asia/Ho_Chi_Minh)"});
  }
  zone.name_ = std::string(name);
  zone.utc_ = false;
  return zone;
}

std::string DisplayZone::Format(int64_t unix_ns) const {
  if (utc_) return FormatRfc3339Utc(unix_ns);
  const time_t secs = static_cast<time_t>(FloorDiv(unix_ns, kNsPerSecond));
  std::tm tm{};
  {
    std::lock_guard lock(TzMutex());
    // glibc caches the parsed zone while TZ is unchanged, so this is cheap
    // for every row of one export.
    const char* current = std::getenv("TZ");
    const std::string wanted = ":" + name_;
    if (current == nullptr || wanted != current) {
      setenv("TZ", wanted.c_str(), 1);
      tzset();
    }
    localtime_r(&secs, &tm);
  }
  return FormatWithOffset(unix_ns, static_cast<int>(tm.tm_gmtoff));
}

}  // namespace vigil::collector::incidents
