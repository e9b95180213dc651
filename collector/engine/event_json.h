#pragma once
// Adapter from one Zeek-style JSON log line (what `vigil-agent --output json`
// writes) to the engine's Event. Field values are normalised to the types of
// docs/records.md exactly as EventFromProto produces them (counts as
// integers, times and intervals as seconds rounded to the microsecond), so
// both adapters yield equal Events for the same record. Free functions:
// thread-safe; JsonAdapterStats is owned and synchronised by the caller.

#include <cstdint>
#include <expected>
#include <optional>
#include <string_view>

#include "collector/engine/event.h"
#include "collector/engine/event_proto.h"
#include "collector/engine/json_reader.h"

namespace vigil::collector::engine {

/// Non-fatal findings while adapting lines: the record is kept.
struct JsonAdapterStats {
  uint64_t type_mismatches = 0;  ///< a known field with an unexpected JSON type (kept as given)
  uint64_t unknown_fields = 0;   ///< keys the catalog does not know (kept as extras)
};

/// `default_log` is used when the line has no `_path` (plain Zeek JSON logs).
/// Origin fields that are set override the line's vigil.agent/vigil.agency.
std::expected<Event, AdapterError> EventFromJson(std::string_view line, const EventOrigin& origin,
                                                 std::optional<LogType> default_log = std::nullopt,
                                                 JsonAdapterStats* stats = nullptr);

/// The same, from members already parsed (rule test examples written in YAML).
std::expected<Event, AdapterError> EventFromMembers(JsonMembers members, const EventOrigin& origin,
                                                    std::optional<LogType> default_log,
                                                    JsonAdapterStats* stats = nullptr);

}  // namespace vigil::collector::engine
