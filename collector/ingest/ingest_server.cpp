#include "collector/ingest/ingest_server.h"

#include <google/protobuf/arena.h>
#include <grpc/grpc_security_constants.h>
#include <grpcpp/grpcpp.h>

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "transport/credentials.h"
#include "transport/peer_verifier.h"
#include "vigil/v1/ingest.grpc.pb.h"

namespace vigil::collector::ingest {

namespace {

using Clock = std::chrono::system_clock;
using v1::AgentMessage;
using v1::CollectorMessage;

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}
int64_t ToNs(const google::protobuf::Timestamp& t) { return t.seconds() * 1000000000 + t.nanos(); }
int64_t ToNs(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}
void SetTimestamp(google::protobuf::Timestamp* t, int64_t ns) {
  t->set_seconds(ns / 1000000000);
  t->set_nanos(static_cast<int32_t>(ns % 1000000000));
}

constexpr const char* kUnassignedAgency = "unassigned";

// Arena per read: one batch of 1000 events is ~20k small objects; an arena
// makes parsing and freeing them a handful of allocations.
google::protobuf::ArenaOptions ReadArenaOptions() {
  google::protobuf::ArenaOptions o;
  o.start_block_size = 64 << 10;
  o.max_block_size = 1 << 20;
  return o;
}

struct ReadBuffer {
  ReadBuffer() : arena(ReadArenaOptions()) {
    msg = google::protobuf::Arena::CreateMessage<AgentMessage>(&arena);
  }
  google::protobuf::Arena arena;
  AgentMessage* msg;
};

}  // namespace

class Session;

/// State shared by the service and every session; sessions keep it alive
/// (shared_ptr) until their last handler completion has run.
struct Core {
  Core(IngestOptions opts, BatchHandler& h)
      : options(std::move(opts)), handler(h), registry(options.heartbeat_silence_after) {}

  IngestOptions options;
  BatchHandler& handler;
  transport::LogSink log;
  std::unique_ptr<transport::PeerVerifier> verifier;  // null in plaintext mode
  IngestCounters counters;
  AgentRegistry registry;
  std::atomic<bool> shutting_down{false};

  std::mutex agents_mu;
  std::map<std::string, AgentAssignment> agents;
  bool allow_unlisted = false;

  // Admission control (the bounded ingest queue).
  std::mutex waiters_mu;
  std::vector<std::shared_ptr<Session>> waiters;

  // Live sessions, so Shutdown can end them (entries removed in OnDone,
  // before the session can be deleted).
  std::mutex sessions_mu;
  std::map<Session*, bool> sessions;

  void Log(transport::LogLevel level, const std::string& msg) const {
    if (log) log(level, msg);
  }
  std::optional<AgentInfo> Lookup(const std::string& identity) {
    std::lock_guard lock(agents_mu);
    auto it = agents.find(identity);
    if (it != agents.end()) return AgentInfo{identity, it->second.agency, it->second.site};
    if (allow_unlisted) return AgentInfo{identity, kUnassignedAgency, ""};
    return std::nullopt;
  }
  /// True if the session may read another batch; otherwise it is queued and
  /// resumed when capacity frees up.
  bool Admit(const std::shared_ptr<Session>& s);
  /// After records_inflight went down: resume waiting streams if there is room.
  void Release();
};

class Session final : public grpc::ServerBidiReactor<AgentMessage, CollectorMessage> {
 public:
  Session(std::shared_ptr<Core> core, grpc::CallbackServerContext* ctx);

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

  /// A newer stream of the same identity, or shutdown: end this one now.
  void Kick(const std::string& reason, grpc::StatusCode code);
  /// Admission capacity is available again.
  void Resume();
  /// A strong reference that keeps this reactor alive (see Unref).
  std::shared_ptr<Session> Token();

 private:
  struct Pending {
    uint64_t sequence = 0;
    uint64_t records = 0;
    bool done = false;
    bool ok = false;
  };
  enum class State { kAwaitHello, kAwaitWelcome, kStreaming };

