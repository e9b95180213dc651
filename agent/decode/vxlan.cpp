// VXLAN (RFC 7348, UDP 4789): an 8-byte header with the VNI, then an
// Ethernet frame. The I flag must be set.

#include "agent/decode/decode_step.h"

namespace vigil::agent::decode {
namespace {
constexpr size_t kHeaderLen = 8;
constexpr uint8_t kVniValid = 0x08;
}  // namespace

Step DecodeVxlan(Context& ctx, std::span<const uint8_t> data) {
  if (data.size() < kHeaderLen) return Step::Fail(Anomaly::kTruncatedVxlanHeader);
  if (!(data[0] & kVniValid)) return Step::Fail(Anomaly::kVxlanBadFlags);
  ctx.pending_tunnel = TunnelType::kVxlan;
  auto rest = data.subspan(kHeaderLen);
  return Step::ByProto(Protocol::kEthernet, rest, static_cast<uint32_t>(rest.size()));
}

}  // namespace vigil::agent::decode
