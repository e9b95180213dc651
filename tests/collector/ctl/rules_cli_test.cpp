// vigilctl rules check|test as an operator runs them: exit codes, the
// file:line:column of every finding, alerts as JSON lines, the embedded
// example tests, and the --pcap path through an agent binary.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "collector/engine/json_reader.h"

namespace {

namespace fs = std::filesystem;

struct CliRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

class RulesCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("vigilctl-rules-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "rules");
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Write(const std::string& rel, const std::string& content) {
    const fs::path p = dir_ / rel;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << content;
    return p.string();
  }

  CliRun Vigilctl(const std::string& args) {
    const std::string out = (dir_ / "stdout").string(), err = (dir_ / "stderr").string();
    const std::string cmd =
        std::string("'") + VIGILCTL_PATH + "' rules " + args + " >'" + out + "' 2>'" + err + "'";
    const int status = std::system(cmd.c_str());
    CliRun r;
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    auto slurp = [](const std::string& path) {
      std::ifstream in(path);
      std::stringstream ss;
      ss << in.rdbuf();
      return ss.str();
    };
    r.out = slurp(out);
    r.err = slurp(err);
    return r;
  }

  std::string rules() const { return (dir_ / "rules").string(); }
  fs::path dir_;
};

const char* kGoodRule =
    "title: bad lookup\nid: 11111111-1111-4111-8111-111111111111\nauthor: tester\nlevel: high\n"
    "logsource: {product: zeek, service: dns}\n"
    "detection:\n  s:\n    query|endswith: .bad.example\n  condition: s\n"
    "vigil:\n  tests:\n"
    "    - {name: hit, expect: match, event: {_path: dns, query: x.bad.example}}\n"
    "    - {name: miss, expect: no_match, event: {_path: dns, query: x.good.example}}\n";

TEST_F(RulesCli, CheckOnGoodRulesExitsZeroWithASummary) {
  Write("rules/dns/bad.yml", kGoodRule);
  const CliRun r = Vigilctl("check " + rules());
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("1 rules: 1 active"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("ruleset sha256 "), std::string::npos);
}

TEST_F(RulesCli, CheckReportsEveryErrorWithFileLineColumnAndExitsOne) {
  const std::string path =
      Write("rules/broken.yml",
            "title: broken\nid: b\nlogsource: {product: zeek, service: dns}\n"
            "detection:\n  s:\n    query|contians: x\n    qeury: y\n  condition: s\n");
  const CliRun r = Vigilctl("check " + rules());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find(path + ":6:11: error: unknown modifier 'contians' (did you mean "
                              "'contains'?) [unknown_modifier] (rule b)"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find(path + ":7:5: error: unknown field 'qeury'"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("is rejected"), std::string::npos);
}

TEST_F(RulesCli, StrictTurnsWarningsIntoFailure) {
  Write("rules/filter.yml",
        std::string(kGoodRule) +
            "---\ntitle: restricts\nlogsource: {product: zeek, service: dns}\nfilter:\n"
            "  rules: [11111111-1111-4111-8111-111111111111]\n  s:\n    id.orig_h: 10.0.0.9\n"
            "  condition: s\n");
  const CliRun lax = Vigilctl("check " + rules());
  EXPECT_EQ(lax.exit_code, 0);
  EXPECT_NE(lax.out.find("[filter_without_not]"), std::string::npos) << lax.out;
  EXPECT_EQ(Vigilctl("check --strict " + rules()).exit_code, 1);
}

TEST_F(RulesCli, CheckWarnsAboutFiltersThatHideARulesOwnExample) {
  Write("rules/filter.yml",
        std::string(kGoodRule) +
            "---\ntitle: too broad\nlogsource: {product: zeek, service: dns}\nfilter:\n"
            "  rules: [11111111-1111-4111-8111-111111111111]\n  s:\n    query|contains: bad\n"
            "  condition: not s\n");
  const CliRun r = Vigilctl("check " + rules());
  EXPECT_NE(r.out.find("[shadowed_by_filter]"), std::string::npos) << r.out;
}

TEST_F(RulesCli, CheckJsonFormatIsOneObjectPerLine) {
  Write("rules/broken.yml",
        "title: x\nid: x\nlogsource: {category: dns}\ndetection:\n  s:\n    qeury: y\n  condition: "
        "s\n");
  const CliRun r = Vigilctl("check --format json " + rules());
  EXPECT_EQ(r.exit_code, 1);
  std::istringstream lines(r.out);
  int objects = 0;
  for (std::string line; std::getline(lines, line);) {
    auto parsed = vigil::collector::engine::ParseJsonObject(line);
    ASSERT_TRUE(parsed) << line;
    ++objects;
  }
  EXPECT_GE(objects, 2);  // the error and the summary
  EXPECT_NE(r.out.find("\"code\":\"unknown_field\""), std::string::npos);
}

TEST_F(RulesCli, TestRunsTheEmbeddedExamples) {
  Write("rules/dns/bad.yml", kGoodRule);
  const CliRun ok = Vigilctl("test --rules " + rules() + " --require-tests");
  EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  EXPECT_NE(ok.err.find("2 tests, 0 failed"), std::string::npos) << ok.err;
  std::string wrong = kGoodRule;
  wrong.replace(wrong.find("name: miss, expect: no_match"), 28, "name: miss, expect: match   ");
  Write("rules/dns/bad.yml", wrong);
  const CliRun bad = Vigilctl("test --rules " + rules());
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.out.find(
                "FAIL 11111111-1111-4111-8111-111111111111: 'miss' expected match, got no_match"),
            std::string::npos)
      << bad.out;
}

TEST_F(RulesCli, RequireTestsFailsRulesWithoutBothKindsOfExample) {
  Write("rules/r.yml",
        "title: t\nid: t\nlogsource: {category: dns}\ndetection:\n  s:\n    query: x\n  condition: "
        "s\n"
        "vigil:\n  tests:\n    - {expect: match, event: {_path: dns, query: x}}\n");
  EXPECT_EQ(Vigilctl("test --rules " + rules()).exit_code, 0);
  const CliRun r = Vigilctl("test --rules " + rules() + " --require-tests");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("needs at least one 'expect: match' and one 'expect: no_match'"),
            std::string::npos);
}

