#pragma once
// FieldCatalog: the fields of each Vigil log (conn, dns, ssl, http) with the
// names and types of docs/records.md, the fields the engine derives from them
// (uri_path, registered_domain, query_length, ...), and the one alias table
// that maps generic Sigma taxonomy names (src_ip, c-uri, answer, source.ip,
// ...) onto them. Rules compile field names to FieldRefs once; events store
// values in per-log slots, so a lookup at evaluation time is an array index.
// Immutable process-wide singleton: thread-safe.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace vigil::collector::engine {

enum class LogType : uint8_t { kConn = 0, kDns = 1, kSsl = 2, kHttp = 3 };
inline constexpr size_t kLogTypeCount = 4;
inline constexpr LogType kAllLogTypes[] = {LogType::kConn, LogType::kDns, LogType::kSsl,
                                           LogType::kHttp};

std::string_view LogTypeName(LogType log);  // "conn", "dns", "ssl", "http"
std::optional<LogType> ParseLogType(std::string_view name);

/// Zeek types as the JSON writer renders them.
enum class FieldType : uint8_t {
  kString,
  kCount,     ///< non-negative integer
  kInt,       ///< integer
  kTime,      ///< seconds since the epoch, number with microsecond precision
  kInterval,  ///< seconds, number
  kDouble,    ///< derived ratios and entropies
  kBool,
  kAddr,  ///< IPv4 or IPv6 address as text
  kPort,  ///< count
  kStringVector,
  kIntervalVector,
};

struct FieldDef {
  std::string_view name;
  FieldType type;
};

/// Fields the engine computes from an event's own fields when a rule uses
/// them (Zeek has no such column). See docs/rules.md for the definitions.
enum class DerivedField : uint8_t {
  kQueryLength,       // dns: length of query
  kRegisteredDomain,  // dns query / http host / ssl server_name: eTLD+1
  kPublicSuffix,      // the eTLD of the same name
  kSubdomain,         // the labels left of the registered domain
  kSubdomainLength,
  kLabelCount,      // dns: labels in query
  kMaxLabelLength,  // dns: longest label of query
  kDomainEntropy,   // Shannon entropy (bits/char) of the registrable label
  kDnsHeaderFlags,  // dns: ["AA","TC","RD","RA"] subset (ECS dns.header_flags)
  kUriPath,         // http: uri before '?'
  kUriQuery,        // http: uri after '?'
  kUriExtension,    // http: extension of the last path segment, no dot
  kAction,          // conn: accept | reject | drop (from conn_state)
  kBlocked,         // conn: true when refused or unanswered
  kNewOrigBytes,    // conn: delta_orig_bytes when present, else orig_bytes
  kNewRespBytes,    // conn: delta_resp_bytes when present, else resp_bytes
  kDurationNs,      // conn: duration in nanoseconds (ECS event.duration)
  kCount
};
inline constexpr size_t kDerivedFieldCount = static_cast<size_t>(DerivedField::kCount);

/// A compiled reference to a field of one log type.
struct FieldRef {
  enum class Kind : uint8_t { kNone, kSlot, kDerived };
  Kind kind = Kind::kNone;
  uint16_t index = 0;  ///< slot index, or DerivedField
  friend bool operator==(const FieldRef&, const FieldRef&) = default;
};

struct FieldResolution {
  enum class Status : uint8_t {
    kFound,        ///< ref is valid for this log type
    kOtherLog,     ///< the name exists, but only in other log types (never matches here)
    kUnavailable,  ///< a Sigma taxonomy field Vigil does not produce
    kUnknown,      ///< not a field name Vigil knows
  };
  Status status = Status::kUnknown;
  FieldRef ref;
  std::string event_name;  ///< the event field the name resolved to ("uri" for "c-uri")
  std::string detail;      ///< for kOtherLog: the logs that have it; for kUnknown: a suggestion
};

class FieldCatalog {
 public:
  static const FieldCatalog& Instance();

  /// Native fields of `log` in slot order (the order the JSON renderer uses).
  std::span<const FieldDef> Fields(LogType log) const;
  std::optional<uint16_t> Slot(LogType log, std::string_view native_name) const;
  /// Resolves a rule's field name: native name, derived name, then alias.
  FieldResolution Resolve(LogType log, std::string_view name) const;
  /// The event field name of a resolved reference.
  std::string_view Name(LogType log, FieldRef ref) const;
  std::string_view DerivedName(DerivedField f) const;
  FieldType DerivedType(DerivedField f) const;

  /// Slot of the agent / agency identity fields (added by the collector).
  uint16_t AgentSlot(LogType log) const;
  uint16_t AgencySlot(LogType log) const;

  /// Every name (native, derived or alias) the catalog accepts for `log`,
  /// for documentation and `vigilctl rules fields`.
  std::vector<std::string> AcceptedNames(LogType log) const;

 private:
  FieldCatalog();
  struct Impl;
  const Impl* impl_;
};

/// Slots every log type shares, in this order.
inline constexpr uint16_t kSlotTs = 0;
inline constexpr uint16_t kSlotUid = 1;
inline constexpr uint16_t kSlotOrigH = 2;
inline constexpr uint16_t kSlotOrigP = 3;
inline constexpr uint16_t kSlotRespH = 4;
inline constexpr uint16_t kSlotRespP = 5;

}  // namespace vigil::collector::engine
