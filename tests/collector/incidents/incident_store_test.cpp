// IncidentStore: provenance, grouping, high-water marks, lifecycle, schema
// versioning, checkpoint policy, retention and stats, against real SQLite.
#include "collector/incidents/incident_store.h"

#include <gtest/gtest.h>

#include "collector/incidents/chain_verifier.h"
#include "collector/incidents/sqlite_connection.h"
#include "tests/collector/incidents/store_fixture.h"

namespace vigil::collector::incidents::testing {
namespace {

using engine::Level;

VerifyReport VerifyWith(const std::filesystem::path& db, const std::filesystem::path& pub) {
  VerifyOptions options;
  auto key = VerifyKey::Load(pub);
  EXPECT_TRUE(key.has_value());
  options.keys.push_back(*key);
  auto report = VerifyChain(db, options);
  EXPECT_TRUE(report.has_value()) << (report ? "" : report.error().message);
  return report.value_or(VerifyReport{});
}

TEST_F(StoreTest, StoresAlertWithFullProvenance) {
  Open();
  auto alert = MakeAlert("net.portscan", kT0 - 5 * kSecond);
  alert.events[0].origin.capture_drop_ratio = 0.125;
  const auto result = Commit(7, {alert});
  EXPECT_EQ(result.alerts_stored, 1u);
  EXPECT_EQ(result.batches_committed, 1u);

  auto detail = store_->GetIncident(1);
  ASSERT_TRUE(detail.has_value()) << detail.error().message;
  ASSERT_EQ(detail->alerts.size(), 1u);
  const ExportRow& row = detail->alerts[0];
  EXPECT_EQ(row.rule_id, "net.portscan");
  EXPECT_EQ(row.rule_title, "Title of net.portscan");
  EXPECT_EQ(row.level, "high");
  EXPECT_EQ(row.author, "Vigil tests");
  EXPECT_EQ(row.tags_json, R"(["attack.discovery","attack.t1046"])");
  EXPECT_EQ(row.rule_file_hash, std::string(64, 'a'));
  EXPECT_EQ(row.ruleset_hash, std::string(64, 'b'));
  EXPECT_EQ(row.agent_id, "agent-1");
  EXPECT_EQ(row.agency, "agency-a");
  EXPECT_EQ(row.batch_sequence, 7u);
  EXPECT_DOUBLE_EQ(row.capture_drop_ratio, 0.125);
  EXPECT_EQ(row.event_time_ns, kT0 - 5 * kSecond);
  EXPECT_EQ(row.received_ns, kT0);
  EXPECT_EQ(row.matched_fields_json,
            R"([{"name":"id.resp_p","value":"445"},{"name":"proto","value":"tcp"}])");
  // The event is embedded as JSON (an object, not a string) with its origin.
  EXPECT_NE(row.events_json.find(R"("event":{"ts":1767225600.5)"), std::string::npos)
      << row.events_json;
  EXPECT_NE(row.events_json.find(R"("batch_sequence":1)"), std::string::npos);
  EXPECT_EQ(row.message, "Port scan from 10.0.0.5");
  EXPECT_FALSE(row.shadow);
  EXPECT_EQ(row.incident_status, "open");
  EXPECT_EQ(row.record_hash.size(), 64u);
}

TEST_F(StoreTest, InvalidEventJsonIsKeptAsStringAndCounted) {
  Open();
  auto alert = MakeAlert("r1", kT0);
  alert.events[0].json = "{not json";
  Commit(1, {alert});
  EXPECT_EQ(store_->stats().event_json_invalid.load(), 1u);
  auto detail = store_->GetIncident(1);
  ASSERT_TRUE(detail.has_value());
  EXPECT_NE(detail->alerts[0].events_json.find(R"("event":"{not json")"), std::string::npos);
}

TEST_F(StoreTest, GroupsAlertsIntoIncidentsWithinWindow) {
  config_.incident_window = std::chrono::minutes(10);
  Open();
  Commit(1, {MakeAlert("r1", kT0), MakeAlert("r1", kT0 + 60 * kSecond)});
  Commit(2, {MakeAlert("r1", kT0 + 9 * 60 * kSecond)});             // within 10 min of last seen
  Commit(3, {MakeAlert("r1", kT0 + 30 * 60 * kSecond)});            // 21 min later: new incident
  Commit(4, {MakeAlert("r1", kT0, Level::kHigh, "src=10.9.9.9")});  // other group key
  Commit(5, {MakeAlert("r2", kT0)});                                // other rule

  IncidentFilter all;
  auto list = store_->ListIncidents(all);
  ASSERT_TRUE(list.has_value());
  ASSERT_EQ(list->size(), 4u);
  auto first = store_->GetIncident(1);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->summary.alert_count, 3u);
  EXPECT_EQ(first->summary.first_seen_ns, kT0);
  EXPECT_EQ(first->summary.last_seen_ns, kT0 + 9 * 60 * kSecond);
  EXPECT_EQ(first->alerts.size(), 3u);  // individual alerts kept
  auto second = store_->GetIncident(2);
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->summary.alert_count, 1u);
  EXPECT_EQ(second->summary.rule_id, "r1");
}

TEST_F(StoreTest, ClosedIncidentIsNotExtendedByNewAlerts) {
  Open();
  Commit(1, {MakeAlert("r1", kT0)});
  ASSERT_TRUE(store_->ChangeIncident(1, IncidentAction::kClose, "alice", "fp").has_value());
  Commit(2, {MakeAlert("r1", kT0 + kSecond)});
  auto closed = store_->GetIncident(1);
  ASSERT_TRUE(closed.has_value());
  EXPECT_EQ(closed->summary.alert_count, 1u);
  auto fresh = store_->GetIncident(2);
  ASSERT_TRUE(fresh.has_value());
  EXPECT_EQ(fresh->summary.status, "open");
}

TEST_F(StoreTest, ShadowAndSuppressedAlertsAreDistinguishable) {
  Open();
  auto shadow = MakeAlert("r1", kT0);
  shadow.shadow = true;
  auto suppressed = MakeAlert("r1", kT0 + kSecond);
  suppressed.kind = engine::AlertKind::kSuppressed;
  suppressed.suppressed_count = 42;
  Commit(1, {shadow, MakeAlert("r1", kT0), suppressed});

  IncidentFilter visible;
  auto raised = store_->ListIncidents(visible);
  ASSERT_TRUE(raised.has_value());
  ASSERT_EQ(raised->size(), 1u);  // the shadow incident is hidden by default
  EXPECT_FALSE((*raised)[0].shadow);
  EXPECT_EQ((*raised)[0].alert_count, 1u);
  EXPECT_EQ((*raised)[0].suppressed_count, 42u);
  IncidentFilter with_shadow;
  with_shadow.include_shadow = true;
  auto everything = store_->ListIncidents(with_shadow);
  ASSERT_TRUE(everything.has_value());
  EXPECT_EQ(everything->size(), 2u);
  EXPECT_EQ(store_->stats().shadow_alerts_stored.load(), 1u);
  EXPECT_EQ(store_->stats().suppressed_summaries_stored.load(), 1u);
  EXPECT_EQ(store_->stats().alerts_stored_by_level[static_cast<size_t>(Level::kHigh)].load(), 1u);
}

TEST_F(StoreTest, HighWaterMarkSurvivesReopenAndDuplicatesAreSkipped) {
  Open();
  Commit(1, {});
  Commit(2, {MakeAlert("r1", kT0)});
  Commit(1, {}, "agent-2", "agency-b");
  Reopen();
  auto hwm = store_->HighWaterMark("agent-1");
  ASSERT_TRUE(hwm.has_value());
  EXPECT_EQ(*hwm, 2u);
  auto none = store_->HighWaterMark("agent-unknown");
  ASSERT_TRUE(none.has_value());
  EXPECT_EQ(*none, 0u);
  auto all = store_->HighWaterMarks();
  ASSERT_TRUE(all.has_value());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].agent_id, "agent-1");
  EXPECT_EQ((*all)[0].batches, 2u);
  EXPECT_EQ((*all)[0].events, 200u);

  // A resent batch stores nothing twice.
  const auto dup = Commit(2, {MakeAlert("r1", kT0)});
  EXPECT_EQ(dup.duplicate_batches, 1u);
  EXPECT_EQ(dup.alerts_stored, 0u);
  auto incident = store_->GetIncident(1);
  ASSERT_TRUE(incident.has_value());
  EXPECT_EQ(incident->summary.alert_count, 1u);
  EXPECT_EQ(store_->stats().duplicate_batches_skipped.load(), 1u);
}

