// Geneve (RFC 8926, UDP 6081): an 8-byte header, variable options, and a
// protocol type (an EtherType: Ethernet 0x6558, IPv4, IPv6) selecting the
// next decoder.

#include "agent/decode/bytes.h"
#include "agent/decode/decode_step.h"

namespace vigil::agent::decode {
namespace {
constexpr size_t kHeaderLen = 8;
}  // namespace

Step DecodeGeneve(Context& ctx, std::span<const uint8_t> data) {
  if (data.size() < kHeaderLen) return Step::Fail(Anomaly::kTruncatedGeneveHeader);
  if ((data[0] >> 6) != 0) return Step::Fail(Anomaly::kTruncatedGeneveHeader);  // version 0 only
  const size_t len = kHeaderLen + static_cast<size_t>(data[0] & 0x3F) * 4;
  if (data.size() < len) return Step::Fail(Anomaly::kTruncatedGeneveHeader);
  ctx.pending_tunnel = TunnelType::kGeneve;
  return NextByKey(ctx, data, len, LoadBe16(data.data() + 2));
}

}  // namespace vigil::agent::decode
