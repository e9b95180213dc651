// IngestServer over real gRPC with mutual TLS on 127.0.0.1: handshake,
// identity, rejection reasons, acknowledgements, duplicates, replacement,
// backpressure, fleet view. The agent side is a raw generated stub so each
// protocol step is under the test's control.

#include "collector/ingest/ingest_server.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "tests/collector/ingest/memory_batch_handler.h"
#include "tests/transport/test_pki.h"
#include "transport/channel.h"
#include "transport/credentials.h"
#include "vigil/v1/ingest.grpc.pb.h"

namespace vigil::collector::ingest {
namespace {

using testing::MemoryBatchHandler;
using testing::TestCert;
using testing::TestPki;
using Kind = AgentEvent::Kind;
using namespace std::chrono_literals;

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
void SetTs(google::protobuf::Timestamp* t, int64_t ns) {
  t->set_seconds(ns / 1000000000);
  t->set_nanos(static_cast<int32_t>(ns % 1000000000));
}

/// A hand-driven agent: one stream, explicit messages.
class RawAgent {
 public:
  RawAgent(int port, std::shared_ptr<grpc::ChannelCredentials> creds) {
    transport::ChannelSettings s;
    channel_ = transport::MakeChannel("127.0.0.1:" + std::to_string(port), std::move(creds), s);
    stub_ = v1::IngestService::NewStub(channel_);
    stream_ = stub_->Ingest(&ctx_);
  }
  /// Raw files, no validation: the tests present certificates that the
  /// agent's own loader would refuse (another CA, expired, ...).
  static std::shared_ptr<grpc::ChannelCredentials> Creds(const TestPki& pki, const TestCert& c) {
    grpc::SslCredentialsOptions o;
    o.pem_root_certs = transport::ReadSmallFile(pki.ca_file()).value_or("");
    o.pem_cert_chain = transport::ReadSmallFile(c.cert).value_or("");
    o.pem_private_key = transport::ReadSmallFile(c.key).value_or("");
    return grpc::SslCredentials(o);
  }
  bool Hello(uint64_t instance = 1, int64_t sent_ns = 0, const std::string& hostname = "h") {
    v1::AgentMessage m;
    m.mutable_hello()->set_agent_version("test");
    m.mutable_hello()->set_instance_id(instance);
    m.mutable_hello()->set_hostname(hostname);
    SetTs(m.mutable_hello()->mutable_sent_at(), sent_ns ? sent_ns : NowNs());
    return stream_->Write(m);
  }
  std::optional<v1::Welcome> ReadWelcome() {
    v1::CollectorMessage m;
    if (!stream_->Read(&m) || !m.has_welcome()) return std::nullopt;
    return m.welcome();
  }
  bool Batch(uint64_t seq, int records, const std::string& prefix = "r") {
    v1::AgentMessage m;
    auto* b = m.mutable_batch();
    b->set_sequence(seq);
    SetTs(b->mutable_created_at(), NowNs());
    for (int i = 0; i < records; ++i) {
      b->add_events()->set_uid(prefix + std::to_string(seq) + "." + std::to_string(i));
    }
    return stream_->Write(m);
  }
  bool Heartbeat(int64_t sent_ns = 0) {
    v1::AgentMessage m;
    auto* hb = m.mutable_heartbeat();
    SetTs(hb->mutable_sent_at(), sent_ns ? sent_ns : NowNs());
    hb->mutable_spool()->set_bytes_used(1234);
    hb->mutable_spool()->set_bytes_capacity(1 << 20);
    auto* c = hb->add_capture();
    c->set_interface("eth0");
    c->set_kernel_drops(7);
    return stream_->Write(m);
  }
  bool Write(const v1::AgentMessage& m) { return stream_->Write(m); }
  bool Goodbye() {
    v1::AgentMessage m;
    m.mutable_goodbye()->set_reason("test done");
    return stream_->Write(m);
  }
  /// Reads acks until `seq` is acknowledged; false if the stream ends first.
  bool WaitAck(uint64_t seq) {
    v1::CollectorMessage m;
    while (stream_->Read(&m)) {
      if (m.has_ack() && m.ack().sequence() >= seq) return true;
    }
    return false;
  }
  grpc::Status Finish() {
    stream_->WritesDone();
    v1::CollectorMessage m;
    while (stream_->Read(&m)) {
    }
    return stream_->Finish();
  }
  /// Reads until the server ends the stream, returns its status.
  grpc::Status Drain() {
    v1::CollectorMessage m;
    while (stream_->Read(&m)) {
    }
    return stream_->Finish();
  }
  grpc::ClientContext& ctx() { return ctx_; }

