// GRE (RFC 2784 with RFC 2890 key/sequence, and PPTP's enhanced GRE version 1,
// RFC 2637) and the ERSPAN mirroring headers GRE carries (type II: 8 bytes,
// type III: 12 bytes plus an optional 8-byte platform subheader; type I has
// no header and is sent without the GRE sequence bit). The GRE protocol type
// is an EtherType and selects the next decoder.

#include "agent/decode/bytes.h"
#include "agent/decode/decode_step.h"

namespace vigil::agent::decode {
namespace {
constexpr size_t kBaseLen = 4;
constexpr uint16_t kChecksumPresent = 0x8000;
constexpr uint16_t kRoutingPresent = 0x4000;
constexpr uint16_t kKeyPresent = 0x2000;
constexpr uint16_t kSequencePresent = 0x1000;
constexpr uint16_t kAckPresent = 0x0080;  // version 1 only
constexpr uint16_t kVersionMask = 0x0007;
constexpr uint16_t kErspanType2 = 0x88BE;
constexpr uint16_t kTransparentEthernet = 0x6558;
constexpr uint16_t kPppProtocol = 0x880B;
constexpr size_t kErspan2Len = 8;
constexpr size_t kErspan3Len = 12;
constexpr size_t kErspan3SubheaderLen = 8;
}  // namespace

Step DecodeGre(Context& ctx, std::span<const uint8_t> data) {
  if (data.size() < kBaseLen) return Step::Fail(Anomaly::kTruncatedGreHeader);
  const uint16_t flags = LoadBe16(data.data());
  uint16_t proto = LoadBe16(data.data() + 2);
  size_t len = kBaseLen;
  switch (flags & kVersionMask) {
    case 0:
      if (flags & kRoutingPresent) return Step::Fail(Anomaly::kGreRoutingUnsupported);
      if (flags & kChecksumPresent) len += 4;
      if (flags & kKeyPresent) len += 4;
      if (flags & kSequencePresent) len += 4;
      // ERSPAN type I is 0x88BE without a sequence number and without a header.
      if (proto == kErspanType2 && !(flags & kSequencePresent)) proto = kTransparentEthernet;
      break;
    case 1:
      if (!(flags & kKeyPresent) || proto != kPppProtocol) {
        return Step::Fail(Anomaly::kGreUnsupportedVersion);
      }
      len += 4;  // payload length + call id
      if (flags & kSequencePresent) len += 4;
      if (flags & kAckPresent) len += 4;
      break;
    default:
      return Step::Fail(Anomaly::kGreUnsupportedVersion);
  }
  if (data.size() < len) return Step::Fail(Anomaly::kTruncatedGreHeader);
  ctx.pending_tunnel = TunnelType::kGre;
  return NextByKey(ctx, data, len, proto);
}

Step DecodeErspan2(Context& ctx, std::span<const uint8_t> data) {
  if (data.size() < kErspan2Len) return Step::Fail(Anomaly::kTruncatedErspanHeader);
  ctx.pending_tunnel = TunnelType::kErspan;
  auto rest = data.subspan(kErspan2Len);
  return Step::ByProto(Protocol::kEthernet, rest, static_cast<uint32_t>(rest.size()));
}

Step DecodeErspan3(Context& ctx, std::span<const uint8_t> data) {
  if (data.size() < kErspan3Len) return Step::Fail(Anomaly::kTruncatedErspanHeader);
  size_t len = kErspan3Len;
  if (data[11] & 0x01) len += kErspan3SubheaderLen;  // O: optional subheader present
  if (data.size() < len) return Step::Fail(Anomaly::kTruncatedErspanHeader);
  ctx.pending_tunnel = TunnelType::kErspan;
  auto rest = data.subspan(len);
  return Step::ByProto(Protocol::kEthernet, rest, static_cast<uint32_t>(rest.size()));
}

}  // namespace vigil::agent::decode
