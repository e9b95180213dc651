#pragma once
// The IP-level tunnels (IP-in-IP, GRE, ERSPAN) flows are carried in. Zeek
// names each such tunnel with a uid (not a conn.log row) that inner flows
// list in tunnel_parents; this table gives one uid per (address pair,
// tunnel type), both directions alike, and forgets tunnels idle for a day
// (Zeek's Tunnel::ip_tunnel_timeout). Bounded: beyond `max_tunnels` the least
// recently used one is forgotten.
//
// Owned by the FlowTable (capture thread). Not thread-safe.

#include <climits>
#include <cstdint>
#include <list>
#include <string>
#include <unordered_map>

#include "agent/decode/packet.h"

namespace vigil::agent::flow {

class TunnelTable {
 public:
  TunnelTable(uint64_t seed, size_t max_tunnels, int64_t idle_timeout_ns);
  /// The uid of the tunnel between `a` and `b` of `type`, created if new.
  const std::string& Uid(const decode::IpAddr& a, const decode::IpAddr& b, decode::TunnelType type,
                         int64_t now_ns);
  void Expire(int64_t now_ns);
  size_t size() const { return map_.size(); }

 private:
  struct Key {
    decode::IpAddr lo, hi;
    decode::TunnelType type;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const;
  };
  struct Entry {
    std::string uid;
    int64_t last_ns;
    std::list<Key>::iterator lru;
  };
  uint64_t seed_;
  size_t max_;
  int64_t idle_ns_;
  uint64_t serial_ = 0;
  std::unordered_map<Key, Entry, KeyHash> map_;
  std::list<Key> lru_;  // most recently used at the back
  /// No tunnel expires before this (a lower bound; touching only delays).
  int64_t next_expiry_ns_ = INT64_MAX;
};

}  // namespace vigil::agent::flow
