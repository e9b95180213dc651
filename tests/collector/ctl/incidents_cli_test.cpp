// vigilctl incidents end to end: the real binary against a real log, exit
// codes included (0 ok, 1 check failed, 2 usage, 3 operational).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "collector/incidents/incident_store.h"

namespace vigil::collector::incidents {
namespace {

constexpr int64_t kS = 1'000'000'000;
constexpr int64_t kT0 = int64_t{1767225600} * kS;  // 2026-01-01T00:00:00Z

struct Result {
  int code = -1;
  std::string out;
};

Result Vigilctl(const std::string& args) {
  const std::string cmd = std::string(VIGILCTL_PATH) + " incidents " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  Result r;
  char buf[4096];
  size_t n = 0;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int status = pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

int Sh(const std::string& cmd) { return WEXITSTATUS(std::system(cmd.c_str())); }

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/vigilctl-incidents-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    db_ = (dir_ / "incidents.db").string();
    key_ = (dir_ / "collector.key").string();
    auto gen = Vigilctl("keygen --key " + key_);
    ASSERT_EQ(gen.code, 0) << gen.out;

    StoreConfig config;
    config.db_path = db_;
    config.signing_key_path = key_;
    config.durability = Durability::kNormal;
    auto store = IncidentStore::Open(config, OpenMode::kCollector, [] { return kT0; });
    ASSERT_TRUE(store.has_value()) << store.error().message;
    std::vector<engine::Alert> alerts(4);
    for (size_t i = 0; i < alerts.size(); ++i) {
      alerts[i].rule_id = i < 3 ? "net.portscan" : "dns.tunnel";
      alerts[i].rule_title = "Rule " + alerts[i].rule_id;
      alerts[i].level = i < 3 ? engine::Level::kHigh : engine::Level::kLow;
      alerts[i].event_time_ns = kT0 + static_cast<int64_t>(i) * kS;
      alerts[i].message = "message, with \"quotes\"";
    }
    BatchCommit b;
    b.agent_id = "agent-1";
    b.agency = "agency-a";
    b.sequence = 1;
    b.received_ns = kT0;
    b.alerts = alerts;
    ASSERT_TRUE((*store)->CommitBatches(std::span<const BatchCommit>(&b, 1)).has_value());
    ASSERT_TRUE((*store)->Close().has_value());
  }
  void TearDown() override {
    if (!HasFailure()) std::filesystem::remove_all(dir_);
  }
  std::string Db() const { return "--db " + db_ + " "; }