TEST_F(RulesCli, TestWithEventsPrintsAlertsAsJsonLines) {
  Write("rules/dns/bad.yml", kGoodRule);
  const std::string events = Write(
      "dns.log",
      "{\"ts\":1700000000.0,\"id.orig_h\":\"10.0.0.1\",\"id.orig_p\":1,\"id.resp_h\":\"10.0.0.53\","
      "\"id.resp_p\":53,\"query\":\"a.bad.example\"}\n"
      "{\"ts\":1700000001.0,\"query\":\"a.good.example\"}\n\n");
  const CliRun r =
      Vigilctl("test --rules " + rules() + " --events " + events + " --agent-id branch-7");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::istringstream lines(r.out);
  std::string line;
  ASSERT_TRUE(std::getline(lines, line));
  // The flat part of the alert (the events array holds objects, which the
  // log-line reader deliberately does not accept).
  const size_t events_at = line.find(",\"events\":[");
  ASSERT_NE(events_at, std::string::npos) << line;
  auto alert = vigil::collector::engine::ParseJsonObject(line.substr(0, events_at) + "}");
  ASSERT_TRUE(alert) << line;
  std::map<std::string, std::string> f;
  for (const auto& [k, v] : *alert) f[k] = v.Text();
  EXPECT_EQ(f["rule_id"], "11111111-1111-4111-8111-111111111111");
  EXPECT_EQ(f["author"], "tester");
  EXPECT_EQ(f["matched.query"], "a.bad.example");
  EXPECT_NE(line.find("\"agent\":\"branch-7\""), std::string::npos);
  EXPECT_FALSE(std::getline(lines, line)) << "one alert only, got: " << line;
  EXPECT_NE(r.err.find("2 events, 1 alerts, 0 bad lines"), std::string::npos) << r.err;
}

