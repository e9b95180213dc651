// VXLAN (RFC 7348, UDP 4789): an 8-byte header with the VNI, then an
// Ethernet frame. The I flag must be set; without it (or too short) the
// datagram is ordinary UDP that happens to use port 4789.

#include "agent/decode/decode_step.h"

namespace vigil::agent::decode {
namespace {
constexpr size_t kHeaderLen = 8;
constexpr uint8_t kVniValid = 0x08;
}  // namespace

Step DecodeVxlan(Context& ctx, std::span<const uint8_t> data) {
  if (data.size() < kHeaderLen || !(data[0] & kVniValid)) return Step::NotMine();
  ctx.pending_tunnel = TunnelType::kVxlan;
  auto rest = data.subspan(kHeaderLen);
  return Step::ByProto(Protocol::kEthernet, rest, static_cast<uint32_t>(rest.size()));
}

}  // namespace vigil::agent::decode
