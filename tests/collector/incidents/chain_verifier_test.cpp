// VerifyChain against a log tampered with by the sqlite3 command-line tool,
// as an intruder with file access would: every edit, deletion, insertion and
// reordering must be detected and the first broken record named.
#include "collector/incidents/chain_verifier.h"

#include <gtest/gtest.h>

#include <set>
#include <sstream>
#include <tuple>

#include "collector/incidents/chain_record.h"
#include "collector/incidents/sqlite_connection.h"
#include "tests/collector/incidents/store_fixture.h"

namespace vigil::collector::incidents::testing {
namespace {

// What an intruder with write access and the documented algorithm
// (docs/audit.md, section 5) does after editing the log: recompute every
// record's hash so all links are consistent again.
void RehashChain(const std::filesystem::path& db_path) {
  auto db = Connection::Open(db_path.string(), Connection::Mode::kReadWrite, 5000);
  ASSERT_TRUE(db.has_value()) << db.error().message;
  ASSERT_TRUE(db->Exec("BEGIN IMMEDIATE").has_value());
  std::vector<std::tuple<uint64_t, std::string, int64_t>> records;
  {
    auto walk = db->Prepare("SELECT seq, kind, recorded_ns FROM records ORDER BY seq");
    ASSERT_TRUE(walk.has_value());
    while (*walk->Step()) {
      records.emplace_back(static_cast<uint64_t>(walk->ColumnInt(0)), walk->ColumnText(1),
                           walk->ColumnInt(2));
    }
  }
  Hash prev = kGenesisPrevHash;
  for (const auto& [seq, kind, recorded_ns] : records) {
    const RecordKindSpec* spec = FindRecordKind(kind);
    ASSERT_NE(spec, nullptr);
    std::string sql = "SELECT ";
    for (size_t i = 0; i < spec->columns.size(); ++i) {
      sql += (i ? ", " : "") + std::string(spec->columns[i].name);
    }
    auto c = db->Prepare(sql + " FROM " + std::string(spec->table) + " WHERE seq = ?");
    ASSERT_TRUE(c.has_value());
    c->Bind(1, static_cast<int64_t>(seq));
    ASSERT_TRUE(*c->Step()) << "no content for record " << seq;
    std::vector<FieldValue> fields;
    for (size_t i = 0; i < spec->columns.size(); ++i) {
      const int col = static_cast<int>(i);
      switch (spec->columns[i].type) {
        case FieldType::kInt:
          fields.emplace_back(c->ColumnInt(col));
          break;
        case FieldType::kReal:
          fields.emplace_back(c->ColumnReal(col));
          break;
        case FieldType::kText:
          fields.emplace_back(c->ColumnText(col));
          break;
        case FieldType::kBlob:
          fields.emplace_back(c->ColumnBlob(col));
          break;
      }
    }
    prev = ChainHash(prev, EncodeRecord(seq, kind, recorded_ns, fields));
    auto u = db->Prepare("UPDATE records SET hash = ? WHERE seq = ?");
    ASSERT_TRUE(u.has_value());
    u->BindBlob(1, std::string_view(reinterpret_cast<const char*>(prev.data()), prev.size()));
    u->Bind(2, static_cast<int64_t>(seq));
    ASSERT_TRUE(u->Run().has_value());
  }
  ASSERT_TRUE(db->Exec("COMMIT").has_value());
}

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

  /// Deletes records (and their content rows) and renumbers the rest so
  /// no seq is missing, incident references included; then re-hashes.
  void RemoveRenumberRehash(const std::set<uint64_t>& doomed) {
    for (auto it = doomed.rbegin(); it != doomed.rend(); ++it) {
      const std::string n = std::to_string(*it);
      const std::string kind = Sql("SELECT kind FROM records WHERE seq = " + n);
      const RecordKindSpec* spec = FindRecordKind(kind);
      ASSERT_NE(spec, nullptr) << kind;
      Sql("DELETE FROM records WHERE seq = " + n + "; DELETE FROM " + std::string(spec->table) +
          " WHERE seq = " + n);
      std::vector<std::string> tables = {"records"};
      for (const auto& k : AllRecordKinds()) tables.emplace_back(k.table);
      for (const auto& t : tables) {
        Sql("UPDATE " + t + " SET seq = -(seq - 1) WHERE seq > " + n + "; UPDATE " + t +
            " SET seq = -seq WHERE seq < 0");
      }
      Sql("UPDATE incidents SET first_alert_seq = first_alert_seq - 1 WHERE first_alert_seq > " +
          n + "; UPDATE incidents SET last_alert_seq = last_alert_seq - 1 WHERE last_alert_seq > " +
          n);
    }
    RehashChain(config_.db_path);
  }

