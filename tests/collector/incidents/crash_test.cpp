// Crash safety: a child process commits batches (synchronous=FULL) and prints
// each sequence after CommitBatches returns; we SIGKILL it mid-stream, reopen
// the log, and require every printed sequence to be present and the chain to
// verify. Twice, so the second run also starts after an unclean stop.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <random>

#include "collector/incidents/chain_verifier.h"
#include "tests/collector/incidents/store_fixture.h"

namespace vigil::collector::incidents::testing {
namespace {

struct ChildRun {
  std::vector<uint64_t> committed;
  int signal = 0;
};

ChildRun RunAndKill(const std::filesystem::path& db, const std::filesystem::path& key,
                    uint64_t first, size_t kill_after) {
  int fds[2];
  EXPECT_EQ(pipe(fds), 0);
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    close(fds[0]);
    close(fds[1]);
    const std::string first_text = std::to_string(first);
    execl(VIGIL_CRASH_WRITER, VIGIL_CRASH_WRITER, db.c_str(), key.c_str(), first_text.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  close(fds[1]);
  ChildRun run;
  FILE* out = fdopen(fds[0], "r");
  char line[128];
  bool killed = false;
  while (std::fgets(line, sizeof line, out) != nullptr) {
    unsigned long long seq = 0;
    if (std::sscanf(line, "committed %llu", &seq) == 1) run.committed.push_back(seq);
    if (!killed && run.committed.size() >= kill_after) {
      kill(pid, SIGKILL);  // lines already in the pipe were printed after a commit: keep reading
      killed = true;
    }
  }
  std::fclose(out);
  int status = 0;
  waitpid(pid, &status, 0);
  run.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  return run;
}

TEST_F(StoreTest, KillNineLosesNothingThatWasReportedCommitted) {
  Open();
  ASSERT_TRUE(store_->Close().has_value());
  store_.reset();
  std::mt19937 rng(std::random_device{}());
  uint64_t next = 1;
  std::vector<uint64_t> all;
  for (int round = 0; round < 2; ++round) {
    const size_t kill_after = std::uniform_int_distribution<size_t>(20, 120)(rng);
    const ChildRun run = RunAndKill(config_.db_path, key_, next, kill_after);
    ASSERT_EQ(run.signal, SIGKILL) << "the writer must die by SIGKILL, not exit";
    ASSERT_GE(run.committed.size(), kill_after);
    all.insert(all.end(), run.committed.begin(), run.committed.end());

    auto store = IncidentStore::Open(config_, OpenMode::kOperator, clock_.AsClock());
    ASSERT_TRUE(store.has_value()) << store.error().message;
    const uint64_t hwm = *(*store)->HighWaterMark("agent-crash");
    EXPECT_GE(hwm, run.committed.back());
    store->reset();
    for (uint64_t seq : run.committed) {
      EXPECT_EQ(Sql("SELECT count(*) FROM alerts WHERE agent_id = 'agent-crash' AND "
                    "batch_sequence = " +
                    std::to_string(seq)),
                "3")
          << "batch " << seq << " was reported committed but is not in the log";
    }
    next = hwm + 1;
  }
  VerifyOptions options;
  options.keys.push_back(*VerifyKey::Load(pub_));
  auto report = VerifyChain(config_.db_path, options);
  ASSERT_TRUE(report.has_value());
  EXPECT_TRUE(report->ok) << report->problems[0].message;
  EXPECT_GT(report->checkpoints_verified, 0u);
  // Each killed run left an unclean-stop marker that the next open recorded.
  EXPECT_EQ(Sql("SELECT count(*) FROM coverage WHERE event = 'collector_started' AND "
                "detail = 'previous run ended without shutdown'"),
            "1");
}

}  // namespace
}  // namespace vigil::collector::incidents::testing
