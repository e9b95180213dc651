// The vigil-agent program as operators run it: --version, --check-config
// exit codes and diagnostics, --read FILE --output json end to end against
// ground truth written with the capture, reproducible uids with --seed,
// usage errors, and a graceful stop on SIGTERM during live capture.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "tests/support/conversation.h"
#include "tests/support/pcap_writer.h"

extern char** environ;

namespace vigil::agent::app {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

fs::path Binary() {
  const char* dir = std::getenv("VIGIL_BINARY_DIR");
  return fs::path(dir != nullptr && *dir != '\0' ? dir : VIGIL_BINARY_DIR_DEFAULT) / "bin" /
         "vigil-agent";
}

struct Result {
  int exit_code = -1;
  std::string out, err;
};

// Runs the agent with `args`, capturing stdout and stderr through files.
Result RunAgent(const std::vector<std::string>& args) {
  const fs::path dir = fs::temp_directory_path() / ("vigil-agent-test-" + std::to_string(getpid()));
  fs::create_directories(dir);
  const fs::path out = dir / "stdout", err = dir / "stderr";
  std::string cmd = "'" + Binary().string() + "'";
  for (const auto& a : args) cmd += " '" + a + "'";
  cmd += " >'" + out.string() + "' 2>'" + err.string() + "'";
  Result r;
  const int status = std::system(cmd.c_str());
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  auto slurp = [](const fs::path& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  };
  r.out = slurp(out);
  r.err = slurp(err);
  fs::remove_all(dir);
  return r;
}

fs::path TempFile(const std::string& name, const std::string& content = "") {
  const fs::path p = fs::temp_directory_path() / (std::to_string(getpid()) + "-" + name);
  std::ofstream(p) << content;
  return p;
}

std::vector<json> Lines(const std::string& text) {
  std::vector<json> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(json::parse(line));
  }
  return out;
}

