#pragma once
// The flow table's key: the two endpoints in canonical order (lower
// address/port first, as Zeek's connection key), the IP protocol, and
// optionally the VLAN tags. One-way ICMP messages keep their direction, so
// A->B and B->A unreachables are two flows (as in Zeek and Community ID).
//
// Plain value type: thread-safe to copy and compare.

#include <cstdint>
#include <cstring>

#include "agent/decode/packet.h"

namespace vigil::agent::flow {

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
// values it already holds: reading back a key just written field by field
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

/// Builds the canonical key for a packet from `src`/`dst` and their ports;
/// sets *src_is_first when the packet's source is addr[0], and *hash (if
/// given) to HashKey(key, seed), computed without reading the key back.
/// Inline: it runs for every packet, and inlined into its caller the key is
/// written straight into place rather than copied from a temporary.
inline FlowKey MakeKey(const decode::IpAddr& src, uint16_t sport, const decode::IpAddr& dst,
                       uint16_t dport, uint8_t proto, bool one_way, uint16_t vlan0, uint16_t vlan1,
                       bool* src_is_first, uint64_t seed = 0, uint64_t* hash = nullptr) {
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
  FlowKey k;
  const uint16_t p0 = src_first ? sport : dport;
  const uint16_t p1 = src_first ? dport : sport;
  // The addresses as the words already loaded (no second read of the packet).
  const uint64_t w0 = src_first ? s0 : d0, w1 = src_first ? s1 : d1;
  const uint64_t w2 = src_first ? d0 : s0, w3 = src_first ? d1 : s1;
  std::memcpy(k.addr[0].bytes.data(), &w0, 8);
  std::memcpy(k.addr[0].bytes.data() + 8, &w1, 8);
  std::memcpy(k.addr[1].bytes.data(), &w2, 8);
  std::memcpy(k.addr[1].bytes.data() + 8, &w3, 8);
  k.port[0] = p0;
  k.port[1] = p1;
  k.vlan[0] = vlan0;
  k.vlan[1] = vlan1;
  k.proto = proto;
  k.one_way = one_way ? 1 : 0;
  *src_is_first = src_first;
  if (hash != nullptr) {
    // Little-endian layout of port[2] and vlan[2] (bytes 32..39) and of
    // proto, one_way and the zero padding (bytes 40..43).
    const uint64_t w[5] = {
        w0, w1, w2, w3,
        uint64_t{p0} | uint64_t{p1} << 16 | uint64_t{vlan0} << 32 | uint64_t{vlan1} << 48};
    *hash = key_detail::HashWords(w, uint32_t{proto} | uint32_t{k.one_way} << 8, seed);
  }
  return k;
}

}  // namespace vigil::agent::flow
