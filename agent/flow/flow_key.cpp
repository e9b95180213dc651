#include "agent/flow/flow_key.h"

#include <bit>
#include <cstddef>

namespace vigil::agent::flow {
namespace {

uint64_t Mix(uint64_t x) {
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
uint64_t HashWords(const uint64_t (&w)[5], uint32_t tail, uint64_t seed) {
  // One multiply per word (the key is hashed on every packet), one full mix
  // at the end for avalanche; the seed keeps bucket choice unpredictable.
  uint64_t h = seed ^ 0x9e3779b97f4a7c15ull;
  for (uint64_t word : w) {
    h = (h ^ word) * 0xff51afd7ed558ccdull;
    h ^= h >> 29;
  }
  return Mix(h ^ tail);
}

uint64_t Load64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

}  // namespace

uint64_t HashKey(const FlowKey& key, uint64_t seed) {
  static_assert(offsetof(FlowKey, port) == 32 && offsetof(FlowKey, proto) == 40);
  const auto* p = reinterpret_cast<const uint8_t*>(&key);
  const uint64_t w[5] = {Load64(p), Load64(p + 8), Load64(p + 16), Load64(p + 24), Load64(p + 32)};
  uint32_t tail;
  std::memcpy(&tail, p + 40, 4);
  return HashWords(w, tail, seed);
}

FlowKey MakeKey(const decode::IpAddr& src, uint16_t sport, const decode::IpAddr& dst,
                uint16_t dport, uint8_t proto, bool one_way, uint16_t vlan0, uint16_t vlan1,
                bool* src_is_first, uint64_t seed, uint64_t* hash) {
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
  uint16_t p0, p1;
  if (src_first) {
    k.addr[0] = src;
    k.addr[1] = dst;
    p0 = sport;
    p1 = dport;
  } else {
    k.addr[0] = dst;
    k.addr[1] = src;
    p0 = dport;
    p1 = sport;
  }
  k.port[0] = p0;
  k.port[1] = p1;
  k.vlan[0] = vlan0;
  k.vlan[1] = vlan1;
  k.proto = proto;
  k.one_way = one_way ? 1 : 0;
  *src_is_first = src_first;
  if (hash != nullptr) {
    static_assert(std::endian::native == std::endian::little, "word layout below is little-endian");
    // Little-endian layout of port[2] and vlan[2] (bytes 32..39) and of
    // proto, one_way and the zero padding (bytes 40..43).
    const uint64_t w[5] = {
        src_first ? s0 : d0, src_first ? s1 : d1, src_first ? d0 : s0, src_first ? d1 : s1,
        uint64_t{p0} | uint64_t{p1} << 16 | uint64_t{vlan0} << 32 | uint64_t{vlan1} << 48};
    *hash = HashWords(w, uint32_t{proto} | uint32_t{k.one_way} << 8, seed);
  }
  return k;
}

}  // namespace vigil::agent::flow
