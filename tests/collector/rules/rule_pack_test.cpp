// The shipped rule pack (rules/): loads without errors or warnings, every
// rule carries the metadata operators and the Detection Rule License need,
// and every rule's own examples (at least one positive and one negative)
// pass on the real engine.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <set>

#include "collector/engine/loader/load.h"
#include "collector/engine/rule_tests.h"

namespace vigil::collector::engine {
namespace {

std::string SourceDir() {
  const char* dir = std::getenv("VIGIL_SOURCE_DIR");
  return dir ? dir : VIGIL_SOURCE_DIR_DEFAULT;
}

LoadResult LoadPack() {
  LoadOptions o;
  const std::string root = SourceDir() + "/rules";
  o.paths = {root};
  o.lists = {{"bad_domains", root + "/lists/bad_domains.txt"},
             {"bad_addresses", root + "/lists/bad_addresses.txt"}};
  return LoadRuleSet(o);
}

const LoadResult& Pack() {
  static const LoadResult r = LoadPack();
  return r;
}

TEST(RulePack, LoadsWithoutErrorsOrWarnings) {
  const auto& r = Pack();
  std::string all;
  for (const auto& d : r.diagnostics) all += d.ToString() + "\n";
  ASSERT_TRUE(r.ok()) << all;
  EXPECT_EQ(r.errors(), 0u) << all;
  EXPECT_EQ(r.warnings(), 0u) << all;
  EXPECT_EQ(r.counts.inactive, 0u);
  EXPECT_EQ(r.counts.rejected, 0u);
  EXPECT_GE(r.counts.active, 25u);
  EXPECT_GE(r.counts.correlations, 6u);
  EXPECT_TRUE(LintRuleSet(r.rule_set).empty());
}

TEST(RulePack, EveryRuleHasTheRequiredMetadata) {
  const auto& r = Pack();
  ASSERT_TRUE(r.ok());
  std::set<std::string> names;
  auto check = [&](const RuleMeta& m) {
    SCOPED_TRACE(m.file + ": " + m.title);
    EXPECT_EQ(m.id.size(), 36u) << "id must be a UUID";
    EXPECT_TRUE(m.name.starts_with("vigil.")) << "stable name handle";
    EXPECT_TRUE(names.insert(m.name).second) << "duplicate name " << m.name;
    EXPECT_FALSE(m.title.empty());
    EXPECT_FALSE(m.author.empty());
    EXPECT_FALSE(m.description.empty());
    EXPECT_FALSE(m.falsepositives.empty());
    EXPECT_FALSE(m.status.empty());
    bool mitre = false;
    for (const auto& t : m.tags) mitre |= t.starts_with("attack.t");
    EXPECT_TRUE(mitre) << "needs a MITRE ATT&CK technique tag";
  };
  for (const auto& d : r.rule_set->detections) check(d.meta);
  for (const auto& c : r.rule_set->correlations) check(c.meta);
}

TEST(RulePack, EveryRuleHasPositiveAndNegativeExamples) {
  const auto& r = Pack();
  ASSERT_TRUE(r.ok());
  std::map<std::string, std::pair<int, int>> kinds;
  for (const auto& t : r.rule_set->tests) {
    for (const auto& c : t.cases)
      (c.expect_match ? kinds[t.rule_id].first : kinds[t.rule_id].second)++;
  }
  for (const auto& s : r.rules) {
    EXPECT_GE(kinds[s.id].first, 1) << s.file << ": " << s.title << " has no positive example";
    EXPECT_GE(kinds[s.id].second, 1) << s.file << ": " << s.title << " has no negative example";
  }
}

}  // namespace

// Readable test parameters in ctest output.
void PrintTo(const TestOutcome& o, std::ostream* os) {
  *os << o.file << ":" << o.line << " " << o.test_name;
}

namespace {

class RuleExamples : public ::testing::TestWithParam<TestOutcome> {};

TEST_P(RuleExamples, Pass) {
  const auto& o = GetParam();
  EXPECT_TRUE(o.error.empty()) << o.file << ":" << o.line << ": " << o.error;
  EXPECT_EQ(o.matched, o.expect_match) << o.file << ":" << o.line << ": '" << o.test_name
                                       << "' expected " << (o.expect_match ? "match" : "no_match");
  EXPECT_GE(o.events, 1u);
}

std::vector<TestOutcome> Outcomes() {
  const auto& r = Pack();
  if (!r.ok()) return {};
  return RunRuleTests(r.rule_set);
}

INSTANTIATE_TEST_SUITE_P(Shipped, RuleExamples, ::testing::ValuesIn(Outcomes()),
                         [](const ::testing::TestParamInfo<TestOutcome>& param) {
                           std::string name =
                               param.param.test_name + "_" + std::to_string(param.index);
                           for (char& c : name) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace vigil::collector::engine
