// VerifyChain against a log tampered with by the sqlite3 command-line tool,
// as an intruder with file access would: every edit, deletion, insertion and
// reordering must be detected and the first broken record named.
#include "collector/incidents/chain_verifier.h"

#include <gtest/gtest.h>

#include "tests/collector/incidents/store_fixture.h"

namespace vigil::collector::incidents::testing {
namespace {

class VerifyTest : public StoreTest {
 protected:
  // A log with genesis(1), collector_started(2), alerts 3..12, an ack (13),
  // a checkpoint (14), two more alerts (15, 16), then the shutdown records
  // collector_stopped (17) and checkpoint (18).
  void SetUp() override {
    StoreTest::SetUp();
    Open();
    for (uint64_t seq = 1; seq <= 10; ++seq) {
      Commit(seq, {MakeAlert("r" + std::to_string(seq % 3), kT0 + static_cast<int64_t>(seq))});
    }
    EXPECT_TRUE(store_->ChangeIncident(1, IncidentAction::kAcknowledge, "alice", "").has_value());
    EXPECT_TRUE(store_->Checkpoint("manual").has_value());
    Commit(11, {MakeAlert("r1", kT0 + 11)});
    Commit(12, {MakeAlert("r1", kT0 + 12)});
    EXPECT_TRUE(store_->Close().has_value());
    store_.reset();
    ASSERT_EQ(Sql("SELECT kind FROM records WHERE seq = 14"), "checkpoint");
    ASSERT_EQ(Sql("SELECT max(seq) FROM records"), "18");
  }

  VerifyReport Verify(bool with_key = true, std::optional<uint64_t> head_seq = {},
                      std::optional<Hash> head_hash = {}) {
    VerifyOptions options;
    if (with_key) options.keys.push_back(*VerifyKey::Load(pub_));
    options.expected_head_seq = head_seq;
    options.expected_head_hash = head_hash;
    auto report = VerifyChain(config_.db_path, options);
    EXPECT_TRUE(report.has_value()) << (report ? "" : report.error().message);
    return report.value_or(VerifyReport{});
  }

