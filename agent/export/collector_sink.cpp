// CollectorSink: queue -> batcher -> spool -> sender -> collector.
//
// Threads: the capture thread calls Emit() (queue mutex only, never I/O);
// the batcher thread seals batches into the spool; the sender thread runs
// one stream at a time, with a reader thread for acknowledgements and a
// watchdog that cancels a stream whose acks stopped or whose shutdown
// deadline passed (a blocked Write cannot be interrupted otherwise).
//
// Locks: q_mu_ guards the queue and what Emit() counts; acct_mu_ guards
// everything else that moves records between states (sealing, spooled,
// in flight, acknowledged, dropped) and is held across each spool call, so
// every Stats() snapshot (acct_mu_ then q_mu_) satisfies the accounting
// identity exactly.

#include "agent/export/collector_sink.h"

#include <google/protobuf/io/coded_stream.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/support/proto_buffer_reader.h>
#include <grpcpp/support/sync_stream.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include "agent/export/sequence_store.h"
#include "agent/export/spool.h"
#include "agent/export/spool_frame.h"
#include "transport/channel.h"
#include "transport/credentials.h"
#include "transport/tls_files.h"

namespace vigil::agent::exporter {

namespace {

using Clock = std::chrono::system_clock;
using Steady = std::chrono::steady_clock;
using transport::LogLevel;
using CodedOut = google::protobuf::io::CodedOutputStream;

constexpr const char* kIngestMethod = "/vigil.v1.IngestService/Ingest";
// Wire tags of the fields we serialize by hand (EventBatch and AgentMessage).
constexpr uint8_t kTagSequence = 0x08;    // EventBatch.sequence = 1, varint
constexpr uint8_t kTagEvents = 0x12;      // EventBatch.events = 2, length-delimited
constexpr uint8_t kTagCreatedAt = 0x1A;   // EventBatch.created_at = 3
constexpr uint8_t kTagAgentBatch = 0x12;  // AgentMessage.batch = 2
constexpr size_t kMaxPendingLossReports = 1024;
constexpr auto kWelcomeGrace = std::chrono::seconds(10);
// <spool>/losses: "VLS2", then entries [kind u8][len u32][crc32c u32][LossReport].
// Files without the magic are the older format: [len][crc][LossReport]...
constexpr char kStateMagic[4] = {'V', 'L', 'S', '2'};
constexpr uint8_t kEntryLoss = 1;        // a pending loss report
constexpr uint8_t kEntryUnresolved = 2;  // in-flight batch evicted; the next Welcome decides

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}
void SetTimestamp(google::protobuf::Timestamp* t, int64_t ns) {
  t->set_seconds(ns / 1000000000);
  t->set_nanos(static_cast<int32_t>(ns % 1000000000));
}
int64_t EventNs(const v1::Event& e) {
  return e.has_ts() ? e.ts().seconds() * 1000000000 + e.ts().nanos() : 0;
}

using RawStream = grpc::ClientReaderWriter<grpc::ByteBuffer, grpc::ByteBuffer>;

// The batch payload is already serialized (it is what the spool holds):
// write it as an AgentMessage without parsing and re-serializing it. The
// generic ByteBuffer stream is what the generated stub does underneath.
std::unique_ptr<RawStream> OpenRawStream(grpc::Channel* channel, grpc::ClientContext* ctx) {
  static const grpc::internal::RpcMethod method(kIngestMethod,
                                                grpc::internal::RpcMethod::BIDI_STREAMING);
  return std::unique_ptr<RawStream>(
      grpc::internal::ClientReaderWriterFactory<grpc::ByteBuffer, grpc::ByteBuffer>::Create(
          channel, method, ctx));
}

grpc::ByteBuffer BatchBuffer(const std::shared_ptr<const std::string>& payload) {
  uint8_t prefix[1 + 10];
  prefix[0] = kTagAgentBatch;
  uint8_t* end = CodedOut::WriteVarint64ToArray(payload->size(), prefix + 1);
  grpc::Slice head(prefix, static_cast<size_t>(end - prefix));
  auto* keep = new std::shared_ptr<const std::string>(payload);
  grpc::Slice body(
      const_cast<char*>(payload->data()), payload->size(),
      [](void* p) { delete static_cast<std::shared_ptr<const std::string>*>(p); }, keep);
  grpc::Slice slices[2] = {head, body};
  return grpc::ByteBuffer(slices, 2);
}

grpc::ByteBuffer MessageBuffer(const v1::AgentMessage& msg) {
  std::string bytes = msg.SerializeAsString();
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

// `payload` (a serialized EventBatch numbered `old_seq`) numbered `new_seq`.
// Batches sealed here end with the sequence field: replaced in place; any
// other layout is parsed and serialized again.
std::optional<std::string> Resequenced(const std::string& payload, uint64_t old_seq,
                                       uint64_t new_seq) {
  uint8_t tail[1 + 10];
  tail[0] = kTagSequence;
  const auto old_len =
      static_cast<size_t>(CodedOut::WriteVarint64ToArray(old_seq, tail + 1) - tail);
  if (payload.size() >= old_len &&
      std::memcmp(payload.data() + payload.size() - old_len, tail, old_len) == 0) {
    std::string out(payload, 0, payload.size() - old_len);
    const auto new_len =
        static_cast<size_t>(CodedOut::WriteVarint64ToArray(new_seq, tail + 1) - tail);
    out.append(reinterpret_cast<const char*>(tail), new_len);
    return out;
  }
  v1::EventBatch batch;
  if (!batch.ParseFromString(payload)) return std::nullopt;
  batch.set_sequence(new_seq);
  return batch.SerializeAsString();
}

bool WriteFileAtomically(const std::string& path, const std::string& data) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(data.data(), static_cast<std::streamsize>(data.size()));
    out.flush();
    if (!out) return false;
  }
  return ::rename(tmp.c_str(), path.c_str()) == 0;
}

std::string Hostname() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof(buf) - 1) != 0) return "";
  return buf;
}

}  // namespace

class CollectorSinkImpl final : public CollectorSink {
 public:
  CollectorSinkImpl(const CollectorSinkOptions& options, HeartbeatSource heartbeat_source)
      : opt_(options), heartbeat_source_(std::move(heartbeat_source)) {
    log_ = opt_.log ? opt_.log : transport::StderrLogSink();
    std::random_device rd;
    rng_.seed((static_cast<uint64_t>(rd()) << 32) ^ rd());
    instance_id_ = rng_();
    hostname_ = opt_.hostname.empty() ? Hostname() : opt_.hostname;
  }

  ~CollectorSinkImpl() override { Shutdown(std::chrono::milliseconds(0)); }

  std::expected<void, std::string> Init();

  // RecordSink
  void Emit(v1::Event&& event) override;
  void Tick(int64_t now_ns) override;
  bool Flush(int timeout_ms) override;

  // CollectorSink
  CollectorSinkStats Stats() const override;
  void Shutdown(std::chrono::milliseconds timeout) override;
  bool WaitSpooled(std::chrono::milliseconds timeout) override;

 private:
  struct InFlight {
    uint32_t records = 0;
    uint64_t bytes = 0;
    bool orphaned = false;  // evicted from the spool while in flight
    int64_t first_event_ns = 0, last_event_ns = 0;
  };
  enum class SessionEnd { kFailed, kRejected, kEnded, kStopped };

  void Log(LogLevel level, const std::string& msg) const { log_(level, msg); }

