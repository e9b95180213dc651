// Ethernet II and IEEE 802.3 framing. An EtherType above 1500 selects the
// next decoder; a value of 1500 or less is an 802.3 length, and the frame
// carries an LLC header (decoded in llc.cpp).

#include <algorithm>

#include "agent/decode/bytes.h"
#include "agent/decode/decode_step.h"

namespace vigil::agent::decode {
namespace {
constexpr size_t kEthernetHeaderLen = 14;  // dst MAC, src MAC, EtherType/length
constexpr uint16_t kMaxIeee8023Length = 1500;
}  // namespace

Step DecodeEthernet(Context& ctx, std::span<const uint8_t> data) {
  if (data.size() < kEthernetHeaderLen) return Step::Fail(Anomaly::kTruncatedEthernetHeader);
  const uint16_t type_or_len = LoadBe16(data.data() + 12);
  if (type_or_len <= kMaxIeee8023Length) {
    // 802.3: the field is the LLC payload length; anything after it is padding.
    auto llc = data.subspan(kEthernetHeaderLen);
    llc = llc.first(std::min<size_t>(llc.size(), type_or_len));
    return Step::ByProto(Protocol::kLlc, llc, static_cast<uint32_t>(llc.size()));
  }
  return NextByKey(ctx, data, kEthernetHeaderLen, type_or_len);
}

}  // namespace vigil::agent::decode
