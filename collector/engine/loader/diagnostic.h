#pragma once
// Diagnostic: one finding about the rules being loaded (error, warning or
// note) with a stable snake_case code, the file:line:column it is about and
// the rule it belongs to. Errors make a load fail; the loader reports all of
// them at once. Plain value type.

#include <cstdint>
#include <string>
#include <vector>

namespace vigil::collector::engine {

enum class Severity : uint8_t { kError, kWarning, kNote };
std::string_view SeverityName(Severity s);  // "error", "warning", "note"

struct SourceLocation {
  std::string file;
  int line = 0;    ///< 1-based; 0 when the finding is about the whole file
  int column = 0;  ///< 1-based
};

struct Diagnostic {
  Severity severity = Severity::kError;
  std::string code;     ///< stable: "unknown_modifier", "unknown_field", "filter_expired", ...
  std::string message;  ///< one human sentence, no secrets, no packet content
  SourceLocation where;
  std::string rule_id;  ///< the rule's id (or name/title) when known

  /// "rules/dns/x.yml:12:9: error: unknown modifier 'contain' [unknown_modifier] (rule 1234-...)"
  std::string ToString() const;
  /// One JSON object with the same content.
  std::string ToJson() const;
};

size_t CountSeverity(const std::vector<Diagnostic>& diags, Severity s);

}  // namespace vigil::collector::engine
