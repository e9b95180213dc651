// CollectorSink against a scripted collector (a plain gRPC IngestService,
// no TLS) whose Welcome, acks and stream endings the test chooses: acks lost
// with a stream, reports resent across streams and restarts, a collector
// that holds more than the agent's state, unsynced spool data when idle,
// and the loss-report file written by two threads. Every test checks the
// accounting identity.

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "agent/export/collector_sink.h"
#include "agent/export/sequence_store.h"
#include "agent/export/spool.h"
#include "tests/agent/export/sink_test_support.h"
#include "tests/transport/test_pki.h"
#include "vigil/v1/ingest.grpc.pb.h"

namespace vigil::agent::exporter {
namespace {

using namespace std::chrono_literals;
using testing::TempDir;

using sink_test::Dropped;
using sink_test::ExpectIdentity;
using sink_test::MakeEvent;

/// A collector whose behaviour the test scripts. Batches are "committed" as
/// they arrive (the high-water mark follows them); acks are sent only when
/// `ack` is on; `break_streams` ends every stream with UNAVAILABLE after the
/// next message; `refuse` ends streams before the Welcome.
class ScriptedCollector final : public v1::IngestService::Service {
 public:
  std::atomic<bool> ack{true};
  std::atomic<bool> refuse{false};
  std::atomic<bool> break_streams{false};
  /// Break a stream at the first heartbeat after a loss report (the agent
  /// writes its pending reports, then a heartbeat: all were read).
  std::atomic<bool> break_after_loss_report{false};

  grpc::Status Ingest(
      grpc::ServerContext*,
      grpc::ServerReaderWriter<v1::CollectorMessage, v1::AgentMessage>* stream) override {
    v1::AgentMessage in;
    if (!stream->Read(&in) || !in.has_hello()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "no hello");
    }
    if (refuse) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "refusing");
    {
      std::lock_guard lock(mu_);
      ++streams_;
      v1::CollectorMessage w;
      w.mutable_welcome()->set_last_sequence(hwm_);
      w.mutable_welcome()->set_agent_id("agent-a");
      welcomes_.push_back(hwm_);
      if (!stream->Write(w)) return grpc::Status::OK;
    }
    bool got_loss = false;
    while (stream->Read(&in)) {
      bool heartbeat = false;
      {
        std::lock_guard lock(mu_);
        if (in.has_batch()) {
          const auto& b = in.batch();
          sequences_.push_back(b.sequence());
          records_ += static_cast<uint64_t>(b.events_size());
          batch_records_[b.sequence()] = static_cast<uint64_t>(b.events_size());
          for (const auto& e : b.events()) ++uids_[e.uid()];
          hwm_ = std::max(hwm_, b.sequence());
          if (ack) {
            v1::CollectorMessage a;
            a.mutable_ack()->set_sequence(hwm_);
            if (!stream->Write(a)) break;
          }
        } else if (in.has_loss_report()) {
          losses_.push_back(in.loss_report());
          got_loss = true;
        } else if (in.has_heartbeat()) {
          heartbeat = true;
        } else if (in.has_goodbye()) {
          return grpc::Status::OK;
        }
      }
      if (break_streams || (heartbeat && got_loss && break_after_loss_report)) {
        return grpc::Status(grpc::StatusCode::UNAVAILABLE, "scripted break");
      }
    }
    return grpc::Status::OK;
  }

  uint64_t hwm() const {
    std::lock_guard lock(mu_);
    return hwm_;
  }
  void set_hwm(uint64_t v) {
    std::lock_guard lock(mu_);
    hwm_ = v;
  }
  std::vector<uint64_t> sequences() const {
    std::lock_guard lock(mu_);
    return sequences_;
  }
  std::map<uint64_t, uint64_t> batch_records() const {
    std::lock_guard lock(mu_);
    return batch_records_;
  }
  std::map<std::string, int> uids() const {
    std::lock_guard lock(mu_);
    return uids_;
  }
  std::vector<v1::LossReport> losses() const {
    std::lock_guard lock(mu_);
    return losses_;
  }
  std::vector<uint64_t> welcomes() const {
    std::lock_guard lock(mu_);
    return welcomes_;
  }

