#pragma once
// Drives a FlowTable with frames built by tests/support/packet_builder and
// records what it emits. Test helper; not thread-safe.

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "agent/decode/decoder.h"
#include "agent/export/record_sink.h"
#include "agent/flow/flow_table.h"
#include "tests/support/packet_builder.h"

namespace vigil::agent::flow {

class RecordingSink final : public exporter::RecordSink {
 public:
  void Emit(vigil::v1::Event&& event) override { events.push_back(std::move(event)); }
  std::vector<vigil::v1::Event> events;
};

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kMs = 1'000'000;

class FlowHarness {
 public:
  explicit FlowHarness(FlowTableOptions options = Defaults(), AnalyzerFactory analyzers = nullptr,
                       decode::DecoderOptions decoder = {})
      : decoder_(decoder), table_(options, sink_, std::move(analyzers)) {}

  static FlowTableOptions Defaults() {
    FlowTableOptions o;
    o.seed = 7;
    return o;
  }

  /// Decodes an Ethernet frame captured at `ts` and hands it to the table.
  void Frame(const testing::Bytes& frame, int64_t ts) {
    decode::DecodedPacket packet;
    const auto r = decoder_.Decode(decode::link_type::kEthernet, ts,
                                   static_cast<uint32_t>(frame.size()), frame, packet);
    if (r == decode::DecodeResult::kIp) {
      table_.Process(packet);
    } else {
      table_.Advance(ts);
    }
  }

  FlowTable& table() { return table_; }
  decode::Decoder& decoder() { return decoder_; }

  /// The conn records emitted so far (flush first to get the open ones).
  std::vector<vigil::v1::Event> Conns() const {
    std::vector<vigil::v1::Event> out;
    for (const auto& e : sink_.events) {
      if (e.has_flow()) out.push_back(e);
    }
    return out;
  }
  const std::vector<vigil::v1::Event>& All() const { return sink_.events; }
  vigil::v1::Event OnlyConn() {
    table_.FlushAll();
    auto c = Conns();
    EXPECT_EQ(c.size(), 1u);
    return c.empty() ? vigil::v1::Event() : c[0];
  }

 private:
  RecordingSink sink_;
  decode::Decoder decoder_;
  FlowTable table_;
};

/// A TCP conversation between a client and a server with tracked sequence
/// numbers (explicit seq/ack can be given for deliberate anomalies).
class TcpTalk {
 public:
  TcpTalk(FlowHarness& h, std::string client = "10.0.0.1", uint16_t cport = 40000,
          std::string server = "10.0.0.2", uint16_t sport = 8081, uint32_t cisn = 1000,
          uint32_t sisn = 5000)
      : h_(h),
        c_(testing::ParseIp(client)),
        s_(testing::ParseIp(server)),
        cport_(cport),
        sport_(sport),
        cseq_(cisn),
        sseq_(sisn) {}

  int64_t ts = 10 * kSecond;
  testing::L2 client_l2, server_l2;

  void C(uint8_t flags, const std::string& data = "", uint16_t window = 65535) {
    Send(true, flags, cseq_, sseq_, data, window);
    cseq_ += static_cast<uint32_t>(data.size()) + ((flags & 0x03) ? 1 : 0);
  }
  void S(uint8_t flags, const std::string& data = "", uint16_t window = 65535) {
    Send(false, flags, sseq_, cseq_, data, window);
    sseq_ += static_cast<uint32_t>(data.size()) + ((flags & 0x03) ? 1 : 0);
  }
  /// A segment with explicit numbers; does not move the tracked sequence.
  void Raw(bool from_client, uint8_t flags, uint32_t seq, uint32_t ack,
           const std::string& data = "", uint16_t window = 65535) {
    Send(from_client, flags, seq, ack, data, window);
  }
  void Handshake() {
    C(testing::tcp::kSyn);
    S(testing::tcp::kSyn | testing::tcp::kAck);
    C(testing::tcp::kAck);
  }
  uint32_t cseq() const { return cseq_; }
  uint32_t sseq() const { return sseq_; }
  void set_cseq(uint32_t v) { cseq_ = v; }

 private:
  void Send(bool from_client, uint8_t flags, uint32_t seq, uint32_t ack, const std::string& data,
            uint16_t window) {
    const testing::Bytes& src = from_client ? c_ : s_;
    const testing::Bytes& dst = from_client ? s_ : c_;
    const testing::Bytes payload = testing::ToBytes(data);
    const testing::Bytes l4 =
        testing::Tcp(src, dst, from_client ? cport_ : sport_, from_client ? sport_ : cport_, seq,
                     ack, flags, payload, window);
    h_.Frame(testing::Frame(from_client ? client_l2 : server_l2, src, dst, testing::kProtoTcp, l4),
             ts);
    ts += kMs;
  }

  FlowHarness& h_;
  testing::Bytes c_, s_;
  uint16_t cport_, sport_;
  uint32_t cseq_, sseq_;
};

inline std::string History(const vigil::v1::Event& e) { return e.flow().history(); }

}  // namespace vigil::agent::flow
