#pragma once
// A small strict JSON reader (RFC 8259) for Zeek-style log lines: one object
// per call, nested objects flattened into dotted keys ("id": {"orig_h": ..}
// becomes "id.orig_h"), arrays of scalars kept as arrays. Rejects what a
// lenient parser would guess at: trailing data, duplicate keys, invalid
// UTF-8, raw control characters, lone surrogates, leading zeros, NaN. Bounded
// depth and size. Never throws; stateless, thread-safe.

#include <cstddef>
#include <expected>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "collector/engine/value.h"

namespace vigil::collector::engine {

struct JsonError {
  std::string code;  ///< stable snake_case: "unexpected_character", "duplicate_key", ...
  size_t offset = 0;
  std::string message;
};

struct JsonLimits {
  size_t max_bytes = 1 << 20;
  size_t max_depth = 16;
};

using JsonMembers = std::vector<std::pair<std::string, Value>>;

/// Parses one JSON object into flattened members, in document order.
std::expected<JsonMembers, JsonError> ParseJsonObject(std::string_view text,
                                                      const JsonLimits& limits = {});

}  // namespace vigil::collector::engine
