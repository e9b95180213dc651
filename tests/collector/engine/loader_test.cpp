// The loader: every error and warning with its code, line and column, all
// at once; document kinds; rule states with reasons; hashes.
#include <chrono>
#include <cstdint>

#include "collector/engine/loader/reader.h"
#include "tests/collector/engine/rule_harness.h"

namespace vigil::testing {
namespace {

using engine::RuleState;
using engine::Severity;

engine::Diagnostic Only(const engine::LoadResult& r, const std::string& code) {
  auto d = WithCode(r, code);
  EXPECT_EQ(d.size(), 1u) << "diagnostics:\n" << AllDiagnostics(r);
  return d.empty() ? engine::Diagnostic{} : d[0];
}

const engine::RuleSummary* Summary(const engine::LoadResult& r, const std::string& id) {
  for (const auto& s : r.rules) {
    if (s.id == id) return &s;
  }
  return nullptr;
}

TEST(Loader, UnknownModifierIsAnErrorAtItsColumn) {
  auto r = LoadYaml(
      "title: t\n"
      "id: r\n"
      "logsource: {product: zeek, service: dns}\n"
      "detection:\n"
      "  s:\n"
      "    query|contians: x\n"
      "  condition: s\n");
  EXPECT_FALSE(r.ok());
  const auto d = Only(r, "unknown_modifier");
  EXPECT_EQ(d.where.file, "inline.yml");
  EXPECT_EQ(d.where.line, 6);
  EXPECT_EQ(d.where.column, 11);
  EXPECT_EQ(d.rule_id, "r");
  EXPECT_NE(d.message.find("did you mean 'contains'"), std::string::npos) << d.message;
}

TEST(Loader, UnknownFieldIsAnErrorWithASuggestion) {
  auto r = LoadYaml(Rule(kDns, "  s:\n    qeury: x\n  condition: s"));
  const auto d = Only(r, "unknown_field");
  EXPECT_EQ(d.severity, Severity::kError);
  EXPECT_EQ(d.where.line, 9);
  EXPECT_EQ(d.where.column, 5);
  EXPECT_NE(d.message.find("'query'"), std::string::npos) << d.message;
}

TEST(Loader, AllErrorsAreReportedAtOnce) {
  auto r = LoadYaml(
      "title: t\nid: r\nlogsource: {product: zeek, service: http}\n"
      "detection:\n  s:\n    urii: x\n    method|bogus: GET\n    host|cidr: 10.0.0.1/8\n  "
      "condition: s and missing\n"
      "falsepositive: [x]\n");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(WithCode(r, "unknown_field").size(), 1u) << AllDiagnostics(r);
  EXPECT_EQ(WithCode(r, "unknown_modifier").size(), 1u);
  EXPECT_EQ(WithCode(r, "bad_cidr").size(), 1u);
  EXPECT_EQ(WithCode(r, "unknown_identifier").size(), 1u);
  EXPECT_EQ(WithCode(r, "unknown_key").size(), 1u);
  EXPECT_GE(r.errors(), 5u);
}

TEST(Loader, ConditionErrorColumnPointsIntoTheCondition) {
  auto r = LoadYaml(Rule(kDns, "  s:\n    query: x\n  condition: s and not filter"));
  const auto d = Only(r, "unknown_identifier");
  EXPECT_EQ(d.where.line, 10);
  EXPECT_EQ(d.where.column, 24);
}

TEST(Loader, YamlSyntaxErrorHasLineAndColumnAndFailsTheFile) {
  auto r = LoadYaml("title: t\nid: r\ndetection:\n  s: [a, b\n  condition: s\n");
  EXPECT_FALSE(r.ok());
  const auto d = Only(r, "yaml_syntax");
  EXPECT_GT(d.where.line, 0);
  EXPECT_GT(d.where.column, 0);
}

TEST(Loader, MultiDocumentFilesLoadEveryDocument) {
  auto r = LoadYaml(Rule(kDns, "  s:\n    query: a\n  condition: s") + "---\n" +
                    "title: second\nid: r2\nlogsource: {category: dns}\ndetection:\n  s:\n    "
                    "query: b\n  condition: s\n");
  ASSERT_TRUE(r.ok()) << AllDiagnostics(r);
  EXPECT_EQ(r.counts.active, 2u);
  ASSERT_NE(Summary(r, "r2"), nullptr);
  EXPECT_EQ(Summary(r, "r2")->line, 12);
}

TEST(Loader, CustomTopLevelKeysOfSigmaHQAreAllowedOthersAreNot) {
  auto ok = LoadYaml(Rule(kDns, "  s:\n    query: a\n  condition: s",
                          "regression_tests_path: regression_data/x/info.yml\nsimulation:\n  - "
                          "type: atomic-red-team\n"));
  EXPECT_TRUE(ok.ok()) << AllDiagnostics(ok);
  auto bad = LoadYaml(Rule(kDns, "  s:\n    query: a\n  condition: s", "my_custom_key: 1\n"));
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(Only(bad, "unknown_key").where.line, 11);
}

TEST(Loader, DuplicateKeysAndIdsAreErrors) {
  auto dup_key = LoadYaml(Rule(kDns, "  s:\n    query: a\n    query: b\n  condition: s"));
  EXPECT_FALSE(dup_key.ok());
  EXPECT_EQ(Only(dup_key, "duplicate_key").where.line, 10);
  auto dup_id = LoadYaml(Rule(kDns, "  s:\n    query: a\n  condition: s") + "---\n" +
                         Rule(kDns, "  s:\n    query: b\n  condition: s"));
  EXPECT_FALSE(dup_id.ok());
  EXPECT_EQ(Only(dup_id, "duplicate_id").where.line, 13);
}

TEST(Loader, LegacyAggregationAndTimeframeAreRejectedWithAReason) {
  auto pipe = LoadYaml(
      Rule(kConn, "  s:\n    proto: tcp\n  condition: s | count(id.resp_p) by id.orig_h > 10"));
  EXPECT_FALSE(pipe.ok());
  const auto d = Only(pipe, "legacy_aggregation");
  EXPECT_EQ(d.where.column, 16);
  EXPECT_EQ(Summary(pipe, "r")->state, RuleState::kRejected);
  EXPECT_NE(Summary(pipe, "r")->reason.find("correlation"), std::string::npos);

  auto timeframe = LoadYaml(Rule(kConn, "  s:\n    proto: tcp\n  timeframe: 30s\n  condition: s"));
  EXPECT_FALSE(timeframe.ok());
  Only(timeframe, "legacy_timeframe");
}

TEST(Loader, OldStringComparisonsAreRejected) {
  // ttl: '>0' (net_possible_dns_rebinding) is a string in v2; as a value of
  // a numeric field it can never mean "greater than": Vigil says so.
  auto r = LoadYaml(Rule(kDns, "  s:\n    TTLs: '>0'\n  condition: s"));
  EXPECT_FALSE(r.ok());
  const auto d = Only(r, "legacy_comparison");
  EXPECT_EQ(d.where.line, 9);
}

TEST(Loader, RetiredRulesAreInactiveWithTheirProblemAsTheReason) {
  auto r = LoadYaml(
      "title: old\nid: r\nstatus: unsupported\nlogsource: {category: firewall}\n"
      "detection:\n  s:\n    dst_port: 53\n  timeframe: 1m\n  condition: s | count() by src_ip > "
      "1000\n");
  EXPECT_TRUE(r.ok()) << AllDiagnostics(r);
  EXPECT_EQ(r.errors(), 0u);
  const auto* s = Summary(r, "r");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->state, RuleState::kInactive);
  EXPECT_NE(s->reason.find("unsupported"), std::string::npos);
  EXPECT_NE(s->reason.find("timeframe"), std::string::npos) << s->reason;
}

TEST(Loader, IncludeDeprecatedLoadsRetiredRules) {
  engine::LoadOptions o;
  o.include_deprecated = true;
  auto r = LoadYaml(
      "title: old\nid: r\nstatus: deprecated\nlogsource: {category: dns}\n"
      "detection:\n  s:\n    query: x\n  condition: s\n",
      o);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Summary(r, "r")->state, RuleState::kActive);
}

