// Geneve (RFC 8926, UDP 6081): an 8-byte header, variable options, and a
// protocol type (an EtherType: Ethernet 0x6558, IPv4, IPv6) selecting the
// next decoder. A payload that is not Geneve is ordinary UDP on port 6081.

#include "agent/decode/bytes.h"
#include "agent/decode/decode_step.h"

namespace vigil::agent::decode {
namespace {
constexpr size_t kHeaderLen = 8;
}  // namespace

Step DecodeGeneve(Context& ctx, std::span<const uint8_t> data) {
  // Version 0 only; anything else on port 6081 is ordinary UDP.
  if (data.size() < kHeaderLen || (data[0] >> 6) != 0) return Step::NotMine();
  const size_t len = kHeaderLen + static_cast<size_t>(data[0] & 0x3F) * 4;
  if (data.size() < len) return Step::NotMine();
  ctx.pending_tunnel = TunnelType::kGeneve;
  return NextByKey(ctx, data, len, LoadBe16(data.data() + 2));
}

}  // namespace vigil::agent::decode