  // Batcher.
  void BatcherLoop();
  /// Records serialized by Emit(), one future batch: the framed events
  /// (EventBatch field 2), to which sealing appends created_at and sequence.
  struct Chunk {
    std::string bytes;
    uint32_t records = 0;
    int64_t first_ns = 0, last_ns = 0;
    Steady::time_point since{};
  };
  void SealChunk(Chunk chunk);

  // Accounting (acct_mu_ held).
  void AddLossLocked(v1::LossReason reason, uint64_t first_seq, uint64_t last_seq, uint64_t batches,
                     uint64_t records, int64_t start_ns, int64_t end_ns);
  void EvictedLocked(const SpooledBatch& b);
  void ConfirmLossesLocked(uint64_t acked_sequence);
  /// In-flight batches evicted from the spool whose stream ended before
  /// their ack: the Welcome says whether the collector committed them.
  void ResolveUnresolvedLocked(uint64_t welcome_sequence, bool renumbered);
  std::string NewReportIdLocked();
  /// Writes the pending loss reports and unresolved batches to
  /// <spool>/losses. Called by both threads: serialized by persist_mu_, and
  /// a snapshot is written only if newer than the last one written.
  void PersistLosses();
  void LoadLosses();
  uint64_t PendingLocked() const;  // also takes q_mu_

  // Renumbering (seq_mu_ held; takes acct_mu_ per batch): every spooled
  // batch with sequence <= old_hi gets a new number from seq_. Progress is
  // kept in <spool>/renumber so a killed agent resumes without loss.
  void RenumberSpool(uint64_t old_hi);
  void WriteRenumberMarker(uint64_t old_hi, uint64_t done);
  void SyncSpool();

  // Sender.
  void SenderLoop();
  SessionEnd RunSession(const std::string& address, bool* welcomed);
  void ApplyAck(uint64_t sequence);
  v1::AgentMessage HeartbeatMessage();
  v1::AgentMessage HelloMessage();
  std::chrono::milliseconds Jitter(std::chrono::milliseconds base);
  bool StopDeadlinePassed() const;

  CollectorSinkOptions opt_;
  HeartbeatSource heartbeat_source_;
  transport::LogSink log_;
  std::mt19937_64 rng_;
  uint64_t instance_id_ = 0;
  std::string hostname_;
  std::shared_ptr<grpc::ChannelCredentials> creds_;
  transport::ChannelSettings channel_settings_;
  int64_t cert_not_after_ns_ = 0;

  std::unique_ptr<Spool> spool_;
  std::mutex seq_mu_;
  std::unique_ptr<SequenceStore> seq_;

  // Queue side (q_mu_).
  mutable std::mutex q_mu_;
  std::condition_variable batcher_cv_;
  std::deque<Chunk> chunks_;     // the queue; every chunk but the last is full
  uint64_t queued_ = 0;          // records in chunks_
  size_t chunk_reserve_ = 4096;  // size of the last sealed chunk: fewer reallocations
  bool flush_requested_ = false;
  bool batcher_stop_ = false;
  bool accepting_ = true;
  uint64_t emitted_ = 0;
  uint64_t dropped_queue_full_ = 0;
  uint64_t dropped_shutdown_ = 0;
  uint64_t queue_loss_records_ = 0;  // dropped since the last LossReport
  int64_t queue_loss_start_ns_ = 0, queue_loss_end_ns_ = 0;

  // Everything else (acct_mu_).
  mutable std::mutex acct_mu_;
  std::condition_variable sender_cv_;  // new batch, ack, loss, stop, read end
  std::condition_variable flush_cv_;
  uint64_t recovered_ = 0;
  uint64_t sealing_ = 0;
  uint64_t spooled_ = 0;
  uint64_t orphaned_ = 0;
  uint64_t acked_ = 0;
  uint64_t dropped_overflow_ = 0, dropped_corrupt_ = 0, dropped_write_error_ = 0;
  uint64_t batches_dropped_overflow_ = 0, batches_dropped_corrupt_ = 0;
  uint64_t corrupt_regions_ = 0;
  uint64_t batches_sealed_ = 0, batches_acked_ = 0;
  uint64_t sealed_counter_ = 0;  // wakes the sender
  uint64_t last_acked_ = 0;
  uint64_t last_sealed_ = 0;
  std::map<uint64_t, InFlight> inflight_;
  uint64_t inflight_bytes_ = 0;
  // Loss reports not yet confirmed by the collector, oldest first; the sent
  // ones are a prefix. Persisted in <spool>/losses so a restart does not
  // forget a loss the collector has not heard of.
  struct PendingLoss {
    v1::LossReport report;
    bool sent = false;
    // Never sent (in this process): a later loss may be merged into it. A
    // report the collector may have seen keeps its content: it is counted
    // once per report_id.
    bool mergeable = true;
    uint64_t sent_after = 0;  // last batch sent before it: a higher ack confirms it
  };
  std::deque<PendingLoss> losses_;
  uint64_t state_gen_ = 0;  // bumped on every change of losses_ / unresolved_
  uint64_t report_counter_ = 0;
  // In-flight batches evicted from the spool when their stream ended before
  // the ack (records still counted in orphaned_), by sequence.
  std::map<uint64_t, InFlight> unresolved_;
  uint64_t batches_renumbered_ = 0;
  uint64_t spool_syncs_ = 0, synced_sequence_ = 0;
  uint64_t loss_reports_sent_ = 0;
  uint64_t connects_ = 0, connect_failures_ = 0, auth_rejections_ = 0, ack_timeouts_ = 0;
  bool connected_ = false;
  // Per stream, written by its reader thread.
  std::optional<v1::Welcome> welcome_;
  uint64_t stream_acked_ = 0;
  bool read_done_ = false;
  Steady::time_point last_ack_progress_{};

  // Shutdown.
  bool sender_stop_ = false;
  std::optional<Steady::time_point> stop_deadline_;
  bool shut_down_ = false;
  std::mutex shutdown_mu_;

  // PersistLosses (lock order: persist_mu_ before acct_mu_).
  std::mutex persist_mu_;
  uint64_t persisted_gen_ = 0;  // state_gen_ of what <spool>/losses holds

  std::thread batcher_, sender_;
};

std::expected<std::unique_ptr<CollectorSink>, std::string> CollectorSink::Create(
    const CollectorSinkOptions& options, HeartbeatSource heartbeat_source) {
  if (options.addresses.empty()) return std::unexpected("collector.addresses is empty");
  if (options.batch_max_events == 0) return std::unexpected("batch_max_events must be > 0");
  if (options.queue_max_records == 0) return std::unexpected("queue_max_records must be > 0");
  auto sink = std::make_unique<CollectorSinkImpl>(options, std::move(heartbeat_source));
  if (auto r = sink->Init(); !r) return std::unexpected(r.error());
  return std::unique_ptr<CollectorSink>(std::move(sink));
}