TEST(Loader, RulesForLogsVigilDoesNotProduceAreInactiveWithTheReason) {
  auto r = LoadYaml(
      "title: smb\nid: smb\nlogsource: {product: zeek, service: smb_files}\n"
      "detection:\n  s:\n    path|endswith: '\\IPC$'\n  condition: s\n---\n"
      "title: win\nid: win\nlogsource: {product: windows, category: process_creation}\n"
      "detection:\n  s:\n    Image|endswith: '\\cmd.exe'\n  condition: s\n---\n"
      "title: cisco\nid: cisco\nlogsource: {product: cisco, service: aaa}\n"
      "detection:\n  keywords:\n    - 'show run'\n  condition: keywords\n");
  ASSERT_TRUE(r.ok()) << AllDiagnostics(r);
  EXPECT_EQ(r.counts.inactive, 3u);
  EXPECT_NE(Summary(r, "smb")->reason.find("smb_files"), std::string::npos);
  EXPECT_NE(Summary(r, "win")->reason.find("windows"), std::string::npos);
  EXPECT_NE(Summary(r, "cisco")->reason.find("cisco"), std::string::npos);
}

TEST(Loader, InactiveRulesAreStillCheckedForSyntax) {
  auto r = LoadYaml(
      "title: smb\nid: smb\nlogsource: {product: zeek, service: smb_files}\n"
      "detection:\n  s:\n    path|endswit: x\n  condition: s\n");
  EXPECT_FALSE(r.ok());
  Only(r, "unknown_modifier");
}

