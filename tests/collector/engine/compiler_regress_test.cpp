// Regressions of the rule compiler and loader: filters dropped for warnings,
// community rules Vigil never evaluates failing the load, expansion size
// checked only after building, keyword numbers, placeholder names and
// IPv4-mapped networks.
#include <sys/resource.h>

#include "collector/engine/match/ip_set.h"
#include "tests/collector/engine/rule_harness.h"

namespace vigil::testing {
namespace {

std::string Dns(const std::string& query, const std::string& orig = "10.0.0.1") {
  return R"({"_path":"dns","ts":1700000000.0,"id.orig_h":")" + orig +
         R"(","id.orig_p":5353,"id.resp_h":"10.0.0.53","id.resp_p":53,"proto":"udp","query":")" +
         query + R"("})";
}
std::string Http(const std::string& uri, const std::string& orig = "10.0.0.1") {
  return R"({"_path":"http","ts":1700000000.0,"id.orig_h":")" + orig +
         R"(","id.orig_p":40000,"id.resp_h":"10.0.0.80","id.resp_p":80,"uri":")" + uri +
         R"(","status_code":200})";
}

const char* kBadDomain = "  s:\n    query|endswith: .bad.example\n  condition: s";

std::string Filter(const std::string& body) {
  return "---\ntitle: allow the sandbox\nid: f1\nlogsource: {product: zeek, service: dns}\n"
         "filter:\n" +
         body;
}

bool HasDiag(const engine::LoadResult& r, const std::string& code, engine::Severity sev) {
  for (const auto& d : WithCode(r, code)) {
    if (d.severity == sev) return true;
  }
  return false;
}

const engine::RuleSummary* Summary(const engine::LoadResult& r, const std::string& id) {
  for (const auto& s : r.rules) {
    if (s.id == id) return &s;
  }
  return nullptr;
}

// --- 1. filters with warnings still apply ----------------------------------

TEST(FilterWarnings, AnUnusedSelectionDoesNotDropTheExclusion) {
  RuleHarness h(Rule(kDns, kBadDomain) +
                Filter("  rules: [r]\n  sandbox:\n    id.orig_h: 10.0.0.99\n  spare:\n    proto: "
                       "tcp\n  condition: not sandbox\n"));
  ASSERT_TRUE(h.result().ok());
  EXPECT_TRUE(h.Fires(Dns("x.bad.example", "10.0.0.1")));
  EXPECT_FALSE(h.Fires(Dns("x.bad.example", "10.0.0.99")));
  // The warning is still reported, once, and the filter applies.
  EXPECT_EQ(WithCode(h.result(), "unused_selection").size(), 1u) << AllDiagnostics(h.result());
  EXPECT_TRUE(WithCode(h.result(), "filter_applies_nowhere").empty());
}

TEST(FilterWarnings, NullInAListDoesNotDropTheExclusion) {
  RuleHarness h(Rule(kDns, kBadDomain) +
                Filter("  rules: [r]\n  sandbox:\n    id.orig_h: [10.0.0.99, null]\n"
                       "  condition: not sandbox\n"));
  ASSERT_TRUE(h.result().ok());
  EXPECT_FALSE(WithCode(h.result(), "null_in_list").empty());
  EXPECT_FALSE(h.Fires(Dns("x.bad.example", "10.0.0.99")));
  EXPECT_TRUE(WithCode(h.result(), "filter_applies_nowhere").empty());
}

TEST(FilterWarnings, RulesAnyWithAWarningStillApplies) {
  RuleHarness h(Rule(kDns, kBadDomain) +
                Filter("  rules: any\n  sandbox:\n    id.orig_h: 10.0.0.99\n  spare:\n    proto: "
                       "tcp\n  condition: not sandbox\n"));
  ASSERT_TRUE(h.result().ok());
  EXPECT_FALSE(h.Fires(Dns("x.bad.example", "10.0.0.99")));
}

