// IPv4 (RFC 791): header with options, total length, header checksum (when
// verification is on) and fragments, which go to the FragmentReassembler; the
// reassembled datagram is decoded again from here. Each IPv4 header starts a
// new Layer. Registry key: the protocol field.

#include <algorithm>

#include "agent/decode/bytes.h"
#include "agent/decode/checksum.h"
#include "agent/decode/decode_step.h"
#include "agent/decode/fragments.h"

namespace vigil::agent::decode {
namespace {
constexpr size_t kMinHeaderLen = 20;
constexpr uint16_t kMoreFragments = 0x2000;
constexpr uint16_t kOffsetMask = 0x1FFF;
}  // namespace

Step DecodeIpv4(Context& ctx, std::span<const uint8_t> data) {
  DecodedPacket& pkt = ctx.pkt;
  if (pkt.layer_count >= kMaxLayers) return Step::Fail(Anomaly::kTunnelTooDeep);
  if (data.size() < kMinHeaderLen) return Step::Fail(Anomaly::kTruncatedIpv4Header);
  if ((data[0] >> 4) != 4) return Step::Fail(Anomaly::kIpv4BadVersion);
  const size_t ihl = static_cast<size_t>(data[0] & 0x0F) * 4;
  if (ihl < kMinHeaderLen) return Step::Fail(Anomaly::kIpv4BadHeaderLength);
  if (data.size() < ihl) return Step::Fail(Anomaly::kTruncatedIpv4Header);
  size_t total = LoadBe16(data.data() + 2);
  if (total == 0) {
    // TCP segmentation offload leaves the length zero in locally sent packets.
    // With checksum verification on, such a packet would fail it anyway.
    ctx.Note(Anomaly::kIpv4TotalLengthZero);
    if (ctx.options.verify_checksums) return Step::Done();
    total = data.size();
  }
  if (total < ihl) return Step::Fail(Anomaly::kIpv4BadTotalLength);
  if (ctx.wire_remaining < total) return Step::Fail(Anomaly::kTruncatedIpv4);

  ChecksumState ip_checksum = ChecksumState::kUnchecked;
  if (ctx.options.verify_checksums && !ctx.reassembled) {
    if (!Ipv4HeaderChecksumOk(data.first(ihl))) return Step::Fail(Anomaly::kBadIpv4Checksum);
    ip_checksum = ChecksumState::kGood;
  }

  const size_t captured = std::min(data.size(), total);
  const uint16_t frag = LoadBe16(data.data() + 6);
  const bool is_fragment = (frag & kMoreFragments) || (frag & kOffsetMask);
  if (is_fragment && !ctx.reassembled) {
    if (captured < total) {
      // Cut by the snap length: reassembly cannot succeed. Keep the first
      // fragment for its headers (as Zeek does), drop the rest.
      ctx.Note(Anomaly::kIncompletelyCapturedFragment);
      if ((frag & kOffsetMask) != 0) return Step::Done();
    } else {
      std::span<const uint8_t> whole;
      switch (ctx.fragments.AddIpv4(ctx.ts_ns, data.first(total), pkt.reassembly[pkt.layer_count],
                                    &whole)) {
        case FragmentReassembler::Outcome::kPending:
        case FragmentReassembler::Outcome::kDropped:
          return Step::Pending();
        case FragmentReassembler::Outcome::kComplete:
          ctx.reassembled = true;
          return Step::ByProto(Protocol::kIpv4, whole, static_cast<uint32_t>(whole.size()));
      }
    }
  }

  Layer& layer = pkt.layers[pkt.layer_count];
  StartIpv4Layer(layer, data);
  layer.ip_header_len = static_cast<uint16_t>(ihl);
  layer.ip_total_len = static_cast<uint32_t>(total);
  layer.reassembled = ctx.reassembled;
  layer.tunnel = ctx.pending_tunnel;
  layer.ip_checksum = ctx.reassembled ? ChecksumState::kGood : ip_checksum;
  layer.ip = data.first(captured);
  layer.payload = data.subspan(ihl, captured - ihl);
  layer.payload_len = static_cast<uint32_t>(total - ihl);
  ctx.pending_tunnel = TunnelType::kNone;
  ctx.reassembled = false;
  ++pkt.layer_count;
  return Step::ByKey(layer.proto, layer.payload, layer.payload_len);
}

}  // namespace vigil::agent::decode
