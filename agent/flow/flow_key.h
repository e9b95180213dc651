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

/// Builds the canonical key for a packet from `src`/`dst` and their ports;
/// sets *src_is_first when the packet's source is addr[0], and *hash (if
/// given) to HashKey(key, seed), computed without reading the key back.
FlowKey MakeKey(const decode::IpAddr& src, uint16_t sport, const decode::IpAddr& dst,
                uint16_t dport, uint8_t proto, bool one_way, uint16_t vlan0, uint16_t vlan1,
                bool* src_is_first, uint64_t seed = 0, uint64_t* hash = nullptr);

}  // namespace vigil::agent::flow
