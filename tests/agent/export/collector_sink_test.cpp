// CollectorSink against a real IngestServer over mutual TLS on 127.0.0.1:
// delivery exactly once, spooling through outages and restarts, overflow
// and queue-full accounting reported to the collector, failover, server
// verification, stalled collectors, heartbeats and Goodbye. Every test
// checks the accounting identity.

#include "agent/export/collector_sink.h"

#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "collector/ingest/ingest_server.h"
#include "tests/agent/export/sink_test_support.h"
#include "tests/collector/ingest/memory_batch_handler.h"
#include "tests/transport/test_pki.h"

namespace vigil::agent::exporter {
namespace {

using collector::ingest::IngestOptions;
using collector::ingest::IngestServer;
using testing::MemoryBatchHandler;
using testing::TempDir;
using testing::TestCert;
using testing::TestPki;
using namespace std::chrono_literals;

using sink_test::Dropped;
using sink_test::ExpectIdentity;
using sink_test::MakeEvent;

class CollectorSinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    collector_cert_ = pki_.Collector();
    agent_cert_ = pki_.Agent("agent-a");
  }
  void TearDown() override {
    sink_.reset();
    StopServer();
  }

  void StartServer(int port = 0) {
    IngestOptions o;
    o.listen = "127.0.0.1:" + std::to_string(port);
    o.tls = {pki_.ca_file(), collector_cert_.cert, collector_cert_.key, ""};
    o.agents = agents_;
    o.log = [](transport::LogLevel, std::string_view) {};
    auto s = IngestServer::Start(o, handler_);
    ASSERT_TRUE(s.has_value()) << s.error();
    server_ = std::move(*s);
    port_ = server_->port();
  }
  void StopServer() {
    if (server_) server_->Shutdown(200ms);
    server_.reset();
  }
  /// A port nobody listens on (bound once, then released).
  int DeadPort() {
    StartServer();
    int p = port_;
    StopServer();
    return p;
  }

  CollectorSinkOptions Options(int port) {
    CollectorSinkOptions o;
    o.addresses = {"127.0.0.1:" + std::to_string(port)};
    o.ca_file = pki_.ca_file();
    o.cert_file = agent_cert_.cert;
    o.key_file = agent_cert_.key;
    o.spool_directory = spool_.str();
    o.batch_max_events = 200;
    o.batch_max_delay = 20ms;
    o.heartbeat_interval = 200ms;
    o.reconnect_initial_backoff = 50ms;
    o.reconnect_max_backoff = 200ms;
    o.connect_timeout = 2000ms;
    o.agent_version = "test";
    o.log = [](transport::LogLevel, std::string_view) {};
    return o;
  }
  void Create(const CollectorSinkOptions& o, CollectorSink::HeartbeatSource hb = nullptr) {
    auto s = CollectorSink::Create(o, std::move(hb));
    ASSERT_TRUE(s.has_value()) << s.error();
    sink_ = std::move(*s);
  }
  void Emit(uint64_t from, uint64_t to) {
    for (uint64_t i = from; i < to; ++i) sink_->Emit(MakeEvent(i));
  }
  /// Every uid the collector stored, with how often it arrived.
  std::map<std::string, int> Received() {
    std::map<std::string, int> out;
    for (const auto& u : handler_.Agent("agent-a").uids) ++out[u];
    return out;
  }
  void ExpectExactlyOnce(uint64_t from, uint64_t to) {
    auto got = Received();
    EXPECT_EQ(got.size(), to - from);
    for (uint64_t i = from; i < to; ++i) {
      auto it = got.find("r" + std::to_string(i));
      ASSERT_NE(it, got.end()) << "record " << i << " missing";
      ASSERT_EQ(it->second, 1) << "record " << i << " duplicated";
    }
  }
  bool Eventually(const std::function<bool()>& pred, std::chrono::milliseconds t = 20s) {
    return handler_.WaitFor(pred, t);
  }

  TestPki pki_;
  TestCert collector_cert_, agent_cert_;
  std::vector<collector::ingest::AgentAssignment> agents_ = {{"agent-a", "Finance", "HQ"}};
  TempDir spool_{"vigil-sink"};
  MemoryBatchHandler handler_;
  std::unique_ptr<IngestServer> server_;
  int port_ = 0;
  std::unique_ptr<CollectorSink> sink_;
};

