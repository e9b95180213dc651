#include "collector/engine/alert_json.h"

#include "collector/engine/value.h"

namespace vigil::collector::engine {

std::string_view AlertKindName(AlertKind kind) {
  switch (kind) {
    case AlertKind::kDetection:
      return "detection";
    case AlertKind::kCorrelation:
      return "correlation";
    case AlertKind::kSuppressed:
      return "suppressed";
  }
  return "?";
}

std::string AlertToJson(const Alert& a) {
  std::string out = "{\"kind\":";
  AppendJsonString(out, AlertKindName(a.kind));
  out += ",\"rule_id\":";
  AppendJsonString(out, a.rule_id);
  out += ",\"title\":";
  AppendJsonString(out, a.rule_title);
  out += ",\"level\":";
  AppendJsonString(out, LevelName(a.level));
  out += ",\"author\":";
  AppendJsonString(out, a.author);
  out += ",\"tags\":[";
  for (size_t i = 0; i < a.tags.size(); ++i) {
    if (i) out += ',';
    AppendJsonString(out, a.tags[i]);
  }
  out += "],\"shadow\":";
  out += a.shadow ? "true" : "false";
  out += ",\"group_key\":";
  AppendJsonString(out, a.group_key);
  out += ",\"time\":";
  AppendDouble(out, static_cast<double>(a.event_time_ns / 1000) / 1e6);
  out += ",\"message\":";
  AppendJsonString(out, a.message);
  out += ",\"matched\":{";
  for (size_t i = 0; i < a.matched_fields.size(); ++i) {
    if (i) out += ',';
    AppendJsonString(out, a.matched_fields[i].name);
    out += ':';
    AppendJsonString(out, a.matched_fields[i].value);
  }
  out += '}';
  if (a.kind == AlertKind::kSuppressed)
    out += ",\"suppressed_count\":" + std::to_string(a.suppressed_count);
  out += ",\"rule_file\":";
  AppendJsonString(out, a.rule_file);
  out += ",\"rule_file_sha256\":";
  AppendJsonString(out, a.rule_file_hash);
  out += ",\"ruleset_sha256\":";
  AppendJsonString(out, a.ruleset_hash);
  out += ",\"events\":[";
  for (size_t i = 0; i < a.events.size(); ++i) {
    const AlertEvent& e = a.events[i];
    if (i) out += ',';
    out += "{\"agent\":";
    AppendJsonString(out, e.origin.agent_id);
    out += ",\"agency\":";
    AppendJsonString(out, e.origin.agency);
    out += ",\"log\":";
    AppendJsonString(out, e.log);
    out += ",\"record\":";
    out += e.json.empty() ? "null" : e.json;
    out += '}';
  }
  out += "]}";
  return out;
}

}  // namespace vigil::collector::engine
