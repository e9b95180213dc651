#include "collector/engine/rule_set.h"

namespace vigil::collector::engine {

std::string_view LevelName(Level level) {
  switch (level) {
    case Level::kInformational:
      return "informational";
    case Level::kLow:
      return "low";
    case Level::kMedium:
      return "medium";
    case Level::kHigh:
      return "high";
    case Level::kCritical:
      return "critical";
  }
  return "medium";
}

std::string_view RuleStateName(RuleState s) {
  switch (s) {
    case RuleState::kActive:
      return "active";
    case RuleState::kInactive:
      return "inactive";
    case RuleState::kRejected:
      return "rejected";
  }
  return "?";
}

std::string_view CorrelationTypeName(CorrelationType t) {
  switch (t) {
    case CorrelationType::kEventCount:
      return "event_count";
    case CorrelationType::kValueCount:
      return "value_count";
    case CorrelationType::kTemporal:
      return "temporal";
    case CorrelationType::kTemporalOrdered:
      return "temporal_ordered";
    case CorrelationType::kValueSum:
      return "value_sum";
    case CorrelationType::kValueAvg:
      return "value_avg";
  }
  return "?";
}

bool CorrelationCondition::Holds(double x) const {
  for (const auto& t : terms) {
    bool ok = false;
    switch (t.op) {
      case Op::kGt:
        ok = x > t.value;
        break;
      case Op::kGte:
        ok = x >= t.value;
        break;
      case Op::kLt:
        ok = x < t.value;
        break;
      case Op::kLte:
        ok = x <= t.value;
        break;
      case Op::kEq:
        ok = x == t.value;
        break;
      case Op::kNeq:
        ok = x != t.value;
        break;
    }
    if (!ok) return false;
  }
  return !terms.empty();
}

bool CorrelationCondition::DecidedAtClose() const {
  for (const auto& t : terms) {
    if (t.op == Op::kLt || t.op == Op::kLte || t.op == Op::kEq || t.op == Op::kNeq) return true;
  }
  return false;
}

std::string CorrelationCondition::ToString() const {
  std::string out;
  for (const auto& t : terms) {
    if (!out.empty()) out += " and ";
    switch (t.op) {
      case Op::kGt:
        out += "> ";
        break;
      case Op::kGte:
        out += ">= ";
        break;
      case Op::kLt:
        out += "< ";
        break;
      case Op::kLte:
        out += "<= ";
        break;
      case Op::kEq:
        out += "== ";
        break;
      case Op::kNeq:
        out += "!= ";
        break;
    }
    AppendDouble(out, t.value);
  }
  return out;
}

const DetectionRule* RuleSet::FindDetection(std::string_view id) const {
  for (const auto& r : detections) {
    if (r.meta.id == id || (!r.meta.name.empty() && r.meta.name == id)) return &r;
  }
  return nullptr;
}

const CorrelationRule* RuleSet::FindCorrelation(std::string_view id) const {
  for (const auto& r : correlations) {
    if (r.meta.id == id || (!r.meta.name.empty() && r.meta.name == id)) return &r;
  }
  return nullptr;
}

}  // namespace vigil::collector::engine