 private:
  mutable std::mutex mu_;
  uint64_t hwm_ = 0;
  int streams_ = 0;
  uint64_t records_ = 0;
  std::vector<uint64_t> sequences_;
  std::map<uint64_t, uint64_t> batch_records_;
  std::map<std::string, int> uids_;
  std::vector<v1::LossReport> losses_;
  std::vector<uint64_t> welcomes_;
};

bool Eventually(const std::function<bool()>& pred, std::chrono::milliseconds t = 20s) {
  auto deadline = std::chrono::steady_clock::now() + t;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return pred();
}

class CollectorSinkScriptedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder b;
    b.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    b.RegisterService(&collector_);
    server_ = b.BuildAndStart();
    ASSERT_TRUE(server_);
    ASSERT_GT(port_, 0);
  }
  void TearDown() override {
    sink_.reset();
    server_->Shutdown(std::chrono::system_clock::now() + 200ms);
  }
  CollectorSinkOptions Options() {
    CollectorSinkOptions o;
    o.addresses = {"127.0.0.1:" + std::to_string(port_)};
    o.insecure_plaintext = true;
    o.spool_directory = spool_.str();
    o.batch_max_events = 200;
    o.batch_max_delay = 20ms;
    o.heartbeat_interval = 50ms;
    o.reconnect_initial_backoff = 20ms;
    o.reconnect_max_backoff = 50ms;
    o.connect_timeout = 2000ms;
    o.agent_version = "test";
    o.log = [](transport::LogLevel, std::string_view) {};
    return o;
  }
  void Create(const CollectorSinkOptions& o) {
    auto s = CollectorSink::Create(o, nullptr);
    ASSERT_TRUE(s.has_value()) << s.error();
    sink_ = std::move(*s);
  }
  void Emit(uint64_t from, uint64_t to) {
    for (uint64_t i = from; i < to; ++i) sink_->Emit(MakeEvent(i));
  }

  ScriptedCollector collector_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  TempDir spool_{"vigil-sink-scripted"};
  std::unique_ptr<CollectorSink> sink_;
};

// Defect: a batch evicted from the spool while in flight was declared lost
// when its stream ended, even when the collector had committed it and only
// the ack was lost. The next Welcome decides.
TEST_F(CollectorSinkScriptedTest, AnEvictedInFlightBatchTheCollectorCommittedIsAcknowledged) {
  collector_.ack = false;  // commits, but every ack is "lost"
  auto o = Options();
  o.spool_max_bytes = 256 << 10;
  o.max_inflight_batches = 8;
  Create(o);
  // The first window goes out; then enough to overflow the spool, which
  // evicts its oldest segments: the batches in flight among them.
  Emit(0, 200 * 8);
  ASSERT_TRUE(Eventually([&] { return collector_.sequences().size() >= 8; }));
  Emit(200 * 8, 20000);
  ASSERT_TRUE(sink_->WaitSpooled(20s));
  ASSERT_GT(sink_->Stats().records_dropped_spool_overflow, 0u);
  const auto first = collector_.batch_records();
  ASSERT_EQ(first.size(), 8u);
  uint64_t first_records = 0;
  for (const auto& [seq, n] : first) first_records += n;
  ExpectIdentity(sink_->Stats());

  // The stream ends without an ack; the collector's next Welcome says it
  // holds everything it received.
  collector_.break_streams = true;
  ASSERT_TRUE(Eventually([&] { return sink_->Stats().connects >= 2; }));
  collector_.break_streams = false;
  collector_.ack = true;
  ASSERT_TRUE(sink_->Flush(20000));
  auto s = sink_->Stats();
  ExpectIdentity(s);
  EXPECT_EQ(s.records_pending, 0u);

  // Nothing the collector holds is counted or reported as lost.
  std::set<uint64_t> committed_first;
  for (const auto& [seq, n] : first) committed_first.insert(seq);
  for (const auto& r : collector_.losses()) {
    for (uint64_t q = r.first_sequence(); q != 0 && q <= r.last_sequence(); ++q) {
      EXPECT_FALSE(committed_first.count(q)) << "batch " << q << " reported lost but committed";
    }
  }
  auto uids = collector_.uids();
  for (const auto& [uid, n] : uids) EXPECT_EQ(n, 1) << uid;
  EXPECT_EQ(s.records_acked, uids.size());
  EXPECT_EQ(uids.size() + s.records_dropped_spool_overflow, 20000u)
      << "delivered + counted lost must be every record";
  EXPECT_GE(s.records_acked, first_records);
}