 private:
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::IngestService::Stub> stub_;
  grpc::ClientContext ctx_;
  std::unique_ptr<grpc::ClientReaderWriter<v1::AgentMessage, v1::CollectorMessage>> stream_;
};

class IngestServerTest : public ::testing::Test {
 protected:
  void SetUp() override { collector_ = pki_.Collector(); }

  void Start(IngestOptions o = {}) {
    o.listen = "127.0.0.1:0";
    o.tls = {pki_.ca_file(), collector_.cert, collector_.key, pki_.crl_file()};
    if (o.agents.empty()) {
      o.agents = {{"agent-a", "Department of Finance", "HQ"}, {"agent-b", "District 3", "D3"}};
    }
    o.log = [this](transport::LogLevel, std::string_view m) {
      if (std::getenv("VIGIL_TEST_VERBOSE"))
        std::fprintf(stderr, "log: %.*s\n", static_cast<int>(m.size()), m.data());
      std::lock_guard lock(log_mu_);
      log_.emplace_back(m);
    };
    auto s = IngestServer::Start(std::move(o), handler_);
    ASSERT_TRUE(s.has_value()) << s.error();
    server_ = std::move(*s);
  }
  bool Logged(const std::string& needle) {
    std::lock_guard lock(log_mu_);
    for (const auto& l : log_) {
      if (l.find(needle) != std::string::npos) return true;
    }
    return false;
  }
  RawAgent Connect(const TestCert& c) {
    return RawAgent(server_->port(), RawAgent::Creds(pki_, c));
  }
  uint64_t Rejected(StreamRejection r) {
    return server_->Stats().streams_rejected[static_cast<size_t>(r)];
  }
  std::optional<AgentStatus> FleetEntry(const std::string& id) {
    for (auto& a : server_->Fleet()) {
      if (a.info.agent_id == id) return a;
    }
    return std::nullopt;
  }

