// Sigma matching semantics: the edge cases of sigma-notes §2, §4 and the
// §11 checklist, each as an inline rule and the events it must and must not
// match.
#include "tests/collector/engine/rule_harness.h"

namespace vigil::testing {
namespace {

using engine::AlertKind;

const char* kDnsEvent =
    R"({"_path":"dns","ts":1700000000.5,"uid":"C1","id.orig_h":"10.0.0.1","id.orig_p":5353,"id.resp_h":"10.0.0.53","id.resp_p":53,"proto":"udp","query":"Portal.Gov.Example","qtype":1,"qtype_name":"A","rcode":0,"rcode_name":"NOERROR","AA":false,"TC":false,"RD":true,"RA":true,"Z":0,"answers":["10.1.1.1","portal-cdn.example","127.0.0.1"],"TTLs":[60.0,60.0,60.0],"rejected":false})";

std::string DnsWith(const std::string& fields) {
  return R"({"_path":"dns","ts":1700000000.0,"id.orig_h":"10.0.0.1","id.orig_p":5353,"id.resp_h":"10.0.0.53","id.resp_p":53,)" +
         fields + "}";
}
std::string HttpWith(const std::string& fields) {
  return R"({"_path":"http","ts":1700000000.0,"id.orig_h":"10.0.0.1","id.orig_p":40000,"id.resp_h":"10.0.0.80","id.resp_p":80,)" +
         fields + "}";
}
std::string ConnWith(const std::string& fields) {
  return R"({"_path":"conn","ts":1700000000.0,"id.orig_h":"10.0.0.1","id.orig_p":40000,"id.resp_h":"10.0.0.80","id.resp_p":80,)" +
         fields + "}";
}

bool Matches(const std::string& logsource, const std::string& detection, const std::string& event) {
  RuleHarness h(Rule(logsource, detection));
  return h.Fires(event);
}

// --- §11.1 case --------------------------------------------------------

TEST(Semantics, StringsMatchCaseInsensitively) {
  EXPECT_TRUE(Matches(kDns, "  s:\n    query: portal.gov.EXAMPLE\n  condition: s", kDnsEvent));
  EXPECT_TRUE(Matches(kDns, "  s:\n    qtype_name: a\n  condition: s", kDnsEvent));
}

TEST(Semantics, ValueListsAreCaseInsensitiveToo) {
  EXPECT_TRUE(
      Matches(kDns, "  s:\n    qtype_name: [mx, ns, a, b, c, d]\n  condition: s", kDnsEvent));
}

TEST(Semantics, CasedMakesMatchingCaseSensitive) {
  EXPECT_FALSE(
      Matches(kDns, "  s:\n    query|cased: portal.gov.example\n  condition: s", kDnsEvent));
  EXPECT_TRUE(
      Matches(kDns, "  s:\n    query|cased: Portal.Gov.Example\n  condition: s", kDnsEvent));
  EXPECT_TRUE(
      Matches(kDns, "  s:\n    query|cased|startswith: Portal.\n  condition: s", kDnsEvent));
}

TEST(Semantics, RegexIsCaseSensitiveUnlessI) {
  EXPECT_FALSE(Matches(kDns, "  s:\n    query|re: 'portal\\.gov'\n  condition: s", kDnsEvent));
  EXPECT_TRUE(Matches(kDns, "  s:\n    query|re|i: 'portal\\.gov'\n  condition: s", kDnsEvent));
}

TEST(Semantics, RegexUsesSubstringSemantics) {
  // cs-host|re: '.{150}' only makes sense as a search, not a full match.
  EXPECT_TRUE(Matches(kDns, "  s:\n    query|re: 'Gov'\n  condition: s", kDnsEvent));
  EXPECT_FALSE(Matches(kDns, "  s:\n    query|re: '^Gov'\n  condition: s", kDnsEvent));
  EXPECT_TRUE(Matches(kDns, "  s:\n    query|re: '^Portal.*Example$'\n  condition: s", kDnsEvent));
}

TEST(Semantics, RegexFlagsMultilineAndDotall) {
  const std::string ev = HttpWith(R"("user_agent":"first\nsecond")");
  EXPECT_FALSE(Matches(kHttp, "  s:\n    user_agent|re: '^second'\n  condition: s", ev));
  EXPECT_TRUE(Matches(kHttp, "  s:\n    user_agent|re|m: '^second'\n  condition: s", ev));
  EXPECT_FALSE(Matches(kHttp, "  s:\n    user_agent|re: 'first.second'\n  condition: s", ev));
  EXPECT_TRUE(Matches(kHttp, "  s:\n    user_agent|re|s: 'first.second'\n  condition: s", ev));
}

TEST(Semantics, KeywordsAreCaseInsensitiveSubstringsOfAnyValue) {
  EXPECT_TRUE(Matches(kDns, "  keywords:\n    - 'GOV.example'\n  condition: keywords", kDnsEvent));
  // Array elements are searched too.
  EXPECT_TRUE(Matches(kDns, "  keywords:\n    - CDN\n  condition: keywords", kDnsEvent));
  EXPECT_FALSE(Matches(kDns, "  keywords:\n    - nowhere\n  condition: keywords", kDnsEvent));
}

TEST(Semantics, KeywordsWithAllMayHitDifferentValues) {
  EXPECT_TRUE(Matches(
      kDns, "  keywords:\n    '|all':\n      - portal\n      - NOERROR\n  condition: keywords",
      kDnsEvent));
  EXPECT_FALSE(Matches(
      kDns, "  keywords:\n    '|all':\n      - portal\n      - NXDOMAIN\n  condition: keywords",
      kDnsEvent));
}

TEST(Semantics, KeywordNumbersAndBooleansAreSubstringsToo) {
  // Keywords search the event's text: an unquoted 404 is the text "404"
  // anywhere, not only a value equal to the number 404.
  const std::string ev = HttpWith(R"("uri":"/err404page","status_code":200)");
  EXPECT_TRUE(Matches(kHttp, "  keywords:\n    - 404\n  condition: keywords", ev));
  EXPECT_TRUE(Matches(kHttp, "  keywords:\n    - 2.5\n  condition: keywords",
                      HttpWith(R"("uri":"/v2.5/x")")));
  EXPECT_TRUE(Matches(kHttp, "  keywords:\n    - true\n  condition: keywords",
                      HttpWith(R"("uri":"/?debug=TRUE")")));
  EXPECT_FALSE(Matches(kHttp, "  keywords:\n    - 500\n  condition: keywords", ev));
  // A number field still matches as before (200 is in "200").
  EXPECT_TRUE(Matches(kHttp, "  keywords:\n    - 20\n  condition: keywords", ev));
}

TEST(Semantics, FieldNamesAreExact) {
  auto r = LoadYaml(Rule(kDns, "  s:\n    QUERY: x\n  condition: s"));
  // Not a field of dns records: the rule is rejected, with a suggestion.
  EXPECT_FALSE(r.ok());
  ASSERT_EQ(WithCode(r, "unknown_field").size(), 1u);
  EXPECT_NE(WithCode(r, "unknown_field")[0].message.find("'query'"), std::string::npos);
}

// --- §11.2 escaping ----------------------------------------------------

TEST(Semantics, EscapedStarIsLiteral) {
  // '\\\*\IPC$' -> \*\IPC$ (zeek_smb_converted_win_atsvc_task).
  const std::string rule = "  s:\n    uri: '\\\\\\*\\IPC$'\n  condition: s";
  EXPECT_TRUE(Matches(kHttp, rule, HttpWith(R"("uri":"\\*\\IPC$")")));
  EXPECT_FALSE(Matches(kHttp, rule, HttpWith(R"("uri":"\\x\\IPC$")")));
}

TEST(Semantics, DoubleBackslashThenEscapedStar) {
  // '\\\\\*\\IPC$' -> \\*\IPC$
  const std::string rule = "  s:\n    uri: '\\\\\\\\\\*\\\\IPC$'\n  condition: s";
  EXPECT_TRUE(Matches(kHttp, rule, HttpWith(R"("uri":"\\\\*\\IPC$")")));
}

TEST(Semantics, BackslashBeforeOtherCharactersIsLiteral) {
  // '\\x00' -> \x00: Zeek writes non-printable bytes as \xNN.
  EXPECT_TRUE(Matches(kDns, "  s:\n    answers|endswith: '\\\\x00'\n  condition: s",
                      DnsWith(R"("query":"q","answers":["abc\\x00"])")));
  EXPECT_FALSE(Matches(kDns, "  s:\n    answers|endswith: '\\\\x00'\n  condition: s",
                       DnsWith(R"("query":"q","answers":["abcx00"])")));
}

TEST(Semantics, TrailingBackslashIsLiteral) {
  EXPECT_TRUE(Matches(kHttp, "  s:\n    uri|endswith: 'SYSTEM32\\'\n  condition: s",
                      HttpWith(R"("uri":"C:\\Windows\\System32\\")")));
  EXPECT_TRUE(Matches(kHttp, "  s:\n    uri: '\\'\n  condition: s", HttpWith(R"("uri":"\\")")));
}

TEST(Semantics, QuestionMarkMatchesExactlyOneCharacter) {
  const std::string rule = "  s:\n    query: 'a?c.example'\n  condition: s";
  EXPECT_TRUE(Matches(kDns, rule, DnsWith(R"("query":"abc.example")")));
  EXPECT_FALSE(Matches(kDns, rule, DnsWith(R"("query":"ac.example")")));
  EXPECT_FALSE(Matches(kDns, rule, DnsWith(R"("query":"abbc.example")")));
  const std::string literal = "  s:\n    query: 'a\\?c'\n  condition: s";
  EXPECT_TRUE(Matches(kDns, literal, DnsWith(R"("query":"a?c")")));
  EXPECT_FALSE(Matches(kDns, literal, DnsWith(R"("query":"abc")")));
}

TEST(Semantics, StarMatchesAnyRunIncludingEmpty) {
  const std::string rule = "  s:\n    query: 'a*c*e'\n  condition: s";
  EXPECT_TRUE(Matches(kDns, rule, DnsWith(R"("query":"ace")")));
  EXPECT_TRUE(Matches(kDns, rule, DnsWith(R"("query":"aXXcYYe")")));
  EXPECT_FALSE(Matches(kDns, rule, DnsWith(R"("query":"aXXcYYf")")));
}

TEST(Semantics, RegexValuesGetNoSigmaEscaping) {
  // In a regex, \* is a literal star for RE2, not Sigma.
  EXPECT_TRUE(
      Matches(kHttp, "  s:\n    uri|re: 'a\\*b'\n  condition: s", HttpWith(R"("uri":"a*b")")));
  EXPECT_FALSE(
      Matches(kHttp, "  s:\n    uri|re: 'a\\*b'\n  condition: s", HttpWith(R"("uri":"axxb")")));
}

TEST(Semantics, DoubleQuotedYamlUnescapesFirst) {
  // YAML turns "\\*" into \* before Sigma sees it: a literal star.
  EXPECT_TRUE(
      Matches(kHttp, "  s:\n    uri: \"a\\\\*b\"\n  condition: s", HttpWith(R"("uri":"a*b")")));
  EXPECT_FALSE(
      Matches(kHttp, "  s:\n    uri: \"a\\\\*b\"\n  condition: s", HttpWith(R"("uri":"axb")")));
}

// --- §11.5 missing fields and not ---------------------------------------

TEST(Semantics, ValueTestsOnMissingFieldsAreFalseSoNotIsTrue) {
  const std::string ev = HttpWith(R"("method":"GET")");
  EXPECT_FALSE(Matches(kHttp, "  s:\n    user_agent: '*'\n  condition: s", ev));
  EXPECT_TRUE(Matches(kHttp, "  s:\n    user_agent|contains: curl\n  condition: not s", ev));
  EXPECT_FALSE(Matches(kHttp, "  s:\n    status_code|gt: 0\n  condition: s", ev));
  EXPECT_FALSE(Matches(kHttp, "  s:\n    user_agent|re: '.*'\n  condition: s", ev));
  EXPECT_FALSE(Matches(kHttp, "  s:\n    host|cidr: 0.0.0.0/0\n  condition: s", ev));
}

TEST(Semantics, NotShapedRuleNeverSeesOtherLogTypes) {
  RuleHarness h(Rule(kDns, "  s:\n    Z: 0\n  condition: not s"));
  EXPECT_TRUE(h.Fires(DnsWith(R"("query":"x","Z":1)")));
  EXPECT_FALSE(h.Fires(ConnWith(R"("proto":"tcp")")));
  EXPECT_FALSE(h.Fires(HttpWith(R"("uri":"/")")));
}

TEST(Semantics, NeqNegatesTheWholeItemAndMissingCounts) {
  const std::string rule = "  s:\n    method|neq:\n      - GET\n      - HEAD\n  condition: s";
  EXPECT_TRUE(Matches(kHttp, rule, HttpWith(R"("method":"POST")")));
  EXPECT_FALSE(Matches(kHttp, rule, HttpWith(R"("method":"get")")));
  EXPECT_FALSE(Matches(kHttp, rule, HttpWith(R"("method":"HEAD")")));
  EXPECT_TRUE(Matches(kHttp, rule, HttpWith(R"("uri":"/")")));
}

// --- §11.6 typing ---------------------------------------------------------

TEST(Semantics, NullMeansAbsentOrNull) {
  const std::string rule = "  s:\n    referrer: null\n  condition: s";
  EXPECT_TRUE(Matches(kHttp, rule, HttpWith(R"("uri":"/")")));
  EXPECT_TRUE(Matches(kHttp, rule, HttpWith(R"("referrer":null)")));
  EXPECT_FALSE(Matches(kHttp, rule, HttpWith(R"("referrer":"")")));
  EXPECT_FALSE(Matches(kHttp, rule, HttpWith(R"("referrer":"http://a.example/")")));
  // `~` and an empty value are YAML nulls too.
  EXPECT_TRUE(Matches(kHttp, "  s:\n    referrer: ~\n  condition: s", HttpWith(R"("uri":"/")")));
  EXPECT_TRUE(Matches(kHttp, "  s:\n    referrer:\n  condition: s", HttpWith(R"("uri":"/")")));
}

TEST(Semantics, EmptyStringMeansPresentAndEmpty) {
  const std::string rule = "  s:\n    user_agent: ''\n  condition: s";
  EXPECT_TRUE(Matches(kHttp, rule, HttpWith(R"("user_agent":"")")));
  EXPECT_FALSE(Matches(kHttp, rule, HttpWith(R"("uri":"/")")));
  EXPECT_FALSE(Matches(kHttp, rule, HttpWith(R"("user_agent":"curl")")));
}

TEST(Semantics, EmptyListMeansNull) {
  EXPECT_TRUE(Matches(kHttp, "  s:\n    referrer: []\n  condition: s", HttpWith(R"("uri":"/")")));
}

TEST(Semantics, ExistsChecksPresenceOnly) {
  EXPECT_TRUE(Matches(kHttp, "  s:\n    referrer|exists: true\n  condition: s",
                      HttpWith(R"("referrer":"")")));
  EXPECT_TRUE(Matches(kHttp, "  s:\n    referrer|exists: true\n  condition: s",
                      HttpWith(R"("referrer":null)")));
  EXPECT_FALSE(
      Matches(kHttp, "  s:\n    referrer|exists: true\n  condition: s", HttpWith(R"("uri":"/")")));
  EXPECT_TRUE(
      Matches(kHttp, "  s:\n    referrer|exists: false\n  condition: s", HttpWith(R"("uri":"/")")));
}

TEST(Semantics, NumbersCompareNumericallyOrAsDecimalText) {
  EXPECT_TRUE(Matches(kDns, "  s:\n    id.resp_p: 53\n  condition: s", kDnsEvent));
  EXPECT_TRUE(Matches(kDns, "  s:\n    id.resp_p: 53.0\n  condition: s", kDnsEvent));
  EXPECT_TRUE(Matches(kDns, "  s:\n    id.resp_p: '53'\n  condition: s", kDnsEvent));
  EXPECT_TRUE(Matches(kDns, "  s:\n    id.resp_p: '5*'\n  condition: s", kDnsEvent));
  EXPECT_FALSE(Matches(kDns, "  s:\n    id.resp_p: 54\n  condition: s", kDnsEvent));
  // A number against a string field compares with its decimal text.
  EXPECT_TRUE(Matches(kHttp, "  s:\n    uri: 200\n  condition: s", HttpWith(R"("uri":"200")")));
}

TEST(Semantics, PlainHexIsAnIntQuotedHexIsAString) {
  EXPECT_TRUE(Matches(kDns, "  s:\n    qtype: 0x1\n  condition: s", kDnsEvent));
  EXPECT_FALSE(Matches(kDns, "  s:\n    qtype: '0x1'\n  condition: s", kDnsEvent));
  EXPECT_TRUE(Matches(kHttp, "  s:\n    uri: '0x17'\n  condition: s", HttpWith(R"("uri":"0x17")")));
  EXPECT_FALSE(Matches(kHttp, "  s:\n    uri: 0x17\n  condition: s", HttpWith(R"("uri":"0x17")")));
  EXPECT_TRUE(Matches(kHttp, "  s:\n    uri: 0x17\n  condition: s", HttpWith(R"("uri":"23")")));
}

TEST(Semantics, BooleansMatchTheirTextForm) {
  // rejected: 'true' (a string in SigmaHQ rules) matches a JSON true.
  EXPECT_TRUE(Matches(kDns, "  s:\n    RD: 'true'\n  condition: s", kDnsEvent));
  EXPECT_TRUE(Matches(kDns, "  s:\n    RD: true\n  condition: s", kDnsEvent));
  EXPECT_TRUE(Matches(kDns, "  s:\n    rejected: \"false\"\n  condition: s", kDnsEvent));
  EXPECT_FALSE(Matches(kDns, "  s:\n    rejected: true\n  condition: s", kDnsEvent));
  // And a boolean rule value matches the strings true/True.
  EXPECT_TRUE(Matches(kHttp, "  s:\n    uri: true\n  condition: s", HttpWith(R"("uri":"True")")));
}

TEST(Semantics, YamlOneOneBooleansAndFloats) {
  // PyYAML: yes/on are booleans, 1.5 is a float, 1e3 is a string.
  EXPECT_TRUE(Matches(kDns, "  s:\n    RD: yes\n  condition: s", kDnsEvent));
  EXPECT_TRUE(Matches(kDns, "  s:\n    TTLs: 60.0\n  condition: s", kDnsEvent));
  EXPECT_TRUE(Matches(kHttp, "  s:\n    uri: 1e3\n  condition: s", HttpWith(R"("uri":"1e3")")));
}

TEST(Semantics, ContainsOnUnquotedNumberIsATypeError) {
  auto r = LoadYaml(Rule(kConn, "  s:\n    id.resp_p|contains: 80\n  condition: s"));
  ASSERT_FALSE(r.ok());
  ASSERT_EQ(WithCode(r, "type_error").size(), 1u) << AllDiagnostics(r);
}

TEST(Semantics, ComparisonsNeedUnquotedNumbers) {
  EXPECT_TRUE(Matches(kConn, "  s:\n    orig_bytes|gt: 999\n  condition: s",
                      ConnWith(R"("orig_bytes":1000)")));
  EXPECT_FALSE(Matches(kConn, "  s:\n    orig_bytes|gt: 1000\n  condition: s",
                       ConnWith(R"("orig_bytes":1000)")));
  EXPECT_TRUE(Matches(kConn, "  s:\n    orig_bytes|gte: 1000\n  condition: s",
                      ConnWith(R"("orig_bytes":1000)")));
  EXPECT_TRUE(
      Matches(kConn, "  s:\n    duration|lt: 0.5\n  condition: s", ConnWith(R"("duration":0.25)")));
  EXPECT_TRUE(Matches(kConn, "  s:\n    duration|lte: 0.25\n  condition: s",
                      ConnWith(R"("duration":0.25)")));
  auto quoted = LoadYaml(Rule(kConn, "  s:\n    orig_bytes|gt: '10'\n  condition: s"));
  EXPECT_FALSE(quoted.ok());
  EXPECT_EQ(WithCode(quoted, "type_error").size(), 1u);
}

// --- §11.7 arrays -------------------------------------------------------

TEST(Semantics, ArrayFieldMatchesWhenAnyElementMatches) {
  EXPECT_TRUE(Matches(kDns, "  s:\n    answers: 127.0.0.1\n  condition: s", kDnsEvent));
  EXPECT_TRUE(Matches(kDns, "  s:\n    answers|endswith: cdn.example\n  condition: s", kDnsEvent));
}

TEST(Semantics, NotOfArrayItemMeansNoElementMatches) {
  // zeek_dns_mining_pools excludes answers 127.0.0.1 / 0.0.0.0.
  const std::string rule =
      "  s:\n    answers:\n      - 127.0.0.1\n      - 0.0.0.0\n  condition: not s";
  EXPECT_FALSE(Matches(kDns, rule, kDnsEvent));
  EXPECT_TRUE(Matches(kDns, rule, DnsWith(R"("query":"q","answers":["10.1.1.1"])")));
}

TEST(Semantics, AllValuesMayBeSatisfiedByDifferentElements) {
  const std::string rule =
      "  s:\n    answers|all:\n      - 10.1.1.1\n      - 127.0.0.1\n  condition: s";
  EXPECT_TRUE(Matches(kDns, rule, kDnsEvent));
  EXPECT_FALSE(Matches(kDns, rule, DnsWith(R"("query":"q","answers":["10.1.1.1"])")));
}

// --- §11.8 modifiers ----------------------------------------------------

TEST(Semantics, ContainsNeverDoublesAStar) {
  const std::string rule = "  s:\n    uri|contains: '*admin*'\n  condition: s";
  EXPECT_TRUE(Matches(kHttp, rule, HttpWith(R"("uri":"/x/admin/y")")));
  EXPECT_TRUE(Matches(kHttp, "  s:\n    uri|startswith: '/admin*'\n  condition: s",
                      HttpWith(R"("uri":"/admin/z")")));
  EXPECT_TRUE(Matches(kHttp, "  s:\n    uri|endswith: '*.php'\n  condition: s",
                      HttpWith(R"("uri":"/a.php")")));
}

TEST(Semantics, ContainsStartsWithEndsWith) {
  const std::string ev = HttpWith(R"("uri":"/download/setup.exe")");
  EXPECT_TRUE(Matches(kHttp, "  s:\n    uri|contains: load/set\n  condition: s", ev));
  EXPECT_TRUE(Matches(kHttp, "  s:\n    uri|startswith: /DOWN\n  condition: s", ev));
  EXPECT_TRUE(Matches(kHttp, "  s:\n    uri|endswith: .EXE\n  condition: s", ev));
  EXPECT_FALSE(Matches(kHttp, "  s:\n    uri|startswith: setup\n  condition: s", ev));
  EXPECT_FALSE(Matches(kHttp, "  s:\n    uri|endswith: /download\n  condition: s", ev));
}

TEST(Semantics, AllTurnsTheListIntoAnd) {
  const std::string rule =
      "  s:\n    user_agent|contains|all:\n      - python\n      - requests\n  condition: s";
  EXPECT_TRUE(Matches(kHttp, rule, HttpWith(R"("user_agent":"python-requests/2.31")")));
  EXPECT_FALSE(Matches(kHttp, rule, HttpWith(R"("user_agent":"python-urllib/3.11")")));
}

TEST(Semantics, ManyValuesUseTheFastPathWithTheSameResult) {
  std::string many = "  s:\n    query|endswith:\n";
  for (int i = 0; i < 50; ++i) many += "      - '.zone" + std::to_string(i) + ".example'\n";
  many += "      - '.target.example'\n  condition: s";
  EXPECT_TRUE(Matches(kDns, many, DnsWith(R"("query":"A.TARGET.example")")));
  EXPECT_FALSE(Matches(kDns, many, DnsWith(R"("query":"target.example.org")")));
}

TEST(Semantics, Base64EncodesTheValue) {
  // base64("secret") = c2VjcmV0
  EXPECT_TRUE(Matches(kHttp, "  s:\n    uri|base64|contains: secret\n  condition: s",
                      HttpWith(R"("uri":"/q?d=c2VjcmV0&x=1")")));
  auto wild = LoadYaml(Rule(kHttp, "  s:\n    uri|base64: 'sec*'\n  condition: s"));
  EXPECT_FALSE(wild.ok());
  EXPECT_EQ(WithCode(wild, "type_error").size(), 1u);
}

TEST(Semantics, Base64OffsetMatchesAtEveryAlignment) {
  // foobar at offsets 0/1/2: Zm9vYmFy, Zvb2Jhc, mb29iYX (pySigma's values).
  const std::string rule = "  s:\n    uri|base64offset|contains: foobar\n  condition: s";
  EXPECT_TRUE(Matches(kHttp, rule, HttpWith(R"("uri":"/?Zm9vYmFy")")));
  EXPECT_TRUE(Matches(kHttp, rule, HttpWith(R"("uri":"/?IGZvb2Jhcg==")")));
  EXPECT_TRUE(Matches(kHttp, rule, HttpWith(R"("uri":"/?ICBmb29iYXI=")")));
  EXPECT_FALSE(Matches(kHttp, rule, HttpWith(R"("uri":"/?Zm9vYmF")")));
}

TEST(Semantics, WideEncodesUtf16le) {
  // Zeek escapes NUL as \x00 in text, so raw UTF-16 is matched only in JSON
  // strings that carry the bytes; \u0000 in JSON gives them.
  EXPECT_TRUE(Matches(kHttp, "  s:\n    uri|wide|contains: ab\n  condition: s",
                      HttpWith(R"("uri":"x a\u0000b\u0000 y")")));
  EXPECT_FALSE(Matches(kHttp, "  s:\n    uri|wide|contains: ab\n  condition: s",
                       HttpWith(R"("uri":"x ab y")")));
}

TEST(Semantics, WindashAcceptsEveryDashVariant) {
  const std::string rule = "  s:\n    uri|windash|contains: ' -enc '\n  condition: s";
  EXPECT_TRUE(Matches(kHttp, rule, HttpWith(R"("uri":"p /enc x")")));
  EXPECT_TRUE(Matches(kHttp, rule, HttpWith(R"("uri":"p -enc x")")));
  EXPECT_TRUE(Matches(kHttp, rule, HttpWith("\"uri\":\"p \u2013enc x\"")));
  EXPECT_FALSE(Matches(kHttp, rule, HttpWith(R"("uri":"p _enc x")")));
}

TEST(Semantics, WindashGroupsStayOredUnderAll) {
  const std::string rule =
      "  s:\n    uri|windash|contains|all:\n      - ' -a '\n      - ' -b '\n  condition: s";
  EXPECT_TRUE(Matches(kHttp, rule, HttpWith(R"("uri":"x /a -b y")")));
  EXPECT_FALSE(Matches(kHttp, rule, HttpWith(R"("uri":"x /a y")")));
}

TEST(Semantics, CidrMatchesV4AndV6) {
  const std::string rule =
      "  s:\n    id.resp_h|cidr:\n      - 10.0.0.0/24\n      - 2001:db8::/32\n  condition: s";
  EXPECT_TRUE(Matches(kConn, rule, ConnWith(R"("proto":"tcp")")));
  EXPECT_TRUE(Matches(
      kConn, rule,
      R"({"_path":"conn","ts":1.0,"id.orig_h":"::1","id.orig_p":1,"id.resp_h":"2001:db8:ffff::1","id.resp_p":2})"));
  EXPECT_FALSE(Matches(
      kConn, rule,
      R"({"_path":"conn","ts":1.0,"id.orig_h":"::1","id.orig_p":1,"id.resp_h":"2001:db9::1","id.resp_p":2})"));
  // cidr on a string field that is not an address simply does not match.
  EXPECT_FALSE(Matches(kHttp, "  s:\n    host|cidr: 10.0.0.0/8\n  condition: s",
                       HttpWith(R"("host":"web")")));
  EXPECT_TRUE(Matches(kHttp, "  s:\n    host|cidr: 10.0.0.0/8\n  condition: s",
                      HttpWith(R"("host":"10.9.9.9")")));
}

TEST(Semantics, FieldrefComparesTwoFieldsOfTheEvent) {
  const std::string rule = "  s:\n    host|fieldref: id.resp_h\n  condition: s";
  EXPECT_TRUE(Matches(kHttp, rule, HttpWith(R"("host":"10.0.0.80")")));
  EXPECT_FALSE(Matches(kHttp, rule, HttpWith(R"("host":"web.example")")));
  EXPECT_TRUE(Matches(kHttp, "  s:\n    host|fieldref|startswith: id.resp_h\n  condition: s",
                      HttpWith(R"("host":"10.0.0.80:8080")")));
}

TEST(Semantics, AlertsCarryAuthorTagsAndMatchedFields) {
  RuleHarness h(
      "title: t\nid: r\nauthor: Jane Analyst\ntags: [attack.t1071]\nlevel: critical\n"
      "logsource:\n  category: dns\ndetection:\n  s:\n    query|endswith: gov.example\n  "
      "condition: s\n");
  auto alerts = h.Run(kDnsEvent);
  ASSERT_EQ(alerts.size(), 1u);
  const auto& a = alerts[0];
  EXPECT_EQ(a.kind, AlertKind::kDetection);
  EXPECT_EQ(a.author, "Jane Analyst");
  EXPECT_EQ(a.tags, std::vector<std::string>{"attack.t1071"});
  EXPECT_EQ(a.level, engine::Level::kCritical);
  ASSERT_EQ(a.matched_fields.size(), 1u);
  EXPECT_EQ(a.matched_fields[0].name, "query");
  EXPECT_EQ(a.matched_fields[0].value, "Portal.Gov.Example");
  EXPECT_EQ(a.group_key, "id.orig_h=10.0.0.1");
  ASSERT_EQ(a.events.size(), 1u);
  EXPECT_EQ(a.events[0].log, "dns");
  EXPECT_NE(a.events[0].json.find("\"query\":\"Portal.Gov.Example\""), std::string::npos);
  EXPECT_EQ(a.ruleset_hash, h.result().ruleset_hash);
  EXPECT_EQ(a.rule_file, "inline.yml");
}

TEST(Semantics, ListOfMapsIsOr) {
  const std::string rule =
      "  s:\n    - user_agent|contains: WebDAV\n    - uri|contains: webdav\n  condition: s";
  EXPECT_TRUE(Matches(kHttp, rule, HttpWith(R"("uri":"/webdav/x")")));
  EXPECT_TRUE(Matches(kHttp, rule, HttpWith(R"("user_agent":"Microsoft-WebDAV-MiniRedir")")));
  EXPECT_FALSE(Matches(kHttp, rule, HttpWith(R"("uri":"/dav")")));
}

TEST(Semantics, MapIsAnd) {
  const std::string rule = "  s:\n    method: POST\n    uri|endswith: .php\n  condition: s";
  EXPECT_TRUE(Matches(kHttp, rule, HttpWith(R"("method":"POST","uri":"/a.php")")));
  EXPECT_FALSE(Matches(kHttp, rule, HttpWith(R"("method":"GET","uri":"/a.php")")));
}

TEST(Semantics, ConditionListIsOr) {
  const std::string rule =
      "  a:\n    method: PUT\n  b:\n    method: DELETE\n  condition:\n    - a\n    - b";
  EXPECT_TRUE(Matches(kHttp, rule, HttpWith(R"("method":"DELETE")")));
  EXPECT_FALSE(Matches(kHttp, rule, HttpWith(R"("method":"GET")")));
}

}  // namespace
}  // namespace vigil::testing
