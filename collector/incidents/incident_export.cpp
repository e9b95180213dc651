// IncidentStore::Export: streams alerts of a window to a file in one read
// snapshot, then records the export in the chain and writes its manifest.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>

#include "collector/incidents/coverage_report.h"
#include "collector/incidents/export_manifest.h"
#include "collector/incidents/incident_store.h"
#include "collector/incidents/store_impl.h"

namespace vigil::collector::incidents {
namespace {

constexpr std::string_view kLevels[] = {"informational", "low", "medium", "high", "critical"};
constexpr size_t kFlushBytes = 1 << 16;

std::string HostName() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "unknown-host";
  return buf;
}

std::expected<void, StoreError> WriteAll(FILE* f, std::string_view bytes,
                                         const std::filesystem::path& path) {
  if (!bytes.empty() && std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size()) {
    return std::unexpected(StoreError{ErrorCode::kIo, "writing " + path.string() + " failed"});
  }
  return {};
}

std::expected<void, StoreError> WriteFileAtomically(const std::filesystem::path& path,
                                                    std::string_view bytes) {
  const std::filesystem::path tmp = path.string() + ".partial";
  FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr)
    return std::unexpected(StoreError{ErrorCode::kIo, "cannot create " + tmp.string()});
  auto w = WriteAll(f, bytes, tmp);
  const bool synced = std::fflush(f) == 0 && ::fsync(fileno(f)) == 0;
  std::fclose(f);
  if (!w || !synced) {
    std::filesystem::remove(tmp);
    return std::unexpected(StoreError{ErrorCode::kIo, "cannot write " + tmp.string()});
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return std::unexpected(StoreError{ErrorCode::kIo, "cannot rename to " + path.string()});
  return {};
}

}  // namespace

std::vector<std::string> LevelsAtLeast(std::string_view level) {
  std::vector<std::string> out;
  bool found = false;
  for (auto l : kLevels) {
    if (l == level) found = true;
    if (found) out.emplace_back(l);
  }
  return out;
}

std::string_view ExportSelectColumns() {
  return "a.seq, r.hash, r.recorded_ns, a.incident_id, coalesce(i.status, 'pruned'), "
         "a.alert_kind, a.rule_id, a.rule_title, a.level, a.author, a.tags, a.rule_file, "
         "a.rule_file_hash, a.ruleset_hash, a.shadow, a.group_key, a.agent_id, a.agency, "
         "a.batch_sequence, a.capture_drop_ratio, a.event_time_ns, a.received_ns, "
         "a.matched_fields, a.events, a.suppressed_count, a.message "
         "FROM alerts a JOIN records r ON r.seq = a.seq "
         "LEFT JOIN incidents i ON i.id = a.incident_id";
}

ExportRow ReadExportRow(const Statement& s) {
  ExportRow r;
  r.seq = static_cast<uint64_t>(s.ColumnInt(0));
  const std::string hash = s.ColumnBlob(1);
  r.record_hash =
      ToHex(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(hash.data()), hash.size()));
  r.recorded_ns = s.ColumnInt(2);
  r.incident_id = s.ColumnInt(3);
  r.incident_status = s.ColumnText(4);
  r.alert_kind = s.ColumnText(5);
  r.rule_id = s.ColumnText(6);
  r.rule_title = s.ColumnText(7);
  r.level = s.ColumnText(8);
  r.author = s.ColumnText(9);
  r.tags_json = s.ColumnText(10);
  r.rule_file = s.ColumnText(11);
  r.rule_file_hash = s.ColumnText(12);
  r.ruleset_hash = s.ColumnText(13);
  r.shadow = s.ColumnInt(14) != 0;
  r.group_key = s.ColumnText(15);
  r.agent_id = s.ColumnText(16);
  r.agency = s.ColumnText(17);
  r.batch_sequence = static_cast<uint64_t>(s.ColumnInt(18));
  r.capture_drop_ratio = s.ColumnReal(19);
  r.event_time_ns = s.ColumnInt(20);
  r.received_ns = s.ColumnInt(21);
  r.matched_fields_json = s.ColumnText(22);
  r.events_json = s.ColumnText(23);
  r.suppressed_count = static_cast<uint64_t>(s.ColumnInt(24));
  r.message = s.ColumnText(25);
  return r;
}