// The same, across a restart: the undecided batches are kept with the
// loss reports and the Welcome after the restart decides them.
TEST_F(CollectorSinkScriptedTest, UndecidedInFlightEvictionsSurviveARestart) {
  collector_.ack = false;
  auto o = Options();
  o.spool_max_bytes = 256 << 10;
  o.max_inflight_batches = 8;
  Create(o);
  Emit(0, 200 * 8);
  ASSERT_TRUE(Eventually([&] { return collector_.sequences().size() >= 8; }));
  Emit(200 * 8, 20000);
  ASSERT_TRUE(sink_->WaitSpooled(20s));
  collector_.refuse = true;  // the next stream never gets a Welcome
  collector_.break_streams = true;
  ASSERT_TRUE(Eventually([&] { return !sink_->Stats().connected; }));
  collector_.break_streams = false;
  auto before = sink_->Stats();
  ExpectIdentity(before);
  sink_->Shutdown(0ms);
  sink_.reset();

  collector_.refuse = false;
  collector_.ack = true;
  Create(o);
  ASSERT_TRUE(sink_->Flush(20000));
  auto s = sink_->Stats();
  ExpectIdentity(s);
  auto uids = collector_.uids();
  for (const auto& [uid, n] : uids) EXPECT_EQ(n, 1) << uid;
  uint64_t reported = 0;
  std::set<std::string> ids;
  for (const auto& r : collector_.losses()) {
    if (ids.insert(r.report_id()).second) reported += r.records();
  }
  EXPECT_EQ(uids.size() + reported, 20000u) << "delivered + reported lost must be every record";
}

// Defect: when the agent's sequence state was older than the collector's
// (state directory wiped, restored, reinstalled), the Welcome deleted every
// spooled batch at or below the collector's mark as "acknowledged".
TEST_F(CollectorSinkScriptedTest, BatchesSpooledUnderAStaleSequenceAreRenumberedAndDelivered) {
  collector_.set_hwm(5000);  // what the collector holds from this identity
  collector_.refuse = true;  // unreachable while the agent spools
  Create(Options());
  Emit(0, 1000);
  ASSERT_TRUE(sink_->WaitSpooled(10s));
  const uint64_t sealed = sink_->Stats().batches_sealed;
  ASSERT_GT(sealed, 0u);
  EXPECT_LT(sink_->Stats().last_sequence, 5000u);
  collector_.refuse = false;
  ASSERT_TRUE(sink_->Flush(20000));
  auto s = sink_->Stats();
  ExpectIdentity(s);
  EXPECT_EQ(s.batches_renumbered, sealed);
  EXPECT_EQ(Dropped(s), 0u);
  auto uids = collector_.uids();
  EXPECT_EQ(uids.size(), 1000u) << "every spooled record must reach the collector";
  for (const auto& [uid, n] : uids) EXPECT_EQ(n, 1) << uid;
  auto seqs = collector_.sequences();
  for (uint64_t q : seqs) EXPECT_GT(q, 5000u);
  EXPECT_TRUE(std::is_sorted(seqs.begin(), seqs.end()));
  ASSERT_FALSE(seqs.empty());
  EXPECT_EQ(seqs.front(), 5001u);  // no gap: nothing to explain

  // After a restart the numbering continues above the collector's.
  sink_->Shutdown(2s);
  sink_.reset();
  Create(Options());
  Emit(1000, 1200);
  ASSERT_TRUE(sink_->Flush(20000));
  seqs = collector_.sequences();
  EXPECT_TRUE(std::is_sorted(seqs.begin(), seqs.end()));
  EXPECT_EQ(std::set<uint64_t>(seqs.begin(), seqs.end()).size(), seqs.size());
  EXPECT_EQ(collector_.uids().size(), 1200u);
}