TEST_F(CollectorSinkTest, DeliversEveryRecordExactlyOnce) {
  StartServer();
  Create(Options(port_));
  Emit(0, 5000);
  ASSERT_TRUE(sink_->Flush(20000));
  ExpectExactlyOnce(0, 5000);
  auto s = sink_->Stats();
  EXPECT_EQ(s.records_emitted, 5000u);
  EXPECT_EQ(s.records_acked, 5000u);
  EXPECT_EQ(s.records_pending, 0u);
  EXPECT_EQ(Dropped(s), 0u);
  EXPECT_TRUE(s.connected);
  EXPECT_EQ(s.batches_acked, s.batches_sealed);
  EXPECT_EQ(s.last_acked_sequence, s.last_sequence);
  EXPECT_GT(s.cert_not_after_ns, 0);
  ExpectIdentity(s);
  // Batches arrived in sequence order, each once.
  auto seqs = handler_.Agent("agent-a").sequences;
  EXPECT_TRUE(std::is_sorted(seqs.begin(), seqs.end()));
  EXPECT_EQ(std::set<uint64_t>(seqs.begin(), seqs.end()).size(), seqs.size());
}

TEST_F(CollectorSinkTest, SpoolsWhileTheCollectorIsDownThenDrainsInOrder) {
  int port = DeadPort();
  Create(Options(port));
  Emit(0, 3000);
  ASSERT_TRUE(sink_->WaitSpooled(10s));
  auto s = sink_->Stats();
  EXPECT_FALSE(s.connected);
  EXPECT_GT(s.spool_batches, 0u);
  EXPECT_EQ(s.records_pending, 3000u);
  ExpectIdentity(s);
  ASSERT_TRUE(Eventually([&] { return sink_->Stats().connect_failures >= 1; }));
  StartServer(port);
  ASSERT_TRUE(sink_->Flush(20000));
  ExpectExactlyOnce(0, 3000);
  auto seqs = handler_.Agent("agent-a").sequences;
  EXPECT_TRUE(std::is_sorted(seqs.begin(), seqs.end()));
  ExpectIdentity(sink_->Stats());
}

TEST_F(CollectorSinkTest, ARestartedAgentResendsWhatItsSpoolHolds) {
  int port = DeadPort();
  {
    Create(Options(port));
    Emit(0, 1500);
    ASSERT_TRUE(sink_->WaitSpooled(10s));
    sink_->Shutdown(0ms);
    sink_.reset();
  }
  StartServer(port);
  Create(Options(port));
  EXPECT_EQ(sink_->Stats().records_recovered, 1500u);
  Emit(1500, 2000);
  ASSERT_TRUE(sink_->Flush(20000));
  ExpectExactlyOnce(0, 2000);
  auto s = sink_->Stats();
  EXPECT_EQ(s.records_acked, 2000u);
  ExpectIdentity(s);
}

TEST_F(CollectorSinkTest, SequencesKeepIncreasingAcrossRestarts) {
  StartServer();
  Create(Options(port_));
  Emit(0, 500);
  ASSERT_TRUE(sink_->Flush(20000));
  uint64_t last = sink_->Stats().last_sequence;
  sink_->Shutdown(2s);
  sink_.reset();
  Create(Options(port_));
  Emit(500, 1000);
  ASSERT_TRUE(sink_->Flush(20000));
  auto seqs = handler_.Agent("agent-a").sequences;
  EXPECT_TRUE(std::is_sorted(seqs.begin(), seqs.end()));
  EXPECT_GT(seqs.back(), last);
  EXPECT_EQ(server_->Stats().batches_duplicate, 0u);
  ExpectExactlyOnce(0, 1000);
}

TEST_F(CollectorSinkTest, SpoolOverflowIsCountedAndReportedToTheCollector) {
  int port = DeadPort();
  auto o = Options(port);
  o.spool_max_bytes = 256 << 10;
  Create(o);
  Emit(0, 20000);
  ASSERT_TRUE(sink_->WaitSpooled(20s));
  auto s = sink_->Stats();
  EXPECT_GT(s.records_dropped_spool_overflow, 0u);
  EXPECT_LE(s.spool_bytes, 256u << 10);
  ExpectIdentity(s);
  StartServer(port);
  ASSERT_TRUE(sink_->Flush(20000));
  s = sink_->Stats();
  ExpectIdentity(s);
  EXPECT_EQ(handler_.Agent("agent-a").records + s.records_dropped_spool_overflow, 20000u);
  // The collector learned exactly what was lost, as sequence ranges.
  ASSERT_TRUE(Eventually([&] {
    uint64_t reported = 0;
    for (const auto& r : handler_.Agent("agent-a").loss_reports) reported += r.records();
    return reported == sink_->Stats().records_dropped_spool_overflow;
  }));
  for (const auto& r : handler_.Agent("agent-a").loss_reports) {
    EXPECT_EQ(r.reason(), v1::LOSS_REASON_SPOOL_OVERFLOW);
    EXPECT_GE(r.last_sequence(), r.first_sequence());
  }
  // What survived is the newest data (drop_oldest), each record once.
  auto got = Received();
  for (const auto& [uid, n] : got) EXPECT_EQ(n, 1) << uid;
  EXPECT_TRUE(got.count("r19999"));
}