std::expected<ExportResult, StoreError> IncidentStore::Export(const ExportOptions& options) {
  const auto& q = options.query;
  if (q.until_ns <= q.since_ns) {
    return std::unexpected(
        StoreError{ErrorCode::kInvalidArgument, "--until must be later than --since"});
  }
  if (options.output.empty()) {
    return std::unexpected(StoreError{ErrorCode::kInvalidArgument, "an output file is required"});
  }
  auto zone = DisplayZone::Load(options.time_zone);
  if (!zone) return std::unexpected(zone.error());

  std::string sql = "SELECT " + std::string(ExportSelectColumns()) +
                    " WHERE a.event_time_ns >= ? AND a.event_time_ns < ?";
  std::vector<std::string> binds;
  if (q.agency) {
    sql += " AND a.agency = ?";
    binds.push_back(*q.agency);
  }
  if (q.agent_id) {
    sql += " AND a.agent_id = ?";
    binds.push_back(*q.agent_id);
  }
  if (q.rule_id) {
    sql += " AND a.rule_id = ?";
    binds.push_back(*q.rule_id);
  }
  if (q.min_level) {
    const auto levels = LevelsAtLeast(*q.min_level);
    if (levels.empty()) {
      return std::unexpected(StoreError{
          ErrorCode::kInvalidArgument,
          "unknown level '" + *q.min_level + "' (informational, low, medium, high, critical)"});
    }
    sql += " AND a.level IN (";
    for (size_t i = 0; i < levels.size(); ++i) {
      sql += i ? ", ?" : "?";
      binds.push_back(levels[i]);
    }
    sql += ")";
  }
  if (q.status) {
    if (!ParseIncidentStatus(*q.status)) {
      return std::unexpected(
          StoreError{ErrorCode::kInvalidArgument,
                     "unknown status '" + *q.status + "' (open, acknowledged, closed)"});
    }
    sql += " AND i.status = ?";
    binds.push_back(*q.status);
  }
  if (!q.include_shadow) sql += " AND a.shadow = 0";
  // The event-time index delivers rows in this order: no sort, no buffering.
  sql += " ORDER BY a.event_time_ns, a.seq";

  std::lock_guard lock(impl_->mu);
  Impl& impl = *impl_;
  ExportResult result;
  const std::filesystem::path partial = options.output.string() + ".partial";
  CoverageReport coverage;

  // Phase 1: one read snapshot for rows, head and coverage.
  {
    if (auto r = impl.db.Exec("BEGIN"); !r) return std::unexpected(r.error());
    auto body = [&]() -> std::expected<void, StoreError> {
      auto head = impl.ReadHead();
      if (!head) return std::unexpected(head.error());
      result.head = *head;
      auto s = impl.db.Prepare(sql);
      if (!s) return std::unexpected(s.error());
      s->Bind(1, q.since_ns);
      s->Bind(2, q.until_ns);
      for (size_t i = 0; i < binds.size(); ++i) s->Bind(static_cast<int>(i) + 3, binds[i]);

      FILE* f = std::fopen(partial.c_str(), "wb");
      if (f == nullptr) {
        return std::unexpected(StoreError{ErrorCode::kIo, "cannot create " + partial.string()});
      }
      auto formatter = MakeRowFormatter(options.format, *zone, options.identity);
      Sha256Stream sha;
      std::string buf = formatter->Header();
      auto flush = [&]() -> std::expected<void, StoreError> {
        sha.Update(buf);
        result.bytes += buf.size();
        auto w = WriteAll(f, buf, partial);
        buf.clear();
        return w;
      };
      std::expected<void, StoreError> status;
      for (;;) {
        auto row = s->Step();
        if (!row) {
          status = std::unexpected(row.error());
          break;
        }
        if (!*row) break;
        formatter->Append(ReadExportRow(*s), buf);
        ++result.rows;
        if (buf.size() >= kFlushBytes) {
          status = flush();
          if (!status) break;
        }
      }
      if (status) status = flush();
      const bool synced = std::fflush(f) == 0 && ::fsync(fileno(f)) == 0;
      std::fclose(f);
      if (status && !synced) {
        status = std::unexpected(StoreError{ErrorCode::kIo, "cannot write " + partial.string()});
      }
      if (!status) return status;
      result.sha256 = ToHex(sha.Finish());
      auto cov = ComputeCoverage(impl.db, q.since_ns, q.until_ns, options.drop_threshold, q.agency,
                                 q.agent_id);
      if (!cov) return std::unexpected(cov.error());
      coverage = std::move(*cov);
      return {};
    };
    auto status = body();
    (void)impl.db.Exec("COMMIT");
    if (!status) {
      std::filesystem::remove(partial);
      return std::unexpected(status.error());
    }
  }

  // Phase 2: the export is an audit record; only then does the file appear
  // under its final name, so no unaudited export is left behind.
  const int64_t now = clock_();
  std::string filters = "{\"agency\":" + JsonQuote(q.agency.value_or("")) +
                        ",\"agent\":" + JsonQuote(q.agent_id.value_or("")) +
                        ",\"rule\":" + JsonQuote(q.rule_id.value_or("")) +
                        ",\"min_level\":" + JsonQuote(q.min_level.value_or("")) +
                        ",\"status\":" + JsonQuote(q.status.value_or("")) +
                        ",\"include_shadow\":" + (q.include_shadow ? "true" : "false") + "}";
  std::vector<FieldValue> fields = {options.exporter,
                                    filters,
                                    q.since_ns,
                                    q.until_ns,
                                    std::string(ExportFormatName(options.format)),
                                    static_cast<int64_t>(result.rows),
                                    result.sha256,
                                    static_cast<int64_t>(result.head.seq),
                                    ToHex(result.head.hash),
                                    options.output.filename().string()};
  std::expected<void, StoreError> outcome = impl.Begin();
  if (outcome) {
    auto seq = impl.Append(kKindExport, fields, now);
    if (seq) {
      result.export_record_seq = *seq;
    } else {
      outcome = std::unexpected(seq.error());
    }
  }
  if (outcome) outcome = impl.Commit();
  if (!outcome) {
    impl.Rollback();
    std::filesystem::remove(partial);
    return std::unexpected(outcome.error());
  }
  stats_.records_appended.fetch_add(1);
  stats_.exports_written.fetch_add(1);
  stats_.chain_head_seq.store(impl.head.seq);

  std::error_code ec;
  std::filesystem::rename(partial, options.output, ec);
  if (ec) {
    return std::unexpected(StoreError{
        ErrorCode::kIo, "cannot rename " + partial.string() + " to " + options.output.string()});
  }
  result.manifest = options.manifest.empty()
                        ? std::filesystem::path(options.output.string() + ".manifest.json")
                        : options.manifest;
  result.coverage_gaps = coverage.gaps.size();
  ManifestContent content{options, result, std::move(coverage), store_id_, now, HostName()};
  if (auto w = WriteFileAtomically(result.manifest, RenderManifest(content)); !w) {
    return std::unexpected(w.error());
  }
  return result;
}

}  // namespace vigil::collector::incidents
