// Compatibility with the community: every SigmaHQ network rule in
// $VIGIL_SHARED_DATA/sigma loads, or is inactive or rejected with a stated
// reason; the rules for logs Vigil produces are active; a sample of them
// matches the records it is written for. Prints a report (load rate,
// states, reasons) that docs/sigma-compatibility.md is written from.
// Skips, saying so, when the reference data is not there.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>

#include "collector/engine/engine.h"
#include "collector/engine/event_json.h"
#include "collector/engine/loader/load.h"

namespace vigil::collector::engine {
namespace {

std::string SharedData() {
  const char* env = std::getenv("VIGIL_SHARED_DATA");
  return env && *env ? env : VIGIL_SHARED_DATA_DEFAULT;
}

class SigmaHQ : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = SharedData() + "/sigma";
    if (!std::filesystem::exists(root_ + "/rules")) {
      GTEST_SKIP() << "SKIPPED: SigmaHQ reference rules not found at " << root_
                   << "/rules (set VIGIL_SHARED_DATA to the shared data directory)";
    }
    LoadOptions o;
    o.paths = {root_ + "/rules"};
    // Operators may drop SigmaHQ's files into a rules directory: a rule Vigil
    // cannot use must not take the others down.
    o.skip_rejected_rules = true;
    result_ = LoadRuleSet(o);
  }
  std::string root_;
  LoadResult result_;
};

// "Vigil does not produce 'cisco' logs" and "... 'fortigate' logs" are one reason.
std::string ReasonClass(const std::string& reason) {
  static const std::regex quoted("'[^']*'");
  std::string r = std::regex_replace(reason, quoted, "'…'");
  const size_t bracket = r.find(" [");
  if (bracket != std::string::npos) {
    const size_t close = r.find(']', bracket);
    r = r.substr(bracket + 2, close - bracket - 2) + ": " + r.substr(0, bracket);
  }
  return r.size() > 110 ? r.substr(0, 110) + "…" : r;
}

TEST_F(SigmaHQ, EveryRuleLoadsOrIsInactiveOrRejectedWithAReason) {
  ASSERT_TRUE(result_.ok()) << "the set as a whole failed to load";
  size_t total = 0;
  std::map<RuleState, size_t> states;
  std::map<std::string, size_t> reasons;
  for (const auto& s : result_.rules) {
    ++total;
    ++states[s.state];
    if (s.state != RuleState::kActive) {
      EXPECT_FALSE(s.reason.empty())
          << s.file << ": " << RuleStateName(s.state) << " without a reason";
      ++reasons[std::string(RuleStateName(s.state)) + ": " + ReasonClass(s.reason)];
    }
  }
  ASSERT_GT(total, 0u);
  std::printf("\nSigmaHQ network rules (%s)\n", root_.c_str());
  std::printf("  %zu rules: %zu active (%.1f%%), %zu inactive, %zu rejected\n", total,
              states[RuleState::kActive],
              100.0 * static_cast<double>(states[RuleState::kActive]) / static_cast<double>(total),
              states[RuleState::kInactive], states[RuleState::kRejected]);
  for (const auto& [reason, n] : reasons) std::printf("  %4zu  %s\n", n, reason.c_str());
  for (const auto& s : result_.rules) {
    if (s.state == RuleState::kActive)
      std::printf("  active %-5s %s\n", s.log.c_str(), s.title.c_str());
  }
}

