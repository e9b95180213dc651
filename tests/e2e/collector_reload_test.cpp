// Rule reload on the running collector: SIGHUP and a change in the rules
// folder (an atomic rename into place, several files written one after the
// other) reload the rule set; a broken rule keeps the running set, with the
// failure visible in the metrics and the log (file:line:column); the
// reported ruleset hash changes exactly when the rules do.

#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <thread>

#include "tests/support/subprocess.h"

namespace vigil::testing {
namespace {

namespace fs = std::filesystem;

std::string Bin(const std::string& name) {
  const char* b = std::getenv("VIGIL_BINARY_DIR");
  return std::string(b != nullptr ? b : ".") + "/bin/" + name;
}

std::string Rule(const std::string& id, const std::string& port) {
  return "title: Connection to port " + port + "\nid: " + id +
         "\nlogsource: {product: zeek, service: conn}\n"
         "detection:\n  sel:\n    id.resp_p: " +
         port + "\n  condition: sel\nlevel: low\nauthor: test\n";
}

class CollectorReload : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("vigil-reload");
    fs::create_directories(dir_ + "/rules");
    Write("rules/a.yml", Rule("11111111-1111-4111-8111-111111111111", "23"));
    std::ofstream(dir_ + "/collector.yaml")
        << "listen: 127.0.0.1:0\ninsecure_plaintext: true\nallow_unlisted_agents: true\n"
           "rules: {directories: [rules], watch: true}\n"
           "incidents: {database: incidents.db, signing_key: checkpoint.key}\n"
           "metrics: {listen: 127.0.0.1:0}\n";
    ASSERT_TRUE(collector_.Start({Bin("vigil-collector"), "--config", dir_ + "/collector.yaml",
                                  "--ready-file", dir_ + "/ready"},
                                 "", dir_ + "/collector.log"));
    ASSERT_TRUE(WaitUntil([&] { return fs::exists(dir_ + "/ready"); }, std::chrono::seconds(30)))
        << ReadFile(dir_ + "/collector.log");
    metrics_ = nlohmann::json::parse(ReadFile(dir_ + "/ready")).at("metrics");
  }
  void TearDown() override {
    collector_.Signal(SIGTERM);
    collector_.Wait(std::chrono::seconds(30));
    if (!HasFailure()) fs::remove_all(dir_);
  }
  void Write(const std::string& rel, const std::string& text) {
    std::ofstream(dir_ + "/" + rel) << text;
  }
  std::string Scrape() {
    std::string out;
    RunCapture({"/usr/bin/curl", "-sf", "http://" + metrics_ + "/metrics"}, out);
    return out;
  }
  double Value(const std::string& scrape, const std::string& series) {
    const auto at = scrape.find("\n" + series + " ");
    if (at == std::string::npos) return -1;
    return std::stod(scrape.substr(at + series.size() + 2));
  }
  std::string Hash(const std::string& scrape) {
    std::smatch m;
    static const std::regex re("vigil_ruleset_info\\{ruleset_hash=\"([0-9a-f]+|none)\"\\} 1");
    return std::regex_search(scrape, m, re) ? m[1].str() : "";
  }
  // Waits until the number of reload attempts of `result` reaches `n`.
  bool WaitReloads(const std::string& result, double n) {
    return WaitUntil(
        [&] {
          return Value(Scrape(), "vigil_rules_reloads_total{result=\"" + result + "\"}") >= n;
        },
        std::chrono::seconds(20), std::chrono::milliseconds(100));
  }

  std::string dir_, metrics_;
  Subprocess collector_;
};

TEST_F(CollectorReload, BrokenRuleKeepsTheRunningSetAndAFixReloadsOnItsOwn) {
  const std::string first = Hash(Scrape());
  ASSERT_EQ(first.size(), 64u);
  const double ok0 = Value(Scrape(), "vigil_rules_reloads_total{result=\"success\"}");

  // A broken rule written in place: the watcher reloads, the load fails, the
  // old set stays, and the metrics say so.
  Write("rules/b.yml", Rule("22222222-2222-4222-8222-222222222222", "22") + "detection_typo: {}\n");
  ASSERT_TRUE(WaitReloads("failure", 1)) << ReadFile(dir_ + "/collector.log");
  std::string s = Scrape();
  EXPECT_EQ(Value(s, "vigil_rules_last_reload_successful"), 0);
  EXPECT_EQ(Hash(s), first);
  const std::string log = ReadFile(dir_ + "/collector.log");
  EXPECT_NE(log.find("rules/b.yml:"), std::string::npos) << "no file:line in the log: " << log;
  EXPECT_NE(log.find("keeping the running rule set"), std::string::npos);

  // The fixed file moved into place atomically: one reload, a new hash.
  Write("b.tmp", Rule("22222222-2222-4222-8222-222222222222", "22"));
  fs::rename(dir_ + "/b.tmp", dir_ + "/rules/b.yml");
  ASSERT_TRUE(WaitReloads("success", ok0 + 1)) << ReadFile(dir_ + "/collector.log");
  s = Scrape();
  EXPECT_EQ(Value(s, "vigil_rules_last_reload_successful"), 1);
  const std::string second = Hash(s);
  EXPECT_NE(second, first);
  EXPECT_NE(s.find("rule_id=\"22222222-2222-4222-8222-222222222222\""), std::string::npos);

  // SIGHUP without a change reloads the same set: same hash.
  collector_.Signal(SIGHUP);
  ASSERT_TRUE(WaitReloads("success", ok0 + 2));
  EXPECT_EQ(Hash(Scrape()), second);
}

TEST_F(CollectorReload, SeveralFilesWrittenOneAfterAnotherAreOneReload) {
  const double ok0 = Value(Scrape(), "vigil_rules_reloads_total{result=\"success\"}");
  for (int i = 0; i < 8; ++i) {
    char id[64];
    std::snprintf(id, sizeof id, "3333333%d-3333-4333-8333-333333333333", i);
    Write("rules/c" + std::to_string(i) + ".yml", Rule(id, std::to_string(1000 + i)));
  }
  ASSERT_TRUE(WaitReloads("success", ok0 + 1));
  // The debounce folds the burst: no second reload follows.
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  const std::string s = Scrape();
  EXPECT_EQ(Value(s, "vigil_rules_reloads_total{result=\"success\"}"), ok0 + 1);
  EXPECT_EQ(Value(s, "vigil_rules_reloads_total{result=\"failure\"}"), 0);
  EXPECT_NE(s.find("33333337-3333-4333-8333-333333333333"), std::string::npos);
}

}  // namespace
}  // namespace vigil::testing
