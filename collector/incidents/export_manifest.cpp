#include "collector/incidents/export_manifest.h"

#include <fstream>
#include <nlohmann/json.hpp>

#include "collector/incidents/chain_record.h"
#include "collector/incidents/time_text.h"

namespace vigil::collector::incidents {
namespace {

using Json = nlohmann::ordered_json;

Json OptionalString(const std::optional<std::string>& value) {
  return value ? Json(*value) : Json(nullptr);
}

// Row counting state machine for RFC 4180: a record ends at CRLF (or a bare
// LF, tolerated) outside quotes.
struct CsvCounter {
  bool in_quotes = false;
  bool field_start = true;
  uint64_t records = 0;
  bool pending = false;  // characters seen since the last record end

  void Feed(std::string_view bytes) {
    for (char c : bytes) {
      if (in_quotes) {
        if (c == '"') in_quotes = false;  // a doubled quote re-enters below
        continue;
      }
      if (c == '"') {
        in_quotes = true;
        pending = true;
      } else if (c == '\n') {
        ++records;
        pending = false;
      } else if (c != '\r') {
        pending = true;
      }
    }
  }
};

}  // namespace

std::string RenderManifest(const ManifestContent& c) {
  const auto& o = c.options;
  const auto& r = c.result;
  Json m;
  m["manifest_version"] = kManifestVersion;
  m["tool"] = "vigilctl incidents export";
  m["store_id"] = c.store_id;
  m["created_at"] = FormatRfc3339Utc(c.created_ns);
  m["exporter"] = {{"user", o.exporter}, {"host", c.exporter_host}};
  m["export_file"] = o.output.filename().string();
  m["format"] = std::string(ExportFormatName(o.format));
  m["time_zone"] = o.time_zone;
  m["query"] = {{"since", FormatRfc3339Utc(o.query.since_ns)},
                {"until", FormatRfc3339Utc(o.query.until_ns)},
                {"time_field", "event_time"},
                {"agency", OptionalString(o.query.agency)},
                {"agent", OptionalString(o.query.agent_id)},
                {"rule", OptionalString(o.query.rule_id)},
                {"min_level", OptionalString(o.query.min_level)},
                {"status", OptionalString(o.query.status)},
                {"include_shadow", o.query.include_shadow}};
  m["window_utc"] = {{"since", FormatRfc3339Utc(o.query.since_ns)},
                     {"until", FormatRfc3339Utc(o.query.until_ns)},
                     {"since_ns", o.query.since_ns},
                     {"until_ns", o.query.until_ns}};
  m["rows"] = r.rows;
  m["bytes"] = r.bytes;
  m["sha256"] = r.sha256;
  m["chain_head"] = {{"seq", r.head.seq}, {"hash", ToHex(r.head.hash)}};
  m["export_record_seq"] = r.export_record_seq;

  Json gaps = Json::array();
  for (const auto& g : c.coverage.gaps) {
    Json j;
    j["kind"] = g.kind;
    j["agent"] = g.agent_id;
    j["agency"] = g.agency;
    j["start"] = FormatRfc3339Utc(g.start_ns);
    j["end"] = FormatRfc3339Utc(g.end_ns);
    if (g.batches != 0 || g.first_sequence != 0) {
      j["first_sequence"] = g.first_sequence;
      j["last_sequence"] = g.last_sequence;
      j["batches"] = g.batches;
      j["records"] = g.records;
    }
    if (g.kind == "capture_drop") j["drop_ratio"] = g.drop_ratio;
    j["detail"] = g.detail;
    j["record_seq"] = g.record_seq;
    gaps.push_back(std::move(j));
  }
  Json agents = Json::array();
  for (const auto& a : c.coverage.agents) {
    Json j;
    j["agent"] = a.agent_id;
    j["agency"] = a.agency;
    j["batches_received"] = a.batches_received;
    j["events_received"] = a.events_received;
    j["batches_lost"] = a.batches_lost;
    j["records_lost"] = a.records_lost;
    const double total = static_cast<double>(a.events_received + a.records_lost);
    j["delivered_ratio"] = total > 0 ? static_cast<double>(a.events_received) / total : 1.0;
    j["max_capture_drop_ratio"] = a.max_drop_ratio;
    agents.push_back(std::move(j));
  }
  m["coverage"] = {
      {"drop_threshold", c.coverage.drop_threshold},
      {"complete", c.coverage.gaps.empty()},
      {"gaps", std::move(gaps)},
      {"agents", std::move(agents)},
      {"note",
       "gaps come from chained coverage records; received counts come from the hourly ledger "
       "(hour granularity, not chained)"}};
  return m.dump(2) + "\n";
}

std::expected<ManifestFacts, StoreError> ParseManifestFacts(std::string_view text) {
  // No exceptions out of this module: parse without throwing, then check types.
  Json m = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (m.is_discarded() || !m.is_object()) {
    return std::unexpected(
        StoreError{ErrorCode::kInvalidArgument, "manifest is not a JSON object"});
  }
  ManifestFacts facts;
  auto format = m.find("format");
  auto rows = m.find("rows");
  auto sha = m.find("sha256");
  if (format == m.end() || !format->is_string() || rows == m.end() || !rows->is_number_unsigned() ||
      sha == m.end() || !sha->is_string()) {
    return std::unexpected(
        StoreError{ErrorCode::kInvalidArgument, "manifest lacks format, rows or sha256"});
  }
  facts.format = format->get<std::string>();
  facts.rows = rows->get<uint64_t>();
  facts.sha256 = sha->get<std::string>();
  if (!ParseExportFormat(facts.format)) {
    return std::unexpected(
        StoreError{ErrorCode::kInvalidArgument, "manifest names unknown format " + facts.format});
  }
  return facts;
}

uint64_t CountExportRows(std::string_view format, std::string_view bytes, bool& csv_state_ok) {
  csv_state_ok = true;
  if (format == "csv") {
    CsvCounter counter;
    counter.Feed(bytes);
    csv_state_ok = !counter.in_quotes && !counter.pending;
    return counter.records == 0 ? 0 : counter.records - 1;  // minus the header
  }
  uint64_t lines = 0;
  for (char c : bytes) lines += c == '\n' ? 1 : 0;
  csv_state_ok = bytes.empty() || bytes.back() == '\n';
  return lines;
}

std::expected<ExportCheck, StoreError> VerifyExport(const std::filesystem::path& file,
                                                    const std::filesystem::path& manifest) {
  std::ifstream mf(manifest, std::ios::binary);
  if (!mf) return std::unexpected(StoreError{ErrorCode::kIo, "cannot read " + manifest.string()});
  std::string text((std::istreambuf_iterator<char>(mf)), std::istreambuf_iterator<char>());
  auto facts = ParseManifestFacts(text);
  if (!facts) {
    return std::unexpected(
        StoreError{facts.error().code, manifest.string() + ": " + facts.error().message});
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) return std::unexpected(StoreError{ErrorCode::kIo, "cannot read " + file.string()});

  ExportCheck check;
  check.format = facts->format;
  check.manifest_rows = facts->rows;
  check.manifest_sha256 = facts->sha256;
  Sha256Stream sha;
  CsvCounter csv;
  uint64_t lines = 0;
  char last = '\n';
  bool any = false;
  std::string buf(1 << 16, '\0');
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    const auto n = static_cast<size_t>(in.gcount());
    if (n == 0) break;
    const std::string_view chunk(buf.data(), n);
    sha.Update(chunk);
    if (facts->format == "csv") {
      csv.Feed(chunk);
    } else {
      for (char c : chunk) lines += c == '\n' ? 1 : 0;
    }
    last = chunk.back();
    any = true;
  }
  check.actual_sha256 = ToHex(sha.Finish());
  if (facts->format == "csv") {
    check.actual_rows = csv.records == 0 ? 0 : csv.records - 1;
    if (csv.in_quotes || csv.pending)
      check.problems.push_back("file ends inside a CSV record (truncated?)");
  } else {
    check.actual_rows = lines;
    if (any && last != '\n')
      check.problems.push_back("file does not end with a newline (truncated?)");
  }
  if (check.actual_sha256 != check.manifest_sha256) {
    check.problems.push_back("SHA-256 mismatch: manifest " + check.manifest_sha256 + ", file " +
                             check.actual_sha256);
  }
  if (check.actual_rows != check.manifest_rows) {
    check.problems.push_back("row count mismatch: manifest " + std::to_string(check.manifest_rows) +
                             ", file " + std::to_string(check.actual_rows));
  }
  check.ok = check.problems.empty();
  return check;
}

}  // namespace vigil::collector::incidents