  // Declaration order matters: the server logs and completes batches while
  // it shuts down, so it goes first.
  std::mutex log_mu_;
  std::vector<std::string> log_;
  TestPki pki_;
  TestCert collector_;
  MemoryBatchHandler handler_;
  std::unique_ptr<IngestServer> server_;
};

TEST_F(IngestServerTest, WelcomeCarriesVerifiedIdentityAgencyAndHighWaterMark) {
  Start();
  handler_.SetHighWaterMark("agent-a", 41);
  RawAgent agent = Connect(pki_.Agent("agent-a"));
  // The hostname claim is ignored: identity comes from the certificate.
  ASSERT_TRUE(agent.Hello(1, 0, "agent-b"));
  auto w = agent.ReadWelcome();
  ASSERT_TRUE(w.has_value()) << agent.Drain().error_message();
  EXPECT_EQ(w->agent_id(), "agent-a");
  EXPECT_EQ(w->agency(), "Department of Finance");
  EXPECT_EQ(w->last_sequence(), 41u);
  EXPECT_GT(w->server_time().seconds(), 0);
}

TEST_F(IngestServerTest, AcknowledgesCumulativelyAfterDurableAndDeliversRecords) {
  Start();
  RawAgent agent = Connect(pki_.Agent("agent-a"));
  ASSERT_TRUE(agent.Hello());
  ASSERT_TRUE(agent.ReadWelcome());
  for (uint64_t s = 1; s <= 5; ++s) ASSERT_TRUE(agent.Batch(s, 10));
  ASSERT_TRUE(agent.WaitAck(5));
  auto data = handler_.Agent("agent-a");
  EXPECT_EQ(data.sequences, (std::vector<uint64_t>{1, 2, 3, 4, 5}));
  EXPECT_EQ(data.records, 50u);
  auto st = server_->Stats();
  EXPECT_EQ(st.batches_received, 5u);
  EXPECT_EQ(st.batches_acked, 5u);
  EXPECT_EQ(st.records_acked, 50u);
  EXPECT_EQ(st.batches_duplicate, 0u);
  EXPECT_TRUE(agent.Finish().ok());
}

TEST_F(IngestServerTest, ManyBatchesInFlightAreNeverMistakenForDuplicates) {
  // Completions arrive on the handler's thread while the stream reads the
  // next batch: a read started too early once let batch N+1 pass the
  // duplicate filter before batch N, and N was dropped as "seen".
  Start();
  RawAgent agent = Connect(pki_.Agent("agent-a"));
  ASSERT_TRUE(agent.Hello());
  ASSERT_TRUE(agent.ReadWelcome());
  const uint64_t n = 3000;
  std::thread writer([&] {
    for (uint64_t s = 1; s <= n; ++s) agent.Batch(s, 1);
  });
  ASSERT_TRUE(agent.WaitAck(n));
  writer.join();
  auto st = server_->Stats();
  EXPECT_EQ(st.batches_duplicate, 0u);
  EXPECT_EQ(st.batches_acked, n);
  EXPECT_EQ(handler_.Agent("agent-a").sequences.size(), n);
}

TEST_F(IngestServerTest, NoAckBeforeTheHandlerMadeTheBatchDurable) {
  Start();
  handler_.Pause();
  RawAgent agent = Connect(pki_.Agent("agent-a"));
  ASSERT_TRUE(agent.Hello());
  ASSERT_TRUE(agent.ReadWelcome());
  ASSERT_TRUE(agent.Batch(1, 3));
  ASSERT_TRUE(handler_.WaitFor([&] { return server_->Stats().batches_submitted == 1; }));
  EXPECT_EQ(server_->Stats().batches_acked, 0u);
  EXPECT_EQ(server_->Stats().batches_inflight, 1u);
  handler_.Resume();
  ASSERT_TRUE(agent.WaitAck(1));
  EXPECT_EQ(server_->Stats().batches_inflight, 0u);
}

TEST_F(IngestServerTest, DuplicatesAreDroppedCountedAndAcknowledgedAgain) {
  Start();
  handler_.SetHighWaterMark("agent-a", 3);
  RawAgent agent = Connect(pki_.Agent("agent-a"));
  ASSERT_TRUE(agent.Hello());
  ASSERT_EQ(agent.ReadWelcome()->last_sequence(), 3u);
  ASSERT_TRUE(agent.Batch(2, 4));  // at or below the high-water mark
  ASSERT_TRUE(agent.WaitAck(3));   // acknowledged again
  ASSERT_TRUE(agent.Batch(4, 4));
  ASSERT_TRUE(agent.Batch(4, 4));  // resent within the stream
  ASSERT_TRUE(agent.WaitAck(4));
  ASSERT_TRUE(handler_.WaitFor([&] { return server_->Stats().batches_duplicate == 2; }));
  auto st = server_->Stats();
  EXPECT_EQ(st.batches_duplicate, 2u);
  EXPECT_EQ(st.records_duplicate, 8u);
  EXPECT_EQ(handler_.Agent("agent-a").sequences, (std::vector<uint64_t>{4}));
  EXPECT_EQ(st.batches_received,
            st.batches_submitted + st.batches_duplicate + st.batches_malformed);
}

TEST_F(IngestServerTest, SequenceZeroIsMalformedAndGapsAreCounted) {
  Start();
  RawAgent agent = Connect(pki_.Agent("agent-a"));
  ASSERT_TRUE(agent.Hello());
  ASSERT_TRUE(agent.ReadWelcome());
  ASSERT_TRUE(agent.Batch(0, 2));
  ASSERT_TRUE(agent.Batch(1, 1));
  ASSERT_TRUE(agent.Batch(5, 1));  // 2..4 missing
  ASSERT_TRUE(agent.WaitAck(5));
  auto st = server_->Stats();
  EXPECT_EQ(st.batches_malformed, 1u);
  EXPECT_EQ(st.records_malformed, 2u);
  EXPECT_EQ(st.sequence_gaps, 3u);
}

TEST_F(IngestServerTest, HandlerFailureEndsTheStreamWithoutAck) {
  Start();
  handler_.FailNext(1);
  RawAgent agent = Connect(pki_.Agent("agent-a"));
  ASSERT_TRUE(agent.Hello());
  ASSERT_TRUE(agent.ReadWelcome());
  ASSERT_TRUE(agent.Batch(1, 1));
  EXPECT_FALSE(agent.WaitAck(1));
  grpc::Status st = agent.Drain();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(server_->Stats().batches_failed, 1u);
  EXPECT_EQ(server_->Stats().batches_acked, 0u);
  EXPECT_EQ(handler_.Agent("agent-a").high_water_mark, 0u);
}

TEST_F(IngestServerTest, UnknownIdentityIsRejectedUnlessUnlistedAgentsAreAllowed) {
  Start();
  RawAgent stranger = Connect(pki_.Agent("agent-zz"));
  stranger.Hello();
  grpc::Status st = stranger.Drain();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_NE(st.error_message().find("unknown_identity"), std::string::npos);
  EXPECT_EQ(Rejected(StreamRejection::kUnknownIdentity), 1u);
  EXPECT_TRUE(Logged("reason=unknown_identity cn=agent-zz"));

  server_->UpdateAgents({}, /*allow_unlisted=*/true);
  RawAgent allowed = Connect(pki_.Agent("agent-zz"));
  ASSERT_TRUE(allowed.Hello());
  auto w = allowed.ReadWelcome();
  ASSERT_TRUE(w.has_value());
  EXPECT_EQ(w->agency(), "unassigned");
}

struct RejectionCase {
  const char* name;
  StreamRejection reason;
};

TEST_F(IngestServerTest, EveryCertificateRejectionHasItsOwnReasonCounterAndLog) {
  auto now = std::chrono::system_clock::now();
  TestPki other_ca("Another CA");
  TestCert expired = pki_.Agent("agent-a", now - 48h, now - 24h);
  TestCert future = pki_.Agent("agent-a", now + 24h, now + 48h);
  TestCert revoked = pki_.Agent("agent-b");
  pki_.Revoke("agent-b");
  TestCert foreign = other_ca.Agent("agent-a");
  TestCert server_cert = pki_.Collector("agent-a");  // serverAuth only
  Start();

  struct Case {
    std::shared_ptr<grpc::ChannelCredentials> creds;
    StreamRejection reason;
  };
  grpc::SslCredentialsOptions no_cert;
  auto ca_pem = transport::ReadSmallFile(pki_.ca_file());
  no_cert.pem_root_certs = *ca_pem;
  std::vector<Case> cases = {
      {grpc::SslCredentials(no_cert), StreamRejection::kNoClientCertificate},
      {RawAgent::Creds(pki_, foreign), StreamRejection::kUnknownCa},
      {RawAgent::Creds(pki_, expired), StreamRejection::kExpired},
      {RawAgent::Creds(pki_, future), StreamRejection::kNotYetValid},
      {RawAgent::Creds(pki_, revoked), StreamRejection::kRevoked},
      {RawAgent::Creds(pki_, server_cert), StreamRejection::kWrongPurpose},
  };
  for (auto& c : cases) {
    SCOPED_TRACE(StreamRejectionName(c.reason));
    RawAgent agent(server_->port(), c.creds);
    agent.Hello();
    grpc::Status st = agent.Drain();
    EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_NE(st.error_message().find(StreamRejectionName(c.reason)), std::string::npos)
        << st.error_message();
    EXPECT_EQ(Rejected(c.reason), 1u);
    EXPECT_TRUE(Logged(std::string("reason=") + StreamRejectionName(c.reason)));
  }
  EXPECT_EQ(server_->Stats().streams_accepted, 0u);
  EXPECT_EQ(handler_.CountEvents(Kind::kRejected), cases.size());
  EXPECT_EQ(handler_.TotalRecords(), 0u);
}

TEST_F(IngestServerTest, RevocationTakesEffectOnTheNextStreamWithoutRestart) {
  Start();
  TestCert cert = pki_.Agent("agent-a");
  {
    RawAgent agent = Connect(cert);
    ASSERT_TRUE(agent.Hello());
    ASSERT_TRUE(agent.ReadWelcome());
    agent.Finish();
  }
  pki_.Revoke("agent-a");
  // The verifier re-reads the CRL when it changes (checked once a second).
  ASSERT_TRUE(handler_.WaitFor(
      [&] {
        RawAgent agent = Connect(cert);
        agent.Hello();
        if (agent.ReadWelcome()) {
          agent.Finish();  // still accepted: the CRL was not re-read yet
          return false;
        }
        return agent.Drain().error_code() == grpc::StatusCode::UNAUTHENTICATED;
      },
      10s));
  EXPECT_GE(Rejected(StreamRejection::kRevoked), 1u);
}

TEST_F(IngestServerTest, ASecondStreamOfTheSameIdentityReplacesTheFirst) {
  Start();
  TestCert cert = pki_.Agent("agent-a");
  RawAgent first = Connect(cert);
  ASSERT_TRUE(first.Hello(1));
  ASSERT_TRUE(first.ReadWelcome());
  ASSERT_TRUE(first.Batch(1, 2));
  ASSERT_TRUE(first.WaitAck(1));

  RawAgent second = Connect(cert);
  ASSERT_TRUE(second.Hello(2));
  auto w = second.ReadWelcome();
  ASSERT_TRUE(w.has_value());
  EXPECT_EQ(w->last_sequence(), 1u);
  grpc::Status st = first.Drain();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::ABORTED);
  EXPECT_EQ(server_->Stats().streams_replaced, 1u);
  EXPECT_TRUE(Logged("opened a new stream"));
  ASSERT_TRUE(second.Batch(2, 2));
  ASSERT_TRUE(second.WaitAck(2));
  auto entry = FleetEntry("agent-a");
  ASSERT_TRUE(entry.has_value());
  EXPECT_TRUE(entry->connected);
  EXPECT_EQ(entry->restarts, 1u);  // instance 1 -> 2
  // Raised when the old stream's reactor is done, which can be just after
  // its client has seen the status.
  EXPECT_TRUE(handler_.WaitFor([&] { return handler_.CountEvents(Kind::kReplaced) >= 1; }));
  EXPECT_EQ(handler_.CountEvents(Kind::kReplaced), 1u);
}

TEST_F(IngestServerTest, ReplacementWaitsForTheOldStreamsBatchesBeforeWelcome) {
  Start();
  TestCert cert = pki_.Agent("agent-a");
  handler_.Pause();
  RawAgent first = Connect(cert);
  ASSERT_TRUE(first.Hello());
  ASSERT_TRUE(first.ReadWelcome());
  ASSERT_TRUE(first.Batch(1, 1));
  ASSERT_TRUE(handler_.WaitFor([&] { return server_->Stats().batches_inflight == 1; }));
  RawAgent second = Connect(cert);
  ASSERT_TRUE(second.Hello());
  // Batch 1 is still in the pipeline: the Welcome must wait for it, or it
  // would tell the agent 0 and batch 1 would be stored twice.
  std::thread resume([&] {
    std::this_thread::sleep_for(200ms);
    handler_.Resume();
  });
  auto w = second.ReadWelcome();
  resume.join();
  ASSERT_TRUE(w.has_value());
  EXPECT_EQ(w->last_sequence(), 1u);
}

TEST_F(IngestServerTest, BatchReadWhileTheStreamIsReplacedIsNotHandledBehindTheNewWelcome) {
  // The old stream has read batch 2 but not handled it yet when the agent's
  // new stream arrives. The new Welcome reads the high-water mark (1) at
  // once: nothing is in flight. If the old stream then submitted batch 2,
  // it would become durable behind the Welcome's back and the agent would
  // send it again on the new stream: the handler would get it twice (the
  // rule engine would count its events twice).
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  std::atomic<bool> reached{false};
  IngestOptions o;
  o.test_before_batch = [&](const std::string&, uint64_t seq) {
    if (seq != 2 || reached.exchange(true)) return;  // only the old stream's batch 2
    std::unique_lock lock(mu);
    cv.wait_for(lock, 10s, [&] { return release; });
  };
  Start(o);
  TestCert cert = pki_.Agent("agent-a");
  RawAgent first = Connect(cert);
  ASSERT_TRUE(first.Hello(1));
  ASSERT_TRUE(first.ReadWelcome());
  ASSERT_TRUE(first.Batch(1, 1));
  ASSERT_TRUE(first.WaitAck(1));
  ASSERT_TRUE(first.Batch(2, 1));
  ASSERT_TRUE(handler_.WaitFor([&] { return reached.load(); }));

  RawAgent second = Connect(cert);
  ASSERT_TRUE(second.Hello(1));
  auto w = second.ReadWelcome();
  {
    std::lock_guard lock(mu);
    release = true;
  }
  cv.notify_all();
  ASSERT_TRUE(w.has_value());
  EXPECT_EQ(w->last_sequence(), 1u);
  EXPECT_EQ(first.Drain().error_code(), grpc::StatusCode::ABORTED);
  // The old stream is done (its handling of batch 2 has returned).
  ASSERT_TRUE(handler_.WaitFor([&] { return server_->Stats().streams_ended >= 1; }));

  // The agent resends batch 2 after the Welcome, as it must.
  ASSERT_TRUE(second.Batch(2, 1));
  ASSERT_TRUE(second.WaitAck(2));
  EXPECT_EQ(handler_.Agent("agent-a").sequences, (std::vector<uint64_t>{1, 2}));
  auto st = server_->Stats();
  EXPECT_EQ(st.batches_discarded, 1u);
  EXPECT_EQ(st.records_discarded, 1u);
  EXPECT_EQ(st.batches_received, st.batches_submitted + st.batches_duplicate +
                                     st.batches_malformed + st.batches_discarded);
}

TEST_F(IngestServerTest, FullPipelineStopsReadingAndCountsTheStall) {
  IngestOptions o;
  o.max_inflight_records = 10;
  Start(o);
  handler_.Pause();
  RawAgent agent = Connect(pki_.Agent("agent-a"));
  ASSERT_TRUE(agent.Hello());
  ASSERT_TRUE(agent.ReadWelcome());
  std::thread writer([&] {
    for (uint64_t s = 1; s <= 20; ++s) agent.Batch(s, 10);
  });
  ASSERT_TRUE(handler_.WaitFor([&] { return server_->Stats().backpressure_stalls >= 1; }));
  // One batch fills the queue; the stream reads nothing more meanwhile.
  EXPECT_EQ(server_->Stats().batches_received, 1u);
  handler_.Resume();
  writer.join();
  ASSERT_TRUE(agent.WaitAck(20));
  auto st = server_->Stats();
  EXPECT_EQ(st.batches_acked, 20u);
  EXPECT_GT(st.backpressure_stall_ns, 0u);
  EXPECT_EQ(st.records_inflight, 0u);
}

TEST_F(IngestServerTest, FleetViewShowsHeartbeatCountersClockOffsetAndLag) {
  Start();
  RawAgent agent = Connect(pki_.Agent("agent-a"));
  const int64_t skew = 90LL * 1000000000;  // agent clock 90 s ahead
  ASSERT_TRUE(agent.Hello(7, NowNs() + skew));
  ASSERT_TRUE(agent.ReadWelcome());
  ASSERT_TRUE(agent.Heartbeat(NowNs() + skew));
  ASSERT_TRUE(agent.Batch(1, 1));
  ASSERT_TRUE(agent.WaitAck(1));
  auto a = FleetEntry("agent-a");
  ASSERT_TRUE(a.has_value());
  EXPECT_TRUE(a->connected);
  EXPECT_FALSE(a->silent);
  EXPECT_EQ(a->info.agency, "Department of Finance");
  EXPECT_EQ(a->instance_id, 7u);
  EXPECT_EQ(a->spool_bytes_used, 1234u);
  ASSERT_EQ(a->capture.size(), 1u);
  EXPECT_EQ(a->capture[0].kernel_drops, 7u);
  ASSERT_TRUE(a->clock_offset_ns.has_value());
  // A lower bound within the loopback transit time of the true offset.
  EXPECT_LE(*a->clock_offset_ns, skew);
  EXPECT_GT(*a->clock_offset_ns, skew - 1000000000);
  EXPECT_GT(a->cert_not_after_ns, NowNs());
  EXPECT_EQ(a->acked_sequence, 1u);
  EXPECT_EQ(a->records_received, 1u);
}

TEST_F(IngestServerTest, SilentAgentIsMarkedSilentAndGoodbyeIsNot) {
  IngestOptions o;
  o.heartbeat_silence_after = 300ms;
  Start(o);
  RawAgent quiet = Connect(pki_.Agent("agent-a"));
  ASSERT_TRUE(quiet.Hello());
  ASSERT_TRUE(quiet.ReadWelcome());
  RawAgent polite = Connect(pki_.Agent("agent-b"));
  ASSERT_TRUE(polite.Hello());
  ASSERT_TRUE(polite.ReadWelcome());
  ASSERT_TRUE(polite.Goodbye());
  polite.Finish();
  ASSERT_TRUE(handler_.WaitFor([&] { return handler_.CountEvents(Kind::kSilent) >= 1; }, 5s));
  std::this_thread::sleep_for(400ms);  // well past the threshold for agent-b too
  auto a = FleetEntry("agent-a");
  auto b = FleetEntry("agent-b");
  ASSERT_TRUE(a && b);
  EXPECT_TRUE(a->silent);
  EXPECT_TRUE(a->connected);  // connected but saying nothing: still silent
  EXPECT_FALSE(b->silent);
  EXPECT_TRUE(b->stopped_gracefully);
  EXPECT_FALSE(b->connected);
  EXPECT_EQ(handler_.CountEvents(Kind::kSilent), 1u);
  EXPECT_EQ(server_->Stats().agents_silent, 1u);
  // A heartbeat brings it back.
  ASSERT_TRUE(quiet.Heartbeat());
  ASSERT_TRUE(handler_.WaitFor([&] { return !FleetEntry("agent-a")->silent; }));
}

TEST_F(IngestServerTest, FirstMessageMustBeHello) {
  Start();
  RawAgent agent = Connect(pki_.Agent("agent-a"));
  ASSERT_TRUE(agent.Batch(1, 1));
  grpc::Status st = agent.Drain();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Rejected(StreamRejection::kProtocolError), 1u);
}