std::expected<void, std::string> CollectorSinkImpl::Init() {
  if (opt_.insecure_plaintext) {
    Log(LogLevel::kWarning,
        "collector sink: insecure_plaintext is on: the collector is NOT verified and records "
        "travel unencrypted; use only in a lab");
    creds_ = transport::MakeInsecureChannelCredentials();
  } else {
    auto material = transport::LoadTlsMaterial({opt_.ca_file, opt_.cert_file, opt_.key_file, ""});
    if (!material) return std::unexpected(transport::JoinErrors(material.error()));
    for (const auto& w : material->warnings) Log(LogLevel::kWarning, "collector sink: " + w);
    creds_ = transport::MakeChannelCredentials(*material);
    cert_not_after_ns_ =
        std::chrono::duration_cast<std::chrono::nanoseconds>(material->not_after.time_since_epoch())
            .count();
  }
  channel_settings_.server_name = opt_.server_name;
  channel_settings_.keepalive_time = opt_.keepalive_time;
  channel_settings_.connect_timeout = opt_.connect_timeout;
  channel_settings_.user_agent = "vigil-agent/" + opt_.agent_version;

  SpoolOptions so;
  so.directory = opt_.spool_directory;
  so.max_bytes = opt_.spool_max_bytes;
  so.overflow = opt_.spool_overflow;
  auto spool = Spool::Open(so);
  if (!spool) return std::unexpected(spool.error());
  spool_ = std::move(*spool);
  const SpoolRecovery& rec = spool_->recovery();
  auto seq = SequenceStore::Open(opt_.spool_directory, rec.highest_sequence);
  if (!seq) return std::unexpected(seq.error());
  seq_ = std::move(*seq);

  std::unique_lock lock(acct_mu_);
  LoadLosses();
  last_sealed_ = seq_->last_assigned();
  spooled_ = rec.records;
  recovered_ = rec.records;
  for (const auto& [s, f] : unresolved_) {
    // Evicted while in flight before the restart: the next Welcome decides.
    recovered_ += f.records;
    orphaned_ += f.records;
  }
  {
    // A renumbering (see RunSession) that a kill interrupted: batches up to
    // `done` were copied under new numbers, the rest still need it.
    std::ifstream marker(opt_.spool_directory + "/renumber");
    uint64_t old_hi = 0, done = 0;
    if (marker >> old_hi >> done && old_hi > 0) {
      for (const auto& b : spool_->Acknowledge(done)) {
        spooled_ -= b.records;
        recovered_ -= b.records;  // also held under its new number
      }
      lock.unlock();
      RenumberSpool(old_hi);  // no other thread yet
      lock.lock();
    }
  }
  for (const auto& d : rec.damaged) {
    recovered_ += d.records;
    dropped_corrupt_ += d.records;
    ++batches_dropped_corrupt_;
    AddLossLocked(v1::LOSS_REASON_SPOOL_CORRUPT, d.sequence, d.sequence, 1, d.records,
                  d.first_event_ns, d.last_event_ns);
  }
  corrupt_regions_ = rec.corrupt_regions;
  if (rec.corrupt_regions > 0) {
    // Damage we cannot attribute to a batch: report it, amount unknown.
    AddLossLocked(v1::LOSS_REASON_SPOOL_CORRUPT, 0, 0, 0, 0, 0, 0);
  }
  if (seq_->unknown_first() <= seq_->unknown_last()) {
    // Unclean reboot: batches in this range may have been sealed and lost
    // with the unsynced end of the spool. The collector knows which of them
    // it received.
    AddLossLocked(v1::LOSS_REASON_SPOOL_CORRUPT, seq_->unknown_first(), seq_->unknown_last(),
                  seq_->unknown_last() - seq_->unknown_first() + 1, 0, 0, 0);
    Log(LogLevel::kWarning, "collector sink: unclean shutdown detected; sequences " +
                                std::to_string(seq_->unknown_first()) + ".." +
                                std::to_string(seq_->unknown_last()) + " may be lost");
  }
  if (rec.batches > 0 || !rec.damaged.empty() || rec.corrupt_regions > 0) {
    Log(rec.damaged.empty() && rec.corrupt_regions == 0 ? LogLevel::kInfo : LogLevel::kWarning,
        "collector sink: spool recovered " + std::to_string(rec.batches) + " batches (" +
            std::to_string(rec.records) + " records), " + std::to_string(rec.damaged.size()) +
            " damaged batches, " + std::to_string(rec.corrupt_regions) + " corrupt regions");
  }
  batcher_ = std::thread([this] { BatcherLoop(); });
  sender_ = std::thread([this] { SenderLoop(); });
  return {};
}

// ---------------------------------------------------------------- capture side

void CollectorSinkImpl::Emit(v1::Event&& event) {
  // Serialize here, on the capture thread, and keep bytes in the queue: the
  // event is freed by the thread that allocated it (cheap for malloc), the
  // queue's memory is ~the wire size, and the batcher only concatenates.
  thread_local std::string scratch;
  const size_t size = event.ByteSizeLong();
  scratch.resize(1 + 5 + size);
  auto* begin = reinterpret_cast<uint8_t*>(scratch.data());
  uint8_t* p = begin;
  *p++ = kTagEvents;
  p = CodedOut::WriteVarint32ToArray(static_cast<uint32_t>(size), p);
  p = event.SerializeWithCachedSizesToArray(p);
  const size_t framed = static_cast<size_t>(p - begin);
  const int64_t ts = EventNs(event);
  bool wake = false;
  {
    std::lock_guard lock(q_mu_);
    ++emitted_;
    if (!accepting_) {
      ++dropped_shutdown_;
      return;
    }
    if (queued_ >= opt_.queue_max_records) {
      ++dropped_queue_full_;
      if (queue_loss_records_ == 0 || ts < queue_loss_start_ns_) queue_loss_start_ns_ = ts;
      queue_loss_end_ns_ = std::max(queue_loss_end_ns_, ts);
      ++queue_loss_records_;
      return;
    }
    if (chunks_.empty() || chunks_.back().records >= opt_.batch_max_events ||
        chunks_.back().bytes.size() + framed > opt_.batch_max_bytes) {
      Chunk& c = chunks_.emplace_back();
      c.bytes.reserve(chunk_reserve_);
      c.since = Steady::now();
    }
    Chunk& c = chunks_.back();
    c.bytes.append(scratch.data(), framed);
    if (ts != 0 && (c.first_ns == 0 || ts < c.first_ns)) c.first_ns = ts;
    c.last_ns = std::max(c.last_ns, ts);
    ++c.records;
    ++queued_;
    wake = c.records == opt_.batch_max_events || chunks_.size() > 1;
  }
  if (wake) batcher_cv_.notify_one();
}

void CollectorSinkImpl::Tick(int64_t) {
  // The batcher seals on wall-clock delay by itself; a tick only makes it
  // look now (end of an offline capture, an idle link).
  batcher_cv_.notify_one();
}

// ---------------------------------------------------------------- batcher

