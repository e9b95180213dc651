// The capture pipeline with an in-memory PacketSource (the seam between
// capture and the rest): records reach the sink, time-based batching gets
// ticks, a quiet live source advances the flow timers on the wall clock, and
// the end of input writes every open flow with end reason `shutdown`, and a
// replay paced by the capture's timestamps (--replay-speed).

#include "agent/app/pipeline.h"

#include <gtest/gtest.h>

#include <chrono>
#include <deque>
#include <thread>

#include "tests/support/packet_builder.h"

namespace vigil::agent::app {
namespace {

namespace tb = vigil::testing;

class ScriptedSource final : public capture::PacketSource {
 public:
  struct Item {
    capture::ReadStatus status;
    int64_t ts_ns = 0;
    tb::Bytes frame;
  };
  explicit ScriptedSource(std::deque<Item> items, bool offline)
      : items_(std::move(items)), offline_(offline) {}
  int LinkType() const override { return 1; }
  capture::ReadStatus Next(capture::Packet& p) override {
    if (items_.empty()) return capture::ReadStatus::kEnd;
    current_ = std::move(items_.front());
    items_.pop_front();
    if (current_.status == capture::ReadStatus::kPacket) {
      p.ts_ns = current_.ts_ns;
      p.wire_len = static_cast<uint32_t>(current_.frame.size());
      p.data = current_.frame;
      ++stats_.packets_received;
    }
    return current_.status;
  }
  capture::CaptureStats Stats() const override { return stats_; }
  void Interrupt() override {}
  const std::string& Name() const override { return name_; }
  bool Offline() const override { return offline_; }
  std::string Error() const override { return "scripted failure"; }

