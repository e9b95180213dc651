#pragma once
// Adapter from the wire record (vigil::v1::Event) to the engine's Event: a
// visitor of the record's Zeek view (proto/vigil/v1/zeek/zeek_view.h), the
// same view the agent's JSON writer renders, so EventFromProto and
// EventFromJson of the agent's line for one record yield equal Events.
// Stateless free functions: thread-safe.

#include <expected>
#include <string>

#include "collector/engine/event.h"

namespace vigil::v1 {
class Event;
}

namespace vigil::collector::engine {

/// Why a wire record could not become an event. `code` is a stable
/// snake_case anomaly name for the caller's counters.
struct AdapterError {
  std::string code;     ///< e.g. "record_without_payload", "bad_address_length"
  std::string message;  ///< human detail
  size_t offset = 0;    ///< byte offset for JSON input (0 for protobuf)
};

std::expected<Event, AdapterError> EventFromProto(const vigil::v1::Event& record,
                                                  const EventOrigin& origin);

}  // namespace vigil::collector::engine
