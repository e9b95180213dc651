// Fuzzes the export escapers with properties an injection would break: a CSV
// row stays one record, JSON strings stay valid JSON, CEF extension values
// carry no raw newline or unescaped '=', syslog PARAM-VALUEs no unescaped
// '"' or ']', and every rendered row is exactly one line/record.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "collector/incidents/export_format.h"
#include "collector/incidents/export_manifest.h"

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "property violated: %s\n", what);
    std::abort();
  }
}

bool NoUnescaped(std::string_view s, std::string_view specials) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\') {
      ++i;
      continue;
    }
    if (specials.find(s[i]) != std::string_view::npos) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace inc = vigil::collector::incidents;
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  Check(nlohmann::json::accept(inc::JsonQuote(text)), "JsonQuote yields valid JSON");
  const std::string cef = inc::CefExtensionEscape(text);
  Check(cef.find('\n') == std::string::npos && cef.find('\r') == std::string::npos,
        "CEF extension has no raw line break");
  Check(NoUnescaped(cef, "="), "CEF extension has no unescaped '='");
  const std::string header = inc::CefHeaderEscape(text);
  Check(NoUnescaped(header, "|\n\r"), "CEF header has no unescaped '|' or line break");
  Check(NoUnescaped(inc::SyslogParamEscape(text), "\"]"), "syslog PARAM-VALUE escaped");

  inc::ExportRow row;
  row.rule_id = std::string(text);
  row.rule_title = std::string(text);
  row.message = std::string(text);
  row.agency = std::string(text);
  row.tags_json = "[]";
  row.matched_fields_json = "[]";
  row.events_json = "[]";
  auto utc = *inc::DisplayZone::Load("UTC");
  for (auto format : {inc::ExportFormat::kCsv, inc::ExportFormat::kJsonl, inc::ExportFormat::kCef,
                      inc::ExportFormat::kSyslog}) {
    auto formatter = inc::MakeRowFormatter(format, utc, {});
    std::string out = formatter->Header();
    formatter->Append(row, out);
    bool clean = false;
    const uint64_t rows = inc::CountExportRows(inc::ExportFormatName(format), out, clean);
    Check(rows == 1 && clean, "one row renders as exactly one record");
    if (format == inc::ExportFormat::kJsonl) {
      Check(nlohmann::json::accept(out), "JSONL row is valid JSON");
    }
  }
  return 0;
}