TEST(FilterWarnings, RulesAnyReportsAMisspeltField) {
  const auto r = LoadYaml(
      Rule(kDns, kBadDomain) +
      Filter("  rules: any\n  sandbox:\n    id.orgi_h: 10.0.0.99\n  condition: not sandbox\n"));
  EXPECT_FALSE(r.ok());
  const auto d = WithCode(r, "unknown_field");
  ASSERT_EQ(d.size(), 1u) << AllDiagnostics(r);
  EXPECT_EQ(d[0].severity, engine::Severity::kError);
  EXPECT_NE(d[0].message.find("id.orgi_h"), std::string::npos);
  EXPECT_EQ(d[0].where.line, 18);  // the field, in the filter document
}

TEST(FilterWarnings, RulesAnyWithNoLoadedRuleChecksItsOwnLog) {
  const auto r = LoadYaml(
      "title: allow\nid: f1\nlogsource: {product: zeek, service: dns}\nfilter:\n  rules: any\n"
      "  sandbox:\n    id.orgi_h: 10.0.0.99\n  condition: not sandbox\n");
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(HasDiag(r, "unknown_field", engine::Severity::kError)) << AllDiagnostics(r);
}

TEST(FilterWarnings, RulesAnyFieldOfOneLogIsNoError) {
  // `query` is a dns field: the conn rule is skipped, the dns rule filtered.
  RuleHarness h(Rule(kDns, kBadDomain) +
                "---\ntitle: conn rule\nid: c\nlogsource: {product: zeek}\ndetection:\n  s:\n"
                "    proto: udp\n  condition: s\n" +
                "---\ntitle: f\nid: f1\nlogsource: {product: zeek}\nfilter:\n  rules: any\n"
                "  ok:\n    query: safe.bad.example\n  condition: not ok\n");
  ASSERT_TRUE(h.result().ok()) << AllDiagnostics(h.result());
  EXPECT_FALSE(h.Fires(Dns("safe.bad.example")));
  EXPECT_TRUE(h.Fires(Dns("x.bad.example")));
}

// --- 2. rules Vigil never evaluates do not fail the load -------------------

const char* kWindows = "  product: windows\n  category: process_creation";

TEST(InactiveRules, UnknownPlaceholderIsANoteOnAnInactiveRule) {
  const auto r =
      LoadYaml(Rule(kWindows, "  s:\n    User|expand: '%Admins_Workstations%'\n  condition: s"));
  ASSERT_TRUE(r.ok()) << AllDiagnostics(r);
  EXPECT_TRUE(HasDiag(r, "unknown_placeholder", engine::Severity::kNote));
  const auto* s = Summary(r, "r");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->state, engine::RuleState::kInactive);
  EXPECT_NE(s->reason.find("windows"), std::string::npos) << s->reason;
  EXPECT_NE(s->reason.find("unknown_placeholder"), std::string::npos) << s->reason;
}

TEST(InactiveRules, Re2IncompatibleRegexIsANoteOnAnInactiveRule) {
  const auto r = LoadYaml(Rule(kWindows, "  s:\n    CommandLine|re: '(?<!x)cmd'\n  condition: s"));
  ASSERT_TRUE(r.ok()) << AllDiagnostics(r);
  EXPECT_TRUE(HasDiag(r, "bad_regex", engine::Severity::kNote));
  EXPECT_EQ(Summary(r, "r")->state, engine::RuleState::kInactive);
}

TEST(InactiveRules, OtherErrorsStillReject) {
  const auto r = LoadYaml(
      Rule(kWindows, "  s:\n    User|expand|contians: '%Admins_Workstations%'\n  condition: s"));
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(HasDiag(r, "unknown_modifier", engine::Severity::kError));
  EXPECT_EQ(Summary(r, "r")->state, engine::RuleState::kRejected);
}

TEST(InactiveRules, ActiveRulesStillRejectUnknownPlaceholdersAndBadRegexes) {
  EXPECT_FALSE(LoadYaml(Rule(kDns, "  s:\n    query|expand: '%nope%'\n  condition: s")).ok());
  EXPECT_FALSE(LoadYaml(Rule(kDns, "  s:\n    query|re: '(?<!x)a'\n  condition: s")).ok());
}