TEST_F(RulesCli, BadEventLinesAreReportedWithTheirLineAndFailTheRun) {
  Write("rules/dns/bad.yml", kGoodRule);
  const std::string events =
      Write("events.jsonl",
            "{\"_path\":\"dns\",\"ts\":1,\"query\":\"a.bad.example\"}\n{\"_path\":\"dns\",\n");
  const CliRun r = Vigilctl("test --rules " + rules() + " --events " + events);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(events + ":2: error: bad event"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("a.bad.example"), std::string::npos);  // the good line still ran
}

TEST_F(RulesCli, PcapRunsTheAgentAndReadsItsOutput) {
  Write("rules/dns/bad.yml", kGoodRule);
  // A stand-in for vigil-agent: checks its arguments, prints two records.
  const std::string agent =
      Write("fake-agent.sh",
            "#!/bin/sh\n"
            "[ \"$1\" = --read ] && [ \"$3\" = --output ] && [ \"$4\" = json ] || exit 9\n"
            "echo '{\"_path\":\"dns\",\"ts\":1,\"query\":\"c2.bad.example\"}'\n"
            "echo '{\"_path\":\"dns\",\"ts\":2,\"query\":\"ok.example\"}'\n");
  fs::permissions(agent, fs::perms::owner_all);
  const std::string pcap = Write("capture.pcap", "not really a capture");
  const CliRun r = Vigilctl("test --rules " + rules() + " --pcap " + pcap + " --agent " + agent);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("c2.bad.example"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("2 events, 1 alerts"), std::string::npos) << r.err;
  // VIGIL_AGENT works too, and an agent failure is reported, not ignored.
  const std::string failing =
      Write("failing-agent.sh", "#!/bin/sh\necho 'cannot open' >&2\nexit 3\n");
  fs::permissions(failing, fs::perms::owner_all);
  const CliRun f = Vigilctl("test --rules " + rules() + " --pcap " + pcap + " --agent " + failing);
  EXPECT_EQ(f.exit_code, 2);
  EXPECT_NE(f.err.find("exited with status 3"), std::string::npos) << f.err;
}

TEST_F(RulesCli, FieldsListsTheCatalogueWithAliases) {
  const CliRun r = Vigilctl("fields http");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("  uri\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  uri_extension\n"), std::string::npos);
  EXPECT_NE(r.out.find("  c-uri -> uri\n"), std::string::npos);
  EXPECT_EQ(r.out.find("  query\n"), std::string::npos);  // a dns field
  EXPECT_EQ(Vigilctl("fields smb").exit_code, 2);
}

TEST_F(RulesCli, UsageErrorsExitTwo) {
  EXPECT_EQ(Vigilctl("").exit_code, 2);
  EXPECT_EQ(Vigilctl("frobnicate").exit_code, 2);
  EXPECT_EQ(Vigilctl("test").exit_code, 2);  // --rules is required
  EXPECT_EQ(Vigilctl("check --format xml " + rules()).exit_code, 2);
  EXPECT_EQ(Vigilctl("--help").exit_code, 0);
}

TEST_F(RulesCli, ListsAreLoadedWithTheRules) {
  Write(
      "rules/r.yml",
      "title: t\nid: t\nlogsource: {category: dns}\ndetection:\n  s:\n    query|expand: '%watch%'\n"
      "  condition: s\n");
  EXPECT_EQ(Vigilctl("check " + rules()).exit_code, 1);  // %watch% undefined
  const std::string list = Write("watch.txt", "x.example\n");
  EXPECT_EQ(Vigilctl("check " + rules() + " --lists " + list).exit_code, 0);
  EXPECT_EQ(Vigilctl("check " + rules() + " --lists watch=" + list).exit_code, 0);
  EXPECT_EQ(Vigilctl("check " + rules() + " --lists watch=/nonexistent").exit_code, 1);
}

}  // namespace
