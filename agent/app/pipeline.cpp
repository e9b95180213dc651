#include "agent/app/pipeline.h"

namespace vigil::agent::app {
namespace {

constexpr std::chrono::milliseconds kPublishInterval{100};
// Sink ticks on packet time: often enough for sub-second batch delays.
constexpr int64_t kTickIntervalNs = 100'000'000;
// How many packets between looks at the wall clock.
constexpr uint32_t kClockCheckPackets = 1024;

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
  capture::Packet raw;
  decode::DecodedPacket packet;
  int64_t last_tick_ns = 0;
  uint32_t since_clock_check = 0;
  std::expected<void, std::string> result;
  const bool pace = options_.replay_speed > 0 && source_->Offline();
  for (;;) {
    const capture::ReadStatus status = source_->Next(raw);
    if (status == capture::ReadStatus::kPacket) {
      // Interrupted while waiting: this packet is still processed, the
      // source then reports the end.
      if (pace) WaitUntilDue(raw.ts_ns);
      const decode::DecodeResult r =
          decoder_.Decode(link_type, raw.ts_ns, raw.wire_len, raw.data, packet);
      if (r == decode::DecodeResult::kIp) {
        table_.Process(packet);
      } else {
        table_.Advance(raw.ts_ns);  // time moves on even for frames without flows
      }
      if (raw.ts_ns - last_tick_ns >= kTickIntervalNs) {
        sink_.Tick(raw.ts_ns);
        last_tick_ns = raw.ts_ns;
      }
      if (++since_clock_check >= kClockCheckPackets) {
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