TEST(NonSigmaDocuments, AYamlFileThatIsNoRuleIsSkippedWithANote) {
  // SigmaHQ's regression_data/**/info.yml
  const auto r = LoadYaml(Rule(kDns, kBadDomain) +
                          "---\nid: 3a3e2b1c\nrule_metadata:\n  - id: 1\nregression_tests_info:\n"
                          "  - name: Positive Detection Test\n    type: evtx\n");
  ASSERT_TRUE(r.ok()) << AllDiagnostics(r);
  EXPECT_TRUE(HasDiag(r, "not_a_rule", engine::Severity::kNote)) << AllDiagnostics(r);
  EXPECT_TRUE(WithCode(r, "unknown_document").empty());
  EXPECT_EQ(r.counts.active, 1u);
  EXPECT_EQ(r.counts.rejected, 0u);
}

TEST(NonSigmaDocuments, ATitledDocumentWithoutDetectionIsStillAnError) {
  const auto r = LoadYaml(
      "title: half a rule\nid: x\nlogsource: {product: zeek, service: dns}\n"
      "detectoin:\n  s:\n    query: a\n  condition: s\n");
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(HasDiag(r, "unknown_document", engine::Severity::kError)) << AllDiagnostics(r);
}

// --- 3. expansion size is checked before building -------------------------

std::string Entries(const std::string& prefix, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += prefix + std::to_string(i) + "\n";
  return out;
}

TEST(ExpansionBudget, CrossProductIsRejectedBeforeItIsBuilt) {
  // 1000^3 = 10^9 strings if built; the check must come first. The address
  // space limit makes building it fail instead of swapping the machine.
  TempFile a("a.txt", Entries("a", 1000));
  TempFile b("b.txt", Entries("b", 1000));
  TempFile c("c.txt", Entries("c", 1000));
  engine::LoadOptions o;
  o.lists.push_back({"a", a.path()});
  o.lists.push_back({"b", b.path()});
  o.lists.push_back({"c", c.path()});
  rlimit old{};
  getrlimit(RLIMIT_AS, &old);
  rlimit limited = old;
  limited.rlim_cur = std::min<rlim_t>(old.rlim_cur, rlim_t{4} << 30);
  setrlimit(RLIMIT_AS, &limited);
  const auto r = LoadYaml(Rule(kDns, "  s:\n    query|expand: '%a%.%b%.%c%'\n  condition: s"), o);
  setrlimit(RLIMIT_AS, &old);
  EXPECT_FALSE(r.ok());
  const auto d = WithCode(r, "expansion_too_large");
  ASSERT_EQ(d.size(), 1u) << AllDiagnostics(r);
  EXPECT_EQ(d[0].where.line, 9);
  EXPECT_GT(d[0].where.column, 0);
  EXPECT_NE(d[0].message.find("query|expand"), std::string::npos) << d[0].message;
}

TEST(ExpansionBudget, WindashVariantsCountAgainstTheSameBudget) {
  // 400 entries x 5^5 windash variants = 1.25 million values in one item:
  // each step alone is under its limit, together they are over.
  std::string entries;
  for (int i = 0; i < 400; ++i) entries += "t" + std::to_string(i) + " -a -b -c -d -e\n";
  TempFile list("cmds.txt", entries);
  engine::LoadOptions o;
  o.lists.push_back({"cmds", list.path()});
  const auto r =
      LoadYaml(Rule(kHttp, "  s:\n    user_agent|expand|windash: '%cmds%'\n  condition: s"), o);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(WithCode(r, "expansion_too_large").size(), 1u) << AllDiagnostics(r);
}

TEST(ExpansionBudget, ExpansionsWithinTheBudgetStillLoad) {
  TempFile a("a.txt", Entries("a", 100));
  TempFile b("b.txt", Entries("b", 100));
  engine::LoadOptions o;
  o.lists.push_back({"a", a.path()});
  o.lists.push_back({"b", b.path()});
  RuleHarness h(Rule(kDns, "  s:\n    query|expand: '%a%.%b%.example'\n  condition: s"), o);
  EXPECT_TRUE(h.Fires(Dns("a42.b7.example")));
  EXPECT_FALSE(h.Fires(Dns("a42.c7.example")));
}

// --- 5. placeholder names are word characters -----------------------------