 private:
  std::deque<Item> items_;
  Item current_;
  bool offline_;
  capture::CaptureStats stats_;
  std::string name_ = "scripted0";
};

class CollectingSink final : public exporter::RecordSink {
 public:
  void Emit(v1::Event&& e) override { events.push_back(std::move(e)); }
  void Tick(int64_t now_ns) override { ticks.push_back(now_ns); }
  std::vector<v1::Event> events;
  std::vector<int64_t> ticks;
};

int64_t WallNow() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

tb::Bytes Udp(uint16_t sport) {
  const tb::Bytes a = tb::ParseIp("10.0.0.1"), b = tb::ParseIp("10.0.0.2");
  return tb::Frame({}, a, b, tb::kProtoUdp, tb::Udp(a, b, sport, 9999, tb::Bytes(8, 1)));
}

TEST(Pipeline, QuietLiveSourceExpiresFlowsOnTheWallClock) {
  const int64_t now = WallNow();
  std::deque<ScriptedSource::Item> script = {
      {capture::ReadStatus::kPacket, now - 10'000'000'000, Udp(1000)},  // 10 s ago
      {capture::ReadStatus::kTimeout, 0, {}},                           // then silence
      {capture::ReadStatus::kEnd, 0, {}},
  };
  CollectingSink sink;
  flow::FlowTableOptions fo;
  fo.timeouts.udp_idle_ns = 1'000'000'000;
  Pipeline p(std::make_unique<ScriptedSource>(std::move(script), /*offline=*/false), {}, fo, sink,
             nullptr);
  ASSERT_TRUE(p.Run().has_value());
  ASSERT_EQ(sink.events.size(), 1u);
  EXPECT_EQ(sink.events[0].flow().end_reason(), v1::END_REASON_IDLE_TIMEOUT);
  EXPECT_FALSE(sink.ticks.empty());
  EXPECT_GE(sink.ticks.back(), now);  // the idle tick carried the wall clock
  const PipelineSnapshot s = p.Snapshot();
  EXPECT_EQ(s.capture.packets_received, 1u);
  EXPECT_EQ(s.flow.flows_ended[static_cast<size_t>(flow::EndCause::kIdleTimeout)], 1u);
  EXPECT_FALSE(s.running);
}

TEST(Pipeline, EndOfInputFlushesOpenFlowsAsShutdown) {
  std::deque<ScriptedSource::Item> script;
  for (uint16_t port = 1; port <= 3; ++port) {
    script.push_back({capture::ReadStatus::kPacket, port * 1'000'000'000LL, Udp(port)});
  }
  script.push_back({capture::ReadStatus::kPacket, 4'000'000'000, tb::Bytes(8, 0)});  // runt frame
  CollectingSink sink;
  Pipeline p(std::make_unique<ScriptedSource>(std::move(script), /*offline=*/true), {}, {}, sink,
             nullptr);
  ASSERT_TRUE(p.Run().has_value());
  ASSERT_EQ(sink.events.size(), 3u);
  for (const auto& e : sink.events) EXPECT_EQ(e.flow().end_reason(), v1::END_REASON_SHUTDOWN);
  const PipelineSnapshot s = p.Snapshot();
  EXPECT_EQ(s.decode.packets, 4u);
  EXPECT_EQ(s.decode.malformed_packets, 1u);
  EXPECT_EQ(s.decode.AnomalyTotal(), 1u);
  EXPECT_EQ(s.flow.records_emitted, 3u);
}

TEST(Pipeline, ReadErrorIsReportedAfterFlushing) {
  std::deque<ScriptedSource::Item> script = {
      {capture::ReadStatus::kPacket, 1'000'000'000, Udp(7)},
      {capture::ReadStatus::kError, 0, {}},
  };
  CollectingSink sink;
  Pipeline p(std::make_unique<ScriptedSource>(std::move(script), true), {}, {}, sink, nullptr);
  auto r = p.Run();
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), "scripted0: scripted failure");
  EXPECT_EQ(sink.events.size(), 1u);  // nothing already seen is lost
}

constexpr int64_t kT0 = 1'700'000'000'000'000'000;
constexpr int64_t kMsNs = 1'000'000;

std::deque<ScriptedSource::Item> UdpAt(const std::vector<int64_t>& offsets_ns) {
  std::deque<ScriptedSource::Item> script;
  uint16_t port = 1000;
  for (int64_t off : offsets_ns) {
    script.push_back({capture::ReadStatus::kPacket, kT0 + off, Udp(port++)});
  }
  return script;
}

TEST(Pipeline, ReplaySpeedPacesPacketsByTheirTimestamps) {
  // 200 ms of capture at half speed is due after 400 ms; only a loose lower
  // bound is asserted (the machine may be slower, never faster).
  CollectingSink sink;
  PipelineOptions po;
  po.replay_speed = 0.5;
  Pipeline p(std::make_unique<ScriptedSource>(UdpAt({0, 100 * kMsNs, 200 * kMsNs}), true), {}, {},
             sink, nullptr, po);
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(p.Run().has_value());
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_GE(elapsed, std::chrono::milliseconds(350));
  EXPECT_EQ(sink.events.size(), 3u);
}

TEST(Pipeline, ReplayAdvancesTimersAndTicksOnCaptureTimeWhileWaiting) {
  CollectingSink sink;
  PipelineOptions po;
  po.replay_speed = 1;
  flow::FlowTableOptions fo;
  fo.timeouts.udp_idle_ns = 100 * kMsNs;
  Pipeline p(std::make_unique<ScriptedSource>(UdpAt({0, 400 * kMsNs}), true), {}, fo, sink, nullptr,
             po);
  ASSERT_TRUE(p.Run().has_value());
  // Ticks during the gap carry replayed capture time, strictly between the
  // two packets (a run that does not pace ticks only at packet times).
  bool inside = false;
  for (int64_t t : sink.ticks) inside |= t > kT0 && t < kT0 + 400 * kMsNs;
  EXPECT_TRUE(inside);
  // The first flow timed out during the wait, before the second packet.
  ASSERT_EQ(sink.events.size(), 2u);
  EXPECT_EQ(sink.events[0].flow().end_reason(), v1::END_REASON_IDLE_TIMEOUT);
  EXPECT_EQ(sink.events[1].flow().end_reason(), v1::END_REASON_SHUTDOWN);
}

TEST(Pipeline, InterruptEndsAReplayWaitingOnALongGapWithoutLosingThePacket) {
  CollectingSink sink;
  PipelineOptions po;
  po.replay_speed = 1;
  Pipeline p(std::make_unique<ScriptedSource>(UdpAt({0, 3600'000 * kMsNs}), true), {}, {}, sink,
             nullptr, po);
  std::expected<void, std::string> result;
  std::thread runner([&] { result = p.Run(); });
  // The wait publishes counters; once the first packet is in, interrupt.
  while (p.Snapshot().decode.packets < 1) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  p.Interrupt();
  runner.join();  // an hour-long wait that ignored Interrupt() would hit the test timeout
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(sink.events.size(), 2u);  // the packet read before the stop is processed
}

TEST(Pipeline, WithoutReplaySpeedAnHourOfCaptureIsReadAtOnce) {
  // Paced, this would take an hour and hit the test timeout.
  CollectingSink sink;
  Pipeline p(std::make_unique<ScriptedSource>(UdpAt({0, 3600'000 * kMsNs}), true), {}, {}, sink,
             nullptr);
  ASSERT_TRUE(p.Run().has_value());
  EXPECT_EQ(sink.events.size(), 2u);
}

}  // namespace
}  // namespace vigil::agent::app