// A renumbering interrupted by a kill (here: batches 1 and 2 already copied
// as 5001 and 5002 and the progress recorded) resumes at the next start:
// nothing lost, nothing sent twice, numbering contiguous.
TEST_F(CollectorSinkScriptedTest, AnInterruptedRenumberingResumesAtTheNextStart) {
  collector_.refuse = true;
  Create(Options());
  Emit(0, 1000);
  ASSERT_TRUE(sink_->WaitSpooled(10s));
  const uint64_t sealed = sink_->Stats().last_sequence;
  ASSERT_GE(sealed, 3u);
  sink_->Shutdown(0ms);
  sink_.reset();
  {
    auto seq = SequenceStore::Open(spool_.str(), sealed);
    ASSERT_TRUE(seq.has_value()) << seq.error();
    (*seq)->RaiseFloor(5000);
    auto spool = Spool::Open(SpoolOptions{spool_.str()});
    ASSERT_TRUE(spool.has_value()) << spool.error();
    for (uint64_t old = 1; old <= 2; ++old) {
      auto r = (*spool)->ReadAfter(old - 1);
      ASSERT_TRUE(r.batch && r.batch->sequence == old);
      v1::EventBatch b;
      ASSERT_TRUE(b.ParseFromString(*r.payload));
      SpooledBatch meta = *r.batch;
      meta.sequence = (*seq)->Next();
      ASSERT_EQ(meta.sequence, 5000 + old);
      b.set_sequence(meta.sequence);
      ASSERT_TRUE((*spool)
                      ->Append(meta, std::make_shared<const std::string>(b.SerializeAsString()))
                      .stored);
      (*spool)->Acknowledge(old);
    }
    (*seq)->MarkClean();
    std::ofstream(spool_.str() + "/renumber") << sealed << " 2\n";
  }
  collector_.set_hwm(5000);
  collector_.refuse = false;
  Create(Options());
  EXPECT_EQ(sink_->Stats().batches_renumbered, sealed - 2);
  EXPECT_FALSE(std::ifstream(spool_.str() + "/renumber").is_open());
  ASSERT_TRUE(sink_->Flush(20000));
  auto s = sink_->Stats();
  ExpectIdentity(s);
  EXPECT_EQ(Dropped(s), 0u);
  auto uids = collector_.uids();
  EXPECT_EQ(uids.size(), 1000u);
  for (const auto& [uid, n] : uids) EXPECT_EQ(n, 1) << uid;
  auto seqs = collector_.sequences();
  ASSERT_EQ(seqs.size(), sealed);
  for (size_t i = 0; i < seqs.size(); ++i) EXPECT_EQ(seqs[i], 5001 + i);
}