TEST_F(IngestServerTest, LossReportsReachTheHandlerAndTheCounters) {
  Start();
  RawAgent agent = Connect(pki_.Agent("agent-a"));
  ASSERT_TRUE(agent.Hello());
  ASSERT_TRUE(agent.ReadWelcome());
  v1::AgentMessage m;
  m.mutable_loss_report()->set_reason(v1::LOSS_REASON_SPOOL_OVERFLOW);
  m.mutable_loss_report()->set_first_sequence(3);
  m.mutable_loss_report()->set_last_sequence(9);
  m.mutable_loss_report()->set_records(700);
  ASSERT_TRUE(agent.Write(m));
  ASSERT_TRUE(agent.Batch(10, 1));
  ASSERT_TRUE(agent.WaitAck(10));
  auto reports = handler_.Agent("agent-a").loss_reports;
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0].first_sequence(), 3u);
  EXPECT_EQ(reports[0].last_sequence(), 9u);
  auto st = server_->Stats();
  EXPECT_EQ(st.loss_reports, 1u);
  EXPECT_EQ(st.records_lost_reported, 700u);
  EXPECT_EQ(FleetEntry("agent-a")->records_lost_reported, 700u);
  EXPECT_TRUE(Logged("reports loss reason=LOSS_REASON_SPOOL_OVERFLOW sequences=3..9"));
}

