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
                   exporter::RecordSink& sink, flow::AnalyzerFactory analyzers)
    : source_(std::move(source)),
      decoder_(decoder),
      sink_(sink),
      table_(flows, sink, std::move(analyzers)) {
  published_.name = source_->Name();
}

void Pipeline::Interrupt() { source_->Interrupt(); }

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
  for (;;) {
    const capture::ReadStatus status = source_->Next(raw);
    if (status == capture::ReadStatus::kPacket) {
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
