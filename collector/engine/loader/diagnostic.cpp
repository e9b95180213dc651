#include "collector/engine/loader/diagnostic.h"

#include "collector/engine/value.h"

namespace vigil::collector::engine {

std::string_view SeverityName(Severity s) {
  switch (s) {
    case Severity::kError:
      return "error";
    case Severity::kWarning:
      return "warning";
    case Severity::kNote:
      return "note";
  }
  return "?";
}

std::string Diagnostic::ToString() const {
  std::string out = where.file.empty() ? std::string("<input>") : where.file;
  if (where.line > 0) {
    out += ':' + std::to_string(where.line);
    if (where.column > 0) out += ':' + std::to_string(where.column);
  }
  out += ": ";
  out += SeverityName(severity);
  out += ": ";
  out += message;
  out += " [" + code + "]";
  if (!rule_id.empty()) out += " (rule " + rule_id + ")";
  return out;
}

std::string Diagnostic::ToJson() const {
  std::string out = "{\"severity\":";
  AppendJsonString(out, SeverityName(severity));
  out += ",\"code\":";
  AppendJsonString(out, code);
  out += ",\"message\":";
  AppendJsonString(out, message);
  out += ",\"file\":";
  AppendJsonString(out, where.file);
  out += ",\"line\":" + std::to_string(where.line) + ",\"column\":" + std::to_string(where.column);
  out += ",\"rule_id\":";
  AppendJsonString(out, rule_id);
  out += '}';
  return out;
}

size_t CountSeverity(const std::vector<Diagnostic>& diags, Severity s) {
  size_t n = 0;
  for (const auto& d : diags) n += d.severity == s ? 1 : 0;
  return n;
}

}  // namespace vigil::collector::engine