void CollectorSinkImpl::BatcherLoop() {
  const auto delay = opt_.batch_max_delay;
  const auto sync_interval = opt_.spool_fsync_interval;
  auto last_sync = Steady::now();
  bool unsynced = false;  // batches sealed since the last Sync()
  for (;;) {
    bool seal = false;
    {
      std::unique_lock lock(q_mu_);
      for (;;) {
        if (chunks_.size() > 1 ||
            (!chunks_.empty() && chunks_.front().records >= opt_.batch_max_events)) {
          seal = true;
          break;
        }
        if (!chunks_.empty() &&
            (flush_requested_ || batcher_stop_ || Steady::now() - chunks_.front().since >= delay)) {
          seal = true;
          break;
        }
        if (chunks_.empty()) {
          flush_requested_ = false;
          if (batcher_stop_) break;
        }
        // Idle (or a batch still filling) with sealed batches not yet
        // synced: sync when they are `spool_fsync_interval` old, not at
        // the next batch, however late that comes.
        const auto now = Steady::now();
        if (unsynced && now - last_sync >= sync_interval) break;
        auto wait = chunks_.empty() ? std::chrono::milliseconds(200)
                                    : std::chrono::duration_cast<std::chrono::milliseconds>(
                                          chunks_.front().since + delay - now) +
                                          std::chrono::milliseconds(1);
        if (unsynced) {
          wait = std::min(wait, std::chrono::duration_cast<std::chrono::milliseconds>(
                                    last_sync + sync_interval - now) +
                                    std::chrono::milliseconds(1));
        }
        batcher_cv_.wait_for(
            lock, std::clamp<std::chrono::milliseconds>(wait, std::chrono::milliseconds(1),
                                                        std::chrono::milliseconds(200)));
      }
      if (chunks_.empty() && batcher_stop_) break;
    }
    Chunk chunk;
    {
      // Both locks: records leave the queue and enter `sealing` atomically.
      std::lock_guard acct(acct_mu_);
      std::lock_guard lock(q_mu_);
      if (seal && !chunks_.empty()) {
        chunk = std::move(chunks_.front());
        chunks_.pop_front();
        queued_ -= chunk.records;
        sealing_ += chunk.records;
        chunk_reserve_ = std::max<size_t>(4096, chunk.bytes.size() + 64);
      }
      if (queue_loss_records_ > 0) {
        AddLossLocked(v1::LOSS_REASON_QUEUE_FULL, 0, 0, 0, queue_loss_records_,
                      queue_loss_start_ns_, queue_loss_end_ns_);
        queue_loss_records_ = 0;
        queue_loss_start_ns_ = queue_loss_end_ns_ = 0;
      }
    }
    if (chunk.records > 0) {
      SealChunk(std::move(chunk));
      unsynced = true;
    }
    PersistLosses();
    auto now = Steady::now();
    if (unsynced && now - last_sync >= sync_interval) {
      SyncSpool();
      last_sync = now;
      unsynced = false;
    }
    flush_cv_.notify_all();
  }
  SyncSpool();
  flush_cv_.notify_all();
}

void CollectorSinkImpl::SealChunk(Chunk chunk) {
  // seq_mu_ until the batch is in the spool: a renumbering at Welcome
  // (RunSession) sees either none of it or a spooled batch.
  std::lock_guard seq_lock(seq_mu_);
  const uint64_t seq = seq_->Next();
  // The events are already framed; protobuf accepts fields in any order,
  // so created_at and the sequence go after them and nothing is copied.
  google::protobuf::Timestamp ts;
  SetTimestamp(&ts, NowNs());
  const size_t ts_size = ts.ByteSizeLong();
  std::string& bytes = chunk.bytes;
  const size_t at = bytes.size();
  bytes.resize(at + 1 + 5 + ts_size + 1 + 10);
  auto* p = reinterpret_cast<uint8_t*>(bytes.data()) + at;
  auto* begin = p;
  *p++ = kTagCreatedAt;
  p = CodedOut::WriteVarint32ToArray(static_cast<uint32_t>(ts_size), p);
  p = ts.SerializeWithCachedSizesToArray(p);
  *p++ = kTagSequence;
  p = CodedOut::WriteVarint64ToArray(seq, p);
  bytes.resize(at + static_cast<size_t>(p - begin));
  const uint32_t count = chunk.records;
  const int64_t first = chunk.first_ns, last = chunk.last_ns;
  auto payload = std::make_shared<const std::string>(std::move(bytes));

  SpooledBatch meta{seq, static_cast<uint32_t>(count), first, last};
  std::lock_guard lock(acct_mu_);
  auto result = spool_->Append(meta, std::move(payload));
  sealing_ -= count;
  ++batches_sealed_;
  // 0: the sequence store could not make a reservation durable; Append has
  // refused the batch as a write error and the last real number stands.
  if (seq != 0) last_sealed_ = seq;
  for (const auto& e : result.evicted) EvictedLocked(e);
  if (result.stored) {
    spooled_ += count;
  } else if (result.write_error) {
    dropped_write_error_ += count;
    AddLossLocked(v1::LOSS_REASON_SPOOL_OVERFLOW, seq, seq, 1, count, first, last);
    Log(LogLevel::kError, "collector sink: cannot write batch " + std::to_string(seq) +
                              " to the spool (disk full?); " + std::to_string(count) +
                              " records dropped");
  } else {
    dropped_overflow_ += count;
    ++batches_dropped_overflow_;
    AddLossLocked(v1::LOSS_REASON_SPOOL_OVERFLOW, seq, seq, 1, count, first, last);
  }
  ++sealed_counter_;
  sender_cv_.notify_all();
}

// ---------------------------------------------------------------- accounting

void CollectorSinkImpl::AddLossLocked(v1::LossReason reason, uint64_t first_seq, uint64_t last_seq,
                                      uint64_t batches, uint64_t records, int64_t start_ns,
                                      int64_t end_ns) {
  // Coalesce consecutive losses of one kind into one report: an overflow
  // evicts many batches at once, and the collector wants ranges.
  ++state_gen_;
  if (!losses_.empty() && !losses_.back().sent && losses_.back().mergeable) {
    v1::LossReport& prev = losses_.back().report;
    bool contiguous =
        first_seq != 0 && prev.last_sequence() != 0 && prev.last_sequence() + 1 == first_seq;
    bool unsequenced = first_seq == 0 && prev.first_sequence() == 0;
    if (prev.reason() == reason &&
        (contiguous || unsequenced || losses_.size() >= kMaxPendingLossReports)) {
      if (first_seq != 0) {
        if (prev.first_sequence() == 0) prev.set_first_sequence(first_seq);
        prev.set_last_sequence(std::max(prev.last_sequence(), last_seq));
      }
      prev.set_batches(prev.batches() + batches);
      prev.set_records(prev.records() + records);
      auto ns = [](const google::protobuf::Timestamp& t) {
        return t.seconds() * 1000000000 + t.nanos();
      };
      if (start_ns != 0 && (!prev.has_window_start() || start_ns < ns(prev.window_start()))) {
        SetTimestamp(prev.mutable_window_start(), start_ns);
      }
      if (end_ns != 0 && (!prev.has_window_end() || end_ns > ns(prev.window_end()))) {
        SetTimestamp(prev.mutable_window_end(), end_ns);
      }
      SetTimestamp(prev.mutable_occurred_at(), NowNs());
      sender_cv_.notify_all();
      return;
    }
  }
  v1::LossReport r;
  r.set_reason(reason);
  r.set_first_sequence(first_seq);
  r.set_last_sequence(last_seq);
  r.set_batches(batches);
  r.set_records(records);
  if (start_ns != 0) SetTimestamp(r.mutable_window_start(), start_ns);
  if (end_ns != 0) SetTimestamp(r.mutable_window_end(), end_ns);
  SetTimestamp(r.mutable_occurred_at(), NowNs());
  r.set_report_id(NewReportIdLocked());
  losses_.push_back(PendingLoss{std::move(r)});
  sender_cv_.notify_all();
}

void CollectorSinkImpl::EvictedLocked(const SpooledBatch& b) {
  spooled_ -= b.records;
  auto it = inflight_.find(b.sequence);
  if (it != inflight_.end()) {
    // Sent and awaiting its ack: if the ack comes, it was delivered; if the
    // stream breaks first, it is lost then (counted at that point).
    it->second.orphaned = true;
    orphaned_ += b.records;
    return;
  }
  dropped_overflow_ += b.records;
  ++batches_dropped_overflow_;
  AddLossLocked(v1::LOSS_REASON_SPOOL_OVERFLOW, b.sequence, b.sequence, 1, b.records,
                b.first_event_ns, b.last_event_ns);
}

