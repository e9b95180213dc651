// ICMP (RFC 792) and ICMPv6 (RFC 4443): type, code and the message body. The
// flow table turns type/code into Zeek's port-like fields; messages that quote
// an offending packet are not decoded further (their quoted headers are
// data, not traffic).

#include "agent/decode/checksum.h"
#include "agent/decode/decode_step.h"

namespace vigil::agent::decode {
namespace {
constexpr size_t kHeaderLen = 8;  // type, code, checksum, 4 bytes of message-specific data

Step DecodeIcmpCommon(Context& ctx, std::span<const uint8_t> data, uint8_t proto) {
  Layer& layer = ctx.CurrentLayer();
  const size_t wire = ctx.wire_remaining;
  if (data.size() < kHeaderLen || wire < kHeaderLen) {
    return Step::Fail(Anomaly::kTruncatedIcmpHeader);
  }
  layer.icmp_type = data[0];
  layer.icmp_code = data[1];
  layer.payload = data.subspan(kHeaderLen);
  if (layer.payload.size() > wire - kHeaderLen)
    layer.payload = layer.payload.first(wire - kHeaderLen);
  layer.payload_len = static_cast<uint32_t>(wire - kHeaderLen);
  if (ctx.options.verify_checksums && data.size() >= wire) {
    const bool ok = TransportChecksumOk(layer, proto, data.first(wire));
    layer.l4_checksum = ok ? ChecksumState::kGood : ChecksumState::kBad;
    if (!ok) ctx.Note(Anomaly::kBadIcmpChecksum);
  }
  layer.transport_ok = true;
  return Step::Done();
}
}  // namespace

Step DecodeIcmp(Context& ctx, std::span<const uint8_t> data) {
  return DecodeIcmpCommon(ctx, data, kProtoIcmp);
}

Step DecodeIcmpv6(Context& ctx, std::span<const uint8_t> data) {
  return DecodeIcmpCommon(ctx, data, kProtoIcmpv6);
}

}  // namespace vigil::agent::decode
