#include "agent/app/pipeline.h"

#include <array>
#include <vector>

namespace vigil::agent::app {
namespace {

constexpr std::chrono::milliseconds kPublishInterval{100};
// Sink ticks on packet time: often enough for sub-second batch delays.
constexpr int64_t kTickIntervalNs = 100'000'000;
// How many packets between looks at the wall clock.
constexpr uint32_t kClockCheckPackets = 1024;
// Packets read and decoded at once. While a batch is decoded, each packet's
// index slot is requested (Prepare) and, kSlotLeadPackets decodes later
// when that slot has arrived, the flow it names: by the time the batch is
// processed every flow it touches is in L1/L2 (32 flows are ~8 KiB), the
// first packets of a batch included.
constexpr size_t kBatchSize = 32;
constexpr size_t kSlotLeadPackets = 6;

int64_t WallNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Pipeline::Pipeline(std::unique_ptr<capture::PacketSource> source,
                   const decode::DecoderOptions& decoder, const flow::FlowTableOptions& flows,
                   exporter::RecordSink& sink, flow::AnalyzerFactory analyzers,
                   const PipelineOptions& options)
    : source_(std::move(source)),
      decoder_(decoder),
      sink_(sink),
      table_(flows, sink, std::move(analyzers)),
      options_(options) {
  published_.name = source_->Name();
}

void Pipeline::Interrupt() {
  {
    std::lock_guard lock(wait_mu_);
    interrupted_ = true;
  }
  wait_cv_.notify_all();
  source_->Interrupt();
}

bool Pipeline::WaitUntilDue(int64_t ts_ns) {
  using std::chrono::steady_clock;
  const double speed = options_.replay_speed;
  if (!paced_) {
    paced_ = true;
    replay_origin_ts_ns_ = ts_ns;
    replay_origin_wall_ = steady_clock::now();
    return true;
  }
  // Capture time that has elapsed, scaled to the steady clock. A timestamp
  // before the origin (out-of-order capture) is due at once.
  const auto offset = std::chrono::nanoseconds(
      static_cast<int64_t>(static_cast<double>(ts_ns - replay_origin_ts_ns_) / speed));
  const steady_clock::time_point due = replay_origin_wall_ + offset;
  std::unique_lock lock(wait_mu_);
  for (;;) {
    if (interrupted_) return false;
    const steady_clock::time_point now = steady_clock::now();
    if (now >= due) return true;
    // Wake at least every tick interval so timers and batching follow the
    // replayed clock through long gaps.
    const steady_clock::time_point wake =
        std::min(due, now + std::chrono::nanoseconds(kTickIntervalNs));
    wait_cv_.wait_until(lock, wake, [&] { return interrupted_; });
    if (interrupted_) return false;
    const auto elapsed = steady_clock::now() - replay_origin_wall_;
    const int64_t replayed_now =
        replay_origin_ts_ns_ + static_cast<int64_t>(static_cast<double>(elapsed.count()) * speed);
    if (replayed_now < ts_ns) {
      lock.unlock();
      table_.Advance(replayed_now);
      sink_.Tick(replayed_now);
      Publish();
      lock.lock();
    }
  }
}

PipelineSnapshot Pipeline::Snapshot() const {
  std::lock_guard lock(mu_);
  PipelineSnapshot s = published_;
  s.capture = source_->Stats();  // thread-safe by the PacketSource contract
  s.running = running_.load();
  return s;
}

void Pipeline::Publish() {
  std::lock_guard lock(mu_);
  published_.decode = decoder_.stats();
  published_.flow = table_.stats();
}

std::expected<void, std::string> Pipeline::Run() {
  running_ = true;
  const int link_type = source_->LinkType();
  // Packets are read in batches and decoded a batch ahead, so the flow of
  // each packet can be fetched from memory while earlier ones are processed
  // (see FlowTable::Prepare()). Batches never wait to fill: a live source
  // hands over what it has.
  capture::PacketBatch batch;
  std::vector<decode::DecodedPacket> packets(kBatchSize);
  std::array<decode::DecodeResult, kBatchSize> results{};
  std::array<flow::FlowLookup, kBatchSize> lookups{};
  int64_t last_tick_ns = 0;
  uint32_t since_clock_check = 0;
  std::expected<void, std::string> result;
  const bool pace = options_.replay_speed > 0 && source_->Offline();
  for (;;) {
    const capture::ReadStatus status = source_->NextBatch(batch, kBatchSize);
    if (status == capture::ReadStatus::kPacket) {
      const size_t n = batch.size();
      for (size_t i = 0; i < n; ++i) {
        const capture::Packet raw = batch[i];
        results[i] = decoder_.Decode(link_type, raw.ts_ns, raw.wire_len, raw.data, packets[i]);
        if (results[i] == decode::DecodeResult::kIp) table_.Prepare(packets[i], &lookups[i]);
        if (i >= kSlotLeadPackets && results[i - kSlotLeadPackets] == decode::DecodeResult::kIp) {
          table_.PrefetchFlow(lookups[i - kSlotLeadPackets]);
        }
      }
      for (size_t i = n > kSlotLeadPackets ? n - kSlotLeadPackets : 0; i < n; ++i) {
        if (results[i] == decode::DecodeResult::kIp) table_.PrefetchFlow(lookups[i]);
      }
      for (size_t i = 0; i < n; ++i) {
        const int64_t ts_ns = batch[i].ts_ns;
        // Interrupted while waiting: the batch is still processed, the
        // source then reports the end.
        if (pace) WaitUntilDue(ts_ns);
        if (results[i] == decode::DecodeResult::kIp) {
          table_.Process(packets[i], &lookups[i]);
        } else {
          table_.Advance(ts_ns);  // time moves on even for frames without flows
        }
        if (ts_ns - last_tick_ns >= kTickIntervalNs) {
          sink_.Tick(ts_ns);
          last_tick_ns = ts_ns;
        }
      }
      since_clock_check += static_cast<uint32_t>(n);
      if (since_clock_check >= kClockCheckPackets) {
        since_clock_check = 0;
        const auto now = std::chrono::steady_clock::now();
        if (now >= next_publish_) {
          next_publish_ = now + kPublishInterval;
          Publish();
        }
      }
      continue;
    }
    if (status == capture::ReadStatus::kTimeout) {
      // A quiet live link: run the timers on the wall clock.
      const int64_t now = WallNowNs();
      table_.Advance(now);
      decoder_.ExpireFragments(now);
      sink_.Tick(now);
      last_tick_ns = now;
      Publish();
      continue;
    }
    if (status == capture::ReadStatus::kError) {
      result = std::unexpected(source_->Name() + ": " + source_->Error());
    }
    break;  // kEnd: end of file or interrupted
  }
  table_.FlushAll(flow::EndCause::kShutdown);
  sink_.Tick(table_.now_ns());
  Publish();
  running_ = false;
  return result;
}

}  // namespace vigil::agent::app
