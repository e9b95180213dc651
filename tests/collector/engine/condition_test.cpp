// The condition language: precedence, quantifiers, identifier patterns and
// the errors of sigma-notes §3 / §11.3-4, asserted on the normalised form.
#include "collector/engine/condition/condition.h"

#include <gtest/gtest.h>

namespace vigil::collector::engine {
namespace {

std::string Compile(const std::string& text, const std::vector<std::string>& ids) {
  auto node = ParseCondition(text);
  if (!node) return "parse error: " + node.error().code + ": " + node.error().message;
  auto r = ResolveCondition(**node, ids);
  if (!r) return "resolve error: " + r.error().code + ": " + r.error().message;
  return ConditionToString(**node);
}

ConditionError Error(const std::string& text, const std::vector<std::string>& ids) {
  auto node = ParseCondition(text);
  if (!node) return node.error();
  auto r = ResolveCondition(**node, ids);
  if (!r) return r.error();
  ADD_FAILURE() << "expected an error for: " << text;
  return {};
}

const std::vector<std::string> kIds = {
    "a", "b", "c", "d", "sel", "filter_a", "filter_b", "_hidden", "selection", "selection_extra"};

TEST(Condition, PrecedenceOrAndNot) {
  // or < and < not: "a and not b or not c and d" is (a ∧ ¬b) ∨ (¬c ∧ d).
  EXPECT_EQ(Compile("a and not b or not c and d", kIds), "or(and(a,not(b)),and(not(c),d))");
}

TEST(Condition, BracketsOverridePrecedence) {
  EXPECT_EQ(Compile("a and (b or c)", kIds), "and(a,or(b,c))");
  EXPECT_EQ(Compile("((a))", kIds), "a");
}

TEST(Condition, NotOfQuantifierNegatesTheWholeGroup) {
  EXPECT_EQ(Compile("sel and not 1 of filter_*", kIds), "and(sel,not(or(filter_a,filter_b)))");
}

TEST(Condition, AllOfIsAnd) {
  EXPECT_EQ(Compile("all of filter_*", kIds), "and(filter_a,filter_b)");
}

TEST(Condition, AnyOfIsAliasOfOneOf) {
  EXPECT_EQ(Compile("any of filter_*", kIds), "or(filter_a,filter_b)");
}

TEST(Condition, ThemSkipsUnderscoreIdentifiers) {
  EXPECT_EQ(Compile("1 of them", {"x", "_y", "z"}), "or(x,z)");
}

TEST(Condition, UnderscorePatternIncludesUnderscoreIdentifiers) {
  EXPECT_EQ(Compile("1 of _*", kIds), "_hidden");
}

TEST(Condition, PatternWithoutStarIsExactName) {
  // pySigma's fix: "1 of selection" must not pick up selection_extra.
  EXPECT_EQ(Compile("1 of selection", kIds), "selection");
}

TEST(Condition, StarPatternMatchesWholeName) {
  EXPECT_EQ(Compile("1 of *_a", kIds), "filter_a");
  EXPECT_EQ(Compile("1 of sel*", kIds), "or(sel,selection,selection_extra)");
}

TEST(Condition, PatternMatchingNothingIsRejected) {
  const auto e = Error("sel and not 1 of nothing_*", kIds);
  EXPECT_EQ(e.code, "pattern_matches_nothing");
  EXPECT_EQ(e.column, 13);
}

TEST(Condition, ThemWithOnlyUnderscoreIdentifiersIsRejected) {
  EXPECT_EQ(Error("all of them", {"_x"}).code, "pattern_matches_nothing");
}

TEST(Condition, TwoOfIsInvalid) {
  const auto e = Error("2 of filter_*", kIds);
  EXPECT_EQ(e.code, "condition_syntax");
  EXPECT_EQ(e.column, 1);
}

TEST(Condition, UpperCaseOperatorsAreNotOperators) {
  const auto e = Error("a AND b", kIds);
  // "AND" parses as an identifier after "a" and fails as trailing input.
  EXPECT_EQ(e.code, "condition_syntax");
  EXPECT_EQ(e.column, 3);
  const auto e2 = Error("AND", kIds);
  EXPECT_EQ(e2.code, "unknown_identifier");
  EXPECT_NE(e2.message.find("lower-case"), std::string::npos);
}

TEST(Condition, UnknownIdentifierIsRejectedWithItsColumn) {
  const auto e = Error("a and missing", kIds);
  EXPECT_EQ(e.code, "unknown_identifier");
  EXPECT_EQ(e.column, 7);
}

TEST(Condition, LegacyPipeAggregationIsRejected) {
  const auto e = Error("selection | count(dst_port) by src_ip > 10", kIds);
  EXPECT_EQ(e.code, "legacy_aggregation");
  EXPECT_EQ(e.column, 11);
}

TEST(Condition, SyntaxErrors) {
  EXPECT_EQ(Error("a and", kIds).code, "condition_syntax");
  EXPECT_EQ(Error("(a or b", kIds).code, "condition_syntax");
  EXPECT_EQ(Error("a or b)", kIds).code, "condition_syntax");
  EXPECT_EQ(Error("", kIds).code, "condition_syntax");
  EXPECT_EQ(Error("a & b", kIds).code, "condition_syntax");
  EXPECT_EQ(Error("sel*", kIds).code, "condition_syntax");
  EXPECT_EQ(Error("1 of", kIds).code, "condition_syntax");
}

TEST(Condition, NotNotIsDoubleNegation) { EXPECT_EQ(Compile("not not a", kIds), "not(not(a))"); }

TEST(Condition, IdentifiersMayContainDashes) {
  EXPECT_EQ(Compile("sel-1 or b", {"sel-1", "b"}), "or(sel-1,b)");
}

std::string Repeat(std::string_view part, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += part;
  return out;
}

TEST(Condition, NestingUpToTheLimitWorks) {
  // kMaxConditionDepth levels of brackets, or of `not`, or of both mixed.
  const int n = kMaxConditionDepth;
  EXPECT_EQ(Compile(Repeat("(", n) + "a" + Repeat(")", n), kIds), "a");
  std::string nots = "a";
  for (int i = 0; i < n; ++i) nots = "not(" + nots + ")";
  EXPECT_EQ(Compile(Repeat("not ", n) + "a", kIds), nots);
  EXPECT_EQ(Compile(Repeat("not (b or ", n / 2) + "a" + Repeat(")", n / 2), kIds).substr(0, 12),
            "not(or(b,not");
}

TEST(Condition, DeeperNestingIsASyntaxErrorNotAStackOverflow) {
  // Found by fuzzing: every '(' and every `not` recursed with no limit.
  const int n = kMaxConditionDepth + 1;
  auto brackets = Error(Repeat("(", n) + "a" + Repeat(")", n), kIds);
  EXPECT_EQ(brackets.code, "condition_syntax");
  EXPECT_EQ(brackets.column, n);  // the bracket one level too deep
  EXPECT_NE(brackets.message.find("nests more than"), std::string::npos) << brackets.message;
  auto nots = Error(Repeat("not ", n) + "a", kIds);
  EXPECT_EQ(nots.code, "condition_syntax");
  EXPECT_EQ(nots.column, 4 * (n - 1) + 1);
  auto mixed = Error(Repeat("not (", n / 2 + 1) + "a" + Repeat(")", n / 2 + 1), kIds);
  EXPECT_EQ(mixed.code, "condition_syntax");
  // Far past the limit (what the fuzzer sent, and much more): still an error.
  for (const int deep : {1000, 100000}) {
    EXPECT_EQ(Error(Repeat("(", deep) + "a" + Repeat(")", deep), kIds).code, "condition_syntax");
    EXPECT_EQ(Error(Repeat("not ", deep / 8) + "a", kIds).code, "condition_syntax");
  }
}

TEST(Condition, OverlongConditionIsRejected) {
  std::string ok = "a";
  while (ok.size() + 5 <= kMaxConditionBytes) ok += " or a";
  EXPECT_EQ(Compile(ok, kIds).substr(0, 6), "or(a,a");
  const auto e =
      Error(ok + Repeat(" ", static_cast<int>(kMaxConditionBytes - ok.size()) + 1), kIds);
  EXPECT_EQ(e.code, "condition_syntax");
  EXPECT_NE(e.message.find("limit"), std::string::npos) << e.message;
}

}  // namespace
}  // namespace vigil::collector::engine