TEST_F(SigmaHQ, RulesForLogsVigilProducesAreActive) {
  // network_rules.tsv says which Vigil record each rule is written for.
  std::ifstream tsv(root_ + "/network_rules.tsv");
  ASSERT_TRUE(tsv);
  std::string line;
  std::getline(tsv, line);  // header
  std::map<std::string, const RuleSummary*> by_file;
  for (const auto& s : result_.rules) {
    by_file[std::filesystem::relative(s.file, root_ + "/rules").string()] = &s;
  }
  size_t checked = 0;
  while (std::getline(tsv, line)) {
    std::vector<std::string> cols;
    size_t start = 0;
    for (size_t tab; (tab = line.find('\t', start)) != std::string::npos; start = tab + 1) {
      cols.push_back(line.substr(start, tab - start));
    }
    cols.push_back(line.substr(start));
    ASSERT_GE(cols.size(), 8u);
    const std::string& path = cols[0];
    const std::string& status = cols[2];
    const std::string& event = cols[7];
    ASSERT_TRUE(by_file.count(path)) << path << " was not loaded";
    const RuleSummary& s = *by_file[path];
    ++checked;
    if (status == "unsupported" || status == "deprecated") {
      EXPECT_EQ(s.state, RuleState::kInactive) << path;
    } else if (event.starts_with("n/a")) {
      EXPECT_EQ(s.state, RuleState::kInactive) << path << ": written for " << event;
    } else {
      EXPECT_EQ(s.state, RuleState::kActive) << path << ": " << s.reason;
      const std::string want = event == "flow" ? "conn" : event;
      EXPECT_EQ(s.log, want) << path;
    }
  }
  EXPECT_EQ(checked, result_.rules.size());
}

struct Case {
  const char* rule_id;
  const char* event;
  bool match;
};

TEST_F(SigmaHQ, ActiveRulesMatchTheRecordsTheyAreWrittenFor) {
  ASSERT_TRUE(result_.ok());
  const Case cases[] = {
      // zeek_dns_susp_zbit_flag: Z set on an ordinary name.
      {"ede05abc-2c9e-4624-9944-9ff17fdc0bf5",
       R"({"_path":"dns","ts":1,"id.orig_h":"10.0.0.1","id.orig_p":5353,"id.resp_h":"10.0.0.53","id.resp_p":53,"query":"a.example.com","qtype_name":"A","Z":1})",
       true},
      {"ede05abc-2c9e-4624-9944-9ff17fdc0bf5",
       R"({"_path":"dns","ts":1,"id.orig_h":"10.0.0.1","id.orig_p":5353,"id.resp_h":"10.0.0.53","id.resp_p":53,"query":"a.example.com","qtype_name":"NS","Z":1})",
       false},
      {"ede05abc-2c9e-4624-9944-9ff17fdc0bf5",
       R"({"_path":"dns","ts":1,"id.orig_h":"10.0.0.1","id.orig_p":5353,"id.resp_h":"10.0.0.53","id.resp_p":53,"query":"a.example.com","Z":0})",
       false},
      // zeek_dns_mining_pools: endswith list, answers and rejected exclusions.
      {"bf74135c-18e8-4a72-a926-0e4f47888c19",
       R"({"_path":"dns","ts":1,"id.orig_h":"10.0.0.1","id.orig_p":5353,"id.resp_h":"10.0.0.53","id.resp_p":53,"query":"pool.supportxmr.com","answers":["198.51.100.1"],"rejected":false})",
       true},
      {"bf74135c-18e8-4a72-a926-0e4f47888c19",
       R"({"_path":"dns","ts":1,"id.orig_h":"10.0.0.1","id.orig_p":5353,"id.resp_h":"10.0.0.53","id.resp_p":53,"query":"pool.supportxmr.com","answers":["0.0.0.0"],"rejected":false})",
       false},
      {"bf74135c-18e8-4a72-a926-0e4f47888c19",
       R"({"_path":"dns","ts":1,"id.orig_h":"10.0.0.1","id.orig_p":5353,"id.resp_h":"10.0.0.53","id.resp_p":53,"query":"pool.supportxmr.com","rejected":true})",
       false},
      // net_dns_mal_cobaltstrike (category dns): startswith / contains.
      {"2975af79-28c4-4d2f-a951-9095f229df29",
       R"({"_path":"dns","ts":1,"id.orig_h":"10.0.0.1","id.orig_p":5353,"id.resp_h":"10.0.0.53","id.resp_p":53,"query":"aaa.stage.12345.evil.example"})",
       true},
      // OMIGOD: POST /wsman with a body and no Authorization header.
      {"ab6b1a39-a9ee-4ab4-b075-e83acf6e346b",
       R"({"_path":"http","ts":1,"id.orig_h":"198.51.100.9","id.orig_p":40000,"id.resp_h":"10.0.0.5","id.resp_p":5986,"method":"POST","uri":"/wsman","status_code":200,"request_body_len":1200,"client_header_names":["HOST","CONTENT-TYPE"]})",
       true},
      {"ab6b1a39-a9ee-4ab4-b075-e83acf6e346b",
       R"({"_path":"http","ts":1,"id.orig_h":"198.51.100.9","id.orig_p":40000,"id.resp_h":"10.0.0.5","id.resp_p":5986,"method":"POST","uri":"/wsman","status_code":200,"request_body_len":1200,"client_header_names":["HOST","AUTHORIZATION"]})",
       false},
      // zeek_http_webdav_put_request: external destination only (cidr filter).
      {"705072a5-bb6f-4ced-95b6-ecfa6602090b",
       R"({"_path":"http","ts":1,"id.orig_h":"10.0.0.1","id.orig_p":40000,"id.resp_h":"198.51.100.20","id.resp_p":80,"method":"PUT","user_agent":"Microsoft-WebDAV-MiniRedir/10.0"})",
       true},
      {"705072a5-bb6f-4ced-95b6-ecfa6602090b",
       R"({"_path":"http","ts":1,"id.orig_h":"10.0.0.1","id.orig_p":40000,"id.resp_h":"10.0.0.20","id.resp_p":80,"method":"PUT","user_agent":"Microsoft-WebDAV-MiniRedir/10.0"})",
       false},
      // net_firewall_cleartext_protocols (category firewall): port + action derived from
      // conn_state.
      {"d7fb8f0e-bd5f-45c2-b467-19571c490d7e",
       R"({"_path":"conn","ts":1,"id.orig_h":"10.0.0.1","id.orig_p":40000,"id.resp_h":"10.0.0.23","id.resp_p":23,"proto":"tcp","conn_state":"SF"})",
       true},
      {"d7fb8f0e-bd5f-45c2-b467-19571c490d7e",
       R"({"_path":"conn","ts":1,"id.orig_h":"10.0.0.1","id.orig_p":40000,"id.resp_h":"10.0.0.23","id.resp_p":23,"proto":"tcp","conn_state":"REJ"})",
       false},
  };
  for (const auto& c : cases) {
    ASSERT_NE(result_.rule_set->FindDetection(c.rule_id), nullptr) << c.rule_id << " is not active";
    Engine engine;
    engine.Swap(result_.rule_set);
    auto e = EventFromJson(c.event, {});
    ASSERT_TRUE(e) << c.event;
    std::vector<Alert> alerts;
    engine.Evaluate(*e, alerts);
    bool fired = false;
    for (const auto& a : alerts) fired |= a.rule_id == c.rule_id;
    EXPECT_EQ(fired, c.match) << c.rule_id << " on " << c.event;
  }
}

