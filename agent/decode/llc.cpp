// IEEE 802.2 LLC after an 802.3 length field. Only SNAP (DSAP/SSAP 0xAA,
// control 0x03) carries an EtherType and so can carry IP; everything else
// (spanning tree, NetBIOS, IPX over LLC, ...) is well-formed non-IP traffic.

#include "agent/decode/bytes.h"
#include "agent/decode/decode_step.h"

namespace vigil::agent::decode {
namespace {
constexpr size_t kLlcHeaderLen = 3;
constexpr size_t kSnapHeaderLen = 5;  // OUI + EtherType
constexpr uint8_t kSnapSap = 0xAA;
constexpr uint8_t kUnnumberedInformation = 0x03;
}  // namespace

Step DecodeLlc(Context& ctx, std::span<const uint8_t> data) {
  if (data.size() < kLlcHeaderLen) return Step::Fail(Anomaly::kTruncatedLlcHeader);
  const bool snap = data[0] == kSnapSap && data[1] == kSnapSap && data[2] == kUnnumberedInformation;
  if (!snap) return Step::NonIp();
  if (data.size() < kLlcHeaderLen + kSnapHeaderLen) return Step::Fail(Anomaly::kTruncatedLlcHeader);
  const uint16_t ethertype = LoadBe16(data.data() + kLlcHeaderLen + 3);
  return NextByKey(ctx, data, kLlcHeaderLen + kSnapHeaderLen, ethertype);
}

}  // namespace vigil::agent::decode
