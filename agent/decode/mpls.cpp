// MPLS label stacks (RFC 3032). MPLS does not say what it carries; after the
// bottom-of-stack entry the first nibble tells IPv4 (4) from IPv6 (6), and a
// zero nibble is the pseudowire control word (RFC 4385) before an Ethernet
// frame. Keys for the registry: 4, 6, or kMplsKeyEthernet.

#include "agent/decode/bytes.h"
#include "agent/decode/decode_step.h"

namespace vigil::agent::decode {
namespace {
constexpr size_t kLabelEntryLen = 4;
constexpr size_t kControlWordLen = 4;
constexpr uint8_t kBottomOfStackBit = 0x01;  // in the third byte of an entry
constexpr int kMaxLabels = 16;
}  // namespace

// Shared with registry.cpp.
extern const uint32_t kMplsKeyEthernet;
const uint32_t kMplsKeyEthernet = 0x6558;

Step DecodeMpls(Context& ctx, std::span<const uint8_t> data) {
  size_t offset = 0;
  for (int labels = 0;; ++labels) {
    if (labels == kMaxLabels) return Step::Fail(Anomaly::kMplsStackTooDeep);
    if (data.size() < offset + kLabelEntryLen) return Step::Fail(Anomaly::kTruncatedMplsHeader);
    const bool bottom = (data[offset + 2] & kBottomOfStackBit) != 0;
    offset += kLabelEntryLen;
    if (bottom) break;
  }
  if (data.size() <= offset) return Step::Fail(Anomaly::kTruncatedMplsHeader);
  switch (data[offset] >> 4) {
    case 4:
      return NextByKey(ctx, data, offset, 4);
    case 6:
      return NextByKey(ctx, data, offset, 6);
    case 0:
      if (data.size() < offset + kControlWordLen) {
        return Step::Fail(Anomaly::kTruncatedMplsHeader);
      }
      return NextByKey(ctx, data, offset + kControlWordLen, kMplsKeyEthernet);
    default:
      return Step::Fail(Anomaly::kMplsUnknownPayload);
  }
}

}  // namespace vigil::agent::decode
