// Raw IP link types (DLT_RAW, DLT_IPV4, DLT_IPV6): the frame is an IP packet;
// its version nibble (4 or 6) is the registry key.

#include "agent/decode/decode_step.h"

namespace vigil::agent::decode {

Step DecodeRawIp(Context& ctx, std::span<const uint8_t> data) {
  if (data.empty()) return Step::Fail(Anomaly::kTruncatedIpv4Header);
  const uint32_t version = data[0] >> 4;
  if (version != 4 && version != 6) return Step::Fail(Anomaly::kUnknownIpVersion);
  return NextByKey(ctx, data, 0, version);
}

}  // namespace vigil::agent::decode