TEST_F(IngestServerTest, AResentLossReportIsCountedOncePerReportId) {
  Start();
  TestCert cert = pki_.Agent("agent-a");
  v1::AgentMessage with_id;
  with_id.mutable_loss_report()->set_reason(v1::LOSS_REASON_SPOOL_OVERFLOW);
  with_id.mutable_loss_report()->set_first_sequence(3);
  with_id.mutable_loss_report()->set_last_sequence(9);
  with_id.mutable_loss_report()->set_records(700);
  with_id.mutable_loss_report()->set_report_id("spool-overflow-3");
  v1::AgentMessage without_id;  // an agent that predates report_id
  without_id.mutable_loss_report()->set_reason(v1::LOSS_REASON_QUEUE_FULL);
  without_id.mutable_loss_report()->set_records(5);
  {
    RawAgent agent = Connect(cert);
    ASSERT_TRUE(agent.Hello());
    ASSERT_TRUE(agent.ReadWelcome());
    ASSERT_TRUE(agent.Write(with_id));
    ASSERT_TRUE(agent.Write(with_id));
    ASSERT_TRUE(agent.Write(without_id));
    ASSERT_TRUE(agent.Write(without_id));
    ASSERT_TRUE(agent.Batch(1, 1));
    ASSERT_TRUE(agent.WaitAck(1));  // messages are handled in order
    agent.Finish();
  }
  {
    // After a reconnect the agent resends the report it has not seen a
    // clean stream end after.
    RawAgent agent = Connect(cert);
    ASSERT_TRUE(agent.Hello());
    ASSERT_TRUE(agent.ReadWelcome());
    ASSERT_TRUE(agent.Write(with_id));
    ASSERT_TRUE(agent.Batch(2, 1));
    ASSERT_TRUE(agent.WaitAck(2));
  }
  auto st = server_->Stats();
  EXPECT_EQ(st.loss_reports, 3u);  // once with the id, twice without
  EXPECT_EQ(st.records_lost_reported, 710u);
  EXPECT_EQ(st.loss_reports_resent, 2u);
  auto a = FleetEntry("agent-a");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->loss_reports, 3u);
  EXPECT_EQ(a->records_lost_reported, 710u);
  EXPECT_EQ(handler_.Agent("agent-a").loss_reports.size(), 3u);
}

