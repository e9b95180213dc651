// GTP-U version 1 (3GPP TS 29.281, UDP 2152): an 8-byte header, 4 more bytes
// when any of the E/S/PN flags is set, then extension headers while the
// next-extension type is non-zero. Only G-PDU messages (type 255) carry user
// IP packets; echo and error indications end decoding. Registry key: the IP
// version of the carried packet (4 or 6).

#include <algorithm>

#include "agent/decode/bytes.h"
#include "agent/decode/decode_step.h"

namespace vigil::agent::decode {
namespace {
constexpr size_t kHeaderLen = 8;
constexpr size_t kOptionalLen = 4;  // sequence number, N-PDU number, next extension type
constexpr uint8_t kOptionalFlags = 0x07;
constexpr uint8_t kExtensionFlag = 0x04;
constexpr uint8_t kGPdu = 0xFF;
}  // namespace

Step DecodeGtpU(Context& ctx, std::span<const uint8_t> data) {
  const uint8_t flags = data.empty() ? 0 : data[0];
  // Not GTPv1 (or too short to be): ordinary UDP on port 2152.
  if (data.size() < kHeaderLen || (flags >> 5) != 1) return Step::NotMine();
  const uint8_t type = data[1];
  const size_t end = std::min(data.size(), kHeaderLen + LoadBe16(data.data() + 2));
  size_t off = kHeaderLen;
  if (flags & kOptionalFlags) {
    off += kOptionalLen;
    if (end < off) return Step::Fail(Anomaly::kTruncatedGtpHeader);
    uint8_t next = (flags & kExtensionFlag) ? data[off - 1] : 0;
    while (next != 0) {
      if (end < off + 1) return Step::Fail(Anomaly::kTruncatedGtpHeader);
      const size_t len = static_cast<size_t>(data[off]) * 4;
      if (len == 0 || end < off + len) return Step::Fail(Anomaly::kTruncatedGtpHeader);
      off += len;
      next = data[off - 1];
    }
  }
  if (type != kGPdu) return Step::Done();
  if (end <= off) return Step::Fail(Anomaly::kTruncatedGtpHeader);
  const uint32_t version = data[off] >> 4;
  if (version != 4 && version != 6) return Step::Fail(Anomaly::kGtpUnknownPayload);
  ctx.pending_tunnel = TunnelType::kGtpU;
  auto inner = data.subspan(off, end - off);
  return Step::ByKey(version, inner, static_cast<uint32_t>(inner.size()));
}

}  // namespace vigil::agent::decode
