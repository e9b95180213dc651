// IPv6 (RFC 8200): fixed header, then the extension-header chain (hop-by-hop,
// routing, destination options, fragment, AH, mobility) up to the upper-layer
// protocol. Fragments go to the FragmentReassembler and the reassembled
// datagram is decoded again from here; an "atomic" fragment header (offset 0,
// no more fragments, RFC 6946) is simply skipped. ESP (50) and No Next Header
// (59) end the chain. Each IPv6 header starts a new Layer. Registry key: the
// upper-layer protocol.

#include <algorithm>

#include "agent/decode/bytes.h"
#include "agent/decode/decode_step.h"
#include "agent/decode/fragments.h"

namespace vigil::agent::decode {
namespace {
constexpr size_t kFixedHeaderLen = 40;
constexpr int kMaxExtensionHeaders = 16;

constexpr uint8_t kHopByHop = 0;
constexpr uint8_t kRouting = 43;
constexpr uint8_t kFragment = 44;
constexpr uint8_t kAuthentication = 51;
constexpr uint8_t kDestinationOptions = 60;
constexpr uint8_t kMobility = 135;
constexpr uint8_t kHip = 139;
constexpr uint8_t kShim6 = 140;
constexpr size_t kFragmentHeaderLen = 8;

bool IsExtensionHeader(uint8_t nh) {
  switch (nh) {
    case kHopByHop:
    case kRouting:
    case kFragment:
    case kAuthentication:
    case kDestinationOptions:
    case kMobility:
    case kHip:
    case kShim6:
      return true;
    default:
      return false;
  }
}
}  // namespace

Step DecodeIpv6(Context& ctx, std::span<const uint8_t> data) {
  DecodedPacket& pkt = ctx.pkt;
  if (pkt.layer_count >= kMaxLayers) return Step::Fail(Anomaly::kTunnelTooDeep);
  if (data.size() < kFixedHeaderLen) return Step::Fail(Anomaly::kTruncatedIpv6Header);
  if ((data[0] >> 4) != 6) return Step::Fail(Anomaly::kIpv6BadVersion);
  size_t total = kFixedHeaderLen + LoadBe16(data.data() + 4);
  if (total == kFixedHeaderLen && data[6] != 59) {
    // A zero payload length means a jumbogram or a segmentation-offloaded
    // packet; neither can be trusted, so fall back to what was captured.
    ctx.Note(Anomaly::kIpv6PayloadLengthZero);
    if (ctx.options.verify_checksums) return Step::Done();
    total = data.size();
  }
  if (ctx.wire_remaining < total) return Step::Fail(Anomaly::kTruncatedIpv6);
  const size_t captured = std::min(data.size(), total);

  uint8_t nh = data[6];
  size_t nh_offset = 6;  // where the current next-header value is stored
  size_t offset = kFixedHeaderLen;
  for (int n = 0; IsExtensionHeader(nh); ++n) {
    if (n == kMaxExtensionHeaders) return Step::Fail(Anomaly::kIpv6TooManyExtensionHeaders);
    if (captured < offset + 8) return Step::Fail(Anomaly::kTruncatedIpv6ExtensionHeader);
    if (nh == kFragment) {
      const uint16_t frag = LoadBe16(data.data() + offset + 2);
      const bool atomic = (frag & 0xFFF8) == 0 && (frag & 1) == 0;
      if (!atomic && !ctx.reassembled) {
        if (captured < total) {
          ctx.Note(Anomaly::kIncompletelyCapturedFragment);
          return Step::Done();
        }
        std::span<const uint8_t> whole;
        switch (ctx.fragments.AddIpv6(ctx.ts_ns, data.first(total), offset, nh_offset,
                                      pkt.reassembly[pkt.layer_count], &whole)) {
          case FragmentReassembler::Outcome::kPending:
          case FragmentReassembler::Outcome::kDropped:
            return Step::Pending();
          case FragmentReassembler::Outcome::kComplete:
            ctx.reassembled = true;
            return Step::ByProto(Protocol::kIpv6, whole, static_cast<uint32_t>(whole.size()));
        }
      }
      nh_offset = offset;
      nh = data[offset];
      offset += kFragmentHeaderLen;
      continue;
    }
    const size_t len = nh == kAuthentication ? (static_cast<size_t>(data[offset + 1]) + 2) * 4
                                             : (static_cast<size_t>(data[offset + 1]) + 1) * 8;
    nh_offset = offset;
    nh = data[offset];
    offset += len;
    if (offset > captured) return Step::Fail(Anomaly::kTruncatedIpv6ExtensionHeader);
  }

  Layer& layer = pkt.layers[pkt.layer_count];
  StartIpv6Layer(layer, data, nh);
  layer.ip_header_len = static_cast<uint16_t>(offset);
  layer.ip_total_len = static_cast<uint32_t>(total);
  layer.reassembled = ctx.reassembled;
  layer.tunnel = ctx.pending_tunnel;
  layer.ip = data.first(captured);
  layer.payload = data.subspan(offset, captured - offset);
  layer.payload_len = static_cast<uint32_t>(total - offset);
  ctx.pending_tunnel = TunnelType::kNone;
  ctx.reassembled = false;
  ++pkt.layer_count;
  return Step::ByKey(nh, layer.payload, layer.payload_len);
}

}  // namespace vigil::agent::decode
