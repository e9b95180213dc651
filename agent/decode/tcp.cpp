// TCP header (RFC 9293): ports, sequence and acknowledgement numbers, flags,
// window and data offset; the payload is what follows the options. TCP is a
// leaf: stream handling belongs to the flow table.

#include <algorithm>

#include "agent/decode/bytes.h"
#include "agent/decode/checksum.h"
#include "agent/decode/decode_step.h"

namespace vigil::agent::decode {
namespace {
constexpr size_t kMinHeaderLen = 20;
}  // namespace

Step DecodeTcp(Context& ctx, std::span<const uint8_t> data) {
  Layer& layer = ctx.CurrentLayer();
  const size_t wire = ctx.wire_remaining;
  if (data.size() < kMinHeaderLen || wire < kMinHeaderLen) {
    return Step::Fail(Anomaly::kTruncatedTcpHeader);
  }
  const size_t header_len = static_cast<size_t>(data[12] >> 4) * 4;
  if (header_len < kMinHeaderLen) return Step::Fail(Anomaly::kTcpBadHeaderLength);
  if (header_len > data.size() || header_len > wire) {
    return Step::Fail(Anomaly::kTruncatedTcpHeader);
  }
  SetTcpFields(layer, data, header_len, wire);
  if (ctx.options.verify_checksums && data.size() >= wire) {
    const bool ok = TransportChecksumOk(layer, kProtoTcp, data.first(wire));
    layer.l4_checksum = ok ? ChecksumState::kGood : ChecksumState::kBad;
    if (!ok) ctx.Note(Anomaly::kBadTcpChecksum);
  }
  layer.transport_ok = true;
  return Step::Done();
}

}  // namespace vigil::agent::decode
