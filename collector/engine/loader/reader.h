#pragma once
// Reader: the first loading stage. Turns the bytes of one rule file (YAML,
// one or more documents) into DocSpecs with positions, reporting every
// syntax and schema problem (unknown keys, wrong types, legacy syntax) as a
// Diagnostic. Knows nothing of fields, lists or other files. yaml-cpp
// exceptions stop here. Stateless functions: thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "collector/engine/loader/diagnostic.h"
#include "collector/engine/loader/spec.h"

namespace vigil::collector::engine {

struct SourceFile {
  std::string path;
  std::string bytes;
};

std::vector<DocSpec> ReadRuleFile(const SourceFile& file, std::vector<Diagnostic>& diags);

/// Lower-case hex SHA-256.
std::string Sha256Hex(std::string_view bytes);

/// The longest timespan ParseTimespan() accepts: 10 years of 365 days.
inline constexpr int64_t kMaxTimespanNs = int64_t{10} * 365 * 86400 * 1'000'000'000;

/// "30s", "5m", "2h", "1d" (and pySigma's "w", "M" = 30 d, "y" = 365 d), up
/// to kMaxTimespanNs; nullopt for anything else.
std::optional<int64_t> ParseTimespan(std::string_view text);

/// "2025-12-31" (end of that UTC day) or an RFC 3339 UTC time
/// "2025-12-31T18:00:00Z": the instant something stops applying, in ns.
/// Instants past int64 nanoseconds (year 2262 on, e.g. the "never" idiom
/// "9999-12-31") saturate to INT64_MAX; dates before 1970 and unparsable
/// text give nullopt.
std::optional<int64_t> ParseExpiry(std::string_view text);

}  // namespace vigil::collector::engine
