#pragma once
// The flow table's key: the two endpoints in canonical order (lower
// address/port first, as Zeek's connection key), the IP protocol, and
// optionally the VLAN tags. One-way ICMP messages keep their direction, so
// A->B and B->A unreachables are two flows (as in Zeek and Community ID).
//
// Plain value type: thread-safe to copy and compare.

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "agent/decode/packet.h"

namespace vigil::agent::flow {

// Layout: addr[0] (bytes 0..15), addr[1] (16..31), port[2] and vlan[2]
// (32..39, little-endian), proto, one_way and the zero padding (40..43).
struct FlowKey {
  decode::IpAddr addr[2];
  uint16_t port[2] = {0, 0};
  uint16_t vlan[2] = {0, 0};  ///< outer, inner; zero unless VLANs are part of the key
  uint8_t proto = 0;
  uint8_t one_way = 0;
  uint16_t reserved = 0;  ///< keeps the struct free of padding so it hashes as bytes

  bool operator==(const FlowKey& o) const { return std::memcmp(this, &o, sizeof(FlowKey)) == 0; }
};
static_assert(sizeof(FlowKey) == 44, "FlowKey must stay packed: it is hashed as bytes");
static_assert(offsetof(FlowKey, port) == 32 && offsetof(FlowKey, vlan) == 36 &&
                  offsetof(FlowKey, proto) == 40 && offsetof(FlowKey, one_way) == 41,
              "MakeKey() writes the key as words in this layout");
static_assert(std::endian::native == std::endian::little, "MakeKey() writes little-endian words");

/// 64-bit hash of the key bytes.
uint64_t HashKey(const FlowKey& key, uint64_t seed);

namespace key_detail {

inline uint64_t Load64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

inline uint64_t Mix(uint64_t x) {
  // splitmix64 finalizer: cheap, and good avalanche for table indexing.
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return x;
}

// The hash of the key's bytes seen as five little-endian 8-byte words and a
// 4-byte tail (the struct has no padding). MakeKey() computes it from the
// words it already holds: reading back a key just written field by field
// would stall on store forwarding.
inline uint64_t HashWords(const uint64_t (&w)[5], uint32_t tail, uint64_t seed) {
  // One multiply per word (the key is hashed on every packet), one full mix
  // at the end for avalanche; the seed keeps bucket choice unpredictable.
  uint64_t h = seed ^ 0x9e3779b97f4a7c15ull;
  for (uint64_t word : w) {
    h = (h ^ word) * 0xff51afd7ed558ccdull;
    h ^= h >> 29;
  }
  return Mix(h ^ tail);
}

}  // namespace key_detail

/// Writes to `out` the canonical key for a packet from `src`/`dst` and their
/// ports; sets *src_is_first when the packet's source is addr[0], and *hash
/// (if given) to HashKey(key, seed), computed without reading the key back.
/// Inline, and writing in place: it runs for every packet, and a key built
/// in a temporary and copied out stalls on store forwarding.
inline void MakeKey(FlowKey* out, const decode::IpAddr& src, uint16_t sport,
                    const decode::IpAddr& dst, uint16_t dport, uint8_t proto, bool one_way,
                    uint16_t vlan0, uint16_t vlan1, bool* src_is_first, uint64_t seed = 0,
                    uint64_t* hash = nullptr) {
  using key_detail::Load64;
  // Word loads instead of memcmp: the addresses order lexicographically as
  // big-endian 64-bit halves.
  const uint64_t s0 = Load64(src.bytes.data()), s1 = Load64(src.bytes.data() + 8);
  const uint64_t d0 = Load64(dst.bytes.data()), d1 = Load64(dst.bytes.data() + 8);
  bool src_first = true;
  if (!one_way) {
    const uint64_t bs0 = __builtin_bswap64(s0), bd0 = __builtin_bswap64(d0);
    const uint64_t bs1 = __builtin_bswap64(s1), bd1 = __builtin_bswap64(d1);
    src_first = bs0 < bd0 || (bs0 == bd0 && (bs1 < bd1 || (bs1 == bd1 && sport <= dport)));
  }
  const uint16_t p0 = src_first ? sport : dport;
  const uint16_t p1 = src_first ? dport : sport;
  // The key as the words already loaded: five 8-byte words and a 4-byte
  // tail, written once each.
  const uint64_t w[5] = {
      src_first ? s0 : d0, src_first ? s1 : d1, src_first ? d0 : s0, src_first ? d1 : s1,
      uint64_t{p0} | uint64_t{p1} << 16 | uint64_t{vlan0} << 32 | uint64_t{vlan1} << 48};
  const uint32_t tail = uint32_t{proto} | uint32_t{one_way ? 1u : 0u} << 8;
  auto* bytes = reinterpret_cast<uint8_t*>(out);
  std::memcpy(bytes, w, sizeof(w));
  std::memcpy(bytes + sizeof(w), &tail, sizeof(tail));
  *src_is_first = src_first;
  if (hash != nullptr) *hash = key_detail::HashWords(w, tail, seed);
}

}  // namespace vigil::agent::flow
