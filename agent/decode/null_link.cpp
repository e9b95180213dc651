// BSD loopback encapsulations: a 4-byte address family before the IP packet.
// DLT_NULL stores it in the byte order of the capturing host (unknown to us,
// so both orders are tried); DLT_LOOP stores it in network order. IPv6 has
// different AF_INET6 values per OS (Linux 10, NetBSD/OpenBSD 24, FreeBSD 28,
// macOS 30). Registry keys: 4 (IPv4) and 6 (IPv6).

#include "agent/decode/bytes.h"
#include "agent/decode/decode_step.h"

namespace vigil::agent::decode {
namespace {
constexpr size_t kNullHeaderLen = 4;

uint32_t FamilyToVersion(uint32_t family) {
  switch (family) {
    case 2:  // AF_INET everywhere
      return 4;
    case 10:
    case 24:
    case 28:
    case 30:
      return 6;
    default:
      return 0;
  }
}

Step FromFamily(Context& ctx, std::span<const uint8_t> data, uint32_t version) {
  if (version == 0) return Step::Fail(Anomaly::kNullUnknownFamily);
  return NextByKey(ctx, data, kNullHeaderLen, version);
}
}  // namespace

Step DecodeNull(Context& ctx, std::span<const uint8_t> data) {
  if (data.size() < kNullHeaderLen) return Step::Fail(Anomaly::kTruncatedNullHeader);
  uint32_t version = FamilyToVersion(LoadLe32(data.data()));
  if (version == 0) version = FamilyToVersion(LoadBe32(data.data()));
  return FromFamily(ctx, data, version);
}

Step DecodeLoop(Context& ctx, std::span<const uint8_t> data) {
  if (data.size() < kNullHeaderLen) return Step::Fail(Anomaly::kTruncatedNullHeader);
  return FromFamily(ctx, data, FamilyToVersion(LoadBe32(data.data())));
}

}  // namespace vigil::agent::decode
