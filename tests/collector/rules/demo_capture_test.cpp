// The demo capture (tests/tools: vigil-capgen --scenario demo) through the
// agent's own decoders (vigil-agent --read --output json) and the shipped
// pack: every staged attack is caught, by the rules meant to catch
// them, and nothing in the background traffic raises an alert.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <set>

#include "collector/engine/engine.h"
#include "collector/engine/event_json.h"
#include "collector/engine/json_reader.h"
#include "collector/engine/loader/load.h"

namespace vigil::collector::engine {
namespace {

std::string Env(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

TEST(DemoCapture, StagedAttacksAreCaughtAndBackgroundIsQuiet) {
  const std::string agent = Env("VIGIL_AGENT", VIGIL_AGENT_PATH);
  const std::string pcap = VIGIL_DEMO_PCAP_PATH;
  const std::string truth = VIGIL_DEMO_TRUTH_PATH;
  const std::string root = Env("VIGIL_SOURCE_DIR", VIGIL_SOURCE_DIR_DEFAULT) + "/rules";
  LoadOptions o;
  o.paths = {root};
  o.lists = {{"bad_domains", root + "/lists/bad_domains.txt"},
             {"bad_addresses", root + "/lists/bad_addresses.txt"}};
  const auto loaded = LoadRuleSet(o);
  ASSERT_TRUE(loaded.ok());

  // Ground truth: attack name -> source address.
  std::map<std::string, std::string> attacks;
  std::ifstream t(truth);
  ASSERT_TRUE(t) << "demo truth missing: " << truth;
  for (std::string line; std::getline(t, line);) {
    auto m = ParseJsonObject(line);
    ASSERT_TRUE(m);
    std::map<std::string, std::string> f;
    for (const auto& [k, v] : *m) f[k] = v.Text();
    if (f["type"] == "attack") attacks[f["name"]] = f["src"];
  }
  ASSERT_GE(attacks.size(), 4u);

  const std::string cmd = "'" + agent + "' --read '" + pcap + "' --output json 2>/dev/null";
  std::FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  Engine engine;
  engine.Swap(loaded.rule_set);
  std::vector<Alert> alerts;
  size_t events = 0;
  int64_t last = 0;
  char buf[65536];
  while (std::fgets(buf, sizeof buf, p)) {
    std::string line(buf);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    EventOrigin origin;
    origin.agent_id = "demo-agent";
    auto e = EventFromJson(line, origin);
    ASSERT_TRUE(e) << e.error().message << " in " << line;
    ++events;
    last = std::max(last, e->time_ns());
    engine.Evaluate(*e, alerts);
  }
  ASSERT_EQ(pclose(p), 0) << "vigil-agent failed on " << pcap;
  engine.AdvanceTime(last + int64_t{3600} * 1'000'000'000, alerts);
  ASSERT_GT(events, 100u);

  const std::map<std::string, std::string> expected_rule = {
      {"bad_domain_lookup", "vigil.dns.bad_domain"},
      {"telnet_session", "vigil.conn.telnet_session"},
      {"port_scan", "vigil.conn.port_scan"},
      {"ssh_bruteforce", "vigil.conn.ssh_bruteforce"},
      {"c2_session", "vigil.conn.bad_address_session"}};
  for (const auto& [name, src] : attacks) {
    EXPECT_TRUE(expected_rule.count(name))
        << "the demo stages attack '" << name << "' that no rule is expected to catch";
  }
  std::set<std::string> attacker_sources;
  for (const auto& [name, src] : attacks) attacker_sources.insert(src);
  for (const auto& [attack, rule_name] : expected_rule) {
    const RuleSet& rs = *loaded.rule_set;
    std::string id;
    if (const auto* d = rs.FindDetection(rule_name)) id = d->meta.id;
    if (const auto* c = rs.FindCorrelation(rule_name)) id = c->meta.id;
    ASSERT_FALSE(id.empty()) << rule_name;
    bool caught = false;
    for (const auto& a : alerts) {
      if (a.rule_id == id && a.group_key.find("id.orig_h=" + attacks[attack]) != std::string::npos)
        caught = true;
    }
    EXPECT_TRUE(caught) << attack << " from " << attacks[attack] << " not caught by " << rule_name;
  }
  for (const auto& a : alerts) {
    bool from_attacker = false;
    for (const auto& src : attacker_sources)
      from_attacker |= a.group_key.find("=" + src) != std::string::npos;
    EXPECT_TRUE(from_attacker) << "alert on background traffic: " << a.message;
    EXPECT_FALSE(a.author.empty());
    ASSERT_FALSE(a.events.empty());
    EXPECT_EQ(a.events[0].origin.agent_id, "demo-agent");
  }
}

}  // namespace
}  // namespace vigil::collector::engine
