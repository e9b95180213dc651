#pragma once
// What the rule engine produces: alerts as plain values. The engine knows
// nothing of where they go; the collector app hands them to the incident
// store, the metrics and the log. Copyable, no references into engine state.

#include <cstdint>
#include <string>
#include <vector>

namespace vigil::collector::engine {

/// Sigma levels, ordered by severity.
enum class Level : uint8_t { kInformational, kLow, kMedium, kHigh, kCritical };

std::string_view LevelName(Level level);  // "informational" ... "critical"

/// Where an event came from. Filled by the collector when it turns a record
/// into an event; never derived from event content.
struct EventOrigin {
  std::string agent_id;           ///< verified certificate CN
  std::string agency;             ///< from the collector's identity map
  uint64_t sequence = 0;          ///< the agent's batch sequence number
  int64_t received_ns = 0;        ///< collector receive time (UTC ns)
  double capture_drop_ratio = 0;  ///< agent capture loss at that time (0..1)
};

struct MatchedField {
  std::string name;   ///< field name as the rule wrote it (after alias resolution: the event field)
  std::string value;  ///< the event's value, rendered as text
};

/// One event an alert is based on.
struct AlertEvent {
  EventOrigin origin;
  int64_t event_time_ns = 0;  ///< agent event time (the record's ts)
  std::string log;            ///< "conn", "dns", "ssl", "http"
  std::string json;           ///< the event as one Zeek-style JSON object
};

enum class AlertKind : uint8_t {
  kDetection,    ///< a detection rule matched one event
  kCorrelation,  ///< a correlation rule's condition held for a group
  kSuppressed,   ///< throttling summary: "N alerts of this rule were suppressed"
};

struct Alert {
  AlertKind kind = AlertKind::kDetection;
  std::string rule_id;  ///< the rule's `id` (or `name` when it has no id)
  std::string rule_title;
  Level level = Level::kMedium;
  std::string author;  ///< required by the Detection Rule License for SigmaHQ rules
  std::vector<std::string> tags;
  std::string rule_file;       ///< path the rule was loaded from
  std::string rule_file_hash;  ///< SHA-256 (hex) of that file's bytes
  std::string ruleset_hash;    ///< SHA-256 (hex) identifying the whole loaded rule set
  bool shadow = false;         ///< rule in shadow mode: record and count, do not raise
  /// Grouping key: correlation group-by values, or for detections a key the
  /// incident store may use to group repeated alerts (e.g. "src=10.0.0.1").
  std::string group_key;
  int64_t event_time_ns = 0;  ///< time of the (last) triggering event
  std::vector<MatchedField> matched_fields;
  std::vector<AlertEvent> events;  ///< bounded: correlations keep a sample
  uint64_t suppressed_count = 0;   ///< for kSuppressed: how many were folded
  std::string message;             ///< one human line ("Port scan from 10.0.0.5: 120 ports in 60s")
};

}  // namespace vigil::collector::engine
