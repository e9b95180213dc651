// Exports: formats and their escaping rules, time zones, manifests with
// coverage gaps, verify-export, and the export's own audit record.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "collector/incidents/chain_verifier.h"
#include "collector/incidents/export_format.h"
#include "collector/incidents/export_manifest.h"
#include "tests/collector/incidents/store_fixture.h"

namespace vigil::collector::incidents::testing {
namespace {

std::string ReadAll(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

ExportRow SampleRow() {
  ExportRow r;
  r.seq = 42;
  r.record_hash = std::string(64, 'c');
  r.recorded_ns = kT0 + 1500;
  r.incident_id = 7;
  r.incident_status = "open";
  r.alert_kind = "detection";
  r.rule_id = "net|scan\\x";
  r.rule_title = "Scan, \"quoted\"\nnext";
  r.level = "critical";
  r.agency = "Sở Tài chính";  // UTF-8 passes through
  r.agent_id = "agent=1";
  r.message = "a]b\"c\\d";
  r.matched_fields_json = R"([{"name":"q","value":"x"}])";
  r.events_json = "[]";
  r.tags_json = "[]";
  return r;
}

TEST(ExportFormat, CsvQuotesPerRfc4180AndEndsRecordsWithCrlf) {
  EXPECT_EQ(CsvField("plain"), "plain");
  EXPECT_EQ(CsvField("a,b"), "\"a,b\"");
  EXPECT_EQ(CsvField("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(CsvField("two\r\nlines"), "\"two\r\nlines\"");
  // Spreadsheet formula injection is neutralised.
  EXPECT_EQ(CsvField("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
  EXPECT_EQ(CsvField("-1"), "\"'-1\"");
  auto f = MakeRowFormatter(ExportFormat::kCsv, *DisplayZone::Load("UTC"), {});
  std::string out = f->Header();
  EXPECT_EQ(out.substr(out.size() - 2), "\r\n");
  f->Append(SampleRow(), out);
  EXPECT_EQ(out.substr(out.size() - 2), "\r\n");
  EXPECT_NE(out.find("\"Scan, \"\"quoted\"\"\nnext\""), std::string::npos) << out;
  bool ok = false;
  EXPECT_EQ(CountExportRows("csv", out, ok), 1u);  // the embedded newline is not a record end
  EXPECT_TRUE(ok);
}

TEST(ExportFormat, JsonlIsOneValidObjectPerLine) {
  auto f = MakeRowFormatter(ExportFormat::kJsonl, *DisplayZone::Load("UTC"), {});
  std::string out;
  f->Append(SampleRow(), out);
  ASSERT_EQ(out.back(), '\n');
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1);
  auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["rule_title"], "Scan, \"quoted\"\nnext");
  EXPECT_EQ(j["agency"], "Sở Tài chính");
  EXPECT_EQ(j["recorded_at"], "2026-01-01T00:00:00.000001Z");
  EXPECT_EQ(j["matched_fields"][0]["name"], "q");
  EXPECT_EQ(j["seq"], 42);
}

TEST(ExportFormat, JsonQuoteEscapesControlsAndRepairsInvalidUtf8) {
  EXPECT_EQ(JsonQuote("a\"b\\c\n\x01"), R"("a\"b\\c\n\u0001")");
  EXPECT_EQ(JsonQuote("bad\xff\xfe"), R"("bad\ufffd\ufffd")");
  EXPECT_EQ(JsonQuote("\xc0\xaf"), R"("\ufffd\ufffd")");  // overlong '/'
  EXPECT_TRUE(nlohmann::json::accept(JsonQuote(std::string("\xed\xa0\x80", 3))));
}

TEST(ExportFormat, CefEscapesHeaderAndExtension) {
  EXPECT_EQ(CefHeaderEscape("a|b\\c\nd"), "a\\|b\\\\c d");
  EXPECT_EQ(CefExtensionEscape("k=v\\x\r\ny|z"), "k\\=v\\\\x\\r\\ny|z");
  auto f = MakeRowFormatter(ExportFormat::kCef, *DisplayZone::Load("UTC"),
                            SyslogIdentity{"collector-1", 4, "0.1.0"});
  std::string out;
  f->Append(SampleRow(), out);
  EXPECT_EQ(
      out.rfind("CEF:0|Vigil|Vigil Collector|0.1.0|net\\|scan\\\\x|Scan, \"quoted\" next|10|", 0),
      0u)
      << out;
  EXPECT_NE(out.find(" cs2=agent\\=1 "), std::string::npos) << out;
  EXPECT_NE(out.find("|rt=1767225600000 "), std::string::npos);
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1);
  // Seven unescaped header separators, then the extension.
  int pipes = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == '\\') {
      ++i;
      continue;
    }
    pipes += out[i] == '|';
  }
  EXPECT_EQ(pipes, 7);
}

TEST(ExportFormat, SyslogIsRfc5424WithEscapedStructuredData) {
  EXPECT_EQ(SyslogParamEscape("a\"b\\c]d"), "a\\\"b\\\\c\\]d");
  EXPECT_EQ(SyslogParamEscape("two\nlines\r"), "two\\nlines\\r");
  EXPECT_EQ(SyslogHeaderToken("my host", 255), "myhost");
  EXPECT_EQ(SyslogHeaderToken("", 255), "-");
  const std::string msg = FormatSyslogMessage(SampleRow(), *DisplayZone::Load("UTC"),
                                              SyslogIdentity{"collector-1", 4, "0.1.0"});
  // PRI = facility 4 * 8 + severity 2 (critical)
  EXPECT_EQ(
      msg.rfind("<34>1 2026-01-01T00:00:00.000001Z collector-1 vigil - alert [vigil@32473 ", 0), 0u)
      << msg;
  EXPECT_NE(msg.find("rule_id=\"net|scan\\\\x\""), std::string::npos) << msg;
  EXPECT_NE(msg.find("] Scan, \"quoted\" next: a]b\"c\\d"), std::string::npos) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos);
}