TEST(Loader, TaxonomyFieldsVigilDoesNotProduceMakeTheRuleInactive) {
  auto r = LoadYaml(
      "title: proxy\nid: p\nlogsource: {category: proxy}\n"
      "detection:\n  s:\n    cs-cookie|contains: session\n  condition: s\n");
  ASSERT_TRUE(r.ok()) << AllDiagnostics(r);
  EXPECT_EQ(Summary(r, "p")->state, RuleState::kInactive);
  EXPECT_NE(Summary(r, "p")->reason.find("cs-cookie"), std::string::npos);
}

TEST(Loader, FieldOfAnotherLogsourceWarnsThatTheItemNeverHolds) {
  auto r = LoadYaml(Rule(kConn, "  s:\n    proto: tcp\n  q:\n    query: x\n  condition: s and q"));
  ASSERT_TRUE(r.ok()) << AllDiagnostics(r);
  const auto d = Only(r, "field_of_other_logsource");
  EXPECT_EQ(d.severity, Severity::kWarning);
  EXPECT_EQ(d.where.line, 11);
}

TEST(Loader, ContradictorySelectionsWarnNeverMatches) {
  auto r =
      LoadYaml(Rule(kHttp, "  a:\n    method: GET\n  b:\n    method: POST\n  condition: a and b"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Only(r, "never_matches").severity, Severity::kWarning);
  auto fine = LoadYaml(
      Rule(kHttp, "  a:\n    method: [GET, POST]\n  b:\n    method: POST\n  condition: a and b"));
  EXPECT_TRUE(WithCode(fine, "never_matches").empty());
  auto null_and_value = LoadYaml(
      Rule(kHttp, "  a:\n    referrer: null\n  b:\n    referrer: x\n  condition: a and b"));
  EXPECT_EQ(WithCode(null_and_value, "never_matches").size(), 1u);
}

TEST(Loader, LogsourceRoutingThroughCategoriesAndAliases) {
  auto r = LoadYaml(
      "title: fw\nid: fw\nlogsource: {category: firewall}\ndetection:\n  s:\n    dst_port: 23\n    "
      "action: accept\n  condition: s\n---\n"
      "title: px\nid: px\nlogsource: {category: proxy}\ndetection:\n  s:\n    c-uri-extension: "
      "exe\n    cs-method: GET\n  condition: s\n---\n"
      "title: ws\nid: ws\nlogsource: {category: webserver}\ndetection:\n  s:\n    "
      "cs-uri-query|contains: cmd=\n  condition: s\n---\n"
      "title: nf\nid: nf\nlogsource: {service: netflow}\ndetection:\n  s:\n    destination.port: "
      "23\n  condition: s\n---\n"
      "title: ecs\nid: ecs\nlogsource: {category: network, service: dns}\ndetection:\n  s:\n    "
      "dns.question.name: x.example\n  condition: s\n");
  ASSERT_TRUE(r.ok()) << AllDiagnostics(r);
  EXPECT_EQ(Summary(r, "fw")->log, "conn");
  EXPECT_EQ(Summary(r, "px")->log, "http");
  EXPECT_EQ(Summary(r, "ws")->log, "http");
  EXPECT_EQ(Summary(r, "nf")->log, "conn");
  EXPECT_EQ(Summary(r, "ecs")->log, "dns");
}

TEST(Loader, ModifierOrderAndCombinationRules) {
  EXPECT_EQ(WithCode(LoadYaml(Rule(
                         kConn, "  s:\n    id.resp_h|contains|cidr: 10.0.0.0/8\n  condition: s")),
                     "modifier_order")
                .size(),
            1u);
  EXPECT_EQ(WithCode(LoadYaml(Rule(kHttp, "  s:\n    uri|contains|re: x\n  condition: s")),
                     "modifier_order")
                .size(),
            1u);
  EXPECT_EQ(
      WithCode(LoadYaml(Rule(kHttp, "  s:\n    uri|i: x\n  condition: s")), "modifier_without_re")
          .size(),
      1u);
  EXPECT_EQ(WithCode(LoadYaml(Rule(kHttp, "  s:\n    uri|contains|endswith: x\n  condition: s")),
                     "conflicting_modifiers")
                .size(),
            1u);
  EXPECT_EQ(
      WithCode(LoadYaml(Rule(kHttp, "  s:\n    uri|exists: 'yes'\n  condition: s")), "type_error")
          .size(),
      1u);
  EXPECT_EQ(
      WithCode(LoadYaml(Rule(kHttp, "  s:\n    uri|re: '(unclosed'\n  condition: s")), "bad_regex")
          .size(),
      1u);
  EXPECT_EQ(WithCode(LoadYaml(Rule(kHttp, "  s:\n    uri|re: '(?=lookahead)'\n  condition: s")),
                     "bad_regex")
                .size(),
            1u);
}

TEST(Loader, StrictCidrRejectsHostBits) {
  auto r = LoadYaml(Rule(kConn, "  s:\n    id.resp_h|cidr: 10.1.2.3/8\n  condition: s"));
  const auto d = Only(r, "bad_cidr");
  EXPECT_NE(d.message.find("host bits"), std::string::npos);
  EXPECT_NE(d.message.find("10.0.0.0/8"), std::string::npos) << d.message;
  EXPECT_EQ(WithCode(LoadYaml(Rule(kConn, "  s:\n    id.resp_h|cidr: 10.0.0.0/33\n  condition: s")),
                     "bad_cidr")
                .size(),
            1u);
  EXPECT_EQ(
      WithCode(LoadYaml(Rule(kConn, "  s:\n    id.resp_h|cidr: 2001:db8::1/32\n  condition: s")),
               "bad_cidr")
          .size(),
      1u);
}

TEST(Loader, ExpandWithoutAListIsRejectedNotMatchedAgainstEverything) {
  auto r = LoadYaml(Rule(kDns, "  s:\n    query|expand: '%nosuchlist%'\n  condition: s"));
  EXPECT_FALSE(r.ok());
  Only(r, "unknown_placeholder");
  auto warn = LoadYaml(Rule(kDns, "  s:\n    query|expand: plain\n  condition: s"));
  EXPECT_TRUE(warn.ok());
  Only(warn, "expand_without_placeholder");
}

TEST(Loader, ListThatFailsToLoadFailsTheLoad) {
  engine::LoadOptions o;
  o.lists.push_back({"bad_domains", "/nonexistent/bad_domains.txt"});
  auto r = LoadYaml(Rule(kDns, "  s:\n    query: x\n  condition: s"), o);
  EXPECT_FALSE(r.ok());
  Only(r, "list_load_failed");
}

TEST(Loader, UnknownLevelAndModeAreErrors) {
  EXPECT_EQ(WithCode(LoadYaml("title: t\nid: r\nlevel: severe\nlogsource: {category: "
                              "dns}\ndetection:\n  s:\n    query: x\n  condition: s\n"),
                     "bad_level")
                .size(),
            1u);
  EXPECT_EQ(
      WithCode(LoadYaml(Rule(kDns, "  s:\n    query: x\n  condition: s", "vigil: {mode: quiet}\n")),
               "bad_value")
          .size(),
      1u);
}

TEST(Loader, MissingRequiredKeys) {
  auto r = LoadYaml("id: r\nlogsource: {category: dns}\ndetection:\n  s:\n    query: x\n");
  EXPECT_EQ(WithCode(r, "missing_key").size(), 2u) << AllDiagnostics(r);  // title, condition
}

TEST(Loader, SkipRejectedRulesLoadsTheRest) {
  engine::LoadOptions o;
  o.skip_rejected_rules = true;
  auto r = LoadYaml(Rule(kDns, "  s:\n    qeury: x\n  condition: s") + "---\n" +
                        "title: good\nid: good\nlogsource: {category: dns}\ndetection:\n  s:\n    "
                        "query: y\n  condition: s\n",
                    o);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.errors(), 1u);
  EXPECT_EQ(r.counts.active, 1u);
  EXPECT_EQ(r.counts.rejected, 1u);
  EXPECT_EQ(Summary(r, "r")->state, RuleState::kRejected);
}