TEST_F(StoreTest, GroupCommitIsOneTransactionAndRecordsSequenceGaps) {
  Open();
  std::vector<engine::Alert> a1 = {MakeAlert("r1", kT0)};
  std::vector<BatchCommit> batches(3);
  for (size_t i = 0; i < batches.size(); ++i) {
    batches[i].agent_id = "agent-1";
    batches[i].agency = "agency-a";
    batches[i].received_ns = kT0;
    batches[i].events = 10;
  }
  batches[0].sequence = 1;
  batches[1].sequence = 2;
  batches[1].alerts = a1;
  batches[2].sequence = 6;  // 3..5 never arrived
  const uint64_t txns_before = store_->stats().transactions_committed.load();
  auto r = store_->CommitBatches(batches);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->batches_committed, 3u);
  EXPECT_EQ(r->sequence_gaps, 1u);
  EXPECT_EQ(store_->stats().transactions_committed.load(), txns_before + 1);
  EXPECT_EQ(Sql("SELECT event, first_sequence, last_sequence, batches FROM coverage "
                "WHERE event = 'sequence_gap'"),
            "sequence_gap|3|5|3");
  EXPECT_EQ(*store_->HighWaterMark("agent-1"), 6u);
}

TEST_F(StoreTest, FailedCommitStoresNothing) {
  Open();
  Commit(1, {MakeAlert("r1", kT0)});
  // Another connection holds the write lock past the busy timeout.
  config_.busy_timeout = std::chrono::milliseconds(50);
  Reopen();
  Connection blocker = *Connection::Open(config_.db_path.string(), Connection::Mode::kReadWrite, 0);
  ASSERT_TRUE(blocker.Exec("BEGIN IMMEDIATE").has_value());
  BatchCommit b;
  b.agent_id = "agent-1";
  b.agency = "agency-a";
  b.sequence = 2;
  std::vector<engine::Alert> alerts = {MakeAlert("r1", kT0)};
  b.alerts = alerts;
  auto r = store_->CommitBatches(std::span<const BatchCommit>(&b, 1));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kBusy);
  EXPECT_EQ(store_->stats().commit_errors_busy.load(), 1u);
  ASSERT_TRUE(blocker.Exec("ROLLBACK").has_value());
  EXPECT_EQ(*store_->HighWaterMark("agent-1"), 1u);  // not advanced: the batch must not be acked
  auto retry = store_->CommitBatches(std::span<const BatchCommit>(&b, 1));
  ASSERT_TRUE(retry.has_value());
  EXPECT_EQ(*store_->HighWaterMark("agent-1"), 2u);
}