  static bool HasProblem(const VerifyReport& r, const std::string& kind,
                         const std::string& text = "") {
    for (const auto& p : r.problems) {
      if (p.kind == kind && p.message.find(text) != std::string::npos) return true;
    }
    return false;
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

TEST_F(VerifyTest, LogRebuiltWithoutAnyCheckpointIsReported) {
  // The intruder rewrites an alert, deletes every checkpoint (14, 18),
  // renumbers and re-hashes: every link is consistent, no checkpoint fails.
  Sql("UPDATE alerts SET level = 'low', message = 'nothing to see' WHERE seq = 7");
  RemoveRenumberRehash({14, 18});
  ASSERT_EQ(Sql("SELECT count(*) FROM checkpoints"), "0");
  ASSERT_TRUE(Verify(/*with_key=*/false).ok) << "the rebuilt chain is self-consistent";
  const auto r = Verify();
  ASSERT_NO_FATAL_FAILURE(ExpectFirst(r, 1, "no_checkpoint"));
  EXPECT_EQ(r.checkpoints_verified, 0u);
}

TEST_F(VerifyTest, RemovedShutdownCheckpointIsReported) {
  // Checkpoint 14 stays valid; the shutdown checkpoint (18) that always
  // follows collector_stopped (17) is deleted: 15..17 are unsigned.
  Sql("DELETE FROM records WHERE seq = 18; DELETE FROM checkpoints WHERE seq = 18");
  const auto r = Verify();
  ASSERT_NO_FATAL_FAILURE(ExpectFirst(r, 15, "unsigned_tail"));
  EXPECT_NE(r.problems[0].message.find("collector_stopped record (clean shutdown) 17"),
            std::string::npos)
      << r.problems[0].message;
}

TEST_F(VerifyTest, EveryCheckpointReportedBeforeTheMissingSignature) {
  // Both checkpoints fail: the first bad record is still the first of them.
  Sql("UPDATE checkpoints SET key_id = 'feedfacefeedface'");
  RehashChain(config_.db_path);
  const auto r = Verify();
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(r.problems[0].seq, 14u);
  EXPECT_EQ(r.problems[0].kind, "unknown_key");
  EXPECT_TRUE(HasProblem(r, "no_checkpoint"));
}

TEST_F(VerifyTest, DeletedOpenIncidentRowIsReported) {
  ASSERT_EQ(Sql("SELECT status FROM incidents WHERE id = 2"), "open");
  Sql("DELETE FROM incidents WHERE id = 2");
  const auto r = Verify();
  ASSERT_FALSE(r.ok);
  EXPECT_TRUE(HasProblem(r, "incident_missing", "incident 2:")) << r.problems[0].message;
  // ... while its alerts remain in the chain:
  EXPECT_EQ(Sql("SELECT count(*) FROM alerts WHERE incident_id = 2"), "3");
}

TEST_F(VerifyTest, EditedIncidentKeyColumnsAreReported) {
  for (const std::string column : {"level", "agency", "rule_id", "group_key", "rule_title"}) {
    SCOPED_TRACE(column);
    const std::string before = Sql("SELECT " + column + " FROM incidents WHERE id = 2");
    Sql("UPDATE incidents SET " + column + " = 'informational' WHERE id = 2");
    const auto r = Verify();
    ASSERT_FALSE(r.ok);
    EXPECT_TRUE(HasProblem(r, "incident_mismatch", "incident 2: ")) << r.problems[0].message;
    EXPECT_TRUE(HasProblem(
        r, "incident_mismatch",
        column == "level" || column == "rule_title" ? column : "rule_id, agency, group_key"))
        << r.problems[0].message;
    Sql("UPDATE incidents SET " + column + " = '" + before + "' WHERE id = 2");
    EXPECT_TRUE(Verify().ok);
  }
  Sql("UPDATE incidents SET shadow = 1 WHERE id = 2");
  EXPECT_TRUE(HasProblem(Verify(), "incident_mismatch", "incident 2: "));
}

TEST_F(VerifyTest, VerifyRunsWhileTheCollectorWrites) {
  Open();
  Commit(13, {MakeAlert("r1", kT0 + 13)});
  const auto r = Verify();  // the store is open in this process (WAL reader)
  EXPECT_TRUE(r.ok);
  EXPECT_GT(r.head_seq, 18u);
}

// The checkpoint policy bounds the unsigned tail: a commit past it carries
// its checkpoint in the same transaction.
class VerifyPolicyTest : public VerifyTest {
 protected:
  void SetUp() override { StoreTest::SetUp(); }
};

TEST_F(VerifyPolicyTest, TailPastTheTimeLimitIsReported) {
  config_.checkpoint_every = std::chrono::seconds(300);
  Open();
  Commit(1, {MakeAlert("r1", kT0)});                      // 3
  ASSERT_TRUE(store_->Checkpoint("manual").has_value());  // 4
  clock_.Advance(400 * kSecond);
  Commit(2, {MakeAlert("r1", kT0 + 400 * kSecond)});  // 5, periodic checkpoint 6
  Commit(3, {MakeAlert("r1", kT0 + 401 * kSecond)});  // 7
  ASSERT_TRUE(store_->Close().has_value());           // 8 stopped, 9 checkpoint
  store_.reset();
  ASSERT_EQ(Sql("SELECT group_concat(reason) FROM checkpoints"), "manual,periodic,shutdown");
  VerifyOptions options;
  options.keys.push_back(*VerifyKey::Load(pub_));
  options.checkpoint_every = config_.checkpoint_every;
  ASSERT_TRUE(VerifyChain(config_.db_path, options)->ok);

  // Keep the first checkpoint, drop the later ones and the shutdown record,
  // rewrite what follows: only the policy tells the tail should be signed.
  Sql("UPDATE alerts SET message = 'forged' WHERE seq = 7");
  RemoveRenumberRehash({6, 8, 9});
  ASSERT_TRUE(Verify(/*with_key=*/false).ok);
  auto r = VerifyChain(config_.db_path, options);
  ASSERT_TRUE(r.has_value());
  ASSERT_NO_FATAL_FAILURE(ExpectFirst(*r, 5, "unsigned_tail"));
  EXPECT_NE(r->problems[0].message.find("recorded 400 s after checkpoint 4"), std::string::npos)
      << r->problems[0].message;
  // A collector with a longer interval is given to verify as such.
  options.checkpoint_every = std::chrono::seconds(600);
  EXPECT_TRUE(VerifyChain(config_.db_path, options)->ok);
}

TEST_F(VerifyPolicyTest, TailPastTheRecordLimitIsReported) {
  config_.checkpoint_every_records = 4;
  Open();
  for (uint64_t seq = 1; seq <= 9; ++seq) Commit(seq, {MakeAlert("r1", kT0)});
  ASSERT_TRUE(store_->Close().has_value());
  store_.reset();
  VerifyOptions options;
  options.keys.push_back(*VerifyKey::Load(pub_));
  options.checkpoint_every_records = config_.checkpoint_every_records;
  ASSERT_TRUE(VerifyChain(config_.db_path, options)->ok);
  const uint64_t first_cp = std::stoull(Sql("SELECT min(seq) FROM checkpoints"));
  std::set<uint64_t> later;
  for (const auto& line :
       {Sql("SELECT seq FROM checkpoints WHERE seq > " + std::to_string(first_cp)),
        Sql("SELECT seq FROM coverage WHERE event = 'collector_stopped'")}) {
    std::istringstream in(line);
    for (std::string seq; std::getline(in, seq);) later.insert(std::stoull(seq));
  }
  ASSERT_GE(later.size(), 3u);
  RemoveRenumberRehash(later);
  auto r = VerifyChain(config_.db_path, options);
  ASSERT_TRUE(r.has_value());
  ASSERT_NO_FATAL_FAILURE(ExpectFirst(*r, first_cp + 1, "unsigned_tail"));
  EXPECT_NE(r->problems[0].message.find("policy: every 4 records"), std::string::npos)
      << r->problems[0].message;
}

}  // namespace
}  // namespace vigil::collector::incidents::testing