TEST(Loader, RulesetHashIsTheSha256OfTheSortedFilesBytes) {
  TempFile a("a.yml", Rule(kDns, "  s:\n    query: a\n  condition: s"));
  const std::string dir = a.dir();
  {
    std::ofstream out(dir + "/b.yml");
    out << "title: b\nid: b\nlogsource: {category: dns}\ndetection:\n  s:\n    query: b\n  "
           "condition: s\n";
  }
  engine::LoadOptions o;
  o.paths = {dir};
  auto r = engine::LoadRuleSet(o);
  ASSERT_TRUE(r.ok()) << AllDiagnostics(r);
  std::string all;
  for (const char* name : {"/a.yml", "/b.yml"}) {
    std::ifstream in(dir + name, std::ios::binary);
    all += std::string(std::istreambuf_iterator<char>(in), {});
  }
  EXPECT_EQ(r.ruleset_hash, engine::Sha256Hex(all));
  ASSERT_EQ(r.files.size(), 2u);
  EXPECT_EQ(r.files[0].sha256, engine::Sha256Hex(Rule(kDns, "  s:\n    query: a\n  condition: s")));
  // Editor backups and hidden files are not rules.
  { std::ofstream(dir + "/.a.yml.swp") << "garbage: ["; }
  { std::ofstream(dir + "/a.yml~") << "garbage: ["; }
  auto again = engine::LoadRuleSet(o);
  EXPECT_TRUE(again.ok()) << AllDiagnostics(again);
  EXPECT_EQ(again.ruleset_hash, r.ruleset_hash);
}