  void Ref() { refs_.fetch_add(1, std::memory_order_relaxed); }
  void Unref() {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  void Reject(StreamRejection reason, const std::string& cn, const std::string& detail,
              grpc::StatusCode code);
  void StartReadLocked();
  void ContinueReadingLocked();
  void PauseLocked();
  void MaybeWriteLocked();
  void RequestFinishLocked(grpc::Status status);
  void OnHello(const v1::Hello& hello);
  void SendWelcome();
  void OnBatch(std::shared_ptr<ReadBuffer> buf);
  void Complete(uint64_t sequence, uint64_t records, bool ok);
  /// The message of the last read is handled: the next read may start.
  void FinishedProcessing();
  void Event(AgentEvent::Kind kind, AgentEvent ev = {});

  std::shared_ptr<Core> core_;
  grpc::CallbackServerContext* ctx_;
  std::atomic<int> refs_{1};  // released by OnDone

  std::mutex mu_;
  State state_ = State::kAwaitHello;
  std::string peer_;
  std::string verified_cn_;
  int64_t cert_not_after_ns_ = 0;
  AgentInfo info_;
  bool accepted_ = false;  // counted in streams_active
  bool attached_ = false;
  uint64_t generation_ = 0;

  std::shared_ptr<ReadBuffer> read_;
  bool read_in_flight_ = false;
  bool read_closed_ = false;
  bool paused_ = false;
  std::chrono::steady_clock::time_point paused_at_{};

  uint64_t floor_ = 0;      // duplicate filter: highest sequence submitted or durable
  uint64_t last_seen_ = 0;  // for gap counting
  uint64_t acked_ = 0;      // highest durable sequence, cumulative
  std::deque<Pending> pending_;

  CollectorMessage out_;
  bool write_in_flight_ = false;
  bool welcome_due_ = false;
  uint64_t ack_sent_ = 0;
  bool finish_requested_ = false;
  bool finished_ = false;
  grpc::Status finish_status_;
  std::string end_reason_ = "stream closed";
};

bool Core::Admit(const std::shared_ptr<Session>& s) {
  std::lock_guard lock(waiters_mu);
  if (counters.records_inflight.load(std::memory_order_relaxed) < options.max_inflight_records) {
    return true;
  }
  waiters.push_back(s);
  return false;
}

void Core::Release() {
  uint64_t now = counters.records_inflight.load(std::memory_order_relaxed);
  // Hysteresis: wake the waiting streams only once a quarter of the queue
  // is free, so they do not pause again after a single batch.
  if (now > options.max_inflight_records / 4 * 3) return;
  std::vector<std::shared_ptr<Session>> ready;
  {
    std::lock_guard lock(waiters_mu);
    ready.swap(waiters);
  }
  for (auto& s : ready) s->Resume();
}

Session::Session(std::shared_ptr<Core> core, grpc::CallbackServerContext* ctx)
    : core_(std::move(core)), ctx_(ctx) {
  peer_ = ctx_->peer();
  {
    std::lock_guard lock(core_->sessions_mu);
    core_->sessions[this] = true;
  }
  if (core_->shutting_down.load()) {
    Reject(StreamRejection::kShuttingDown, "", "collector is shutting down",
           grpc::StatusCode::UNAVAILABLE);
    return;
  }
  if (core_->verifier) {
    // x509_pem_cert is the peer's own certificate; x509_pem_cert_chain is
    // what else it sent (on the server side OpenSSL leaves the leaf out, and
    // a client may include its CA). Verify leaf first, the rest untrusted.
    std::string chain;
    auto auth = ctx_->auth_context();
    if (auth) {
      auto leaf = auth->FindPropertyValues(GRPC_X509_PEM_CERT_PROPERTY_NAME);
      if (!leaf.empty()) {
        chain.assign(leaf.front().data(), leaf.front().size());
        for (const auto& extra : auth->FindPropertyValues(GRPC_X509_PEM_CERT_CHAIN_PROPERTY_NAME)) {
          std::string_view pem(extra.data(), extra.size());
          if (pem.find(chain) == std::string_view::npos) chain.append(pem);
        }
      }
    }
    auto verified = core_->verifier->Verify(chain);
    if (!verified) {
      const auto& d = verified.error();
      Reject(FromPeerRejection(d.reason), d.subject_cn, d.detail,
             grpc::StatusCode::UNAUTHENTICATED);
      return;
    }
    verified_cn_ = verified->common_name;
    cert_not_after_ns_ = ToNs(verified->not_after);
    auto info = core_->Lookup(verified_cn_);
    if (!info) {
      Reject(StreamRejection::kUnknownIdentity, verified_cn_,
             "certificate is valid but its CN is not listed under `agents:`",
             grpc::StatusCode::PERMISSION_DENIED);
      return;
    }
    info_ = *info;
  }
  core_->counters.streams_accepted.fetch_add(1, std::memory_order_relaxed);
  core_->counters.streams_active.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard lock(mu_);
  accepted_ = true;
  StartReadLocked();
}

std::shared_ptr<Session> Session::Token() {
  Ref();
  return std::shared_ptr<Session>(this, [](Session* s) { s->Unref(); });
}

void Session::Reject(StreamRejection reason, const std::string& cn, const std::string& detail,
                     grpc::StatusCode code) {
  core_->counters.streams_rejected[static_cast<size_t>(reason)].fetch_add(
      1, std::memory_order_relaxed);
  std::string name = StreamRejectionName(reason);
  core_->Log(transport::LogLevel::kWarning, "ingest: rejected stream from " + peer_ +
                                                " reason=" + name +
                                                (cn.empty() ? "" : " cn=" + cn) + ": " + detail);
  AgentEvent ev;
  ev.kind = AgentEvent::Kind::kRejected;
  ev.received_ns = NowNs();
  ev.peer = peer_;
  ev.reason = name;
  core_->handler.OnAgentEvent(AgentInfo{cn, "", ""}, ev);
  std::lock_guard lock(mu_);
  end_reason_ = "rejected: " + name;
  // The agent logs this text: it names the reason so the operator at the
  // agency knows what to fix (renew, re-enrol, ask for listing).
  RequestFinishLocked(grpc::Status(code, "vigil collector rejected the stream: " + name));
}

void Session::Event(AgentEvent::Kind kind, AgentEvent ev) {
  ev.kind = kind;
  if (ev.received_ns == 0) ev.received_ns = NowNs();
  ev.peer = peer_;
  core_->handler.OnAgentEvent(info_, ev);
}

void Session::StartReadLocked() {
  if (finish_requested_ || read_closed_ || read_in_flight_) return;
  read_ = std::make_shared<ReadBuffer>();
  read_in_flight_ = true;
  StartRead(read_->msg);
}

void Session::PauseLocked() {
  if (paused_) return;
  paused_ = true;
  paused_at_ = std::chrono::steady_clock::now();
  core_->counters.backpressure_stalls.fetch_add(1, std::memory_order_relaxed);
}

void Session::ContinueReadingLocked() {
  if (finish_requested_ || read_closed_ || read_in_flight_ || state_ != State::kStreaming) return;
  if (pending_.size() >= core_->options.max_inflight_batches_per_stream) {
    PauseLocked();
    return;
  }
  if (!core_->Admit(Token())) {
    PauseLocked();
    return;
  }
  if (paused_) {
    paused_ = false;
    core_->counters.backpressure_stall_ns.fetch_add(
        static_cast<uint64_t>((std::chrono::steady_clock::now() - paused_at_).count()),
        std::memory_order_relaxed);
  }
  StartReadLocked();
}

void Session::Resume() {
  std::lock_guard lock(mu_);
  ContinueReadingLocked();
}

void Session::MaybeWriteLocked() {
  if (write_in_flight_ || finished_) return;
  if (welcome_due_) {
    welcome_due_ = false;
    out_.Clear();
    auto* w = out_.mutable_welcome();
    w->set_last_sequence(acked_);
    SetTimestamp(w->mutable_server_time(), NowNs());
    w->set_agent_id(info_.agent_id);
    w->set_agency(info_.agency);
    ack_sent_ = acked_;
    write_in_flight_ = true;
    StartWrite(&out_);
    return;
  }
  if (state_ == State::kStreaming && acked_ > ack_sent_ && !finish_requested_) {
    out_.Clear();
    out_.mutable_ack()->set_sequence(acked_);
    ack_sent_ = acked_;
    write_in_flight_ = true;
    StartWrite(&out_);
    return;
  }
  if (finish_requested_) {
    finished_ = true;
    Finish(finish_status_);
  }
}

void Session::RequestFinishLocked(grpc::Status status) {
  if (finish_requested_) return;
  finish_requested_ = true;
  finish_status_ = std::move(status);
  MaybeWriteLocked();
}

void Session::OnReadDone(bool ok) {
  // read_in_flight_ stays set until this message is fully processed: a read
  // started meanwhile (from a completion on another thread) could deliver
  // the next batch before this one passed the duplicate filter, which would
  // then drop this one as "already seen". See FinishedProcessing().
  std::shared_ptr<ReadBuffer> buf;
  State state;
  {
    std::lock_guard lock(mu_);
    buf = std::move(read_);
    state = state_;
    if (!ok) {
      read_in_flight_ = false;
      read_closed_ = true;
      // The agent half-closed (or the stream broke). Acknowledge what is
      // still being stored, then end the stream.
      if (pending_.empty()) RequestFinishLocked(grpc::Status::OK);
      return;
    }
    if (finish_requested_) {
      read_in_flight_ = false;
      return;
    }
  }
  const AgentMessage& msg = *buf->msg;
  int64_t now = NowNs();
  if (state == State::kAwaitHello) {
    if (msg.payload_case() != AgentMessage::kHello) {
      Reject(StreamRejection::kProtocolError, verified_cn_, "first message was not Hello",
             grpc::StatusCode::INVALID_ARGUMENT);
    } else {
      OnHello(msg.hello());
    }
    FinishedProcessing();
    return;
  }
  switch (msg.payload_case()) {
    case AgentMessage::kBatch:
      OnBatch(std::move(buf));
      FinishedProcessing();
      return;
    case AgentMessage::kHeartbeat: {
      core_->registry.OnHeartbeat(info_.agent_id, msg.heartbeat(), now);
      AgentEvent ev;
      ev.received_ns = now;
      ev.heartbeat = &msg.heartbeat();
      ev.clock_offset_ns = core_->registry.ClockOffset(info_.agent_id);
      Event(AgentEvent::Kind::kHeartbeat, ev);
      break;
    }
    case AgentMessage::kLossReport: {
      const auto& r = msg.loss_report();
      if (!core_->registry.OnLossReport(info_.agent_id, r, now)) {
        // A resend of a report already counted (same report_id): the agent
        // resends until a stream ends cleanly after it.
        core_->counters.loss_reports_resent.fetch_add(1, std::memory_order_relaxed);
        break;
      }
      core_->counters.loss_reports.fetch_add(1, std::memory_order_relaxed);
      core_->counters.records_lost_reported.fetch_add(r.records(), std::memory_order_relaxed);
      core_->Log(transport::LogLevel::kWarning,
                 "ingest: agent " + info_.agent_id +
                     " reports loss reason=" + v1::LossReason_Name(r.reason()) +
                     " sequences=" + std::to_string(r.first_sequence()) + ".." +
                     std::to_string(r.last_sequence()) + " records=" + std::to_string(r.records()));
      AgentEvent ev;
      ev.received_ns = now;
      ev.loss_report = &r;
      Event(AgentEvent::Kind::kLossReport, ev);
      break;
    }
    case AgentMessage::kGoodbye: {
      core_->registry.OnGoodbye(info_.agent_id, now);
      {
        std::lock_guard lock(mu_);
        end_reason_ = "goodbye: " + msg.goodbye().reason();
      }
      AgentEvent ev;
      ev.received_ns = now;
      ev.goodbye = &msg.goodbye();
      ev.reason = msg.goodbye().reason();
      Event(AgentEvent::Kind::kGoodbye, ev);
      break;
    }
    case AgentMessage::kHello:
    case AgentMessage::PAYLOAD_NOT_SET:
      // A second Hello or an empty message: harmless, ignored (a newer agent
      // may send arms this version does not know; they parse as unset).
      core_->registry.Touch(info_.agent_id, now);
      break;
  }
  FinishedProcessing();
}

void Session::FinishedProcessing() {
  std::lock_guard lock(mu_);
  read_in_flight_ = false;
  ContinueReadingLocked();
}

void Session::OnHello(const v1::Hello& hello) {
  int64_t now = NowNs();
  if (!core_->verifier) {
    // insecure_plaintext: nothing is verified; the claimed host name is the
    // only handle there is (documented as lab-only).
    std::string claimed = hello.hostname().empty() ? "unknown" : hello.hostname();
    auto info = core_->Lookup(claimed);
    if (!info) {
      Reject(StreamRejection::kUnknownIdentity, claimed, "host name not listed under `agents:`",
             grpc::StatusCode::PERMISSION_DENIED);
      return;
    }
    info_ = *info;
  }
  auto token = Token();
  auto attached = core_->registry.Attach(
      info_, peer_, cert_not_after_ns_, now,
      [token](const std::string& reason) { token->Kick(reason, grpc::StatusCode::ABORTED); });
  if (attached.previous) {
    core_->counters.streams_replaced.fetch_add(1, std::memory_order_relaxed);
    core_->Log(transport::LogLevel::kWarning, "ingest: agent " + info_.agent_id +
                                                  " opened a new stream from " + peer_ +
                                                  "; ending its previous stream");
    attached.previous("replaced by a newer stream of the same agent");
  }
  {
    std::lock_guard lock(mu_);
    attached_ = true;
    generation_ = attached.generation;
    state_ = State::kAwaitWelcome;
  }
  AgentEvent connected;
  connected.received_ns = now;
  Event(AgentEvent::Kind::kConnected, connected);
  bool restarted = core_->registry.OnHello(info_.agent_id, hello, now);
  AgentEvent ev;
  ev.received_ns = now;
  ev.hello = &hello;
  ev.restarted = restarted;
  ev.clock_offset_ns = core_->registry.ClockOffset(info_.agent_id);
  Event(AgentEvent::Kind::kHello, ev);
  core_->Log(transport::LogLevel::kInfo, "ingest: agent " + info_.agent_id + " connected from " +
                                             peer_ + " (agency " + info_.agency + ", version " +
                                             hello.agent_version() + ", resume " +
                                             std::to_string(hello.resume_sequence()) + ")");
  // Welcome carries the high-water mark; it is only final once every batch
  // of an earlier stream of this agent has completed.
  auto welcome_token = Token();
  core_->registry.WhenDrained(info_.agent_id, [welcome_token] { welcome_token->SendWelcome(); });
}

void Session::SendWelcome() {
  {
    std::lock_guard lock(mu_);
    if (finish_requested_) return;
  }
  uint64_t hwm = core_->handler.HighWaterMark(info_.agent_id);
  std::lock_guard lock(mu_);
  if (finish_requested_) return;
  floor_ = hwm;
  last_seen_ = hwm;
  acked_ = hwm;
  state_ = State::kStreaming;
  welcome_due_ = true;
  MaybeWriteLocked();
  ContinueReadingLocked();
}

void Session::OnBatch(std::shared_ptr<ReadBuffer> buf) {
  const v1::EventBatch& batch = buf->msg->batch();
  uint64_t seq = batch.sequence();
  uint64_t records = static_cast<uint64_t>(batch.events_size());
  if (core_->options.test_before_batch) core_->options.test_before_batch(info_.agent_id, seq);
  int64_t now = NowNs();
  auto& c = core_->counters;
  c.batches_received.fetch_add(1, std::memory_order_relaxed);
  c.records_received.fetch_add(records, std::memory_order_relaxed);
  bool submit = false;
  {
    std::lock_guard lock(mu_);
    if (finish_requested_) {
      // The stream is ending (replaced by a newer stream, a failed batch,
      // shutdown) since OnReadDone looked. A newer stream's Welcome may
      // already have read the high-water mark: submitting this batch now
      // would make it durable behind that Welcome's back, and the agent
      // would resend it on the new stream (evaluated twice). It is not
      // acknowledged here; the agent resends it.
      c.batches_discarded.fetch_add(1, std::memory_order_relaxed);
      c.records_discarded.fetch_add(records, std::memory_order_relaxed);
      core_->registry.Touch(info_.agent_id, now);
      return;
    }
    if (seq == 0) {
      c.batches_malformed.fetch_add(1, std::memory_order_relaxed);
      c.records_malformed.fetch_add(records, std::memory_order_relaxed);
    } else if (seq <= floor_) {
      c.batches_duplicate.fetch_add(1, std::memory_order_relaxed);
      c.records_duplicate.fetch_add(records, std::memory_order_relaxed);
      // Acknowledge it again: the agent evidently missed the ack. The
      // cumulative ack only covers what is durable; a duplicate of a batch
      // still in flight is covered when that completes.
      if (seq <= acked_) ack_sent_ = std::min(ack_sent_, seq - 1);
      MaybeWriteLocked();
    } else {
      if (seq > last_seen_ + 1) {
        c.sequence_gaps.fetch_add(seq - last_seen_ - 1, std::memory_order_relaxed);
      }
      last_seen_ = seq;
      floor_ = seq;
      pending_.push_back(Pending{seq, records});
      submit = true;
      // Registered while finish_requested_ is known to be false: a newer
      // stream kicks this one (setting it, under mu_) before it waits for
      // this agent's batches to drain, so it either sees this batch in
      // flight or this batch was never submitted.
      core_->registry.BatchSubmitted(info_.agent_id);
    }
  }
  core_->registry.OnBatch(info_.agent_id, seq, records,
                          batch.has_created_at() ? ToNs(batch.created_at()) : 0, now, !submit);
  if (submit) {
    c.batches_submitted.fetch_add(1, std::memory_order_relaxed);
    c.records_submitted.fetch_add(records, std::memory_order_relaxed);
    c.batches_inflight.fetch_add(1, std::memory_order_relaxed);
    c.records_inflight.fetch_add(records, std::memory_order_relaxed);
    auto token = Token();
    // Aliasing constructor: the batch lives in the read buffer's arena and
    // stays valid as long as the handler holds the pointer.
    std::shared_ptr<const v1::EventBatch> view(buf, &batch);
    core_->handler.Submit(info_, std::move(view), now,
                          [token, seq, records](bool ok) { token->Complete(seq, records, ok); });
  }
}

void Session::Complete(uint64_t sequence, uint64_t records, bool ok) {
  auto& c = core_->counters;
  c.batches_inflight.fetch_sub(1, std::memory_order_relaxed);
  c.records_inflight.fetch_sub(records, std::memory_order_relaxed);
  {
    std::lock_guard lock(mu_);
    for (auto& p : pending_) {
      if (p.sequence == sequence) {
        p.done = true;
        p.ok = ok;
        break;
      }
    }
    if (!ok) {
      c.batches_failed.fetch_add(1, std::memory_order_relaxed);
      core_->Log(transport::LogLevel::kError,
                 "ingest: batch " + std::to_string(sequence) + " of agent " + info_.agent_id +
                     " could not be stored; ending the stream so the agent resends it");
      end_reason_ = "batch not durable";
      RequestFinishLocked(grpc::Status(
          grpc::StatusCode::UNAVAILABLE,
          "collector could not store batch " + std::to_string(sequence) + "; retry later"));
    }
    while (!pending_.empty() && pending_.front().done && pending_.front().ok) {
      const Pending& p = pending_.front();
      if (finish_requested_) {
        // Durable, but this stream ends before an ack could go out: the
        // agent resends it and it is dropped as a duplicate then.
        c.batches_abandoned.fetch_add(1, std::memory_order_relaxed);
      } else {
        c.batches_acked.fetch_add(1, std::memory_order_relaxed);
        c.records_acked.fetch_add(p.records, std::memory_order_relaxed);
        acked_ = p.sequence;
        core_->registry.OnAcked(info_.agent_id, acked_);
      }
      pending_.pop_front();
    }
    if (finish_requested_) {
      // Failed batches and anything after them stay unacknowledged.
      while (!pending_.empty() && pending_.front().done) {
        if (pending_.front().ok) c.batches_abandoned.fetch_add(1, std::memory_order_relaxed);
        pending_.pop_front();
      }
    }
    MaybeWriteLocked();
    if (read_closed_ && pending_.empty()) RequestFinishLocked(grpc::Status::OK);
    ContinueReadingLocked();
  }
  core_->registry.BatchCompleted(info_.agent_id);
  core_->Release();
}

void Session::Kick(const std::string& reason, grpc::StatusCode code) {
  std::lock_guard lock(mu_);
  if (finish_requested_) return;
  end_reason_ = reason;
  // A write the old client no longer reads would hold Finish back forever:
  // only then cancel (the client sees CANCELLED instead of our status).
  if (write_in_flight_) ctx_->TryCancel();
  RequestFinishLocked(grpc::Status(code, reason));
}

void Session::OnWriteDone(bool ok) {
  std::lock_guard lock(mu_);
  write_in_flight_ = false;
  if (!ok) {
    // The stream is broken: no further write can succeed.
    if (!finish_requested_) {
      finish_requested_ = true;
      finish_status_ = grpc::Status(grpc::StatusCode::UNAVAILABLE, "write failed");
    }
    if (!finished_) {
      finished_ = true;
      Finish(finish_status_);
    }
    return;
  }
  MaybeWriteLocked();
}

void Session::OnCancel() {
  std::lock_guard lock(mu_);
  if (end_reason_ == "stream closed") end_reason_ = "cancelled";
  RequestFinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled"));
}

void Session::OnDone() {
  {
    std::lock_guard lock(core_->sessions_mu);
    core_->sessions.erase(this);
  }
  bool attached, accepted;
  std::string reason;
  uint64_t generation;
  {
    std::lock_guard lock(mu_);
    attached = attached_;
    accepted = accepted_;
    reason = end_reason_;
    generation = generation_;
  }
  if (attached) {
    core_->counters.streams_ended.fetch_add(1, std::memory_order_relaxed);
    bool current = core_->registry.Detach(info_.agent_id, generation, reason, NowNs());
    AgentEvent ev;
    ev.reason = reason;
    Event(current ? AgentEvent::Kind::kDisconnected : AgentEvent::Kind::kReplaced, ev);
    core_->Log(transport::LogLevel::kInfo,
               "ingest: agent " + info_.agent_id + " stream ended: " + reason);
  }
  if (accepted) core_->counters.streams_active.fetch_sub(1, std::memory_order_relaxed);
  Unref();
}

class IngestServiceImpl final : public v1::IngestService::CallbackService {
 public:
  explicit IngestServiceImpl(std::shared_ptr<Core> core) : core_(std::move(core)) {}
  grpc::ServerBidiReactor<AgentMessage, CollectorMessage>* Ingest(
      grpc::CallbackServerContext* ctx) override {
    return new Session(core_, ctx);
  }