uint64_t CollectorSinkImpl::PendingLocked() const {
  std::lock_guard lock(q_mu_);
  return queued_ + sealing_ + spooled_ + orphaned_;
}

CollectorSinkStats CollectorSinkImpl::Stats() const {
  CollectorSinkStats s;
  SpoolUsage usage = spool_->Usage();
  std::lock_guard acct(acct_mu_);
  std::lock_guard lock(q_mu_);
  s.records_emitted = emitted_;
  s.records_recovered = recovered_;
  s.records_acked = acked_;
  s.records_queued = queued_ + sealing_;
  s.records_pending = queued_ + sealing_ + spooled_ + orphaned_;
  s.records_dropped_queue_full = dropped_queue_full_;
  s.records_dropped_spool_overflow = dropped_overflow_;
  s.records_dropped_spool_corrupt = dropped_corrupt_;
  s.records_dropped_spool_write_error = dropped_write_error_;
  s.records_dropped_shutdown = dropped_shutdown_;
  s.batches_sealed = batches_sealed_;
  s.batches_acked = batches_acked_;
  s.batches_dropped_spool_overflow = batches_dropped_overflow_;
  s.batches_dropped_spool_corrupt = batches_dropped_corrupt_;
  s.batches_inflight = inflight_.size();
  s.spool_bytes = usage.bytes_used;
  s.spool_capacity_bytes = usage.bytes_capacity;
  s.spool_batches = usage.batches;
  s.spool_corrupt_regions = corrupt_regions_;
  s.connects = connects_;
  s.connect_failures = connect_failures_;
  s.auth_rejections = auth_rejections_;
  s.ack_timeouts = ack_timeouts_;
  s.connected = connected_;
  s.last_acked_sequence = last_acked_;
  s.last_sequence = last_sealed_;
  s.loss_reports_sent = loss_reports_sent_;
  s.loss_reports_pending = losses_.size();
  s.cert_not_after_ns = cert_not_after_ns_;
  s.batches_renumbered = batches_renumbered_;
  s.spool_syncs = spool_syncs_;
  s.last_synced_sequence = synced_sequence_;
  return s;
}

// ---------------------------------------------------------------- flush / stop

bool CollectorSinkImpl::WaitSpooled(std::chrono::milliseconds timeout) {
  auto deadline = Steady::now() + timeout;
  {
    std::lock_guard lock(q_mu_);
    flush_requested_ = true;
  }
  batcher_cv_.notify_one();
  std::unique_lock acct(acct_mu_);
  for (;;) {
    {
      std::lock_guard lock(q_mu_);
      if (queued_ == 0 && sealing_ == 0) return true;
      if (queued_ != 0) flush_requested_ = true;
    }
    batcher_cv_.notify_one();
    if (flush_cv_.wait_until(acct,
                             std::min(deadline, Steady::now() + std::chrono::milliseconds(20))) ==
            std::cv_status::timeout &&
        Steady::now() >= deadline) {
      std::lock_guard lock(q_mu_);
      return queued_ == 0 && sealing_ == 0;
    }
  }
}

bool CollectorSinkImpl::Flush(int timeout_ms) {
  auto deadline = Steady::now() + std::chrono::milliseconds(timeout_ms);
  if (!WaitSpooled(std::chrono::milliseconds(timeout_ms))) return false;
  std::unique_lock acct(acct_mu_);
  while (PendingLocked() != 0) {
    if (Steady::now() >= deadline) return false;
    flush_cv_.wait_until(acct, std::min(deadline, Steady::now() + std::chrono::milliseconds(20)));
  }
  return true;
}

void CollectorSinkImpl::Shutdown(std::chrono::milliseconds timeout) {
  std::lock_guard guard(shutdown_mu_);
  if (shut_down_) return;
  shut_down_ = true;
  {
    std::lock_guard lock(q_mu_);
    accepting_ = false;
    batcher_stop_ = true;
  }
  batcher_cv_.notify_all();
  if (batcher_.joinable()) batcher_.join();
  {
    std::lock_guard lock(acct_mu_);
    sender_stop_ = true;
    stop_deadline_ = Steady::now() + timeout;
  }
  sender_cv_.notify_all();
  if (sender_.joinable()) sender_.join();
  PersistLosses();
  if (spool_) spool_->Sync();
  if (seq_) seq_->MarkClean();
}

bool CollectorSinkImpl::StopDeadlinePassed() const {
  return sender_stop_ && stop_deadline_ && Steady::now() >= *stop_deadline_;
}

// ---------------------------------------------------------------- sender

std::chrono::milliseconds CollectorSinkImpl::Jitter(std::chrono::milliseconds base) {
  // "Equal jitter": half fixed, half random, so a fleet that lost the
  // collector at the same moment does not reconnect in lockstep.
  auto half = std::max<int64_t>(1, base.count() / 2);
  std::uniform_int_distribution<int64_t> d(0, half);
  return std::chrono::milliseconds(half + d(rng_));
}

void CollectorSinkImpl::SenderLoop() {
  auto backoff = opt_.reconnect_initial_backoff;
  for (;;) {
    bool welcomed_any = false;
    bool stop = false;
    for (const auto& address : opt_.addresses) {
      {
        std::lock_guard lock(acct_mu_);
        if (sender_stop_ && (StopDeadlinePassed() || PendingLocked() == 0)) {
          stop = true;
          break;
        }
      }
      bool welcomed = false;
      SessionEnd end = RunSession(address, &welcomed);
      if (end == SessionEnd::kStopped) {
        stop = true;
        break;
      }
      if (welcomed) {
        welcomed_any = true;
        break;
      }
    }
    if (stop) break;
    std::chrono::milliseconds delay;
    if (welcomed_any) {
      backoff = opt_.reconnect_initial_backoff;
      delay = Jitter(opt_.reconnect_initial_backoff);
    } else {
      delay = Jitter(backoff);
      backoff = std::min(backoff * 2, opt_.reconnect_max_backoff);
    }
    std::unique_lock lock(acct_mu_);
    auto until = Steady::now() + delay;
    if (stop_deadline_) until = std::min(until, *stop_deadline_);
    sender_cv_.wait_until(lock, until, [&] { return StopDeadlinePassed(); });
    if (sender_stop_ && (StopDeadlinePassed() || PendingLocked() == 0)) break;
  }
}

v1::AgentMessage CollectorSinkImpl::HelloMessage() {
  v1::AgentMessage msg;
  auto* h = msg.mutable_hello();
  h->set_agent_version(opt_.agent_version);
  for (const auto& i : opt_.interfaces) *h->add_interfaces() = i;
  SpoolUsage u = spool_->Usage();
  h->set_resume_sequence(u.first_sequence);
  {
    std::lock_guard lock(acct_mu_);
    h->set_last_sequence(last_sealed_);
  }
  h->set_instance_id(instance_id_);
  h->set_hostname(hostname_);
  SetTimestamp(h->mutable_sent_at(), NowNs());
  return msg;
}

