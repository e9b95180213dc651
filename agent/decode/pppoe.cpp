// PPPoE session stage (RFC 2516) and the PPP frames it carries. The PPP
// protocol number selects the next decoder (0x0021 IPv4, 0x0057 IPv6); PPP's
// own control protocols (LCP, IPCP, authentication: numbers >= 0x8000) are
// well-formed non-IP traffic.

#include <algorithm>

#include "agent/decode/bytes.h"
#include "agent/decode/decode_step.h"

namespace vigil::agent::decode {
namespace {
constexpr size_t kPppoeHeaderLen = 6;  // ver/type, code, session id, length
constexpr uint8_t kPppoeVersionType = 0x11;
constexpr uint16_t kPppControlProtocols = 0x8000;

// PPP protocol field: one or two bytes (RFC 1661: the low bit of the last
// byte is 1, so an odd first byte is a compressed one-byte field).
Step PppProtocol(Context& ctx, std::span<const uint8_t> data, Protocol parent, Anomaly truncated,
                 Anomaly unknown_reported_as) {
  if (data.empty()) return Step::Fail(truncated);
  size_t len = (data[0] & 0x01) ? 1 : 2;
  if (data.size() < len) return Step::Fail(truncated);
  const uint16_t proto = len == 1 ? data[0] : LoadBe16(data.data());
  Protocol child;
  if (!LookupChild(parent, proto, &child)) {
    if (proto >= kPppControlProtocols) return Step::NonIp();
    return Step::Fail(unknown_reported_as);
  }
  return NextByKey(ctx, data, len, proto);
}
}  // namespace

Step DecodePppoe(Context& ctx, std::span<const uint8_t> data) {
  if (data.size() < kPppoeHeaderLen) return Step::Fail(Anomaly::kTruncatedPppoeHeader);
  if (data[0] != kPppoeVersionType) return Step::Fail(Anomaly::kTruncatedPppoeHeader);
  const uint16_t length = LoadBe16(data.data() + 4);
  auto ppp = data.subspan(kPppoeHeaderLen);
  ppp = ppp.first(std::min<size_t>(ppp.size(), length));
  Context sub = ctx;
  sub.wire_remaining = static_cast<uint32_t>(std::min<size_t>(
      ctx.wire_remaining > kPppoeHeaderLen ? ctx.wire_remaining - kPppoeHeaderLen : 0, length));
  return PppProtocol(sub, ppp, Protocol::kPppoe, Anomaly::kTruncatedPppoeHeader,
                     Anomaly::kPppoeUnknownProtocol);
}

Step DecodePpp(Context& ctx, std::span<const uint8_t> data) {
  // Address and control fields (0xFF 0x03) are optional (RFC 1662 ACFC).
  constexpr uint8_t kAllStations = 0xFF;
  constexpr uint8_t kUnnumbered = 0x03;
  size_t skip = 0;
  if (data.size() >= 2 && data[0] == kAllStations && data[1] == kUnnumbered) skip = 2;
  Context sub = ctx;
  sub.wire_remaining =
      ctx.wire_remaining > skip ? ctx.wire_remaining - static_cast<uint32_t>(skip) : 0;
  return PppProtocol(sub, data.subspan(skip), Protocol::kPpp, Anomaly::kTruncatedPppHeader,
                     Anomaly::kPppUnknownProtocol);
}

}  // namespace vigil::agent::decode