TEST_F(StoreTest, LifecycleChangesAreChainedAndValidated) {
  Open();
  Commit(1, {MakeAlert("r1", kT0)});
  auto ack = store_->ChangeIncident(1, IncidentAction::kAcknowledge, "alice", "looking");
  ASSERT_TRUE(ack.has_value());
  EXPECT_EQ(ack->from_status, "open");
  EXPECT_EQ(ack->to_status, "acknowledged");
  auto again = store_->ChangeIncident(1, IncidentAction::kAcknowledge, "bob", "");
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code, ErrorCode::kInvalidTransition);
  auto reopen_open = store_->ChangeIncident(1, IncidentAction::kReopen, "bob", "");
  ASSERT_FALSE(reopen_open.has_value());
  ASSERT_TRUE(store_->ChangeIncident(1, IncidentAction::kClose, "alice", "contained").has_value());
  ASSERT_TRUE(store_->ChangeIncident(1, IncidentAction::kReopen, "carol", "recurred").has_value());
  auto missing = store_->ChangeIncident(99, IncidentAction::kClose, "x", "");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);

  auto detail = store_->GetIncident(1);
  ASSERT_TRUE(detail.has_value());
  ASSERT_EQ(detail->history.size(), 3u);
  EXPECT_EQ(detail->history[0].by, "alice");
  EXPECT_EQ(detail->history[0].note, "looking");
  EXPECT_EQ(detail->history[2].action, "reopen");
  EXPECT_EQ(detail->summary.status, "open");
  EXPECT_EQ(detail->summary.status_by, "carol");
  EXPECT_EQ(Sql("SELECT count(*) FROM records WHERE kind = 'incident_change'"), "3");
  store_.reset();
  EXPECT_TRUE(VerifyWith(config_.db_path, pub_).ok);
}