TEST(Loader, MissingPathIsAnError) {
  engine::LoadOptions o;
  o.paths = {"/nonexistent/rules"};
  auto r = engine::LoadRuleSet(o);
  EXPECT_FALSE(r.ok());
  Only(r, "path_not_found");
}

TEST(Loader, CompiledConditionIsNormalised) {
  auto r = LoadYaml(Rule(kDns,
                         "  selection:\n    query: x\n  filter_a:\n    qtype_name: A\n  "
                         "filter_b:\n    rcode_name: NXDOMAIN\n"
                         "  condition: selection and not 1 of filter_*"));
  ASSERT_TRUE(r.ok());
  const auto* rule = r.rule_set->FindDetection("r");
  ASSERT_NE(rule, nullptr);
  EXPECT_EQ(rule->condition_text, "and(selection,not(or(filter_a,filter_b)))");
}

TEST(Reader, TypedScalarsFollowYaml11) {
  std::vector<engine::Diagnostic> diags;
  auto docs = engine::ReadRuleFile({"x.yml", Rule(kDns,
                                                  "  s:\n    a: 0x17\n    b: '0x17'\n    c: 017\n  "
                                                  "  d: 1.5\n    e: yes\n    f: ~\n    g: 8BB00EE\n"
                                                  "    h: [1, '2', x]\n  condition: s")},
                                   diags);
  ASSERT_EQ(docs.size(), 1u);
  const auto& items = docs[0].detection->selections[0].any_of[0];
  using T = engine::RuleValue::Type;
  EXPECT_EQ(items[0].values[0].type, T::kInt);
  EXPECT_EQ(items[0].values[0].i, 23);
  EXPECT_EQ(items[1].values[0].type, T::kString);
  EXPECT_EQ(items[2].values[0].i, 15);  // octal
  EXPECT_EQ(items[3].values[0].type, T::kFloat);
  EXPECT_EQ(items[4].values[0].type, T::kBool);
  EXPECT_EQ(items[5].values[0].type, T::kNull);
  EXPECT_EQ(items[6].values[0].type, T::kString);  // certificate.serial: 8BB00EE
  EXPECT_EQ(items[7].values[0].type, T::kInt);
  EXPECT_EQ(items[7].values[1].type, T::kString);
  EXPECT_EQ(items[7].values[2].type, T::kString);
}

