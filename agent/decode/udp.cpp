// UDP header (RFC 768). A UDP port may select a tunnel decoder (VXLAN,
// Geneve, Teredo, GTP-U): the registry is consulted with the destination port
// first, then the source port; a port without a tunnel ends decoding here.

#include <algorithm>

#include "agent/decode/bytes.h"
#include "agent/decode/checksum.h"
#include "agent/decode/decode_step.h"

namespace vigil::agent::decode {
namespace {
constexpr size_t kHeaderLen = 8;
}  // namespace

Step DecodeUdp(Context& ctx, std::span<const uint8_t> data) {
  Layer& layer = ctx.CurrentLayer();
  const size_t wire = ctx.wire_remaining;
  if (data.size() < kHeaderLen || wire < kHeaderLen) {
    return Step::Fail(Anomaly::kTruncatedUdpHeader);
  }
  layer.src_port = LoadBe16(data.data());
  layer.dst_port = LoadBe16(data.data() + 2);
  layer.udp_length = LoadBe16(data.data() + 4);
  if (layer.udp_length != wire) ctx.Note(Anomaly::kUdpLengthMismatch);
  layer.payload = data.subspan(kHeaderLen, std::min(data.size(), wire) - kHeaderLen);
  layer.payload_len = static_cast<uint32_t>(wire - kHeaderLen);
  if (ctx.options.verify_checksums && data.size() >= wire) {
    const bool ok = TransportChecksumOk(layer, kProtoUdp, data.first(wire));
    layer.l4_checksum = ok ? ChecksumState::kGood : ChecksumState::kBad;
    if (!ok) ctx.Note(Anomaly::kBadUdpChecksum);
  }
  layer.transport_ok = true;
  if (layer.l4_checksum == ChecksumState::kBad) return Step::Done();  // never decapsulate garbage
  Step step = Step::ByKey(layer.dst_port, layer.payload, layer.payload_len);
  step.has_alt_key = true;
  step.alt_key = layer.src_port;
  return step;
}

}  // namespace vigil::agent::decode