v1::AgentMessage CollectorSinkImpl::HeartbeatMessage() {
  v1::AgentMessage msg;
  auto* hb = msg.mutable_heartbeat();
  if (heartbeat_source_) heartbeat_source_(*hb);
  CollectorSinkStats s = Stats();
  auto* p = hb->mutable_pipeline();
  p->set_records_produced(s.records_emitted);
  p->set_batches_sealed(s.batches_sealed);
  p->set_batches_acked(s.batches_acked);
  p->set_records_acked(s.records_acked);
  auto& dropped = *p->mutable_records_dropped();
  dropped["queue_full"] = s.records_dropped_queue_full;
  dropped["spool_overflow"] = s.records_dropped_spool_overflow;
  dropped["spool_corrupt"] = s.records_dropped_spool_corrupt;
  dropped["spool_write_error"] = s.records_dropped_spool_write_error;
  dropped["shutdown"] = s.records_dropped_shutdown;
  SpoolUsage u = spool_->Usage();
  auto* sp = hb->mutable_spool();
  sp->set_bytes_used(u.bytes_used);
  sp->set_bytes_capacity(u.bytes_capacity);
  sp->set_batches(u.batches);
  sp->set_first_sequence(u.first_sequence);
  sp->set_last_sequence(u.last_sequence);
  // Last, so the offset estimate is not skewed by the time spent above.
  SetTimestamp(hb->mutable_sent_at(), NowNs());
  return msg;
}

void CollectorSinkImpl::ApplyAck(uint64_t sequence) {
  std::lock_guard lock(acct_mu_);
  if (sequence <= last_acked_ && inflight_.empty()) return;
  for (const auto& b : spool_->Acknowledge(sequence)) {
    spooled_ -= b.records;
    acked_ += b.records;
    ++batches_acked_;
  }
  for (auto it = inflight_.begin(); it != inflight_.end() && it->first <= sequence;) {
    if (it->second.orphaned) {
      orphaned_ -= it->second.records;
      acked_ += it->second.records;
      ++batches_acked_;
    }
    inflight_bytes_ -= it->second.bytes;
    it = inflight_.erase(it);
  }
  last_acked_ = std::max(last_acked_, sequence);
  ConfirmLossesLocked(sequence);
  flush_cv_.notify_all();
}

void CollectorSinkImpl::ConfirmLossesLocked(uint64_t acked_sequence) {
  // The stream is ordered and the collector handles a LossReport as it
  // reads it: an ack for a batch sent after the report proves it arrived.
  while (!losses_.empty() && losses_.front().sent && losses_.front().sent_after < acked_sequence) {
    losses_.pop_front();
    ++state_gen_;
  }
}

void CollectorSinkImpl::PersistLosses() {
  // Both threads persist; persist_mu_ makes the snapshot and its write one
  // step, so a write never interleaves with another and an older snapshot
  // never replaces a newer one. A failed write is retried at the next call.
  std::lock_guard persist(persist_mu_);
  std::string data(kStateMagic, sizeof(kStateMagic));
  uint64_t gen;
  {
    std::lock_guard lock(acct_mu_);
    gen = state_gen_;
    if (gen == persisted_gen_) return;
    auto put = [&data](uint8_t kind, const v1::LossReport& r) {
      std::string bytes = r.SerializeAsString();
      uint32_t len = static_cast<uint32_t>(bytes.size());
      uint32_t crc = Crc32c(bytes.data(), bytes.size());
      data.push_back(static_cast<char>(kind));
      data.append(reinterpret_cast<const char*>(&len), 4);
      data.append(reinterpret_cast<const char*>(&crc), 4);
      data.append(bytes);
    };
    for (const auto& l : losses_) put(kEntryLoss, l.report);
    for (const auto& [seq, f] : unresolved_) {
      v1::LossReport r;
      r.set_reason(v1::LOSS_REASON_SPOOL_OVERFLOW);
      r.set_first_sequence(seq);
      r.set_last_sequence(seq);
      r.set_batches(1);
      r.set_records(f.records);
      if (f.first_event_ns != 0) SetTimestamp(r.mutable_window_start(), f.first_event_ns);
      if (f.last_event_ns != 0) SetTimestamp(r.mutable_window_end(), f.last_event_ns);
      put(kEntryUnresolved, r);
    }
  }
  // Not synced: survives a killed agent; a power loss may forget reports,
  // which the collector still sees as sequence gaps.
  if (WriteFileAtomically(opt_.spool_directory + "/losses", data)) persisted_gen_ = gen;
}

void CollectorSinkImpl::LoadLosses() {
  std::ifstream in(opt_.spool_directory + "/losses", std::ios::binary);
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const bool tagged =
      data.size() >= sizeof(kStateMagic) && std::memcmp(data.data(), kStateMagic, 4) == 0;
  size_t at = tagged ? sizeof(kStateMagic) : 0;
  const size_t head = tagged ? 9 : 8;
  while (at + head <= data.size()) {
    uint8_t kind = kEntryLoss;
    if (tagged) kind = static_cast<uint8_t>(data[at]);
    uint32_t len, crc;
    std::memcpy(&len, data.data() + at + head - 8, 4);
    std::memcpy(&crc, data.data() + at + head - 4, 4);
    if (len > data.size() - at - head || Crc32c(data.data() + at + head, len) != crc) break;
    v1::LossReport r;
    if (r.ParseFromArray(data.data() + at + head, static_cast<int>(len))) {
      if (kind == kEntryLoss) {
        // It may have reached the collector before the restart: resent as
        // it is, under its id. Reports of agents that predate report_id
        // get one now.
        if (r.report_id().empty()) {
          r.set_report_id(NewReportIdLocked());
          ++state_gen_;
        }
        PendingLoss l{std::move(r)};
        l.mergeable = false;
        losses_.push_back(std::move(l));
      } else if (kind == kEntryUnresolved && r.first_sequence() != 0) {
        InFlight f;
        f.records = static_cast<uint32_t>(r.records());
        f.orphaned = true;
        auto ns = [](const google::protobuf::Timestamp& t) {
          return t.seconds() * 1000000000 + t.nanos();
        };
        if (r.has_window_start()) f.first_event_ns = ns(r.window_start());
        if (r.has_window_end()) f.last_event_ns = ns(r.window_end());
        unresolved_[r.first_sequence()] = f;
      }
    }
    at += head + len;
  }
}

std::string CollectorSinkImpl::NewReportIdLocked() {
  // The process's random instance id and a counter: unique per agent
  // without coordination (a restored state directory cannot reissue an id).
  char buf[48];
  std::snprintf(buf, sizeof(buf), "%016llx-%llu", static_cast<unsigned long long>(instance_id_),
                static_cast<unsigned long long>(++report_counter_));
  return buf;
}

void CollectorSinkImpl::ResolveUnresolvedLocked(uint64_t welcome_sequence, bool renumbered) {
  if (unresolved_.empty()) return;
  for (const auto& [seq, f] : unresolved_) {
    orphaned_ -= f.records;
    if (!renumbered && seq <= welcome_sequence) {
      // The collector committed it; only the ack was lost with the stream.
      acked_ += f.records;
      ++batches_acked_;
      continue;
    }
    dropped_overflow_ += f.records;
    ++batches_dropped_overflow_;
    // After renumbering our old numbers mean other batches to the collector.
    const uint64_t s = renumbered ? 0 : seq;
    AddLossLocked(v1::LOSS_REASON_SPOOL_OVERFLOW, s, s, 1, f.records, f.first_event_ns,
                  f.last_event_ns);
  }
  unresolved_.clear();
  ++state_gen_;
  flush_cv_.notify_all();
}

void CollectorSinkImpl::WriteRenumberMarker(uint64_t old_hi, uint64_t done) {
  (void)WriteFileAtomically(opt_.spool_directory + "/renumber",
                            std::to_string(old_hi) + " " + std::to_string(done) + "\n");
}