TEST(Placeholders, APercentSignThatStartsNoNameIsLiteral) {
  TempFile list("paths.txt", "/admin\n/setup\n");
  engine::LoadOptions o;
  o.lists.push_back({"bad_paths", list.path()});
  RuleHarness h(Rule(kHttp, "  s:\n    uri|expand: '*100% of %bad_paths%*'\n  condition: s"), o);
  ASSERT_TRUE(h.result().ok());
  EXPECT_TRUE(h.Fires(Http("/x?q=100% of /admin")));
  EXPECT_FALSE(h.Fires(Http("/x?q=100% of /public")));
}

TEST(Placeholders, AnEscapedBackslashDoesNotEscapeThePercent) {
  // '\\' is one literal backslash; the placeholder after it is expanded.
  TempFile list("dirs.txt", "Windows\nTemp\n");
  engine::LoadOptions o;
  o.lists.push_back({"dirs", list.path()});
  RuleHarness h(Rule(kHttp, "  s:\n    uri|expand: 'C:\\\\%dirs%'\n  condition: s"), o);
  ASSERT_TRUE(h.result().ok());
  EXPECT_TRUE(h.Fires(Http("C:\\\\Temp")));
  EXPECT_FALSE(h.Fires(Http("C:\\\\Users")));
}

TEST(Placeholders, BackslashPercentStaysALiteralPercent) {
  TempFile list("dirs.txt", "Windows\n");
  engine::LoadOptions o;
  o.lists.push_back({"dirs", list.path()});
  RuleHarness h(Rule(kHttp,
                     "  s:\n    uri|expand:\n      - '\\%dirs%'\n      - '%dirs%'\n"
                     "  condition: s"),
                o);
  ASSERT_TRUE(h.result().ok());
  EXPECT_TRUE(h.Fires(Http("%dirs%")));
  EXPECT_TRUE(h.Fires(Http("Windows")));
}

// --- 6. IPv4-mapped networks -----------------------------------------------

TEST(MappedNetworks, AMappedNetworkContainsTheIpv4Addresses) {
  const auto net = engine::ParseNetwork("::ffff:10.0.0.0/104");
  ASSERT_TRUE(net.has_value());
  EXPECT_TRUE(net->Contains(*engine::IpAddress::Parse("10.1.2.3")));
  EXPECT_TRUE(net->Contains(*engine::IpAddress::Parse("::ffff:10.1.2.3")));
  EXPECT_FALSE(net->Contains(*engine::IpAddress::Parse("11.1.2.3")));
  engine::IpTrie trie;
  trie.Insert(*engine::ParseNetwork("::ffff:0:0/96"), 1);
  EXPECT_TRUE(trie.Contains(*engine::IpAddress::Parse("192.0.2.1")));
  EXPECT_FALSE(trie.Contains(*engine::IpAddress::Parse("2001:db8::1")));
  engine::IpTrie ten;
  ten.Insert(*net, 1);
  EXPECT_TRUE(ten.Contains(*engine::IpAddress::Parse("10.9.9.9")));
  EXPECT_FALSE(ten.Contains(*engine::IpAddress::Parse("11.9.9.9")));
}

TEST(MappedNetworks, RulesWithMappedNetworksMatchIpv4Events) {
  // One value: the indexed fast path; with a second network under `all`,
  // the per-value test.
  RuleHarness fast(Rule(kDns, "  s:\n    id.orig_h|cidr: '::ffff:10.0.0.0/104'\n  condition: s\n"));
  EXPECT_TRUE(fast.Fires(Dns("a.example", "10.0.0.7")));
  EXPECT_FALSE(fast.Fires(Dns("a.example", "192.168.0.7")));
  RuleHarness slow(Rule(kDns,
                        "  s:\n    id.orig_h|cidr|all:\n      - '::ffff:0:0/96'\n      - "
                        "10.0.0.0/8\n  condition: s\n"));
  EXPECT_TRUE(slow.Fires(Dns("a.example", "10.0.0.7")));
  EXPECT_FALSE(slow.Fires(Dns("a.example", "192.168.0.7")));
}

TEST(MappedNetworks, ShorterIpv6PrefixesStayIpv6) {
  const auto net = engine::ParseNetwork("::/0");
  ASSERT_TRUE(net.has_value());
  EXPECT_FALSE(engine::MappedV4(*net).has_value());
  EXPECT_FALSE(net->Contains(*engine::IpAddress::Parse("10.0.0.1")));
}

}  // namespace
}  // namespace vigil::testing
