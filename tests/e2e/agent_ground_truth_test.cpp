// vigil-agent on captures from the project's own generator, compared with
// the generator's ground truth: every connection found, with the right
// conn_state, packet, payload and IP-byte counts and service; every DNS
// exchange with its query, type, rcode and answers. Real programs, real
// pcap files.

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <tuple>

#include "tests/support/subprocess.h"

namespace vigil::testing {
namespace {

using Json = nlohmann::json;

std::string Bin(const std::string& name) {
  const char* b = std::getenv("VIGIL_BINARY_DIR");
  return std::string(b != nullptr ? b : ".") + "/bin/" + name;
}

std::vector<Json> JsonLines(const std::string& text) {
  std::vector<Json> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) out.push_back(Json::parse(line));
  }
  return out;
}

using Key = std::tuple<std::string, std::string, int, std::string, int>;
Key KeyOf(const Json& j) {
  return {j.at("proto").get<std::string>(), j.at("id.orig_h").get<std::string>(),
          j.at("id.orig_p").get<int>(), j.at("id.resp_h").get<std::string>(),
          j.at("id.resp_p").get<int>()};
}
std::string Show(const Key& k) {
  return std::get<0>(k) + " " + std::get<1>(k) + ":" + std::to_string(std::get<2>(k)) + " -> " +
         std::get<3>(k) + ":" + std::to_string(std::get<4>(k));
}

class AgentGroundTruth : public ::testing::TestWithParam<std::tuple<std::string, int, int>> {
 protected:
  void SetUp() override { dir_ = MakeTempDir("vigil-truth"); }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_P(AgentGroundTruth, RecordsMatchTheGeneratorsTruth) {
  const auto& [scenario, seed, flows] = GetParam();
  const std::string pcap = dir_ + "/c.pcap", truth_path = dir_ + "/truth.jsonl";
  std::string ignored;
  ASSERT_EQ(RunCapture({Bin("vigil-capgen"), "--scenario", scenario, "--seed", std::to_string(seed),
                        "--flows", std::to_string(flows), "--pcap", pcap, "--truth", truth_path},
                       ignored),
            0);
  std::string out;
  ASSERT_EQ(RunCapture({Bin("vigil-agent"), "--read", pcap, "--output", "json"}, out), 0);
  const auto records = JsonLines(out);
  const auto truth = JsonLines(ReadFile(truth_path));

  std::map<Key, Json> conns;
  std::vector<Json> dns;
  for (const auto& r : records) {
    if (r.at("_path") == "conn") {
      EXPECT_TRUE(conns.emplace(KeyOf(r), r).second) << "two conn records for " << Show(KeyOf(r));
    } else if (r.at("_path") == "dns") {
      dns.push_back(r);
    }
  }
  size_t expected_flows = 0, expected_dns = 0;
  for (const auto& t : truth) {
    if (t.at("type") == "flow") {
      ++expected_flows;
      const Key k = KeyOf(t);
      auto it = conns.find(k);
      ASSERT_NE(it, conns.end()) << "no conn record for " << Show(k);
      const Json& c = it->second;
      EXPECT_EQ(c.at("conn_state"), t.at("conn_state")) << Show(k);
      for (const char* f : {"orig_pkts", "resp_pkts", "orig_ip_bytes", "resp_ip_bytes"}) {
        EXPECT_EQ(c.at(f), t.at(f)) << Show(k) << " " << f;
      }
      // Zeek (and Vigil) omit payload bytes for zero-duration flows.
      for (const char* f : {"orig_bytes", "resp_bytes"}) {
        EXPECT_EQ(c.value(f, 0), t.at(f).get<int>()) << Show(k) << " " << f;
      }
      EXPECT_EQ(c.value("service", ""), t.at("service").get<std::string>()) << Show(k);
      EXPECT_TRUE(c.contains("community_id")) << Show(k);
    } else if (t.at("type") == "dns") {
      ++expected_dns;
      const bool found = std::any_of(dns.begin(), dns.end(), [&](const Json& d) {
        return d.at("id.orig_h") == t.at("id.orig_h") && d.value("query", "") == t.at("query") &&
               d.value("qtype_name", "") == t.at("qtype_name") &&
               d.value("rcode_name", "") == t.at("rcode_name") &&
               d.value("answers", Json::array()) == t.at("answers");
      });
      EXPECT_TRUE(found) << "no dns record for " << t.dump();
    }
  }
  EXPECT_EQ(conns.size(), expected_flows) << "the agent reported connections that do not exist";
  EXPECT_EQ(dns.size(), expected_dns);
  EXPECT_GT(expected_flows, 0u);
}

INSTANTIATE_TEST_SUITE_P(Scenarios, AgentGroundTruth,
                         ::testing::Values(std::make_tuple("demo", 42, 0),
                                           std::make_tuple("mixed", 7, 400),
                                           std::make_tuple("mixed", 8, 400)),
                         [](const auto& param_info) {
                           return std::get<0>(param_info.param) + "_seed" +
                                  std::to_string(std::get<1>(param_info.param));
                         });

TEST(CaptureGenerator, SameSeedSameBytesOtherSeedOtherBytes) {
  const std::string dir = MakeTempDir("vigil-gen");
  std::string ignored;
  auto gen = [&](int seed, const std::string& name) {
    EXPECT_EQ(RunCapture({Bin("vigil-capgen"), "--scenario", "mixed", "--seed",
                          std::to_string(seed), "--flows", "50", "--pcap", dir + "/" + name,
                          "--truth", dir + "/" + name + ".truth"},
                         ignored),
              0);
    return ReadFile(dir + "/" + name);
  };
  const std::string a = gen(1, "a"), b = gen(1, "b"), c = gen(2, "c");
  EXPECT_FALSE(a.empty());
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace vigil::testing