TEST(AgentProgram, Version) {
  const Result r = RunAgent({"--version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out.rfind("vigil-agent ", 0), 0u) << r.out;
}

TEST(AgentProgram, CheckConfigReportsEveryErrorAndExitsTwo) {
  const fs::path bad = TempFile("bad.yaml", "flow:\n  max_flow: 1\nlog:\n  level: loud\n");
  const Result r = RunAgent({"--config", bad.string(), "--check-config"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find(bad.string() + ":2:3: error: unknown key 'max_flow'"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find(bad.string() + ":4:10: error: log.level"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("2 error(s)"), std::string::npos) << r.err;
  const fs::path good = TempFile("good.yaml", "flow:\n  max_flows: 10\n");
  const Result ok = RunAgent({"--config", good.string(), "--check-config"});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_NE(ok.out.find("configuration is valid"), std::string::npos);
  fs::remove(bad);
  fs::remove(good);
}

TEST(AgentProgram, UsageErrorsExitTwo) {
  EXPECT_EQ(RunAgent({"--read", "/nonexistent.pcap"}).exit_code, 2);
  EXPECT_EQ(RunAgent({"--bogus-flag"}).exit_code, 2);
  EXPECT_EQ(RunAgent({}).exit_code, 2);  // nothing to capture
  const fs::path pcap = TempFile("empty.pcap");
  {
    testing::PcapWriter w;
    ASSERT_TRUE(w.Open(pcap.string()));
    w.Close();
  }
  const Result r = RunAgent({"--read", pcap.string(), "--output", "collector"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("collector: section"), std::string::npos) << r.err;
  EXPECT_EQ(RunAgent({"--read", pcap.string(), "--interface", "lo"}).exit_code, 2);
  // --replay-speed paces a file: it needs --read and a non-negative factor.
  EXPECT_EQ(RunAgent({"--interface", "lo", "--replay-speed", "1"}).exit_code, 2);
  EXPECT_EQ(RunAgent({"--read", pcap.string(), "--replay-speed", "-1"}).exit_code, 2);
  EXPECT_EQ(RunAgent({"--read", pcap.string(), "--replay-speed", "fast"}).exit_code, 2);
  EXPECT_EQ(
      RunAgent({"--read", pcap.string(), "--replay-speed", "10", "--output", "json"}).exit_code, 0);
  fs::remove(pcap);
}

TEST(AgentProgram, ReadPcapWritesJsonLinesMatchingGroundTruth) {
  const fs::path pcap = TempFile("conv.pcap");
  testing::ConversationTruth tcp_truth, dns_truth;
  {
    testing::PcapWriter w;
    ASSERT_TRUE(w.Open(pcap.string()));
    testing::Conversation web(w, {}, "10.1.0.5", 51000, "93.184.216.34", 80, testing::kProtoTcp,
                              1'700'000'000'000'000'000);
    web.Handshake();
    web.Send(testing::Side::kOrig, "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n");
    web.Advance(20'000'000);
    web.Send(testing::Side::kResp, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
    web.Close();
    tcp_truth = web.truth();
    testing::DnsMessage q;
    q.id = 0x1234;
    q.questions.push_back({"example.com", 1, 1});
    testing::DnsMessage a = q;
    a.response = true;
    a.answers.push_back({"example.com", 1, 1, 300, {93, 184, 216, 34}});
    testing::Conversation dns(w, {}, "10.1.0.5", 53000, "10.1.0.1", 53, testing::kProtoUdp,
                              1'700'000'001'000'000'000);
    dns.Datagram(testing::Side::kOrig, testing::EncodeDns(q));
    dns.Advance(1'000'000);
    dns.Datagram(testing::Side::kResp, testing::EncodeDns(a));
    dns_truth = dns.truth();
    w.Close();
  }
  const Result r = RunAgent({"--read", pcap.string(), "--output", "json", "--seed", "42"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto lines = Lines(r.out);
  const json* web = nullptr;
  const json* dns_conn = nullptr;
  std::vector<const json*> dns_records, http_records;
  for (const json& l : lines) {
    if (l["_path"] == "conn" && l["id.resp_p"] == 80) web = &l;
    if (l["_path"] == "conn" && l["id.resp_p"] == 53) dns_conn = &l;
    if (l["_path"] == "dns") dns_records.push_back(&l);
    if (l["_path"] == "http") http_records.push_back(&l);
  }
  ASSERT_NE(web, nullptr) << r.out;
  EXPECT_EQ((*web)["conn_state"], "SF");
  EXPECT_EQ((*web)["orig_pkts"], tcp_truth.orig_pkts);
  EXPECT_EQ((*web)["resp_pkts"], tcp_truth.resp_pkts);
  EXPECT_EQ((*web)["orig_bytes"], tcp_truth.orig_bytes);
  EXPECT_EQ((*web)["resp_bytes"], tcp_truth.resp_bytes);
  EXPECT_EQ((*web)["orig_ip_bytes"], tcp_truth.orig_ip_bytes);
  EXPECT_EQ((*web)["resp_ip_bytes"], tcp_truth.resp_ip_bytes);
  EXPECT_EQ((*web)["id.orig_h"], "10.1.0.5");
  EXPECT_EQ((*web)["local_orig"], true);
  EXPECT_EQ((*web)["local_resp"], false);
  EXPECT_EQ((*web)["end_reason"], "shutdown");
  EXPECT_EQ((*web)["community_id"].get<std::string>().rfind("1:", 0), 0u);
  ASSERT_NE(dns_conn, nullptr);
  EXPECT_EQ((*dns_conn)["conn_state"], "SF");
  EXPECT_EQ((*dns_conn)["history"], "Dd");
  EXPECT_EQ((*dns_conn)["orig_bytes"], dns_truth.orig_bytes);
  // The analyzers' records join their conn row by uid.
  ASSERT_EQ(dns_records.size(), 1u) << r.out;
  EXPECT_EQ((*dns_records[0])["uid"], (*dns_conn)["uid"]);
  EXPECT_EQ((*dns_records[0])["query"], "example.com");
  EXPECT_EQ((*dns_conn)["service"], "dns");
  ASSERT_EQ(http_records.size(), 1u) << r.out;
  EXPECT_EQ((*http_records[0])["uid"], (*web)["uid"]);
  EXPECT_EQ((*web)["service"], "http");

  // Same seed, same capture: byte-identical output.
  EXPECT_EQ(RunAgent({"--read", pcap.string(), "--output", "json", "--seed", "42"}).out, r.out);
  fs::remove(pcap);
}

TEST(AgentProgram, SighupReloadsAndSigtermStopsLiveCaptureGracefully) {
  if (geteuid() != 0) GTEST_SKIP() << "live capture needs root (CAP_NET_RAW): NOT tested";
  const fs::path err = TempFile("live.err");
  // With the metrics listener on: its HTTP threads must not be able to take
  // a SIGTERM with the default action (the agent would die without flushing).
  const fs::path cfg =
      TempFile("live.yaml", "log:\n  level: info\nmetrics:\n  listen: \"127.0.0.1:0\"\n");
  const std::string bin = Binary().string();
  std::vector<std::string> args = {bin,  "--config", cfg.string(), "--interface",
                                   "lo", "--output", "json"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_TRUNC, 0);
  pid_t pid = 0;
  ASSERT_EQ(posix_spawn(&pid, bin.c_str(), &fa, nullptr, argv.data(), environ), 0);
  posix_spawn_file_actions_destroy(&fa);
  auto log = [&] {
    std::ifstream in(err);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  };
  // Polls the child's log (a condition, not a sleep used as synchronisation).
  auto wait_for = [&](const std::string& text) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (log().find(text) == std::string::npos && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return log().find(text) != std::string::npos;
  };
  ASSERT_TRUE(wait_for("serving /metrics on port")) << log();
  ASSERT_EQ(kill(pid, SIGHUP), 0);
  EXPECT_TRUE(wait_for("SIGHUP: configuration reloaded")) << log();
  std::ofstream(cfg) << "log:\n  level: chatty\n";
  ASSERT_EQ(kill(pid, SIGHUP), 0);
  EXPECT_TRUE(wait_for("SIGHUP: configuration rejected, keeping the running one")) << log();
  EXPECT_NE(log().find(cfg.string() + ":2:10: error"), std::string::npos) << log();
  ASSERT_EQ(kill(pid, SIGTERM), 0);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0) << log();
  EXPECT_NE(log().find("received SIGTERM"), std::string::npos) << log();
  EXPECT_NE(log().find("lo: "), std::string::npos) << log();  // the closing summary
  fs::remove(err);
  fs::remove(cfg);
}

}  // namespace
}  // namespace vigil::agent::app