TEST_F(CollectorSinkTest, LossReportsSurviveAnAgentRestart) {
  int port = DeadPort();
  auto o = Options(port);
  o.spool_max_bytes = 256 << 10;
  uint64_t dropped = 0;
  {
    Create(o);
    Emit(0, 20000);
    ASSERT_TRUE(sink_->WaitSpooled(20s));
    dropped = sink_->Stats().records_dropped_spool_overflow;
    EXPECT_GT(dropped, 0u);
    EXPECT_GT(sink_->Stats().loss_reports_pending, 0u);
    sink_->Shutdown(0ms);
    sink_.reset();
  }
  StartServer(port);
  Create(o);
  ASSERT_TRUE(sink_->Flush(20000));
  ASSERT_TRUE(Eventually([&] {
    uint64_t reported = 0;
    for (const auto& r : handler_.Agent("agent-a").loss_reports) reported += r.records();
    return reported == dropped;
  })) << "the collector must learn of losses that happened before the restart";
  ASSERT_TRUE(Eventually([&] { return sink_->Stats().loss_reports_pending == 0; }));
  EXPECT_EQ(handler_.Agent("agent-a").records + dropped, 20000u);
}

TEST_F(CollectorSinkTest, AFullQueueDropsCountsAndReports) {
  StartServer();
  auto o = Options(port_);
  o.queue_max_records = 100;
  o.batch_max_events = 1000;
  o.batch_max_delay = 5s;  // nothing is sealed while we emit
  Create(o);
  Emit(0, 150);
  auto s = sink_->Stats();
  EXPECT_EQ(s.records_dropped_queue_full, 50u);
  ExpectIdentity(s);
  ASSERT_TRUE(sink_->Flush(20000));
  ExpectExactlyOnce(0, 100);
  ASSERT_TRUE(Eventually([&] { return !handler_.Agent("agent-a").loss_reports.empty(); }));
  auto r = handler_.Agent("agent-a").loss_reports.front();
  EXPECT_EQ(r.reason(), v1::LOSS_REASON_QUEUE_FULL);
  EXPECT_EQ(r.records(), 50u);
  EXPECT_TRUE(r.has_window_start());
}

TEST_F(CollectorSinkTest, FailsOverToTheNextAddress) {
  int dead = DeadPort();
  StartServer();
  auto o = Options(port_);
  o.addresses = {"127.0.0.1:" + std::to_string(dead), "127.0.0.1:" + std::to_string(port_)};
  Create(o);
  Emit(0, 300);
  ASSERT_TRUE(sink_->Flush(20000));
  ExpectExactlyOnce(0, 300);
  EXPECT_GE(sink_->Stats().connect_failures, 1u);
}

TEST_F(CollectorSinkTest, RefusesACollectorWhoseCertificateNameDoesNotMatch) {
  StartServer();
  auto o = Options(port_);
  o.server_name = "collector.wrong.example";
  Create(o);
  Emit(0, 10);
  ASSERT_TRUE(Eventually([&] { return sink_->Stats().connect_failures >= 2; }));
  EXPECT_FALSE(sink_->Stats().connected);
  EXPECT_EQ(server_->Stats().streams_accepted, 0u);
  EXPECT_EQ(handler_.TotalRecords(), 0u);
}

TEST_F(CollectorSinkTest, RefusesACollectorFromAnotherCa) {
  TestPki rogue("Rogue CA");
  TestCert rogue_cert = rogue.Collector();
  collector_cert_ = rogue_cert;
  // The rogue collector trusts our agents' CA, so only the agent's check
  // can stop the connection.
  IngestOptions io;
  io.listen = "127.0.0.1:0";
  io.tls = {pki_.ca_file(), rogue_cert.cert, rogue_cert.key, ""};
  io.agents = agents_;
  io.log = [](transport::LogLevel, std::string_view) {};
  auto srv = IngestServer::Start(io, handler_);
  ASSERT_TRUE(srv.has_value()) << srv.error();
  server_ = std::move(*srv);
  Create(Options(server_->port()));
  Emit(0, 10);
  ASSERT_TRUE(Eventually([&] { return sink_->Stats().connect_failures >= 2; }));
  EXPECT_EQ(server_->Stats().streams_accepted, 0u);
  EXPECT_EQ(handler_.TotalRecords(), 0u);
}

