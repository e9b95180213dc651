// Teredo (RFC 4380, UDP 3544): IPv6 in UDP, optionally preceded by an
// authentication indicator (0x0001) and/or an origin indication (0x0000).

#include "agent/decode/decode_step.h"

namespace vigil::agent::decode {
namespace {
constexpr size_t kAuthFixedLen = 4 + 8 + 1;  // type, id len, auth len; nonce; confirmation
constexpr size_t kOriginLen = 8;
constexpr size_t kIpv6HeaderLen = 40;
}  // namespace

Step DecodeTeredo(Context& ctx, std::span<const uint8_t> data) {
  size_t off = 0;
  if (data.size() >= 2 && data[0] == 0x00 && data[1] == 0x01) {
    if (data.size() < 4) return Step::NotMine();
    off += kAuthFixedLen + data[2] + data[3];
  }
  if (data.size() >= off + 2 && data[off] == 0x00 && data[off + 1] == 0x00) off += kOriginLen;
  // Teredo has no magic number: an IPv6 header is what identifies it.
  if (data.size() < off + kIpv6HeaderLen || (data[off] >> 4) != 6) return Step::NotMine();
  ctx.pending_tunnel = TunnelType::kTeredo;
  return NextByKey(ctx, data, off, 6);
}

}  // namespace vigil::agent::decode