TEST(Reader, TimespansAndExpiry) {
  EXPECT_EQ(engine::ParseTimespan("30s"), 30'000'000'000);
  EXPECT_EQ(engine::ParseTimespan("5m"), 300'000'000'000);
  EXPECT_EQ(engine::ParseTimespan("1d"), 86'400'000'000'000);
  EXPECT_FALSE(engine::ParseTimespan("5"));
  EXPECT_FALSE(engine::ParseTimespan("m"));
  EXPECT_FALSE(engine::ParseTimespan("-5m"));
  EXPECT_FALSE(engine::ParseTimespan("5x"));
  // A date is valid through that UTC day.
  EXPECT_EQ(engine::ParseExpiry("2024-01-01"), int64_t{1704153600} * 1'000'000'000);
  EXPECT_EQ(engine::ParseExpiry("2024-01-01T12:00:00Z"), int64_t{1704110400} * 1'000'000'000);
  EXPECT_FALSE(engine::ParseExpiry("2024-02-30"));
  EXPECT_FALSE(engine::ParseExpiry("01/02/2024"));
}

TEST(Reader, FarFutureExpiryMeansNeverAndPre1970IsInvalid) {
  // Nanoseconds since 1970 overflow int64 in 2262: "9999-12-31" (the usual
  // "never") used to wrap negative and read as long expired.
  EXPECT_EQ(engine::ParseExpiry("9999-12-31"), INT64_MAX);
  EXPECT_EQ(engine::ParseExpiry("9999-12-31T23:59:59Z"), INT64_MAX);
  EXPECT_EQ(engine::ParseExpiry("2262-04-12"), INT64_MAX);  // ends 2262-04-12T24:00 > max
  EXPECT_EQ(engine::ParseExpiry("2262-04-10"), int64_t{9223286400} * 1'000'000'000);
  EXPECT_EQ(engine::ParseExpiry("1970-01-01"), int64_t{86400} * 1'000'000'000);
  // Before 1970 (the fuzzer's "1049-01-01" overflowed the other way): invalid.
  EXPECT_FALSE(engine::ParseExpiry("1969-12-31"));
  EXPECT_FALSE(engine::ParseExpiry("1049-01-01"));
  EXPECT_FALSE(engine::ParseExpiry("0000-01-01"));
  EXPECT_FALSE(engine::ParseExpiry("-999-01-01"));
  EXPECT_FALSE(engine::ParseExpiry("2024-01-01T25:00:00Z"));
}

TEST(Loader, FilterThatExpiresIn9999NeverExpires) {
  const std::string filter =
      "---\ntitle: f\nid: f1\nlogsource:\n" + std::string(kDns) +
      "\nfilter:\n  rules: [r]\n  sandbox:\n    id.orig_h: 10.0.0.99\n  condition: not "
      "sandbox\nexpires: ";
  auto r = LoadYaml(Rule(kDns, "  s:\n    query: a\n  condition: s") + filter + "9999-12-31\n");
  ASSERT_TRUE(r.ok()) << AllDiagnostics(r);
  EXPECT_TRUE(WithCode(r, "filter_expired").empty()) << AllDiagnostics(r);
  ASSERT_NE(Summary(r, "f1"), nullptr);
  EXPECT_EQ(Summary(r, "f1")->state, RuleState::kActive) << Summary(r, "f1")->reason;
  ASSERT_EQ(r.rule_set->filters.size(), 1u);
  EXPECT_EQ(r.rule_set->filters[0].expires_ns, INT64_MAX);

  auto old = LoadYaml(Rule(kDns, "  s:\n    query: a\n  condition: s") + filter + "1969-07-20\n");
  EXPECT_FALSE(old.ok());
  EXPECT_EQ(Only(old, "bad_expiry").where.line, 22);
}

TEST(Reader, TimespansAreLimitedToTenYears) {
  EXPECT_EQ(engine::ParseTimespan("10y"), engine::kMaxTimespanNs);
  EXPECT_EQ(engine::ParseTimespan("3650d"), engine::kMaxTimespanNs);
  EXPECT_TRUE(engine::ParseTimespan("520w"));
  EXPECT_TRUE(engine::ParseTimespan("120M"));
  EXPECT_FALSE(engine::ParseTimespan("3651d"));
  EXPECT_FALSE(engine::ParseTimespan("11y"));
  EXPECT_FALSE(engine::ParseTimespan("292y"));  // fitted in int64 ns; was accepted
  EXPECT_FALSE(engine::ParseTimespan("99999999999999999s"));

  auto r = LoadYaml(Rule(kDns, "  s:\n    query: a\n  condition: s",
                         "vigil:\n  throttle:\n    max_alerts: 1\n    window: 11y\n"));
  EXPECT_FALSE(r.ok());
  const auto d = Only(r, "bad_timespan");
  EXPECT_EQ(d.where.line, 14);
  EXPECT_NE(d.message.find("10 years"), std::string::npos) << d.message;
}

// A ~1 KB "billion laughs": each level lists the previous one nine times.
std::string NestedAliases() {
  std::string y = "a0: &a0 [x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i <= 12; ++i) {
    const std::string p = "*a" + std::to_string(i - 1);
    y += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [" + p;
    for (int k = 1; k < 9; ++k) y += ", " + p;
    y += "]\n";
  }
  return y;
}

TEST(Reader, YamlAliasesAreRefusedPromptly) {
  // 9^13 nodes when expanded: the duplicate-key walk, the test-event reader
  // and the hash would each visit every copy.
  const std::string bomb = NestedAliases();
  EXPECT_LT(bomb.size(), 1200u);
  std::string indented;
  for (size_t at = 0; at < bomb.size();) {
    const size_t nl = bomb.find('\n', at);
    indented += "        " + bomb.substr(at, nl + 1 - at);
    at = nl + 1;
  }
  for (const std::string& yaml :
       {Rule(kDns, "  s:\n    query: a\n  condition: s", "x:\n" + indented),
        Rule(kDns, "  s:\n    query: a\n  condition: s",
             "vigil:\n  tests:\n    - expect: match\n      event:\n" + indented)}) {
    const auto t0 = std::chrono::steady_clock::now();
    auto r = LoadYaml(yaml);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10));
    EXPECT_FALSE(r.ok());
    const auto d = Only(r, "yaml_structure");
    EXPECT_NE(d.message.find("aliases"), std::string::npos) << d.message;
    EXPECT_GT(d.where.line, 10);
  }
  // A lone anchor without an alias is harmless.
  auto anchor = LoadYaml(Rule(kDns, "  s:\n    query: &q a\n  condition: s"));
  EXPECT_TRUE(anchor.ok()) << AllDiagnostics(anchor);
}

TEST(Reader, DuplicateKeysInsideListsAreFound) {
  auto sel =
      LoadYaml(Rule(kDns, "  s:\n    - query: a\n      query: b\n    - query: c\n  condition: s"));
  EXPECT_FALSE(sel.ok());
  const auto d = Only(sel, "duplicate_key");
  EXPECT_EQ(d.where.line, 10);
  EXPECT_EQ(d.where.column, 7);
  auto tests = LoadYaml(Rule(kDns, "  s:\n    query: a\n  condition: s",
                             "vigil:\n  tests:\n    - expect: match\n      expect: no_match\n"
                             "      event: {query: a}\n"));
  EXPECT_FALSE(tests.ok());
  EXPECT_EQ(Only(tests, "duplicate_key").where.line, 14);
}

TEST(Reader, ModifierColumnsInQuotedKeysPointAtTheModifier) {
  for (const char* key : {"'query|contians'", "\"query|contians\""}) {
    auto r = LoadYaml(Rule(kDns, std::string("  s:\n    ") + key + ": x\n  condition: s"));
    const auto d = Only(r, "unknown_modifier");
    EXPECT_EQ(d.where.line, 9);
    EXPECT_EQ(d.where.column, 12) << key;  // the 'c' after '|'
  }
}

TEST(Reader, QuotesAndBracketsInsidePlainScalarsAreText) {
  // Valid YAML that yaml-cpp reads; the stray-comma pre-scan took the quote
  // or bracket for the start of a quoted scalar or flow collection.
  for (const char* description :
       {"description: Detects \"whoami\", a recon tool\n",
        "description: Detects [MS-RPRN], the printer bug\n",
        "description: Detects 'single' quotes, too\n",
        "description: Detects {braces}, and more # a comment, too\n",
        "description: a | b & c * d ! e, f\n",
        "description: Detects the use of\n  \"whoami\", a recon tool\n    [x], y\n"}) {
    auto r = LoadYaml(Rule(kDns, "  s:\n    query: a\n  condition: s", description));
    EXPECT_TRUE(r.ok()) << description << AllDiagnostics(r);
  }
}

TEST(Reader, InputsThatHangYamlCppAreStillRejected) {
  // yaml-cpp 0.7 loops forever on these (found by fuzzing and by a
  // differential run against the pre-scan).
  for (const char* yaml :
       {" ,\n", "[a] ,\n", "\"a\" ,\n", "%A\n,\n", "%A\n ,\n", "--- ,\n", "... ,\n", "&x a\n? \n",
        "!t a\n? b\n", "a\n'x\n--- ,\n", "&x{,\n--- ,\n"}) {
    auto r = LoadYaml(yaml);
    EXPECT_FALSE(r.ok()) << yaml;
    EXPECT_EQ(WithCode(r, "yaml_syntax").size(), 1u) << yaml << AllDiagnostics(r);
  }
  auto after_value = LoadYaml(Rule(kDns, "  s:\n    query: a\n  condition: s", "tags: [a] ,\n"));
  EXPECT_EQ(Only(after_value, "yaml_syntax").where.line, 11);
}

// YAML 1.2 streams are printable Unicode; yaml-cpp 0.7 does not check and
// loops on some binary inputs (the first case is the loader fuzzer's; the
// fuzzer seed regress-binary-garbage.yml keeps it).
TEST(Reader, RuleFilesMustBeUtf8TextWithoutControlCharacters) {
  const std::string fuzz_hang(
      "&-A-\x01\x00\x00\x1c\xff\xff\xff\xff\xff\xff\xff\xff\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\x1d"
      "\r\r\rmple, mode\xce\xce\xce\xce\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\xff\xff~\xff\xff\xc7?",
      73);
  struct Case {
    std::string yaml;
    int line, column;
    const char* what;
  };
  for (const Case& c : {Case{fuzz_hang, 1, 5, "U+0001"}, Case{"title: a\x7f\n", 1, 9, "U+007F"},
                        Case{"title: t\ndescription: \xe9t\xe9\n", 2, 14, "not UTF-8"},
                        Case{"title: \xed\xa0\x80\n", 1, 8, "not UTF-8"},  // a surrogate
                        Case{"title: \xc0\xaf\n", 1, 8, "not UTF-8"},      // overlong
                        Case{"title: t\n\x1b[31m\n", 2, 1, "U+001B"}}) {
    auto r = LoadYaml(c.yaml);
    EXPECT_FALSE(r.ok());
    const auto d = Only(r, "yaml_syntax");
    EXPECT_EQ(d.where.line, c.line) << c.what;
    EXPECT_EQ(d.where.column, c.column) << c.what;
    EXPECT_NE(d.message.find(c.what), std::string::npos) << d.message;
  }
  // Tabs, CRLF line ends, a BOM and non-ASCII text are fine.
  auto ok =
      LoadYaml("\xef\xbb\xbf" + Rule(kDns, "  s:\r\n    query: \"caf\xc3\xa9\"\r\n  condition: s",
                                     "description: \"\tt\xe1\xbb\x91i \xf0\x9f\x94\x92\"\r\n"));
  EXPECT_TRUE(ok.ok()) << AllDiagnostics(ok);
}

}  // namespace
}  // namespace vigil::testing
