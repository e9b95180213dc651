#include "collector/incidents/export_format.h"

#include <cstdio>

namespace vigil::collector::incidents {
namespace {

// RFC 5612 documentation enterprise number: Vigil has no IANA private
// enterprise number, and RFC 5424 6.3.2 requires one in a custom SD-ID.
constexpr std::string_view kSdId = "vigil@32473";

std::string Number(double value) {
  char buf[32];
  const int n = std::snprintf(buf, sizeof buf, "%.9g", value);
  return std::string(buf, static_cast<size_t>(n));
}

// Decodes one UTF-8 sequence at text[pos]; returns its length, or 0 if invalid.
size_t Utf8Length(std::string_view text, size_t pos) {
  const auto b0 = static_cast<uint8_t>(text[pos]);
  size_t len = 0;
  uint32_t cp = 0;
  if (b0 < 0x80) return 1;
  if ((b0 & 0xe0) == 0xc0) {
    len = 2;
    cp = b0 & 0x1f;
  } else if ((b0 & 0xf0) == 0xe0) {
    len = 3;
    cp = b0 & 0x0f;
  } else if ((b0 & 0xf8) == 0xf0) {
    len = 4;
    cp = b0 & 0x07;
  } else {
    return 0;
  }
  if (pos + len > text.size()) return 0;
  for (size_t i = 1; i < len; ++i) {
    const auto b = static_cast<uint8_t>(text[pos + i]);
    if ((b & 0xc0) != 0x80) return 0;
    cp = cp << 6 | (b & 0x3f);
  }
  // Reject overlong forms, surrogates and values past U+10FFFF.
  if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
      (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) {
    return 0;
  }
  return len;
}

class CsvFormatter final : public RowFormatter {
 public:
  explicit CsvFormatter(DisplayZone zone) : zone_(std::move(zone)) {}
  std::string Header() const override {
    return "seq,record_hash,recorded_at,incident_id,incident_status,alert_kind,rule_id,"
           "rule_title,level,shadow,agency,agent_id,batch_sequence,event_time,received_time,"
           "capture_drop_ratio,author,tags,rule_file,rule_file_hash,ruleset_hash,group_key,"
           "suppressed_count,message,matched_fields,events\r\n";
  }
  void Append(const ExportRow& r, std::string& out) const override {
    const std::string fields[] = {std::to_string(r.seq),
                                  r.record_hash,
                                  zone_.Format(r.recorded_ns),
                                  std::to_string(r.incident_id),
                                  r.incident_status,
                                  r.alert_kind,
                                  r.rule_id,
                                  r.rule_title,
                                  r.level,
                                  r.shadow ? "true" : "false",
                                  r.agency,
                                  r.agent_id,
                                  std::to_string(r.batch_sequence),
                                  zone_.Format(r.event_time_ns),
                                  zone_.Format(r.received_ns),
                                  Number(r.capture_drop_ratio),
                                  r.author,
                                  r.tags_json,
                                  r.rule_file,
                                  r.rule_file_hash,
                                  r.ruleset_hash,
                                  r.group_key,
                                  std::to_string(r.suppressed_count),
                                  r.message,
                                  r.matched_fields_json,
                                  r.events_json};
    bool first = true;
    for (const auto& f : fields) {
      if (!first) out += ',';
      first = false;
      out += CsvField(f);
    }
    out += "\r\n";
  }

 private:
  DisplayZone zone_;
};

class JsonlFormatter final : public RowFormatter {
 public:
  explicit JsonlFormatter(DisplayZone zone) : zone_(std::move(zone)) {}
  std::string Header() const override { return {}; }
  void Append(const ExportRow& r, std::string& out) const override {
    out += "{\"seq\":" + std::to_string(r.seq);
    out += ",\"record_hash\":" + JsonQuote(r.record_hash);
    out += ",\"recorded_at\":" + JsonQuote(zone_.Format(r.recorded_ns));
    out += ",\"incident_id\":" + std::to_string(r.incident_id);
    out += ",\"incident_status\":" + JsonQuote(r.incident_status);
    out += ",\"alert_kind\":" + JsonQuote(r.alert_kind);
    out += ",\"rule_id\":" + JsonQuote(r.rule_id);
    out += ",\"rule_title\":" + JsonQuote(r.rule_title);
    out += ",\"level\":" + JsonQuote(r.level);
    out += std::string(",\"shadow\":") + (r.shadow ? "true" : "false");
    out += ",\"agency\":" + JsonQuote(r.agency);
    out += ",\"agent_id\":" + JsonQuote(r.agent_id);
    out += ",\"batch_sequence\":" + std::to_string(r.batch_sequence);
    out += ",\"event_time\":" + JsonQuote(zone_.Format(r.event_time_ns));
    out += ",\"received_time\":" + JsonQuote(zone_.Format(r.received_ns));
    out += ",\"capture_drop_ratio\":" + Number(r.capture_drop_ratio);
    out += ",\"author\":" + JsonQuote(r.author);
    out += ",\"tags\":" + (r.tags_json.empty() ? std::string("[]") : r.tags_json);
    out += ",\"rule_file\":" + JsonQuote(r.rule_file);
    out += ",\"rule_file_hash\":" + JsonQuote(r.rule_file_hash);
    out += ",\"ruleset_hash\":" + JsonQuote(r.ruleset_hash);
    out += ",\"group_key\":" + JsonQuote(r.group_key);
    out += ",\"suppressed_count\":" + std::to_string(r.suppressed_count);
    out += ",\"message\":" + JsonQuote(r.message);
    out += ",\"matched_fields\":" +
           (r.matched_fields_json.empty() ? std::string("[]") : r.matched_fields_json);
    out += ",\"events\":" + (r.events_json.empty() ? std::string("[]") : r.events_json);
    out += "}\n";
  }

