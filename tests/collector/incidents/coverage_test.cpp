// Coverage accounting: loss reports resent under the same report id are
// recorded once, and a lost batch is counted once although the agent reports
// it and the store also sees it as a sequence gap. Schema migration of an
// existing (version 1) log.
#include <gtest/gtest.h>

#include "collector/incidents/chain_verifier.h"
#include "collector/incidents/coverage_report.h"
#include "collector/incidents/sqlite_connection.h"
#include "tests/collector/incidents/store_fixture.h"

namespace vigil::collector::incidents::testing {
namespace {

class CoverageTest : public StoreTest {
 protected:
  CoverageEvent Loss(uint64_t first, uint64_t last, uint64_t records, std::string report_id = "",
                     std::string agent = "agent-1") {
    CoverageEvent e;
    e.kind = CoverageKind::kLossReport;
    e.agent_id = std::move(agent);
    e.agency = "agency-a";
    e.occurred_ns = clock_.now->load();
    e.first_sequence = first;
    e.last_sequence = last;
    e.batches = first == 0 ? 0 : last - first + 1;
    e.records = records;
    e.detail = "spool_overflow";
    e.report_id = std::move(report_id);
    return e;
  }

  AgentCoverage Agent(const std::string& agent = "agent-1") {
    auto db = Connection::Open(config_.db_path.string(), Connection::Mode::kReadOnly, 5000);
    EXPECT_TRUE(db.has_value());
    auto report = ComputeCoverage(*db, kT0 - 3600 * kSecond, kT0 + 3600 * kSecond, 0.01,
                                  std::nullopt, std::nullopt);
    EXPECT_TRUE(report.has_value()) << (report ? "" : report.error().message);
    for (const auto& a : report->agents) {
      if (a.agent_id == agent) return a;
    }
    ADD_FAILURE() << "no coverage for " << agent;
    return {};
  }

  std::string LossRecords() {
    return Sql("SELECT count(*) FROM coverage WHERE event = 'loss_report'");
  }
};

TEST_F(CoverageTest, ResentLossReportIsRecordedOnce) {
  Open();
  ASSERT_TRUE(store_->RecordCoverage(Loss(2, 3, 500, "r-1")).has_value());
  ASSERT_TRUE(store_->RecordCoverage(Loss(2, 3, 500, "r-1")).has_value());  // reconnect resend
  EXPECT_EQ(LossRecords(), "1");
  EXPECT_EQ(store_->stats().duplicate_loss_reports_skipped.load(), 1u);
  // The same id from another agent is another report.
  ASSERT_TRUE(store_->RecordCoverage(Loss(7, 7, 10, "r-1", "agent-2")).has_value());
  EXPECT_EQ(LossRecords(), "2");
  // After a collector restart (and an agent restart) the resend is still known.
  Reopen();
  ASSERT_TRUE(store_->RecordCoverage(Loss(2, 3, 500, "r-1")).has_value());
  EXPECT_EQ(LossRecords(), "2");
  // Without an id (older agents) nothing can be matched: recorded every time.
  ASSERT_TRUE(store_->RecordCoverage(Loss(0, 0, 40)).has_value());
  ASSERT_TRUE(store_->RecordCoverage(Loss(0, 0, 40)).has_value());
  EXPECT_EQ(LossRecords(), "4");
  store_.reset();
  const auto a = Agent();
  EXPECT_EQ(a.batches_lost, 2u);
  EXPECT_EQ(a.records_lost, 580u);
  VerifyOptions options;
  options.keys.push_back(*VerifyKey::Load(pub_));
  auto r = VerifyChain(config_.db_path, options);
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->ok) << (r->problems.empty() ? "" : r->problems[0].message);
}

TEST_F(CoverageTest, LossReportThenSequenceGapCountsTheBatchesOnce) {
  Open();
  Commit(1, {});
  // Batches 2..3 overflowed the agent's spool: reported, then batch 4 arrives
  // and the store records the jump 1 -> 4 as a sequence gap too.
  ASSERT_TRUE(store_->RecordCoverage(Loss(2, 3, 500, "r-1")).has_value());
  EXPECT_EQ(Commit(4, {}).sequence_gaps, 1u);
  store_.reset();
  const auto a = Agent();
  EXPECT_EQ(a.batches_lost, 2u);
  EXPECT_EQ(a.records_lost, 500u);
}

TEST_F(CoverageTest, SequenceGapThenLossReportCountsTheBatchesOnce) {
  Open();
  Commit(1, {});
  EXPECT_EQ(Commit(6, {}).sequence_gaps, 1u);  // 2..5 never arrived
  // The agent's report of 3..4 arrives afterwards (it was queued while the
  // stream was down); 7..8 are lost later and only reported.
  ASSERT_TRUE(store_->RecordCoverage(Loss(3, 4, 200, "r-1")).has_value());
  ASSERT_TRUE(store_->RecordCoverage(Loss(7, 8, 100, "r-2")).has_value());
  // An older agent resends r-2 without an id: same batches, counted once.
  ASSERT_TRUE(store_->RecordCoverage(Loss(7, 8, 100)).has_value());
  store_.reset();
  const auto a = Agent();
  EXPECT_EQ(a.batches_lost, 6u);  // 2..5 and 7..8
  EXPECT_EQ(a.records_lost, 300u);
}

TEST_F(CoverageTest, VersionOneLogIsMigrated) {
  Open();
  ASSERT_TRUE(store_->RecordCoverage(Loss(2, 3, 500)).has_value());
  store_.reset();
  // A log written by the previous release: no report-id table, version 1.
  Sql("DROP TABLE loss_report_ids; PRAGMA user_version = 1");
  Open();
  EXPECT_EQ(Sql("PRAGMA user_version"), std::to_string(kSchemaVersion));
  ASSERT_TRUE(store_->RecordCoverage(Loss(5, 5, 1, "r-9")).has_value());
  ASSERT_TRUE(store_->RecordCoverage(Loss(5, 5, 1, "r-9")).has_value());
  EXPECT_EQ(LossRecords(), "2");
  store_.reset();
  VerifyOptions options;
  options.keys.push_back(*VerifyKey::Load(pub_));
  auto r = VerifyChain(config_.db_path, options);
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->ok) << (r->problems.empty() ? "" : r->problems[0].message);
}

TEST_F(CoverageTest, PruneForgetsReportIdsOfPrunedRecords) {
  Open();
  ASSERT_TRUE(store_->RecordCoverage(Loss(2, 3, 500, "r-1")).has_value());
  clock_.Advance(100 * 86400 * kSecond);
  ASSERT_TRUE(store_->Prune(std::chrono::hours(24), "retention").has_value());
  EXPECT_EQ(Sql("SELECT count(*) FROM loss_report_ids"), "0");
}

}  // namespace
}  // namespace vigil::collector::incidents::testing