TEST(ExportFormat, SeverityMaps) {
  EXPECT_EQ(SyslogSeverity("critical"), 2);
  EXPECT_EQ(SyslogSeverity("informational"), 6);
  EXPECT_EQ(CefSeverity("high"), 8);
  EXPECT_EQ(CefSeverity("low"), 3);
}

class ExportTest : public StoreTest {
 protected:
  ExportOptions Options(ExportFormat format, const std::string& name) {
    ExportOptions o;
    o.query.since_ns = kT0 - 3600 * kSecond;
    o.query.until_ns = kT0 + 3600 * kSecond;
    o.format = format;
    o.output = dir_ / name;
    o.exporter = "auditor-anna";
    o.identity.hostname = "collector-1";
    return o;
  }
};

TEST_F(ExportTest, ExportWritesFileManifestAndAuditRecord) {
  Open();
  Commit(1, {MakeAlert("r1", kT0), MakeAlert("r2", kT0 + kSecond, engine::Level::kLow)});
  Commit(2, {MakeAlert("r1", kT0 + 2 * kSecond)});
  Commit(3, {MakeAlert("r1", kT0 + 7200 * kSecond)});  // outside the window
  auto result = store_->Export(Options(ExportFormat::kJsonl, "out.jsonl"));
  ASSERT_TRUE(result.has_value()) << result.error().message;
  EXPECT_EQ(result->rows, 3u);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "out.jsonl.partial"));
  const std::string body = ReadAll(dir_ / "out.jsonl");
  EXPECT_EQ(ToHex(Sha256(body)), result->sha256);
  EXPECT_EQ(result->bytes, body.size());

  const auto manifest = nlohmann::json::parse(ReadAll(result->manifest));
  EXPECT_EQ(manifest["rows"], 3);
  EXPECT_EQ(manifest["sha256"], result->sha256);
  EXPECT_EQ(manifest["format"], "jsonl");
  EXPECT_EQ(manifest["exporter"]["user"], "auditor-anna");
  EXPECT_EQ(manifest["window_utc"]["since"], "2025-12-31T23:00:00.000000Z");
  EXPECT_EQ(manifest["chain_head"]["seq"], result->head.seq);
  EXPECT_EQ(manifest["export_record_seq"], result->export_record_seq);
  EXPECT_EQ(manifest["store_id"], store_->store_id());
  // The export is itself an audit record, and it names the file's hash.
  EXPECT_EQ(
      Sql("SELECT row_count || ' ' || file_sha256 || ' ' || exporter FROM exports WHERE seq = " +
          std::to_string(result->export_record_seq)),
      "3 " + result->sha256 + " auditor-anna");

  auto check = VerifyExport(dir_ / "out.jsonl", result->manifest);
  ASSERT_TRUE(check.has_value());
  EXPECT_TRUE(check->ok);
  EXPECT_EQ(check->actual_rows, 3u);
}

TEST_F(ExportTest, FiltersApply) {
  Open();
  Commit(1, {MakeAlert("r1", kT0), MakeAlert("r2", kT0, engine::Level::kLow)});
  Commit(1, {MakeAlert("r1", kT0)}, "agent-9", "agency-z");
  auto o = Options(ExportFormat::kCsv, "f.csv");
  o.query.min_level = "medium";
  auto a = store_->Export(o);
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->rows, 2u);
  o = Options(ExportFormat::kCsv, "g.csv");
  o.query.agency = "agency-z";
  auto b = store_->Export(o);
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->rows, 1u);
  ASSERT_TRUE(store_->ChangeIncident(1, IncidentAction::kClose, "x", "").has_value());
  o = Options(ExportFormat::kCsv, "h.csv");
  o.query.status = "closed";
  auto c = store_->Export(o);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->rows, 1u);
  o.query.min_level = "severe";
  EXPECT_EQ(store_->Export(o).error().code, ErrorCode::kInvalidArgument);
}