TEST_F(StoreTest, NewerSchemaIsRefusedWithoutChanges) {
  Open();
  store_.reset();
  Sql("PRAGMA user_version = 99");
  auto s = IncidentStore::Open(config_, OpenMode::kCollector, clock_.AsClock());
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code, ErrorCode::kSchemaTooNew);
  EXPECT_NE(s.error().message.find("schema version 99"), std::string::npos) << s.error().message;
  EXPECT_EQ(Sql("PRAGMA user_version"), "99");
}

TEST_F(StoreTest, ForeignSqliteDatabaseIsRefused) {
  Sql("CREATE TABLE t(x)");
  auto s = IncidentStore::Open(config_, OpenMode::kCollector, clock_.AsClock());
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code, ErrorCode::kSchemaInvalid);
}

TEST_F(StoreTest, NewLogHasGenesisAndSchemaVersion) {
  Open();
  EXPECT_EQ(Sql("PRAGMA user_version"), std::to_string(kSchemaVersion));
  EXPECT_EQ(Sql("PRAGMA journal_mode"), "wal");
  EXPECT_EQ(Sql("SELECT kind FROM records WHERE seq = 1"), "genesis");
  EXPECT_EQ(Sql("SELECT store_id FROM genesis"), store_->store_id());
}

TEST_F(StoreTest, OneCollectorPerLog) {
  Open();
  auto second = IncidentStore::Open(config_, OpenMode::kCollector, clock_.AsClock());
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error().code, ErrorCode::kBusy);
  EXPECT_NE(second.error().message.find("another collector"), std::string::npos);
  // vigilctl (operator mode) may still open it.
  EXPECT_TRUE(IncidentStore::Open(config_, OpenMode::kOperator, clock_.AsClock()).has_value());
}

TEST_F(StoreTest, RefusedLogIsNotWrittenTo) {
  Open();
  store_.reset();
  const std::string head = Sql("SELECT max(seq) FROM records");
  Sql("PRAGMA user_version = " + std::to_string(kSchemaVersion + 1));
  ASSERT_FALSE(IncidentStore::Open(config_, OpenMode::kCollector, clock_.AsClock()).has_value());
  EXPECT_EQ(Sql("SELECT max(seq) FROM records"), head);
}

TEST_F(StoreTest, CollectorModeRequiresSigningKey) {
  config_.signing_key_path.clear();
  auto s = IncidentStore::Open(config_, OpenMode::kCollector, clock_.AsClock());
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code, ErrorCode::kKey);
}

TEST_F(StoreTest, SigningKeyReadableByOthersIsRefused) {
  std::filesystem::permissions(key_, std::filesystem::perms::group_read,
                               std::filesystem::perm_options::add);
  auto s = IncidentStore::Open(config_, OpenMode::kCollector, clock_.AsClock());
  ASSERT_FALSE(s.has_value());
  EXPECT_NE(s.error().message.find("chmod 600"), std::string::npos);
}

TEST_F(StoreTest, OperatorModeNeedsAnExistingLog) {
  auto s = IncidentStore::Open(config_, OpenMode::kOperator, clock_.AsClock());
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code, ErrorCode::kIo);
  EXPECT_FALSE(std::filesystem::exists(config_.db_path));
}

TEST_F(StoreTest, CheckpointEveryNRecords) {
  config_.checkpoint_every_records = 5;
  Open();
  for (uint64_t seq = 1; seq <= 10; ++seq) Commit(seq, {MakeAlert("r1", kT0)});
  // genesis + start + 10 alerts = 12 records before checkpoints; one every >= 5.
  EXPECT_GE(store_->stats().checkpoints_written.load(), 2u);
  EXPECT_EQ(Sql("SELECT count(*) FROM checkpoints"),
            std::to_string(store_->stats().checkpoints_written.load()));
  store_.reset();
  const auto report = VerifyWith(config_.db_path, pub_);
  EXPECT_TRUE(report.ok);
  EXPECT_GE(report.checkpoints_verified, 3u);  // + the shutdown checkpoint
}