TEST_F(IngestServerTest, StartReportsEveryTlsFileProblemAtOnce) {
  IngestOptions o;
  o.listen = "127.0.0.1:0";
  o.tls = {"/nonexistent/ca.crt", "/nonexistent/c.crt", "/nonexistent/c.key", ""};
  auto s = IngestServer::Start(o, handler_);
  ASSERT_FALSE(s.has_value());
  EXPECT_NE(s.error().find("/nonexistent/ca.crt"), std::string::npos);
  EXPECT_NE(s.error().find("/nonexistent/c.crt"), std::string::npos);
  EXPECT_NE(s.error().find("/nonexistent/c.key"), std::string::npos);
}

TEST_F(IngestServerTest, TlsStatusExposesCertificateAndCrlExpiry) {
  Start();
  TlsStatus t = server_->Tls();
  EXPECT_TRUE(t.enabled);
  EXPECT_EQ(t.server_common_name, "collector-test");
  EXPECT_GT(t.server_cert_not_after_ns, NowNs());
  EXPECT_GT(t.ca_cert_not_after_ns, t.server_cert_not_after_ns);  // CA: 10 years
  EXPECT_GT(t.crl_next_update_ns, NowNs());
}

TEST_F(IngestServerTest, PlaintextModeTakesTheClaimedHostNameAndWarns) {
  IngestOptions o;
  o.listen = "127.0.0.1:0";
  o.insecure_plaintext = true;
  o.agents = {{"lab-box", "Lab", ""}};
  std::vector<std::string> logs;
  std::mutex mu;
  o.log = [&](transport::LogLevel level, std::string_view m) {
    std::lock_guard lock(mu);
    if (level == transport::LogLevel::kWarning) logs.emplace_back(m);
  };
  auto s = IngestServer::Start(o, handler_);
  ASSERT_TRUE(s.has_value()) << s.error();
  {
    RawAgent agent((*s)->port(), grpc::InsecureChannelCredentials());
    ASSERT_TRUE(agent.Hello(1, 0, "lab-box"));
    auto w = agent.ReadWelcome();
    ASSERT_TRUE(w.has_value());
    EXPECT_EQ(w->agent_id(), "lab-box");
    EXPECT_EQ(w->agency(), "Lab");
    agent.Finish();
  }
  {
    RawAgent stranger((*s)->port(), grpc::InsecureChannelCredentials());
    stranger.Hello(1, 0, "elsewhere");
    EXPECT_EQ(stranger.Drain().error_code(), grpc::StatusCode::PERMISSION_DENIED);
  }
  EXPECT_FALSE((*s)->Tls().enabled);
  (*s)->Shutdown();
  std::lock_guard lock(mu);
  ASSERT_FALSE(logs.empty());
  EXPECT_NE(logs.front().find("insecure_plaintext"), std::string::npos);
}

TEST(ClockOffsetEstimatorTest, TakesTheLargestSampleOfTheWindow) {
  ClockOffsetEstimator e(3);
  EXPECT_FALSE(e.Estimate().has_value());
  // True offset +100; transits 5, 1, 30.
  e.AddSample(1000 + 100, 1000 + 5);
  e.AddSample(2000 + 100, 2000 + 1);
  e.AddSample(3000 + 100, 3000 + 30);
  EXPECT_EQ(e.Estimate(), 99);
  // The best sample slides out of the window.
  e.AddSample(4000 + 100, 4000 + 20);
  e.AddSample(5000 + 100, 5000 + 20);
  EXPECT_EQ(e.Estimate(), 80);
}

}  // namespace
}  // namespace vigil::collector::ingest
