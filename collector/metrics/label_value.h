#pragma once
// Label values that are safe to expose. Prometheus requires label values to
// be valid UTF-8; agent identities, agency names and rule ids come from
// certificates and files written by people, so they are cleaned once, when a
// series is created, never per scrape or per event. Pure functions.

#include <cstddef>
#include <string>
#include <string_view>

namespace vigil::collector::metrics {

/// Longest label value we expose, in bytes. Long values make every scrape
/// heavier and are always a sign of bad input (a rule id is a UUID or a short
/// dotted name; an agency name is a line of text).
inline constexpr std::size_t kMaxLabelValueBytes = 256;

/// Returns `raw` with every invalid UTF-8 sequence replaced by U+FFFD and
/// cut (at a character boundary) to kMaxLabelValueBytes.
std::string SanitizeLabelValue(std::string_view raw);

/// True when `text` is valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
bool IsValidUtf8(std::string_view text);

}  // namespace vigil::collector::metrics