 private:
  DisplayZone zone_;
};

class CefFormatter final : public RowFormatter {
 public:
  explicit CefFormatter(SyslogIdentity identity) : identity_(std::move(identity)) {}
  std::string Header() const override { return {}; }
  void Append(const ExportRow& r, std::string& out) const override {
    out += "CEF:0|Vigil|Vigil Collector|" + CefHeaderEscape(identity_.product_version) + "|" +
           CefHeaderEscape(r.rule_id) + "|" + CefHeaderEscape(r.rule_title) + "|" +
           std::to_string(CefSeverity(r.level)) + "|";
    auto ext = [&](std::string_view key, std::string_view value, bool first = false) {
      if (!first) out += ' ';
      out += key;
      out += '=';
      out += CefExtensionEscape(value);
    };
    ext("rt", std::to_string(r.recorded_ns / 1'000'000), true);
    ext("start", std::to_string(r.event_time_ns / 1'000'000));
    ext("dvchost", identity_.hostname);
    ext("externalId", std::to_string(r.seq));
    ext("cat", r.alert_kind);
    ext("msg", r.message);
    ext("cs1Label", "agency");
    ext("cs1", r.agency);
    ext("cs2Label", "agentId");
    ext("cs2", r.agent_id);
    ext("cs3Label", "incidentStatus");
    ext("cs3", r.incident_status);
    ext("cs4Label", "rulesetHash");
    ext("cs4", r.ruleset_hash);
    ext("cs5Label", "matchedFields");
    ext("cs5", r.matched_fields_json);
    ext("cs6Label", "recordHash");
    ext("cs6", r.record_hash);
    ext("cn1Label", "incidentId");
    ext("cn1", std::to_string(r.incident_id));
    ext("cn2Label", "batchSequence");
    ext("cn2", std::to_string(r.batch_sequence));
    ext("cn3Label", "suppressedCount");
    ext("cn3", std::to_string(r.suppressed_count));
    ext("cfp1Label", "captureDropRatio");
    ext("cfp1", Number(r.capture_drop_ratio));
    ext("flexString1Label", "shadow");
    ext("flexString1", r.shadow ? "true" : "false");
    ext("flexString2Label", "level");
    ext("flexString2", r.level);
    out += '\n';
  }

 private:
  SyslogIdentity identity_;
};

class SyslogFormatter final : public RowFormatter {
 public:
  SyslogFormatter(DisplayZone zone, SyslogIdentity identity)
      : zone_(std::move(zone)), identity_(std::move(identity)) {}
  std::string Header() const override { return {}; }
  void Append(const ExportRow& r, std::string& out) const override {
    // One message per line in a file; the MSG part never contains a newline
    // (FormatSyslogMessage replaces them), so lines are records.
    out += FormatSyslogMessage(r, zone_, identity_);
    out += '\n';
  }

