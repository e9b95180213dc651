// IEEE 802.1Q and 802.1ad (QinQ) tags, at any depth. The outermost two tags of
// the outer link layer are recorded (Zeek's vlan / inner_vlan); tags inside
// tunnels are decoded but not recorded.

#include "agent/decode/bytes.h"
#include "agent/decode/decode_step.h"

namespace vigil::agent::decode {
namespace {
constexpr size_t kVlanTagLen = 4;  // TCI + inner EtherType (the TPID was the parent's EtherType)
constexpr uint16_t kVlanIdMask = 0x0FFF;
// Real networks stack two or three tags; more than this is garbage or an attack.
constexpr uint8_t kMaxVlanDepth = 16;
}  // namespace

Step DecodeVlan(Context& ctx, std::span<const uint8_t> data) {
  if (data.size() < kVlanTagLen) return Step::Fail(Anomaly::kTruncatedVlanHeader);
  if (++ctx.vlan_depth > kMaxVlanDepth) return Step::Fail(Anomaly::kVlanStackTooDeep);
  const uint16_t vid = LoadBe16(data.data()) & kVlanIdMask;
  DecodedPacket& pkt = ctx.pkt;
  if (pkt.layer_count == 0 && ctx.pending_tunnel == TunnelType::kNone &&
      pkt.vlan_count < kMaxRecordedVlans) {
    pkt.vlans[pkt.vlan_count++] = vid;
  }
  return NextByKey(ctx, data, kVlanTagLen, LoadBe16(data.data() + 2));
}

}  // namespace vigil::agent::decode
