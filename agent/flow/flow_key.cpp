#include "agent/flow/flow_key.h"

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

}  // namespace

uint64_t HashKey(const FlowKey& key, uint64_t seed) {
  // One multiply per word (the key is hashed on every packet), one full mix
  // at the end for avalanche; the seed keeps bucket choice unpredictable.
  const auto* p = reinterpret_cast<const uint8_t*>(&key);
  uint64_t h = seed ^ 0x9e3779b97f4a7c15ull;
  for (size_t i = 0; i + 8 <= sizeof(FlowKey); i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    h = (h ^ w) * 0xff51afd7ed558ccdull;
    h ^= h >> 29;
  }
  uint32_t tail;
  std::memcpy(&tail, p + 40, 4);
  return Mix(h ^ tail);
}

FlowKey MakeKey(const decode::IpAddr& src, uint16_t sport, const decode::IpAddr& dst,
                uint16_t dport, uint8_t proto, bool one_way, uint16_t vlan0, uint16_t vlan1,
                bool* src_is_first) {
  FlowKey k;
  bool src_first = true;
  if (!one_way) {
    const int cmp = std::memcmp(src.bytes.data(), dst.bytes.data(), 16);
    src_first = cmp < 0 || (cmp == 0 && sport <= dport);
  }
  if (src_first) {
    k.addr[0] = src;
    k.addr[1] = dst;
    k.port[0] = sport;
    k.port[1] = dport;
  } else {
    k.addr[0] = dst;
    k.addr[1] = src;
    k.port[0] = dport;
    k.port[1] = sport;
  }
  k.vlan[0] = vlan0;
  k.vlan[1] = vlan1;
  k.proto = proto;
  k.one_way = one_way ? 1 : 0;
  *src_is_first = src_first;
  return k;
}

}  // namespace vigil::agent::flow