// Defect: loss reports had no id, so a report resent (after a broken stream
// or a restart) was counted again. Each report has a stable id, distinct
// reports distinct ids, and a report that may have been seen is never
// extended under its id.
TEST_F(CollectorSinkScriptedTest, LossReportsKeepTheirIdAcrossResendsAndRestarts) {
  collector_.refuse = true;
  auto o = Options();
  o.spool_max_bytes = 256 << 10;
  o.queue_max_records = 500;
  Create(o);
  Emit(0, 20000);  // queue-full and overflow losses
  ASSERT_TRUE(sink_->WaitSpooled(20s));
  auto s0 = sink_->Stats();
  ASSERT_GT(s0.loss_reports_pending, 0u);

  // Every stream breaks right after a loss report: each is resent.
  collector_.refuse = false;
  collector_.ack = false;
  collector_.break_after_loss_report = true;
  ASSERT_TRUE(Eventually([&] { return collector_.welcomes().size() >= 3; }));
  // Unreachable again: the sent reports are unconfirmed. More losses now
  // must not join a report the collector may already have counted.
  collector_.refuse = true;
  collector_.break_streams = true;
  ASSERT_TRUE(Eventually([&] { return !sink_->Stats().connected; }));
  collector_.break_streams = false;
  Emit(20000, 40000);
  ASSERT_TRUE(sink_->WaitSpooled(20s));
  collector_.refuse = false;
  ASSERT_TRUE(Eventually([&] { return collector_.welcomes().size() >= 5; }));
  collector_.refuse = true;
  collector_.break_streams = true;
  ASSERT_TRUE(Eventually([&] { return !sink_->Stats().connected; }));
  auto before_restart = sink_->Stats();
  ExpectIdentity(before_restart);
  sink_->Shutdown(0ms);
  sink_.reset();
  const size_t sent_before_restart = collector_.losses().size();

  // After a restart the pending reports are resent under the same ids.
  collector_.refuse = false;
  collector_.break_streams = false;
  collector_.break_after_loss_report = false;
  collector_.ack = true;
  Create(o);
  ASSERT_TRUE(sink_->Flush(20000));
  ASSERT_TRUE(Eventually([&] { return sink_->Stats().loss_reports_pending == 0; }));
  ExpectIdentity(sink_->Stats());

  auto all = collector_.losses();
  ASSERT_GT(all.size(), sent_before_restart);
  std::map<std::string, v1::LossReport> by_id;
  size_t resent = 0;
  for (const auto& r : all) {
    ASSERT_FALSE(r.report_id().empty());
    auto [it, fresh] = by_id.emplace(r.report_id(), r);
    if (fresh) continue;
    ++resent;
    // A resend is the same report: same content under the same id.
    EXPECT_EQ(it->second.reason(), r.reason());
    EXPECT_EQ(it->second.first_sequence(), r.first_sequence());
    EXPECT_EQ(it->second.last_sequence(), r.last_sequence());
    EXPECT_EQ(it->second.records(), r.records()) << "report " << r.report_id() << " changed";
  }
  EXPECT_GT(resent, 0u);
  // Ids resent after the restart are ids from before it.
  std::set<std::string> before_ids;
  for (size_t i = 0; i < sent_before_restart; ++i) before_ids.insert(all[i].report_id());
  bool any_after = false;
  for (size_t i = sent_before_restart; i < all.size(); ++i) {
    if (before_ids.count(all[i].report_id())) any_after = true;
  }
  EXPECT_TRUE(any_after) << "pending reports must be resent after the restart under their ids";
  // Counting each id once accounts for every dropped record, exactly.
  uint64_t reported = 0;
  for (const auto& [id, r] : by_id) reported += r.records();
  auto s = sink_->Stats();
  EXPECT_EQ(reported, before_restart.records_dropped_queue_full +
                          before_restart.records_dropped_spool_overflow +
                          s.records_dropped_spool_overflow);
  auto uids = collector_.uids();
  EXPECT_EQ(uids.size() + reported, 40000u);
}

// Defect: the spool was synced only after a batch was sealed, so the last
// batch before an idle period stayed unsynced until the next batch.
TEST_F(CollectorSinkScriptedTest, AnIdleAgentSyncsItsLastBatchWithinTheInterval) {
  collector_.refuse = true;
  auto o = Options();
  o.batch_max_events = 10;
  o.spool_fsync_interval = 300ms;
  Create(o);
  std::this_thread::sleep_for(350ms);  // the first batch is synced as it is sealed
  Emit(0, 10);
  ASSERT_TRUE(sink_->WaitSpooled(5s));
  Emit(10, 20);  // sealed right after that sync
  ASSERT_TRUE(sink_->WaitSpooled(5s));
  const uint64_t last = sink_->Stats().last_sequence;
  ASSERT_EQ(last, 2u);
  // Idle: nothing else is emitted.
  EXPECT_TRUE(Eventually([&] { return sink_->Stats().last_synced_sequence == last; }, 2s))
      << "synced up to " << sink_->Stats().last_synced_sequence << " of " << last;
  ExpectIdentity(sink_->Stats());
}