 private:
  std::shared_ptr<Core> core_;
};

struct IngestServer::Impl {
  std::shared_ptr<Core> core;
  std::unique_ptr<IngestServiceImpl> service;
  std::unique_ptr<grpc::Server> server;
  int port = 0;
  TlsStatus tls;
  std::mutex stop_mu;
  std::condition_variable stop_cv;
  bool stopping = false;
  std::thread monitor;
  bool shut_down = false;

  void Monitor();
};

void IngestServer::Impl::Monitor() {
  // Silence must be noticed within three heartbeats; ticking at a tenth of
  // the threshold keeps the error under 10%.
  auto tick = std::max<std::chrono::milliseconds>(
      std::chrono::milliseconds(20),
      std::min<std::chrono::milliseconds>(std::chrono::milliseconds(1000),
                                          core->options.heartbeat_silence_after / 10));
  std::unique_lock lock(stop_mu);
  while (!stopping) {
    stop_cv.wait_for(lock, tick);
    if (stopping) break;
    lock.unlock();
    int64_t now = NowNs();
    for (const auto& info : core->registry.Sweep(now)) {
      core->Log(transport::LogLevel::kWarning,
                "ingest: agent " + info.agent_id + " (" + info.agency + ") is silent");
      AgentEvent ev;
      ev.kind = AgentEvent::Kind::kSilent;
      ev.received_ns = now;
      core->handler.OnAgentEvent(info, ev);
    }
    if (core->verifier) {
      if (auto r = core->verifier->ReloadIfChanged(); !r) {
        core->Log(transport::LogLevel::kError,
                  "ingest: keeping the previous CA/CRL: " + r.error().ToString());
      } else if (*r) {
        core->Log(transport::LogLevel::kInfo, "ingest: reloaded CA/CRL");
      }
    }
    lock.lock();
  }
}

IngestServer::IngestServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

IngestServer::~IngestServer() { Shutdown(); }

std::expected<std::unique_ptr<IngestServer>, std::string> IngestServer::Start(
    IngestOptions options, BatchHandler& handler) {
  auto impl = std::make_unique<Impl>();
  auto core = std::make_shared<Core>(std::move(options), handler);
  core->log = core->options.log ? core->options.log : transport::StderrLogSink();
  for (const auto& a : core->options.agents) core->agents[a.identity] = a;
  core->allow_unlisted = core->options.allow_unlisted_agents;

  std::shared_ptr<grpc::ServerCredentials> creds;
  if (core->options.insecure_plaintext) {
    core->Log(transport::LogLevel::kWarning,
              "ingest: insecure_plaintext is on: agents are NOT authenticated and traffic is "
              "NOT encrypted; use only in a lab");
    creds = transport::MakeInsecureServerCredentials();
  } else {
    auto material = transport::LoadTlsMaterial(core->options.tls);
    if (!material) return std::unexpected(transport::JoinErrors(material.error()));
    for (const auto& w : material->warnings) core->Log(transport::LogLevel::kWarning, w);
    auto verifier = transport::PeerVerifier::Create(core->options.tls.ca, core->options.tls.crl);
    if (!verifier) return std::unexpected(verifier.error().ToString());
    core->verifier = std::move(*verifier);
    creds = transport::MakeServerCredentials(*material);
    impl->tls.enabled = true;
    impl->tls.server_common_name = material->common_name;
    impl->tls.server_cert_not_after_ns = ToNs(material->not_after);
    impl->tls.ca_cert_not_after_ns = ToNs(material->ca_not_after);
  }
  impl->core = core;
  impl->service = std::make_unique<IngestServiceImpl>(core);
  grpc::ServerBuilder builder;
  builder.AddListeningPort(core->options.listen, creds, &impl->port);
  transport::ApplyServerSettings(builder, core->options.server);
  builder.RegisterService(impl->service.get());
  impl->server = builder.BuildAndStart();
  if (!impl->server || impl->port == 0) {
    return std::unexpected("cannot listen on " + core->options.listen +
                           " (address in use, or not an address of this host)");
  }
  impl->monitor = std::thread([raw = impl.get()] { raw->Monitor(); });
  core->Log(transport::LogLevel::kInfo,
            "ingest: listening on " + core->options.listen + " (port " +
                std::to_string(impl->port) + ", " +
                (core->options.insecure_plaintext ? "PLAINTEXT" : "mutual TLS") + ")");
  return std::unique_ptr<IngestServer>(new IngestServer(std::move(impl)));
}

int IngestServer::port() const { return impl_->port; }

void IngestServer::Shutdown(std::chrono::milliseconds grace) {
  if (impl_->shut_down) return;
  impl_->shut_down = true;
  impl_->core->shutting_down.store(true);
  {
    std::lock_guard lock(impl_->stop_mu);
    impl_->stopping = true;
  }
  impl_->stop_cv.notify_all();
  if (impl_->monitor.joinable()) impl_->monitor.join();
  std::vector<std::shared_ptr<Session>> live;
  {
    std::lock_guard lock(impl_->core->sessions_mu);
    for (auto& [s, unused] : impl_->core->sessions) live.push_back(s->Token());
  }
  for (auto& s : live) s->Kick("collector shutting down", grpc::StatusCode::UNAVAILABLE);
  live.clear();
  // Streams still open are cancelled at the deadline; their agents keep
  // everything unacknowledged in their spools and resend it.
  impl_->server->Shutdown(std::chrono::system_clock::now() + grace);
  impl_->server->Wait();
}

IngestStatsSnapshot IngestServer::Stats() const {
  IngestStatsSnapshot s = impl_->core->counters.Snapshot();
  s.agents_silent = impl_->core->registry.SilentCount();
  return s;
}

std::vector<AgentStatus> IngestServer::Fleet() const { return impl_->core->registry.Snapshot(); }

TlsStatus IngestServer::Tls() const {
  TlsStatus t = impl_->tls;
  if (impl_->core->verifier && !impl_->core->options.tls.crl.empty()) {
    t.crl_next_update_ns = ToNs(impl_->core->verifier->crl_next_update());
  }
  return t;
}

void IngestServer::UpdateAgents(std::vector<AgentAssignment> agents, bool allow_unlisted) {
  std::lock_guard lock(impl_->core->agents_mu);
  impl_->core->agents.clear();
  for (auto& a : agents) impl_->core->agents[a.identity] = std::move(a);
  impl_->core->allow_unlisted = allow_unlisted;
}

const char* AgentEventKindName(AgentEvent::Kind kind) {
  switch (kind) {
    case AgentEvent::Kind::kConnected:
      return "connected";
    case AgentEvent::Kind::kHello:
      return "hello";
    case AgentEvent::Kind::kHeartbeat:
      return "heartbeat";
    case AgentEvent::Kind::kLossReport:
      return "loss_report";
    case AgentEvent::Kind::kGoodbye:
      return "goodbye";
    case AgentEvent::Kind::kDisconnected:
      return "disconnected";
    case AgentEvent::Kind::kSilent:
      return "silent";
    case AgentEvent::Kind::kReplaced:
      return "replaced";
    case AgentEvent::Kind::kRejected:
      return "rejected";
  }
  return "unknown";
}

}  // namespace vigil::collector::ingest