void CollectorSinkImpl::RenumberSpool(uint64_t old_hi) {
  uint64_t moved = 0, lost = 0;
  for (;;) {
    std::lock_guard lock(acct_mu_);
    auto r = spool_->ReadAfter(0);
    for (const auto& c : r.corrupt) {
      spooled_ -= c.records;
      dropped_corrupt_ += c.records;
      ++batches_dropped_corrupt_;
      const uint64_t s = c.sequence > old_hi ? c.sequence : 0;
      AddLossLocked(v1::LOSS_REASON_SPOOL_CORRUPT, s, s, 1, c.records, c.first_event_ns,
                    c.last_event_ns);
    }
    if (!r.batch || r.batch->sequence > old_hi) break;
    const SpooledBatch old = *r.batch;
    SpooledBatch meta = old;
    meta.sequence = seq_->Next();
    std::optional<std::string> bytes = Resequenced(*r.payload, old.sequence, meta.sequence);
    Spool::AppendResult result;
    if (bytes) {
      result = spool_->Append(meta, std::make_shared<const std::string>(std::move(*bytes)));
    }
    // The old copy goes once the new one is written (a kill in between:
    // the marker says it was copied).
    for (const auto& e : result.evicted) {
      if (e.sequence == old.sequence) continue;  // the copy holds it
      if (e.sequence > old_hi) {
        EvictedLocked(e);
        continue;
      }
      // Not renumbered yet: lost to the overflow; its old number means
      // another batch to the collector, so it is reported without one.
      spooled_ -= e.records;
      dropped_overflow_ += e.records;
      ++batches_dropped_overflow_;
      ++lost;
      AddLossLocked(v1::LOSS_REASON_SPOOL_OVERFLOW, 0, 0, 1, e.records, e.first_event_ns,
                    e.last_event_ns);
    }
    if (meta.sequence != 0) last_sealed_ = meta.sequence;  // 0: see SealChunk
    if (result.stored) {
      ++batches_renumbered_;
      ++moved;
    } else {
      spooled_ -= old.records;
      ++lost;
      if (!bytes) {
        dropped_corrupt_ += old.records;
        ++batches_dropped_corrupt_;
      } else if (result.write_error) {
        dropped_write_error_ += old.records;
      } else {
        dropped_overflow_ += old.records;
        ++batches_dropped_overflow_;
      }
      // Under its new number: it explains the gap the collector will see.
      AddLossLocked(bytes ? v1::LOSS_REASON_SPOOL_OVERFLOW : v1::LOSS_REASON_SPOOL_CORRUPT,
                    meta.sequence, meta.sequence, 1, old.records, old.first_event_ns,
                    old.last_event_ns);
    }
    (void)spool_->Acknowledge(old.sequence);
    WriteRenumberMarker(old_hi, old.sequence);
  }
  {
    std::lock_guard lock(acct_mu_);
    // Reports not yet sent that name our old numbers would point at other
    // batches: keep them, without sequences.
    for (auto& l : losses_) {
      if (!l.mergeable || l.report.first_sequence() > old_hi) continue;
      l.report.set_first_sequence(0);
      l.report.set_last_sequence(0);
      ++state_gen_;
    }
  }
  SyncSpool();
  ::unlink((opt_.spool_directory + "/renumber").c_str());
  if (moved > 0 || lost > 0) {
    Log(LogLevel::kWarning, "collector sink: renumbered " + std::to_string(moved) +
                                " spooled batches above the collector's sequence" +
                                (lost > 0 ? "; " + std::to_string(lost) + " lost meanwhile" : ""));
  }
}

void CollectorSinkImpl::SyncSpool() {
  uint64_t target;
  {
    std::lock_guard lock(acct_mu_);
    target = last_sealed_;
  }
  spool_->Sync();
  std::lock_guard lock(acct_mu_);
  ++spool_syncs_;
  synced_sequence_ = std::max(synced_sequence_, target);
}