/// Parses <spool>/losses as the agent writes it (or as agents before
/// report_id wrote it). False if any byte is not part of an intact entry.
bool ParseLossFile(const std::string& data, std::vector<v1::LossReport>* out) {
  const bool tagged = data.size() >= 4 && data.compare(0, 4, "VLS2") == 0;
  size_t at = tagged ? 4 : 0;
  const size_t head = tagged ? 9 : 8;
  while (at < data.size()) {
    if (data.size() - at < head) return false;
    uint32_t len;
    std::memcpy(&len, data.data() + at + head - 8, 4);
    if (len > data.size() - at - head) return false;
    v1::LossReport r;
    if (!r.ParseFromArray(data.data() + at + head, static_cast<int>(len))) return false;
    if (!tagged || data[at] == 1) out->push_back(std::move(r));
    at += head + len;
  }
  return true;
}

// Defect: both threads wrote <spool>/losses through one temporary file with
// no lock: writes interleaved (a torn file), and an older snapshot could
// replace a newer one and was then never rewritten. Unacknowledged reports
// only accumulate here, so every version of the file must parse whole and
// hold at least as many reports as the one before, while both threads
// persist as fast as they can; a restart must find what the agent held.
TEST_F(CollectorSinkScriptedTest, TheLossFileIsAlwaysWholeAndNeverGoesBackInTime) {
  collector_.ack = false;  // reports are sent, never confirmed
  auto o = Options();
  o.queue_max_records = 3;
  o.batch_max_events = 1;
  o.batch_max_delay = 1ms;
  Create(o);
  const std::string path = spool_.str() + "/losses";
  std::atomic<bool> done{false};
  std::atomic<int> torn{0}, went_back{0}, versions{0};
  std::thread reader([&] {
    size_t most = 0;
    while (!done) {
      std::ifstream in(path, std::ios::binary);
      std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (!in.is_open()) continue;  // not written yet
      std::vector<v1::LossReport> reports;
      if (!ParseLossFile(data, &reports) || (data.empty() && most > 0)) {
        ++torn;
        continue;
      }
      ++versions;
      if (reports.size() < most) ++went_back;
      most = std::max(most, reports.size());
    }
  });
  // The batcher adds a queue-full report with almost every batch (and
  // persists); the sender wakes for each, sends it (and persists).
  auto until = std::chrono::steady_clock::now() + 3s;
  uint64_t i = 0;
  while (std::chrono::steady_clock::now() < until) {
    for (int k = 0; k < 20; ++k) sink_->Emit(MakeEvent(i++));
    std::this_thread::sleep_for(200us);
  }
  ASSERT_TRUE(sink_->WaitSpooled(10s));
  std::this_thread::sleep_for(300ms);  // the last changes persisted
  done = true;
  reader.join();
  EXPECT_GT(versions.load(), 0);
  EXPECT_EQ(torn.load(), 0) << "the loss file was torn by concurrent writers";
  EXPECT_EQ(went_back.load(), 0) << "an older snapshot replaced a newer one";
  ExpectIdentity(sink_->Stats());

  // What a restart finds is what the agent held last.
  collector_.refuse = true;
  collector_.break_streams = true;
  ASSERT_TRUE(Eventually([&] { return !sink_->Stats().connected; }));
  const uint64_t pending = sink_->Stats().loss_reports_pending;
  EXPECT_GT(pending, 1u);
  sink_->Shutdown(0ms);
  sink_.reset();
  Create(o);
  EXPECT_EQ(sink_->Stats().loss_reports_pending, pending);
}

}  // namespace
}  // namespace vigil::agent::exporter