TEST_F(CollectorSinkTest, ARejectedAgentCountsTheRejectionAndKeepsItsData) {
  agents_ = {{"someone-else", "X", ""}};
  StartServer();
  Create(Options(port_));
  Emit(0, 100);
  ASSERT_TRUE(Eventually([&] { return sink_->Stats().auth_rejections >= 1; }));
  ASSERT_TRUE(sink_->WaitSpooled(5s));
  auto s = sink_->Stats();
  EXPECT_EQ(s.records_pending, 100u);
  EXPECT_EQ(s.records_acked, 0u);
  ExpectIdentity(s);
  // Listing the agent lets it through; nothing was lost meanwhile.
  server_->UpdateAgents({{"agent-a", "Finance", "HQ"}}, false);
  ASSERT_TRUE(sink_->Flush(20000));
  ExpectExactlyOnce(0, 100);
}

TEST_F(CollectorSinkTest, AStalledCollectorIsDetectedAndNothingIsLostOrDuplicated) {
  StartServer();
  auto o = Options(port_);
  o.ack_timeout = 500ms;
  Create(o);
  handler_.Pause();
  Emit(0, 2000);
  ASSERT_TRUE(Eventually([&] { return sink_->Stats().ack_timeouts >= 1; }));
  ExpectIdentity(sink_->Stats());
  handler_.Resume();
  ASSERT_TRUE(sink_->Flush(20000));
  ExpectExactlyOnce(0, 2000);
  ExpectIdentity(sink_->Stats());
}

TEST_F(CollectorSinkTest, HeartbeatsCarryCaptureAndSpoolStatusToTheFleetView) {
  StartServer();
  Create(Options(port_), [](v1::Heartbeat& hb) {
    auto* c = hb.add_capture();
    c->set_interface("eth0");
    c->set_packets_received(12345);
    c->set_kernel_drops(3);
  });
  Emit(0, 10);
  ASSERT_TRUE(sink_->Flush(20000));
  ASSERT_TRUE(Eventually([&] {
    for (const auto& a : server_->Fleet()) {
      if (a.info.agent_id == "agent-a" && !a.capture.empty() && a.records_produced == 10) {
        return a.capture[0].packets_received == 12345 && a.capture[0].kernel_drops == 3 &&
               a.spool_bytes_capacity == (1ull << 30);
      }
    }
    return false;
  }));
}

TEST_F(CollectorSinkTest, ShutdownSaysGoodbyeAndTheAgentIsNotReportedSilent) {
  StartServer();
  Create(Options(port_));
  Emit(0, 50);
  ASSERT_TRUE(sink_->Flush(20000));
  sink_->Shutdown(5s);
  ASSERT_TRUE(Eventually([&] {
    for (const auto& a : server_->Fleet()) {
      if (a.info.agent_id == "agent-a") return a.stopped_gracefully && !a.connected;
    }
    return false;
  }));
  EXPECT_EQ(handler_.CountEvents(collector::ingest::AgentEvent::Kind::kGoodbye), 1u);
  auto s = sink_->Stats();
  EXPECT_EQ(s.records_acked, 50u);
  ExpectIdentity(s);
  // Records after Shutdown are counted, not silently lost.
  sink_->Emit(MakeEvent(99));
  EXPECT_EQ(sink_->Stats().records_dropped_shutdown, 1u);
  ExpectIdentity(sink_->Stats());
}

TEST_F(CollectorSinkTest, CreateReportsBadTlsFilesAndMissingSpool) {
  auto o = Options(1);
  o.cert_file = "/nonexistent/agent.crt";
  auto s = CollectorSink::Create(o, nullptr);
  ASSERT_FALSE(s.has_value());
  EXPECT_NE(s.error().find("/nonexistent/agent.crt"), std::string::npos);
  auto o2 = Options(1);
  o2.spool_directory = "";
  EXPECT_FALSE(CollectorSink::Create(o2, nullptr).has_value());
}

}  // namespace
}  // namespace vigil::agent::exporter