TEST_F(SigmaHQ, EvaluatingEveryActiveRuleOnEveryLogTypeIsSafe) {
  ASSERT_TRUE(result_.ok());
  Engine engine;
  engine.Swap(result_.rule_set);
  const char* events[] = {
      R"({"_path":"conn","ts":1,"id.orig_h":"10.0.0.1","id.orig_p":1,"id.resp_h":"10.0.0.2","id.resp_p":2})",
      R"({"_path":"dns","ts":1,"id.orig_h":"10.0.0.1","id.orig_p":1,"id.resp_h":"10.0.0.2","id.resp_p":53,"query":"a.example.com","Z":1})",
      R"({"_path":"ssl","ts":1,"id.orig_h":"10.0.0.1","id.orig_p":1,"id.resp_h":"10.0.0.2","id.resp_p":443})",
      R"({"_path":"http","ts":1,"id.orig_h":"10.0.0.1","id.orig_p":1,"id.resp_h":"10.0.0.2","id.resp_p":80,"uri":"","host":""})"};
  std::vector<Alert> alerts;
  for (const char* ev : events) {
    auto e = EventFromJson(ev, {});
    ASSERT_TRUE(e);
    engine.Evaluate(*e, alerts);
  }
  const auto stats = engine.Stats();
  for (size_t log = 0; log < kLogTypeCount; ++log) EXPECT_EQ(stats->events[log].Get(), 1u);
  uint64_t evaluated = 0;
  for (const auto& r : stats->rules) evaluated += r->evaluations.Get();
  EXPECT_GT(evaluated, 0u);  // the Z-bit rule at least was a candidate for the dns record
}

}  // namespace
}  // namespace vigil::collector::engine
