// SCTP common header (RFC 9260): source and destination ports, verification
// tag, checksum. Only the ports matter here (flow keys and Community ID);
// chunks are not decoded.

#include "agent/decode/bytes.h"
#include "agent/decode/decode_step.h"

namespace vigil::agent::decode {
namespace {
constexpr size_t kCommonHeaderLen = 12;
}  // namespace

Step DecodeSctp(Context& ctx, std::span<const uint8_t> data) {
  Layer& layer = ctx.CurrentLayer();
  if (data.size() < kCommonHeaderLen || ctx.wire_remaining < kCommonHeaderLen) {
    return Step::Fail(Anomaly::kTruncatedSctpHeader);
  }
  layer.src_port = LoadBe16(data.data());
  layer.dst_port = LoadBe16(data.data() + 2);
  layer.payload = data.subspan(kCommonHeaderLen);
  layer.payload_len = ctx.wire_remaining - static_cast<uint32_t>(kCommonHeaderLen);
  layer.transport_ok = true;
  return Step::Done();
}

}  // namespace vigil::agent::decode
