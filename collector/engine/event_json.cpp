#include "collector/engine/event_json.h"

#include <cmath>

namespace vigil::collector::engine {
namespace {

bool IntegralDouble(const Value& v) {
  return v.kind() == Value::Kind::kDouble && std::trunc(v.double_value()) == v.double_value() &&
         std::fabs(v.double_value()) < 9.2e18;
}

// Normalises `v` to the catalog type. Returns false (value kept unchanged)
// when the JSON type does not fit.
bool Normalise(FieldType type, Value& v) {
  if (v.is_null()) return true;  // present but null: kept, rules see "null"
  switch (type) {
    case FieldType::kString:
    case FieldType::kAddr:
      return v.is_string();
    case FieldType::kCount:
    case FieldType::kPort:
    case FieldType::kInt:
      if (v.kind() == Value::Kind::kInt) return true;
      if (IntegralDouble(v)) {
        v = Value::Int(static_cast<int64_t>(v.double_value()));
        return true;
      }
      return false;
    case FieldType::kTime:
    case FieldType::kInterval:
      if (!v.is_number()) return false;
      // Microsecond precision as Zeek writes it; SecondsToNs saturates
      // values no int64 can hold.
      v = Value::Double(MicrosToSeconds(SecondsToNs(v.number()) / 1000));
      return true;
    case FieldType::kDouble:
      if (!v.is_number()) return false;
      v = Value::Double(v.number());
      return true;
    case FieldType::kBool:
      return v.kind() == Value::Kind::kBool;
    case FieldType::kStringVector: {
      if (!v.is_array()) return false;
      for (const auto& item : v.array()) {
        if (!item.is_string()) return false;
      }
      return true;
    }
    case FieldType::kIntervalVector: {
      if (!v.is_array()) return false;
      for (const auto& item : v.array()) {
        if (!item.is_number()) return false;
      }
      for (auto& item : v.mutable_array()) {
        item = Value::Double(MicrosToSeconds(SecondsToNs(item.number()) / 1000));
      }
      return true;
    }
  }
  return false;
}

}  // namespace

std::expected<Event, AdapterError> EventFromMembers(JsonMembers members, const EventOrigin& origin,
                                                    std::optional<LogType> default_log,
                                                    JsonAdapterStats* stats) {
  std::optional<LogType> log = default_log;
  for (const auto& [k, v] : members) {
    if (k != "_path") continue;
    if (!v.is_string())
      return std::unexpected(AdapterError{"bad_path", "_path must be a string", 0});
    log = ParseLogType(v.string_value());
    if (!log) {
      return std::unexpected(AdapterError{
          "unsupported_log", "Vigil has no rule events for _path '" + v.string_value() + "'", 0});
    }
  }
  if (!log) {
    return std::unexpected(
        AdapterError{"missing_path", "no _path and no default log type for this input", 0});
  }
  const auto& catalog = FieldCatalog::Instance();
  auto fields = catalog.Fields(*log);
  Event e(*log);
  EventOrigin effective = origin;
  for (auto& [k, v] : members) {
    if (k == "_path") continue;
    auto slot = catalog.Slot(*log, k);
    if (!slot) {
      if (stats) ++stats->unknown_fields;
      e.Set(k, std::move(v));
      continue;
    }
    if (!Normalise(fields[*slot].type, v) && stats) ++stats->type_mismatches;
    if (*slot == catalog.AgentSlot(*log) && effective.agent_id.empty() && v.is_string()) {
      effective.agent_id = v.string_value();
    }
    if (*slot == catalog.AgencySlot(*log) && effective.agency.empty() && v.is_string()) {
      effective.agency = v.string_value();
    }
    if (*slot == kSlotTs && v.is_number()) {
      e.set_time_ns(SecondsToNs(v.number()));
      continue;
    }
    e.Mutable(*slot) = std::move(v);
  }
  e.RefreshAddresses();
  e.SetOrigin(std::move(effective));
  return e;
}

std::expected<Event, AdapterError> EventFromJson(std::string_view line, const EventOrigin& origin,
                                                 std::optional<LogType> default_log,
                                                 JsonAdapterStats* stats) {
  auto members = ParseJsonObject(line);
  if (!members) {
    return std::unexpected(AdapterError{"json_" + members.error().code, members.error().message,
                                        members.error().offset});
  }
  return EventFromMembers(std::move(*members), origin, default_log, stats);
}

}  // namespace vigil::collector::engine
