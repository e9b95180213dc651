#include "tests/collector/engine/rule_harness.h"

namespace vigil::testing {
namespace {

TEST(EngineSmoke, SimpleDnsRuleFires) {
  RuleHarness h(Rule(kDns, "  sel:\n    query|endswith: '.evil.example'\n  condition: sel"));
  EXPECT_TRUE(h.Fires(
      R"({"_path":"dns","ts":1.0,"id.orig_h":"10.0.0.1","id.orig_p":5353,"id.resp_h":"10.0.0.53","id.resp_p":53,"query":"a.EVIL.example"})"));
  EXPECT_FALSE(h.Fires(R"({"_path":"dns","ts":1.0,"query":"a.good.example"})"));
}

}  // namespace
}  // namespace vigil::testing
