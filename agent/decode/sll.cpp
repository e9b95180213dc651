// Linux "cooked" capture headers: SLL (DLT_LINUX_SLL, 16 bytes, protocol
// last) and SLL2 (DLT_LINUX_SLL2, 20 bytes, protocol first). The protocol
// field is an EtherType, or one of the kernel's pseudo-protocols below 0x0600
// (0x0004: an 802.2 LLC frame follows; others carry no IP).

#include "agent/decode/bytes.h"
#include "agent/decode/decode_step.h"

namespace vigil::agent::decode {
namespace {
constexpr size_t kSllHeaderLen = 16;
constexpr size_t kSll2HeaderLen = 20;
constexpr uint16_t kMinEthertype = 0x0600;
constexpr uint16_t kLinuxProtoLlc = 0x0004;  // ETH_P_802_2

Step FromProtocol(Context& ctx, std::span<const uint8_t> data, size_t header_len,
                  uint16_t protocol) {
  if (protocol >= kMinEthertype) return NextByKey(ctx, data, header_len, protocol);
  if (protocol == kLinuxProtoLlc) {
    auto rest = data.subspan(header_len);
    return Step::ByProto(Protocol::kLlc, rest, static_cast<uint32_t>(rest.size()));
  }
  return Step::NonIp();
}
}  // namespace

Step DecodeSll(Context& ctx, std::span<const uint8_t> data) {
  if (data.size() < kSllHeaderLen) return Step::Fail(Anomaly::kTruncatedSllHeader);
  return FromProtocol(ctx, data, kSllHeaderLen, LoadBe16(data.data() + 14));
}

Step DecodeSll2(Context& ctx, std::span<const uint8_t> data) {
  if (data.size() < kSll2HeaderLen) return Step::Fail(Anomaly::kTruncatedSll2Header);
  return FromProtocol(ctx, data, kSll2HeaderLen, LoadBe16(data.data()));
}

}  // namespace vigil::agent::decode
