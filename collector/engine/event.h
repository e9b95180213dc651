#pragma once
// Event: the engine's view of one record (conn, dns, ssl or http), with the
// field names and units of docs/records.md. Values live in per-log slots
// indexed by the FieldCatalog, so compiled rules reach a field by index.
// Built by the adapters (event_proto.h, event_json.h); owned by the caller of
// Engine::Evaluate. A plain value: not synchronised, copy it to share it.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "collector/engine/alert.h"
#include "collector/engine/fields/field_catalog.h"
#include "collector/engine/value.h"

namespace vigil::collector::engine {

/// An IPv4 or IPv6 address in network byte order. IPv4 uses 4 bytes.
struct IpAddress {
  std::array<uint8_t, 16> bytes{};
  uint8_t size = 0;  ///< 0 (none), 4 or 16

  static std::optional<IpAddress> Parse(std::string_view text);
  static std::optional<IpAddress> FromBytes(std::string_view raw);  // 4 or 16 bytes
  bool valid() const { return size != 0; }
  /// RFC 5952 text for IPv6 (inet_ntop), dotted quad for IPv4.
  std::string ToString() const;
  friend bool operator==(const IpAddress&, const IpAddress&) = default;
};

class Event {
 public:
  explicit Event(LogType log);

  LogType log() const { return log_; }
  /// Record time (the `ts` field) in nanoseconds, microsecond precision.
  int64_t time_ns() const { return time_ns_; }
  void set_time_ns(int64_t ns);

  const Value& Get(uint16_t slot) const { return slots_[slot]; }
  Value& Mutable(uint16_t slot) { return slots_[slot]; }
  size_t slot_count() const { return slots_.size(); }
  /// Sets a field by its event name; unknown names go to extras().
  void Set(std::string_view name, Value value);
  /// Field by event name (native slots, then extras); nullptr if absent.
  const Value* Find(std::string_view name) const;

  /// Fields the record carried that the catalog does not know (kept so that
  /// rendering loses nothing); rules cannot reference them.
  const std::vector<std::pair<std::string, Value>>& extras() const { return extras_; }

  const EventOrigin& origin() const { return origin_; }
  /// Sets the origin and the vigil.agent / vigil.agency fields from it.
  void SetOrigin(EventOrigin origin);

  /// Parsed id.orig_h / id.resp_h (invalid when the field is absent or not
  /// an address); refreshed by Set() and by the adapters.
  const IpAddress& orig_addr() const { return orig_addr_; }
  const IpAddress& resp_addr() const { return resp_addr_; }
  void RefreshAddresses();

  /// The record as one Zeek-style JSON object (`_path` first, unset fields
  /// omitted, then the collector's vigil.* fields and any extras).
  std::string ToJson() const;

  /// Same log, fields, extras, time and origin.
  friend bool operator==(const Event& a, const Event& b);

 private:
  LogType log_;
  int64_t time_ns_ = 0;
  std::vector<Value> slots_;
  std::vector<std::pair<std::string, Value>> extras_;
  EventOrigin origin_;
  IpAddress orig_addr_;
  IpAddress resp_addr_;
};

/// Seconds (as Zeek writes `ts`) to nanoseconds, rounded to the microsecond.
int64_t SecondsToNs(double seconds);
/// Microseconds to the double Zeek's JSON carries (the nearest double to
/// us / 1e6, the same one strtod yields for the decimal text).
double MicrosToSeconds(int64_t micros);

}  // namespace vigil::collector::engine