 private:
  DisplayZone zone_;
  SyslogIdentity identity_;
};

}  // namespace

std::expected<ExportFormat, StoreError> ParseExportFormat(std::string_view name) {
  if (name == "csv") return ExportFormat::kCsv;
  if (name == "jsonl") return ExportFormat::kJsonl;
  if (name == "cef") return ExportFormat::kCef;
  if (name == "syslog") return ExportFormat::kSyslog;
  return std::unexpected(
      StoreError{ErrorCode::kInvalidArgument,
                 "unknown export format '" + std::string(name) + "' (csv, jsonl, cef, syslog)"});
}

std::string_view ExportFormatName(ExportFormat format) {
  switch (format) {
    case ExportFormat::kCsv:
      return "csv";
    case ExportFormat::kJsonl:
      return "jsonl";
    case ExportFormat::kCef:
      return "cef";
    case ExportFormat::kSyslog:
      return "syslog";
  }
  return "jsonl";
}

std::unique_ptr<RowFormatter> MakeRowFormatter(ExportFormat format, DisplayZone zone,
                                               SyslogIdentity identity) {
  switch (format) {
    case ExportFormat::kCsv:
      return std::make_unique<CsvFormatter>(std::move(zone));
    case ExportFormat::kJsonl:
      return std::make_unique<JsonlFormatter>(std::move(zone));
    case ExportFormat::kCef:
      return std::make_unique<CefFormatter>(std::move(identity));
    case ExportFormat::kSyslog:
      return std::make_unique<SyslogFormatter>(std::move(zone), std::move(identity));
  }
  return nullptr;
}

std::string FormatSyslogMessage(const ExportRow& r, const DisplayZone& zone,
                                const SyslogIdentity& identity) {
  const int pri = identity.facility * 8 + SyslogSeverity(r.level);
  std::string out = "<" + std::to_string(pri) + ">1 " + zone.Format(r.recorded_ns) + " " +
                    SyslogHeaderToken(identity.hostname, 255) + " vigil - alert [" +
                    std::string(kSdId);
  auto param = [&](std::string_view name, std::string_view value) {
    out += ' ';
    out += name;
    out += "=\"";
    out += SyslogParamEscape(value);
    out += '"';
  };
  param("seq", std::to_string(r.seq));
  param("record_hash", r.record_hash);
  param("incident_id", std::to_string(r.incident_id));
  param("incident_status", r.incident_status);
  param("alert_kind", r.alert_kind);
  param("rule_id", r.rule_id);
  param("level", r.level);
  param("shadow", r.shadow ? "true" : "false");
  param("agency", r.agency);
  param("agent_id", r.agent_id);
  param("batch_sequence", std::to_string(r.batch_sequence));
  param("event_time", zone.Format(r.event_time_ns));
  param("received_time", zone.Format(r.received_ns));
  param("capture_drop_ratio", Number(r.capture_drop_ratio));
  param("ruleset_hash", r.ruleset_hash);
  param("rule_file_hash", r.rule_file_hash);
  param("group_key", r.group_key);
  param("suppressed_count", std::to_string(r.suppressed_count));
  param("matched_fields", r.matched_fields_json);
  out += "] ";
  std::string msg = r.rule_title;
  if (!r.message.empty()) msg += ": " + r.message;
  for (char& c : msg) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  out += msg;
  return out;
}

std::string CsvField(std::string_view value) {
  // Cells an spreadsheet would evaluate as formulas (CSV injection) get a
  // leading apostrophe; the raw value is in the JSONL export.
  const bool formula = !value.empty() && (value[0] == '=' || value[0] == '+' || value[0] == '-' ||
                                          value[0] == '@' || value[0] == '\t' || value[0] == '\r');
  const bool quote = formula || value.find_first_of(",\"\r\n") != std::string_view::npos;
  if (!quote) return std::string(value);
  std::string out = "\"";
  if (formula) out += '\'';
  for (char c : value) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

std::string JsonQuote(std::string_view value) {
  std::string out = "\"";
  out.reserve(value.size() + 2);
  for (size_t i = 0; i < value.size();) {
    const auto c = static_cast<unsigned char>(value[i]);
    if (c >= 0x80) {
      const size_t len = Utf8Length(value, i);
      if (len == 0) {
        out += "\\ufffd";
        ++i;
      } else {
        out.append(value.substr(i, len));
        i += len;
      }
      continue;
    }
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
    ++i;
  }
  out += '"';
  return out;
}

std::string CefHeaderEscape(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '|' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\r' || c == '\n') {
      out += ' ';  // the CEF header cannot carry line breaks
    } else {
      out += c;
    }
  }
  return out;
}

std::string CefExtensionEscape(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '=':
        out += "\\=";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string SyslogParamEscape(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\n') {
      out += "\\n";  // keeps every message on one line for line-based receivers and files
    } else if (c == '\r') {
      out += "\\r";
    } else {
      if (c == '"' || c == '\\' || c == ']') out += '\\';
      out += c;
    }
  }
  return out;
}

std::string SyslogHeaderToken(std::string_view value, size_t max_len) {
  std::string out;
  for (char c : value) {
    if (out.size() >= max_len) break;
    if (c >= 33 && c <= 126) out += c;
  }
  return out.empty() ? "-" : out;
}

int SyslogSeverity(std::string_view level) {
  if (level == "critical") return 2;
  if (level == "high") return 3;
  if (level == "medium") return 4;
  if (level == "low") return 5;
  return 6;
}

int CefSeverity(std::string_view level) {
  if (level == "critical") return 10;
  if (level == "high") return 8;
  if (level == "medium") return 5;
  if (level == "low") return 3;
  return 1;
}

}  // namespace vigil::collector::incidents