CollectorSinkImpl::SessionEnd CollectorSinkImpl::RunSession(const std::string& address,
                                                            bool* welcomed) {
  *welcomed = false;
  auto channel = transport::MakeChannel(address, creds_, channel_settings_);
  grpc::ClientContext ctx;
  std::unique_ptr<RawStream> stream = OpenRawStream(channel.get(), &ctx);
  {
    std::lock_guard lock(acct_mu_);
    welcome_.reset();
    stream_acked_ = 0;
    read_done_ = false;
    last_ack_progress_ = Steady::now();
  }
  bool session_over = false;
  bool stalled = false;
  auto connect_deadline = Steady::now() + opt_.connect_timeout + kWelcomeGrace;

  std::thread reader([&] {
    grpc::ByteBuffer buf;
    while (stream->Read(&buf)) {
      v1::CollectorMessage msg;
      grpc::ProtoBufferReader in(&buf);
      if (!msg.ParseFromZeroCopyStream(&in)) continue;  // newer collector: ignore
      std::lock_guard lock(acct_mu_);
      if (msg.has_welcome()) {
        welcome_ = msg.welcome();
      } else if (msg.has_ack() && msg.ack().sequence() > stream_acked_) {
        stream_acked_ = msg.ack().sequence();
        last_ack_progress_ = Steady::now();
      }
      sender_cv_.notify_all();
    }
    std::lock_guard lock(acct_mu_);
    read_done_ = true;
    sender_cv_.notify_all();
  });
  // A blocked Write() (collector stopped reading) can only be ended by
  // cancelling the call: the watchdog does that on a stall, on a missing
  // Welcome, and when the shutdown deadline passes.
  std::thread watchdog([&] {
    std::unique_lock lock(acct_mu_);
    while (!session_over) {
      sender_cv_.wait_for(lock, std::chrono::milliseconds(100));
      if (session_over) break;
      auto now = Steady::now();
      bool cancel = StopDeadlinePassed();
      if (!welcome_ && now >= connect_deadline) cancel = true;
      if (welcome_ && !inflight_.empty() && now - last_ack_progress_ >= opt_.ack_timeout) {
        stalled = true;
        cancel = true;
      }
      if (cancel) {
        ctx.TryCancel();
        break;
      }
    }
  });

  SessionEnd end = SessionEnd::kEnded;
  bool graceful = false;
  uint64_t last_sent = 0;
  bool ok = stream->Write(MessageBuffer(HelloMessage()));
  if (ok) {
    std::unique_lock lock(acct_mu_);
    sender_cv_.wait(lock, [&] { return welcome_.has_value() || read_done_; });
    ok = welcome_.has_value();
  }
  if (ok) {
    v1::Welcome welcome;
    {
      std::lock_guard lock(acct_mu_);
      welcome = *welcome_;
      connected_ = true;
      ++connects_;
    }
    *welcomed = true;
    Log(LogLevel::kInfo, "collector sink: connected to " + address + " as " + welcome.agent_id() +
                             " (" + welcome.agency() + "); collector holds up to sequence " +
                             std::to_string(welcome.last_sequence()));
    bool renumbered = false;
    {
      std::lock_guard lock(seq_mu_);
      const uint64_t ours = seq_->last_assigned();
      if (welcome.last_sequence() > ours) {
        // The collector holds sequences we never issued in this state: our
        // spool directory is older than what we sent (restored from backup,
        // wiped, reinstalled). Never reuse those numbers, and do not take
        // the Welcome as an ack of what we spooled under them: the
        // collector holds other batches under those numbers. Every spooled
        // batch gets a number above the collector's and is sent.
        Log(LogLevel::kError, "collector sink: collector holds sequence " +
                                  std::to_string(welcome.last_sequence()) + " beyond our last (" +
                                  std::to_string(ours) + "); skipping ahead");
        seq_->RaiseFloor(welcome.last_sequence());
        renumbered = true;
        if (spool_->Usage().batches > 0) {
          WriteRenumberMarker(ours, 0);
          RenumberSpool(ours);
        }
      }
    }
    {
      std::lock_guard lock(acct_mu_);
      ResolveUnresolvedLocked(welcome.last_sequence(), renumbered);
    }
    ApplyAck(welcome.last_sequence());
    last_sent = welcome.last_sequence();
    auto next_heartbeat = Steady::now();
    uint64_t applied_ack = welcome.last_sequence();
    for (;;) {
      // Acks, loss reports, heartbeat, then as many batches as the window allows.
      uint64_t ack;
      std::vector<v1::LossReport> losses;
      bool broken;
      {
        std::lock_guard lock(acct_mu_);
        ack = stream_acked_;
        broken = read_done_;
        // Marked sent before writing: the batcher no longer merges into them.
        for (auto& l : losses_) {
          if (l.sent) continue;
          l.sent = true;
          l.mergeable = false;
          l.sent_after = last_sent;
          losses.push_back(l.report);
        }
      }
      if (ack > applied_ack) {
        ApplyAck(ack);
        applied_ack = ack;
      }
      PersistLosses();
      if (broken) break;
      {
        std::lock_guard lock(acct_mu_);
        if (sender_stop_ && (StopDeadlinePassed() || PendingLocked() == 0)) {
          graceful = true;
          break;
        }
      }
      for (const auto& r : losses) {
        v1::AgentMessage m;
        *m.mutable_loss_report() = r;
        if (!(ok = stream->Write(MessageBuffer(m)))) break;
        std::lock_guard lock(acct_mu_);
        ++loss_reports_sent_;
      }
      if (!ok) break;
      if (Steady::now() >= next_heartbeat) {
        if (!(ok = stream->Write(MessageBuffer(HeartbeatMessage())))) break;
        next_heartbeat = Steady::now() + opt_.heartbeat_interval;
      }
      for (;;) {
        std::shared_ptr<const std::string> payload;
        SpooledBatch batch;
        {
          std::lock_guard lock(acct_mu_);
          if (inflight_.size() >= opt_.max_inflight_batches ||
              inflight_bytes_ >= opt_.max_inflight_bytes) {
            break;
          }
          auto r = spool_->ReadAfter(last_sent);
          for (const auto& c : r.corrupt) {
            spooled_ -= c.records;
            dropped_corrupt_ += c.records;
            ++batches_dropped_corrupt_;
            AddLossLocked(v1::LOSS_REASON_SPOOL_CORRUPT, c.sequence, c.sequence, 1, c.records,
                          c.first_event_ns, c.last_event_ns);
          }
          if (!r.batch) break;
          batch = *r.batch;
          payload = std::move(r.payload);
          if (inflight_.empty()) last_ack_progress_ = Steady::now();
          inflight_[batch.sequence] = InFlight{batch.records, payload->size(), false,
                                               batch.first_event_ns, batch.last_event_ns};
          inflight_bytes_ += payload->size();
        }
        if (!(ok = stream->Write(BatchBuffer(payload)))) break;
        last_sent = batch.sequence;
      }
      if (!ok) break;
      std::unique_lock lock(acct_mu_);
      uint64_t seen = sealed_counter_;
      auto until = std::min(next_heartbeat, Steady::now() + std::chrono::milliseconds(200));
      sender_cv_.wait_until(lock, until, [&] {
        bool window_open = inflight_.size() < opt_.max_inflight_batches &&
                           inflight_bytes_ < opt_.max_inflight_bytes;
        return (sealed_counter_ != seen && window_open) || stream_acked_ > applied_ack ||
               read_done_ || (!losses_.empty() && !losses_.back().sent) || sender_stop_;
      });
    }
  }
  if (graceful && ok) {
    // A last heartbeat first: the collector's capture counters for this run
    // are then complete even for a replay shorter than one heartbeat interval.
    v1::AgentMessage bye;
    bye.mutable_goodbye()->set_reason("agent shutting down");
    if (stream->Write(MessageBuffer(HeartbeatMessage())) && stream->Write(MessageBuffer(bye))) {
      stream->WritesDone();
    }
    // The collector ends the stream once its last acks are out; the
    // watchdog cancels at the deadline if it does not.
    std::unique_lock lock(acct_mu_);
    sender_cv_.wait(lock, [&] { return read_done_ || StopDeadlinePassed(); });
  } else {
    // A failed write usually means the collector ended the stream: give the
    // reader a moment to receive its status (a rejection names the reason),
    // cancelling would replace it with CANCELLED.
    std::unique_lock lock(acct_mu_);
    sender_cv_.wait_for(lock, std::chrono::seconds(1), [&] { return read_done_; });
  }
  {
    std::lock_guard lock(acct_mu_);
    if (!read_done_) ctx.TryCancel();
  }
  {
    std::lock_guard lock(acct_mu_);
    session_over = true;
  }
  sender_cv_.notify_all();
  reader.join();
  watchdog.join();
  grpc::Status status = stream->Finish();
  // Acks that arrived last.
  {
    uint64_t ack;
    {
      std::lock_guard lock(acct_mu_);
      ack = stream_acked_;
    }
    if (ack > 0) ApplyAck(ack);
  }
  {
    std::lock_guard lock(acct_mu_);
    connected_ = false;
    if (stalled) ++ack_timeouts_;
    // In-flight batches go back to "spooled" (resent next time), except
    // those evicted meanwhile: the collector may have committed them and
    // only the ack was lost. The next Welcome says which (still pending).
    for (const auto& [seq, f] : inflight_) {
      if (!f.orphaned) continue;
      unresolved_[seq] = f;
    }
    inflight_.clear();
    inflight_bytes_ = 0;
    // A stream the collector closed with OK read everything we sent; any
    // other ending leaves sent reports unconfirmed: send them again.
    for (auto& l : losses_) {
      if (!l.sent) break;
      if (!status.ok()) l.sent = false;
    }
    if (status.ok()) {
      while (!losses_.empty() && losses_.front().sent) losses_.pop_front();
    }
    ++state_gen_;
    if (sender_stop_ && (graceful || StopDeadlinePassed())) end = SessionEnd::kStopped;
  }
  if (*welcomed) {
    if (stalled) {
      Log(LogLevel::kWarning, "collector sink: no acknowledgement from " + address + " for " +
                                  std::to_string(opt_.ack_timeout.count()) +
                                  " ms; reconnecting (batches stay spooled)");
    } else if (end != SessionEnd::kStopped) {
      Log(LogLevel::kWarning, "collector sink: stream to " + address +
                                  " ended: " + status.error_message() + " (code " +
                                  std::to_string(static_cast<int>(status.error_code())) + ")");
    }
    return end;
  }
  std::lock_guard lock(acct_mu_);
  if (status.error_code() == grpc::StatusCode::UNAUTHENTICATED ||
      status.error_code() == grpc::StatusCode::PERMISSION_DENIED) {
    ++auth_rejections_;
    Log(LogLevel::kError,
        "collector sink: collector " + address + " refused this agent: " + status.error_message());
    return sender_stop_ ? SessionEnd::kStopped : SessionEnd::kRejected;
  }
  ++connect_failures_;
  if (!sender_stop_) {
    Log(LogLevel::kWarning, "collector sink: cannot reach collector " + address + ": " +
                                (status.ok() ? std::string("no Welcome") : status.error_message()));
  }
  return sender_stop_ && StopDeadlinePassed() ? SessionEnd::kStopped : SessionEnd::kFailed;
}

}  // namespace vigil::agent::exporter