  std::filesystem::path dir_;
  std::string db_, key_;
};

TEST_F(CliTest, KeygenWritesPrivateKeyWithMode0600AndRefusesToOverwrite) {
  struct stat st {};
  ASSERT_EQ(stat(key_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_TRUE(std::filesystem::exists(key_ + ".pub"));
  const auto again = Vigilctl("keygen --key " + key_);
  EXPECT_EQ(again.code, 3) << again.out;
  const auto pub = Vigilctl("pubkey --key " + key_);
  EXPECT_EQ(pub.code, 0);
  std::ifstream in(key_ + ".pub");
  std::string expected((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(pub.out, expected);
}

TEST_F(CliTest, VerifyReportsHeadAndCatchesTampering) {
  const auto ok = Vigilctl(Db() + "verify --pubkey " + key_ + ".pub");
  ASSERT_EQ(ok.code, 0) << ok.out;
  EXPECT_NE(ok.out.find("OK: incident log verified"), std::string::npos) << ok.out;
  EXPECT_NE(ok.out.find("--expect-head 8:"), std::string::npos) << ok.out;

  ASSERT_EQ(
      Sh("sqlite3 " + db_ + " \"UPDATE alerts SET message = 'nothing to see' WHERE seq = 4\""), 0);
  const auto broken = Vigilctl(Db() + "verify --pubkey " + key_ + ".pub");
  EXPECT_EQ(broken.code, 1) << broken.out;
  EXPECT_NE(broken.out.find("BROKEN: first problem at record 4"), std::string::npos) << broken.out;

  const auto json = Vigilctl(Db() + "verify --json --pubkey " + key_ + ".pub");
  EXPECT_EQ(json.code, 1);
  EXPECT_NE(json.out.find("\"ok\":false"), std::string::npos) << json.out;
  EXPECT_NE(json.out.find("{\"seq\":4,\"kind\":\"altered\""), std::string::npos) << json.out;
}

TEST_F(CliTest, VerifyWithKeptHeadDetectsTailTruncation) {
  // A second collector session: its stop writes another signed checkpoint,
  // so cutting it off leaves a log that ends on a valid checkpoint.
  {
    StoreConfig config;
    config.db_path = db_;
    config.signing_key_path = key_;
    config.durability = Durability::kNormal;
    auto store = IncidentStore::Open(config, OpenMode::kCollector, [] { return kT0 + 60 * kS; });
    ASSERT_TRUE(store.has_value()) << store.error().message;
    ASSERT_TRUE((*store)->Close().has_value());
  }
  const auto ok = Vigilctl(Db() + "verify --pubkey " + key_ + ".pub");
  ASSERT_EQ(ok.code, 0) << ok.out;
  const auto pos = ok.out.find("--expect-head ");
  ASSERT_NE(pos, std::string::npos);
  const std::string head = ok.out.substr(pos + 14, ok.out.find('\n', pos) - pos - 14);
  auto truncate_from = [&](int seq) {
    std::string sql;
    for (const char* table : {"records", "genesis", "alerts", "incident_changes", "coverage",
                              "exports", "prunes", "checkpoints"}) {
      sql += std::string("DELETE FROM ") + table + " WHERE seq >= " + std::to_string(seq) + "; ";
    }
    return Sh("sqlite3 " + db_ + " \"" + sql + "\"");
  };
  // Back to the first session's checkpoint (record 8): invisible without the
  // head the auditor kept, caught with it.
  ASSERT_EQ(truncate_from(9), 0);
  EXPECT_EQ(Vigilctl(Db() + "verify --pubkey " + key_ + ".pub").code, 0);
  const auto caught = Vigilctl(Db() + "verify --pubkey " + key_ + ".pub --expect-head " + head);
  EXPECT_EQ(caught.code, 1) << caught.out;
  EXPECT_NE(caught.out.find("tail truncated"), std::string::npos) << caught.out;
  // Past every checkpoint: caught even without the head, since a log that
  // holds records must end under a valid signature.
  ASSERT_EQ(truncate_from(7), 0);
  const auto unsigned_log = Vigilctl(Db() + "verify --pubkey " + key_ + ".pub");
  EXPECT_EQ(unsigned_log.code, 1) << unsigned_log.out;
}

TEST_F(CliTest, ExportAndVerifyExport) {
  const std::string out = (dir_ / "q1.csv").string();
  const auto exp = Vigilctl(Db() +
                            "export --since 2026-01-01T00:00:00Z --until 2026-01-02 --format csv "
                            "--tz Asia/Ho_Chi_Minh --level medium --output " +
                            out);
  ASSERT_EQ(exp.code, 0) << exp.out;
  EXPECT_NE(exp.out.find("exported 3 rows"), std::string::npos) << exp.out;
  std::ifstream in(out, std::ios::binary);
  std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(body.find("2026-01-01T07:00:00.000000+07:00"), std::string::npos);
  EXPECT_NE(body.find("\"message, with \"\"quotes\"\"\""), std::string::npos);

  const auto check = Vigilctl("verify-export " + out + " " + out + ".manifest.json");
  EXPECT_EQ(check.code, 0) << check.out;
  std::ofstream(out, std::ios::app) << "forged,row\r\n";
  const auto bad = Vigilctl("verify-export " + out + " " + out + ".manifest.json");
  EXPECT_EQ(bad.code, 1) << bad.out;
  EXPECT_NE(bad.out.find("row count mismatch: manifest 3, file 4"), std::string::npos) << bad.out;

  // The export itself is in the chain, and the chain still verifies.
  const auto verify = Vigilctl(Db() + "verify --pubkey " + key_ + ".pub");
  EXPECT_EQ(verify.code, 0) << verify.out;
  EXPECT_EQ(Sh("test \"$(sqlite3 " + db_ + " 'SELECT row_count FROM exports')\" = 3"), 0);
}

TEST_F(CliTest, LifecycleThroughTheCli) {
  const auto ack = Vigilctl(Db() + "ack 1 --by alice --note 'investigating'");
  EXPECT_EQ(ack.code, 0) << ack.out;
  EXPECT_NE(ack.out.find("open -> acknowledged"), std::string::npos);
  const auto twice = Vigilctl(Db() + "ack 1 --by alice");
  EXPECT_EQ(twice.code, 1) << twice.out;
  EXPECT_EQ(Vigilctl(Db() + "close 1 --note done").code, 0);
  const auto show = Vigilctl(Db() + "show 1");
  EXPECT_EQ(show.code, 0);
  EXPECT_NE(show.out.find("ack: open -> acknowledged by alice: investigating"), std::string::npos)
      << show.out;
  EXPECT_NE(show.out.find("close: acknowledged -> closed by "), std::string::npos) << show.out;
  const auto list = Vigilctl(Db() + "list --status closed");
  EXPECT_EQ(list.code, 0);
  EXPECT_NE(list.out.find("net.portscan"), std::string::npos) << list.out;
  EXPECT_EQ(list.out.find("dns.tunnel"), std::string::npos) << list.out;
  const auto json = Vigilctl(Db() + "list --json --level high");
  EXPECT_NE(json.out.find("\"alert_count\":3"), std::string::npos) << json.out;
  EXPECT_EQ(Vigilctl(Db() + "show 42").code, 1);
}

TEST_F(CliTest, PruneNeedsTheKeyAndKeepsTheChainVerifiable) {
  EXPECT_EQ(Vigilctl(Db() + "prune --older-than 90d").code, 2);  // --key is required
  const auto prune = Vigilctl(Db() + "prune --older-than 1s --key " + key_);
  ASSERT_EQ(prune.code, 0) << prune.out;
  EXPECT_NE(prune.out.find("pruned records"), std::string::npos) << prune.out;
  const auto verify = Vigilctl(Db() + "verify --pubkey " + key_ + ".pub");
  EXPECT_EQ(verify.code, 0) << verify.out;
  EXPECT_NE(verify.out.find("pruned by retention"), std::string::npos) << verify.out;
}

TEST_F(CliTest, UsageAndOperationalErrorsHaveDistinctCodes) {
  EXPECT_EQ(Vigilctl("frobnicate").code, 2);
  EXPECT_EQ(Vigilctl(Db() + "export --since yesterday --until 2026-01-02 --output x").code, 2);
  EXPECT_EQ(Vigilctl(Db() + "list --tz Nowhere/Nothing").code, 2);
  EXPECT_EQ(Vigilctl("--db /nonexistent/x.db list").code, 3);
  EXPECT_EQ(Vigilctl("--db /nonexistent/x.db verify").code, 3);
}

}  // namespace
}  // namespace vigil::collector::incidents