TEST_F(ExportTest, TamperedExportFailsVerification) {
  Open();
  Commit(1, {MakeAlert("r1", kT0), MakeAlert("r1", kT0 + 1)});
  auto result = store_->Export(Options(ExportFormat::kCsv, "x.csv"));
  ASSERT_TRUE(result.has_value());
  std::string body = ReadAll(dir_ / "x.csv");
  // Drop the last record: hash and count both differ.
  body.resize(body.rfind("\r\n", body.size() - 3) + 2);
  std::ofstream(dir_ / "x.csv", std::ios::binary | std::ios::trunc) << body;
  auto check = VerifyExport(dir_ / "x.csv", result->manifest);
  ASSERT_TRUE(check.has_value());
  EXPECT_FALSE(check->ok);
  EXPECT_EQ(check->manifest_rows, 2u);
  EXPECT_EQ(check->actual_rows, 1u);
  EXPECT_EQ(check->problems.size(), 2u);
}

TEST_F(ExportTest, DisplayTimeZoneRendersOffset) {
  Open();
  Commit(1, {MakeAlert("r1", kT0)});
  auto o = Options(ExportFormat::kJsonl, "tz.jsonl");
  o.time_zone = "Asia/Ho_Chi_Minh";
  auto result = store_->Export(o);
  ASSERT_TRUE(result.has_value()) << result.error().message;
  const auto row = nlohmann::json::parse(ReadAll(dir_ / "tz.jsonl"));
  EXPECT_EQ(row["event_time"], "2026-01-01T07:00:00.000000+07:00");
  o.time_zone = "Mars/Olympus_Mons";
  auto bad = store_->Export(o);
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message.find("unknown time zone"), std::string::npos);
}

TEST_F(ExportTest, ManifestListsInjectedCoverageGaps) {
  Open();
  Commit(1, {MakeAlert("r1", kT0)});
  CoverageEvent loss;
  loss.kind = CoverageKind::kLossReport;
  loss.agent_id = "agent-1";
  loss.agency = "agency-a";
  loss.occurred_ns = kT0 + 10 * kSecond;
  loss.window_start_ns = kT0 + 5 * kSecond;
  loss.window_end_ns = kT0 + 9 * kSecond;
  loss.first_sequence = 2;
  loss.last_sequence = 4;
  loss.batches = 3;
  loss.records = 3000;
  loss.detail = "spool_overflow";
  ASSERT_TRUE(store_->RecordCoverage(loss).has_value());
  CoverageEvent drop;
  drop.kind = CoverageKind::kCaptureHealth;
  drop.agent_id = "agent-1";
  drop.agency = "agency-a";
  drop.occurred_ns = kT0 + 60 * kSecond;
  drop.window_start_ns = kT0;
  drop.window_end_ns = kT0 + 60 * kSecond;
  drop.drop_ratio = 0.2;
  ASSERT_TRUE(store_->RecordCoverage(drop).has_value());
  drop.drop_ratio = 0.001;  // below the threshold: not a gap
  drop.occurred_ns = kT0 + 120 * kSecond;
  ASSERT_TRUE(store_->RecordCoverage(drop).has_value());
  CoverageEvent gone;
  gone.kind = CoverageKind::kDisconnected;
  gone.agent_id = "agent-2";
  gone.agency = "agency-b";
  gone.occurred_ns = kT0 + 100 * kSecond;
  ASSERT_TRUE(store_->RecordCoverage(gone).has_value());
  gone.kind = CoverageKind::kConnected;
  gone.occurred_ns = kT0 + 400 * kSecond;
  ASSERT_TRUE(store_->RecordCoverage(gone).has_value());
  CoverageEvent silent;
  silent.kind = CoverageKind::kSilent;
  silent.agent_id = "agent-3";
  silent.agency = "agency-c";
  silent.occurred_ns = kT0 - 7200 * kSecond;  // before the window, never back
  ASSERT_TRUE(store_->RecordCoverage(silent).has_value());

  auto result = store_->Export(Options(ExportFormat::kJsonl, "cov.jsonl"));
  ASSERT_TRUE(result.has_value()) << result.error().message;
  const auto m = nlohmann::json::parse(ReadAll(result->manifest));
  const auto& gaps = m["coverage"]["gaps"];
  EXPECT_FALSE(m["coverage"]["complete"].get<bool>());
  std::map<std::string, nlohmann::json> by_kind;
  for (const auto& g : gaps) by_kind[g["kind"].get<std::string>()] = g;
  ASSERT_EQ(gaps.size(), 4u) << gaps.dump(2);
  EXPECT_EQ(by_kind["loss_report"]["first_sequence"], 2);
  EXPECT_EQ(by_kind["loss_report"]["records"], 3000);
  EXPECT_EQ(by_kind["loss_report"]["detail"], "spool_overflow");
  EXPECT_DOUBLE_EQ(by_kind["capture_drop"]["drop_ratio"].get<double>(), 0.2);
  EXPECT_EQ(by_kind["agent_disconnected"]["agent"], "agent-2");
  EXPECT_EQ(by_kind["agent_disconnected"]["start"], "2026-01-01T00:01:40.000000Z");
  EXPECT_EQ(by_kind["agent_disconnected"]["end"], "2026-01-01T00:06:40.000000Z");
  EXPECT_EQ(by_kind["agent_silent"]["start"], "2025-12-31T23:00:00.000000Z");  // clipped
  EXPECT_EQ(by_kind["agent_silent"]["end"], "2026-01-01T01:00:00.000000Z");
  bool agent1 = false;
  for (const auto& a : m["coverage"]["agents"]) {
    if (a["agent"] == "agent-1") {
      agent1 = true;
      EXPECT_EQ(a["events_received"], 100);
      EXPECT_EQ(a["records_lost"], 3000);
    }
  }
  EXPECT_TRUE(agent1);
}