TEST_F(StoreTest, CheckpointAfterIntervalAndOnlyWhenRecordsAreUnsigned) {
  config_.checkpoint_every = std::chrono::seconds(60);
  Open();
  auto none = store_->MaybeCheckpoint();
  ASSERT_TRUE(none.has_value());
  EXPECT_FALSE(none->has_value());  // interval not elapsed
  clock_.Advance(61 * kSecond);
  auto due = store_->MaybeCheckpoint();
  ASSERT_TRUE(due.has_value());
  ASSERT_TRUE(due->has_value());
  clock_.Advance(61 * kSecond);
  auto idle = store_->MaybeCheckpoint();
  ASSERT_TRUE(idle.has_value());
  EXPECT_FALSE(idle->has_value());  // nothing new to sign
}

TEST_F(StoreTest, CleanAndUncleanShutdownAreCoverageRecords) {
  Open();
  Commit(1, {});
  ASSERT_TRUE(store_->Close().has_value());
  store_.reset();
  EXPECT_EQ(Sql("SELECT event FROM coverage ORDER BY seq"), "collector_started\ncollector_stopped");
  EXPECT_EQ(Sql("SELECT reason FROM checkpoints ORDER BY seq DESC LIMIT 1"), "shutdown");
  // A crash leaves the running marker behind.
  CrashAfterCommit(2);
  EXPECT_EQ(Sql("SELECT count(*) FROM meta WHERE key = 'running'"), "1");
  Open();
  EXPECT_EQ(Sql("SELECT detail FROM coverage ORDER BY seq DESC LIMIT 1"),
            "previous run ended without shutdown");
}

TEST_F(StoreTest, PruneWritesSignedCheckpointAndRemainderVerifies) {
  Open();
  Commit(1, {MakeAlert("r1", kT0)});
  ASSERT_TRUE(store_->ChangeIncident(1, IncidentAction::kClose, "alice", "").has_value());
  clock_.Advance(100 * 86400 * kSecond);
  Commit(2, {MakeAlert("r2", kT0 + 100 * 86400 * kSecond)});
  const uint64_t head_before = store_->Head()->seq;

  auto pruned = store_->Prune(std::chrono::hours(24 * 90), "retention");
  ASSERT_TRUE(pruned.has_value()) << pruned.error().message;
  EXPECT_GT(pruned->records_removed, 0u);
  EXPECT_EQ(pruned->alerts_removed, 1u);
  EXPECT_EQ(pruned->prune_record_seq, head_before + 1);
  EXPECT_EQ(Sql("SELECT kind FROM records WHERE seq = " + std::to_string(head_before + 2)),
            "checkpoint");
  EXPECT_EQ(Sql("SELECT reason FROM checkpoints ORDER BY seq DESC LIMIT 1"), "prune");
  EXPECT_EQ(Sql("SELECT count(*) FROM alerts"), "1");
  EXPECT_EQ(Sql("SELECT count(*) FROM incidents WHERE id = 1"), "0");  // closed + all pruned
  EXPECT_FALSE(store_->GetIncident(1).has_value());

  Commit(3, {MakeAlert("r2", kT0 + 100 * 86400 * kSecond)});
  store_.reset();
  const auto report = VerifyWith(config_.db_path, pub_);
  EXPECT_TRUE(report.ok) << (report.problems.empty() ? "" : report.problems[0].message);
  EXPECT_EQ(report.first_seq, pruned->pruned_through_seq + 1);

  // Nothing old enough: no prune record.
  Open();
  auto noop = store_->Prune(std::chrono::hours(24 * 90), "retention");
  ASSERT_TRUE(noop.has_value());
  EXPECT_EQ(noop->prune_record_seq, 0u);
}

TEST_F(StoreTest, PruneRequiresTheSigningKey) {
  Open();
  store_.reset();
  StoreConfig no_key = config_;
  no_key.signing_key_path.clear();
  auto s = IncidentStore::Open(no_key, OpenMode::kOperator, clock_.AsClock());
  ASSERT_TRUE(s.has_value());
  auto r = (*s)->Prune(std::chrono::hours(1), "x");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kKey);
}

