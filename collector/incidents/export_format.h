#pragma once
// Renders stored alerts as export rows: CSV (RFC 4180), JSON Lines, ArcSight
// CEF and RFC 5424 syslog; the syslog renderer is also what the SIEM
// forwarder sends. Escaping rules live here and are fuzzed
// (tests/collector/incidents/fuzz). Formatters are stateless after
// construction; one per thread.

#include <cstdint>
#include <expected>
#include <memory>
#include <string>
#include <string_view>

#include "collector/incidents/store_error.h"
#include "collector/incidents/time_text.h"

namespace vigil::collector::incidents {

enum class ExportFormat { kCsv, kJsonl, kCef, kSyslog };

std::expected<ExportFormat, StoreError> ParseExportFormat(std::string_view name);
std::string_view ExportFormatName(ExportFormat format);

/// One alert as it is exported: the stored provenance plus its chain
/// position and its incident's status at export time.
struct ExportRow {
  uint64_t seq = 0;         ///< chain sequence of the alert record
  std::string record_hash;  ///< hex chain hash of that record
  int64_t recorded_ns = 0;  ///< when the collector stored it
  int64_t incident_id = 0;
  std::string incident_status;  ///< open | acknowledged | closed
  std::string alert_kind;       ///< detection | correlation | suppressed
  std::string rule_id, rule_title, level, author;
  std::string tags_json;  ///< JSON array of strings
  std::string rule_file, rule_file_hash, ruleset_hash;
  bool shadow = false;
  std::string group_key, agent_id, agency;
  uint64_t batch_sequence = 0;
  double capture_drop_ratio = 0;
  int64_t event_time_ns = 0, received_ns = 0;
  std::string matched_fields_json;  ///< JSON array of {"name","value"}
  std::string events_json;          ///< JSON array of event objects
  uint64_t suppressed_count = 0;
  std::string message;
};

/// Identity fields of syslog/CEF output.
struct SyslogIdentity {
  std::string hostname = "-";
  int facility = 4;
  std::string product_version = "0.1.0";
};

class RowFormatter {
 public:
  virtual ~RowFormatter() = default;
  /// Text before the first row (CSV header), possibly empty.
  virtual std::string Header() const = 0;
  /// Appends one complete row including its terminator.
  virtual void Append(const ExportRow& row, std::string& out) const = 0;
};

std::unique_ptr<RowFormatter> MakeRowFormatter(ExportFormat format, DisplayZone zone,
                                               SyslogIdentity identity);

/// RFC 5424 message without framing or line terminator (the forwarder adds
/// RFC 5425 octet counting; the export file adds LF).
std::string FormatSyslogMessage(const ExportRow& row, const DisplayZone& zone,
                                const SyslogIdentity& identity);

// Escaping primitives, exposed for tests and fuzzing.
std::string CsvField(std::string_view value);  ///< RFC 4180 quoting when needed
std::string JsonQuote(
    std::string_view value);  ///< "..." with JSON escapes; invalid UTF-8 -> U+FFFD
std::string CefHeaderEscape(std::string_view value);     ///< | and \ escaped; CR/LF -> space
std::string CefExtensionEscape(std::string_view value);  ///< = and \ escaped; CR/LF -> \r \n
std::string SyslogParamEscape(
    std::string_view value);  ///< " \ ] escaped (RFC 5424 6.3.3); CR, LF as \r, \n
/// RFC 5424 header fields are PRINTUSASCII without spaces, with a maximum length.
std::string SyslogHeaderToken(std::string_view value, size_t max_len);

/// Sigma level name -> RFC 5424 severity (critical=2 ... informational=6)
/// and CEF severity (0-10).
int SyslogSeverity(std::string_view level);
int CefSeverity(std::string_view level);

}  // namespace vigil::collector::incidents