TEST_F(ExportTest, CollectorDowntimeIsACoverageGap) {
  CrashAfterCommit(1);
  clock_.Advance(600 * kSecond);
  Open();
  auto result = store_->Export(Options(ExportFormat::kJsonl, "down.jsonl"));
  ASSERT_TRUE(result.has_value());
  const auto m = nlohmann::json::parse(ReadAll(result->manifest));
  ASSERT_EQ(m["coverage"]["gaps"].size(), 1u) << m["coverage"].dump(2);
  EXPECT_EQ(m["coverage"]["gaps"][0]["kind"], "collector_down");
  EXPECT_EQ(m["coverage"]["gaps"][0]["end"], "2026-01-01T00:10:00.000000Z");
}

TEST_F(ExportTest, ExportIsStreamedForManyRows) {
  Open();
  std::vector<BatchCommit> batches(50);
  std::vector<std::vector<engine::Alert>> alerts(50);
  for (size_t b = 0; b < batches.size(); ++b) {
    for (int i = 0; i < 100; ++i) {
      alerts[b].push_back(
          MakeAlert("r" + std::to_string(i % 7), kT0 + static_cast<int64_t>(b * 100 + i) * 1000));
    }
    batches[b].agent_id = "agent-1";
    batches[b].agency = "agency-a";
    batches[b].sequence = b + 1;
    batches[b].alerts = alerts[b];
  }
  ASSERT_TRUE(store_->CommitBatches(batches).has_value());
  for (auto format :
       {ExportFormat::kCsv, ExportFormat::kJsonl, ExportFormat::kCef, ExportFormat::kSyslog}) {
    const std::string name = "many." + std::string(ExportFormatName(format));
    auto result = store_->Export(Options(format, name));
    ASSERT_TRUE(result.has_value());
    EXPECT_EQ(result->rows, 5000u) << name;
    auto check = VerifyExport(dir_ / name, result->manifest);
    ASSERT_TRUE(check.has_value());
    EXPECT_TRUE(check->ok) << name << ": " << (check->problems.empty() ? "" : check->problems[0]);
  }
  store_.reset();
  VerifyOptions options;
  options.keys.push_back(*VerifyKey::Load(pub_));
  auto report = VerifyChain(config_.db_path, options);
  ASSERT_TRUE(report.has_value());
  EXPECT_TRUE(report->ok);
}

TEST(ManifestParse, RejectsMalformedManifests) {
  EXPECT_FALSE(ParseManifestFacts("").has_value());
  EXPECT_FALSE(ParseManifestFacts("[]").has_value());
  EXPECT_FALSE(ParseManifestFacts(R"({"format":"csv","rows":-1,"sha256":"x"})").has_value());
  EXPECT_FALSE(ParseManifestFacts(R"({"format":"xml","rows":1,"sha256":"x"})").has_value());
  auto ok = ParseManifestFacts(R"({"format":"cef","rows":3,"sha256":"ab"})");
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->rows, 3u);
}

}  // namespace
}  // namespace vigil::collector::incidents::testing