  static void ExpectFirst(const VerifyReport& r, uint64_t seq, const std::string& kind) {
    ASSERT_FALSE(r.ok);
    ASSERT_FALSE(r.problems.empty());
    EXPECT_EQ(r.problems[0].seq, seq) << r.problems[0].message;
    EXPECT_EQ(r.problems[0].kind, kind) << r.problems[0].message;
  }
};

TEST_F(VerifyTest, UntouchedLogVerifies) {
  const auto r = Verify();
  EXPECT_TRUE(r.ok) << (r.problems.empty() ? "" : r.problems[0].message);
  EXPECT_EQ(r.records, 18u);
  EXPECT_EQ(r.head_seq, 18u);
  EXPECT_EQ(r.checkpoints, 2u);
  EXPECT_EQ(r.checkpoints_verified, 2u);
  EXPECT_EQ(r.last_signed_seq, 17u);
  EXPECT_TRUE(r.signatures_checked);
}

TEST_F(VerifyTest, EditedAlertIsNamed) {
  Sql("UPDATE alerts SET level = 'low' WHERE seq = 7");
  ExpectFirst(Verify(), 7, "altered");
}

TEST_F(VerifyTest, EditedRecordTimeIsNamed) {
  Sql("UPDATE records SET recorded_ns = recorded_ns + 1 WHERE seq = 9");
  ExpectFirst(Verify(), 9, "altered");
}

TEST_F(VerifyTest, EditedHashIsNamed) {
  Sql("UPDATE records SET hash = randomblob(32) WHERE seq = 5");
  // Record 5's own hash no longer matches its content.
  ExpectFirst(Verify(), 5, "altered");
}

TEST_F(VerifyTest, EditedLifecycleRecordIsNamed) {
  Sql("UPDATE incident_changes SET changed_by = 'mallory' WHERE seq = 13");
  ExpectFirst(Verify(), 13, "altered");
}

TEST_F(VerifyTest, DeletedRecordInTheMiddleIsNamed) {
  Sql("DELETE FROM records WHERE seq = 8; DELETE FROM alerts WHERE seq = 8");
  const auto r = Verify();
  ExpectFirst(r, 8, "missing");
  EXPECT_NE(r.problems[0].message.find("record 8 is missing"), std::string::npos);
}

TEST_F(VerifyTest, DeletedContentRowIsNamed) {
  Sql("DELETE FROM alerts WHERE seq = 10");
  const auto r = Verify();
  ExpectFirst(r, 10, "missing");
  EXPECT_NE(r.problems[0].message.find("table alerts"), std::string::npos);
}

TEST_F(VerifyTest, RecordInsertedInTheMiddleIsNamed) {
  // Make room at 6 by shifting 6.. up by one (two steps to dodge the unique
  // key), then insert a forged alert there: what a careful intruder would do.
  Sql("UPDATE records SET seq = -seq - 1 WHERE seq >= 6; UPDATE records SET seq = -seq WHERE seq < "
      "0;"
      "UPDATE alerts SET seq = -seq - 1 WHERE seq >= 6; UPDATE alerts SET seq = -seq WHERE seq < 0;"
      "UPDATE incident_changes SET seq = seq + 1; UPDATE checkpoints SET seq = seq + 1;"
      "UPDATE coverage SET seq = seq + 1 WHERE seq >= 6;"
      "INSERT INTO records SELECT 6, kind, recorded_ns, randomblob(32) FROM records WHERE seq = 5;"
      "INSERT INTO alerts SELECT 6, incident_id, alert_kind, rule_id, rule_title, level, author,"
      " tags, rule_file, rule_file_hash, ruleset_hash, shadow, group_key, agent_id, agency,"
      " batch_sequence, capture_drop_ratio, event_time_ns, received_ns, matched_fields, events,"
      " suppressed_count, 'forged' FROM alerts WHERE seq = 5");
  ExpectFirst(Verify(), 6, "altered");
}

TEST_F(VerifyTest, RecordAppendedWithBogusHashIsNamed) {
  Sql("INSERT INTO records VALUES(19, 'alert', 0, randomblob(32));"
      "INSERT INTO alerts SELECT 19, incident_id, alert_kind, rule_id, rule_title, level, author,"
      " tags, rule_file, rule_file_hash, ruleset_hash, shadow, group_key, agent_id, agency,"
      " batch_sequence, capture_drop_ratio, event_time_ns, received_ns, matched_fields, events,"
      " suppressed_count, message FROM alerts WHERE seq = 16");
  ExpectFirst(Verify(), 19, "altered");
}

TEST_F(VerifyTest, OrphanContentRowIsReportedAsInserted) {
  Sql("INSERT INTO alerts SELECT 500, incident_id, alert_kind, rule_id, rule_title, level, author,"
      " tags, rule_file, rule_file_hash, ruleset_hash, shadow, group_key, agent_id, agency,"
      " batch_sequence, capture_drop_ratio, event_time_ns, received_ns, matched_fields, events,"
      " suppressed_count, message FROM alerts WHERE seq = 3");
  ExpectFirst(Verify(), 500, "inserted");
}

TEST_F(VerifyTest, ContentPlantedUnderAnotherKindIsReportedAsInserted) {
  // Record 2 is coverage; an alert row with seq 2 is not part of the chain.
  Sql("INSERT INTO alerts SELECT 2, incident_id, alert_kind, rule_id, rule_title, level, author,"
      " tags, rule_file, rule_file_hash, ruleset_hash, shadow, group_key, agent_id, agency,"
      " batch_sequence, capture_drop_ratio, event_time_ns, received_ns, matched_fields, events,"
      " suppressed_count, message FROM alerts WHERE seq = 3");
  ExpectFirst(Verify(), 2, "inserted");
}

TEST_F(VerifyTest, SwappedRecordsAreNamed) {
  // Reorder: alerts 4 and 5 exchange content.
  Sql("UPDATE alerts SET seq = -4 WHERE seq = 4; UPDATE alerts SET seq = 4 WHERE seq = 5;"
      "UPDATE alerts SET seq = 5 WHERE seq = -4");
  ExpectFirst(Verify(), 4, "altered");
}

TEST_F(VerifyTest, TailTruncationAfterLastCheckpointNeedsAKeptHead) {
  const auto before = Verify();
  ASSERT_TRUE(before.ok);
  // Remove the shutdown checkpoint and the record before it: the chain still
  // ends in a valid signed checkpoint (14) plus unsigned records.
  Sql("DELETE FROM records WHERE seq >= 17; DELETE FROM checkpoints WHERE seq = 18;"
      "DELETE FROM coverage WHERE seq = 17");
  const auto alone = Verify();
  EXPECT_TRUE(alone.ok) << "truncation after the last checkpoint is undetectable by itself";
  EXPECT_EQ(alone.head_seq, 16u);
  bool noted = false;
  for (const auto& n : alone.notes)
    noted |= n.find("after the last valid signed checkpoint") != std::string::npos;
  EXPECT_TRUE(noted);
  // Against the head the auditor kept, it is caught and named.
  const auto kept = Verify(true, before.head_seq, before.head_hash);
  ExpectFirst(kept, 17, "truncated");
}

TEST_F(VerifyTest, RewrittenChainDoesNotMatchKeptHead) {
  const auto before = Verify();
  Sql("UPDATE records SET hash = randomblob(32) WHERE seq = 18");
  const auto r = Verify(true, before.head_seq, before.head_hash);
  EXPECT_FALSE(r.ok);
}

TEST_F(VerifyTest, CheckpointSignedByAnotherKeyIsReported) {
  const auto other_key = dir_ / "other.pem";
  const auto other_pub = dir_ / "other.pub";
  ASSERT_TRUE(GenerateSigningKey(other_key, other_pub).has_value());
  VerifyOptions options;
  options.keys.push_back(*VerifyKey::Load(other_pub));
  auto r = VerifyChain(config_.db_path, options);
  ASSERT_TRUE(r.has_value());
  ExpectFirst(*r, 14, "unknown_key");
}

TEST_F(VerifyTest, ForgedSignatureIsReported) {
  Sql("UPDATE checkpoints SET signature = randomblob(64) WHERE seq = 14");
  const auto r = Verify();
  ASSERT_FALSE(r.ok);
  // The record's hash breaks (the signature is part of it) and so does the signature.
  EXPECT_EQ(r.problems[0].seq, 14u);
  bool bad_signature = false;
  for (const auto& p : r.problems) bad_signature |= p.kind == "bad_checkpoint";
  EXPECT_TRUE(bad_signature);
}

TEST_F(VerifyTest, ChangedStoreIdBreaksSignatures) {
  Sql("UPDATE meta SET value = 'feedface' WHERE key = 'store_id'");
  ExpectFirst(Verify(), 14, "bad_checkpoint");
}

TEST_F(VerifyTest, EditedIncidentSummaryIsReported) {
  Sql("UPDATE incidents SET alert_count = 1 WHERE id = 2");
  const auto r = Verify();
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(r.problems.back().kind, "incident_mismatch");
  EXPECT_NE(r.problems.back().message.find("incident 2"), std::string::npos);
}

TEST_F(VerifyTest, StatusFlippedBehindTheStoresBackIsReported) {
  Sql("UPDATE incidents SET status = 'closed' WHERE id = 1");
  const auto r = Verify();
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(r.problems[0].kind, "incident_mismatch");
}

TEST_F(VerifyTest, DeletedPrefixWithoutPruneRecordIsReported) {
  Sql("DELETE FROM records WHERE seq <= 3; DELETE FROM genesis; DELETE FROM coverage WHERE seq = 2;"
      "DELETE FROM alerts WHERE seq = 3");
  ExpectFirst(Verify(), 1, "missing");
}

TEST_F(VerifyTest, FakedPruneAnchorIsReported) {
  // The intruder deletes a prefix and writes a matching anchor, but no prune
  // record in the chain accounts for it.
  const std::string hash3 = Sql("SELECT lower(hex(hash)) FROM records WHERE seq = 3");
  Sql("DELETE FROM records WHERE seq <= 3; DELETE FROM genesis; DELETE FROM coverage WHERE seq = 2;"
      "DELETE FROM alerts WHERE seq = 3;"
      "INSERT INTO meta VALUES('anchor_seq', '3'), ('anchor_hash', '" +
      hash3 + "')");
  ExpectFirst(Verify(), 3, "unaccounted_prune");
}

TEST_F(VerifyTest, WithoutPublicKeySignaturesAreNotClaimed) {
  const auto r = Verify(/*with_key=*/false);
  EXPECT_TRUE(r.ok);
  EXPECT_FALSE(r.signatures_checked);
  EXPECT_EQ(r.checkpoints_verified, 0u);
  ASSERT_FALSE(r.notes.empty());
  EXPECT_NE(r.notes.back().find("NOT checked"), std::string::npos);
}

TEST_F(VerifyTest, VerifyRunsWhileTheCollectorWrites) {
  Open();
  Commit(13, {MakeAlert("r1", kT0 + 13)});
  const auto r = Verify();  // the store is open in this process (WAL reader)
  EXPECT_TRUE(r.ok);
  EXPECT_GT(r.head_seq, 18u);
}

}  // namespace
}  // namespace vigil::collector::incidents::testing