TEST_F(StoreTest, ConcurrentOperatorChangesKeepOneLinearChain) {
  Open();
  Commit(1, {MakeAlert("r1", kT0)});
  // vigilctl (another store instance) acknowledges while the collector writes.
  auto op = IncidentStore::Open(config_, OpenMode::kOperator, clock_.AsClock());
  ASSERT_TRUE(op.has_value());
  ASSERT_TRUE((*op)->ChangeIncident(1, IncidentAction::kAcknowledge, "alice", "").has_value());
  Commit(2, {MakeAlert("r1", kT0 + kSecond)});
  ASSERT_TRUE((*op)->ChangeIncident(1, IncidentAction::kClose, "alice", "").has_value());
  Commit(3, {MakeAlert("r9", kT0)});
  op->reset();
  store_.reset();
  const auto report = VerifyWith(config_.db_path, pub_);
  EXPECT_TRUE(report.ok) << (report.problems.empty() ? "" : report.problems[0].message);
}

TEST_F(StoreTest, CommitLatencyHistogramCountsEveryCommit) {
  Open();
  for (uint64_t seq = 1; seq <= 4; ++seq) Commit(seq, {});
  uint64_t total = 0;
  for (const auto& b : store_->stats().commit_latency_buckets) total += b.load();
  EXPECT_EQ(total, 4u);
  EXPECT_EQ(store_->stats().commit_latency_count.load(), 4u);
  EXPECT_EQ(store_->stats().batches_committed.load(), 4u);
  EXPECT_GT(store_->stats().chain_head_seq.load(), 0u);
}

TEST_F(StoreTest, IncidentsOpenGaugeFollowsLifecycle) {
  Open();
  Commit(1, {MakeAlert("r1", kT0), MakeAlert("r2", kT0)});
  EXPECT_EQ(store_->stats().incidents_open.load(), 2);
  ASSERT_TRUE(store_->ChangeIncident(1, IncidentAction::kClose, "a", "").has_value());
  EXPECT_EQ(store_->stats().incidents_open.load(), 1);
}

TEST_F(StoreTest, OpenIncidentsAreCountedByLevelAcrossLifecycleAndReopen) {
  Open();
  Commit(1, {MakeAlert("r1", kT0, engine::Level::kCritical), MakeAlert("r2", kT0),
             MakeAlert("r3", kT0, engine::Level::kLow)});
  const auto& by_level = store_->stats().incidents_open_by_level;
  EXPECT_EQ(by_level[4].load(), 1);  // critical
  EXPECT_EQ(by_level[3].load(), 1);  // high
  EXPECT_EQ(by_level[1].load(), 1);  // low
  ASSERT_TRUE(store_->ChangeIncident(1, IncidentAction::kClose, "a", "").has_value());
  EXPECT_EQ(by_level[4].load(), 0);
  ASSERT_TRUE(store_->ChangeIncident(1, IncidentAction::kReopen, "a", "").has_value());
  EXPECT_EQ(by_level[4].load(), 1);
  // Recounted from the database when the log is opened again.
  Reopen();
  EXPECT_EQ(store_->stats().incidents_open_by_level[4].load(), 1);
  EXPECT_EQ(store_->stats().incidents_open_by_level[3].load(), 1);
  EXPECT_EQ(store_->stats().incidents_open_by_level[2].load(), 0);
}

TEST_F(StoreTest, AlertsOnlyCommitStoresAlertsWithoutMovingTheHighWaterMark) {
  Open();
  Commit(5, {});
  const std::vector<engine::Alert> alerts = {MakeAlert("window-closed", kT0)};
  BatchCommit b;
  b.agent_id = "agent-1";
  b.agency = "agency-a";
  b.sequence = 5;  // provenance: the last batch seen from that agent
  b.received_ns = clock_.now->load();
  b.alerts = alerts;
  b.alerts_only = true;
  auto r = store_->CommitBatches(std::span<const BatchCommit>(&b, 1));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->alerts_stored, 1u);
  EXPECT_EQ(r->duplicate_batches, 0u);
  EXPECT_EQ(*store_->HighWaterMark("agent-1"), 5u);
  auto all = store_->HighWaterMarks();
  ASSERT_TRUE(all.has_value());
  EXPECT_EQ((*all)[0].batches, 1u);  // the completeness ledger counts real batches only
  // The next real batch is not mistaken for a duplicate or a gap.
  const auto next = Commit(6, {});
  EXPECT_EQ(next.batches_committed, 1u);
  EXPECT_EQ(next.sequence_gaps, 0u);
}

}  // namespace
}  // namespace vigil::collector::incidents::testing
