#include "agent/flow/tunnel_table.h"

#include <algorithm>
#include <climits>
#include <cstring>

#include "agent/flow/uid.h"

namespace vigil::agent::flow {

size_t TunnelTable::KeyHash::operator()(const Key& k) const {
  uint64_t h = 0xcbf29ce484222325ull;
  auto mix = [&h](const uint8_t* p, size_t n) {
    for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ull;
  };
  mix(k.lo.bytes.data(), 16);
  mix(k.hi.bytes.data(), 16);
  const auto t = static_cast<uint8_t>(k.type);
  mix(&t, 1);
  return static_cast<size_t>(h);
}

TunnelTable::TunnelTable(uint64_t seed, size_t max_tunnels, int64_t idle_timeout_ns)
    : seed_(seed ^ 0x7475'6e6e'656cull), max_(max_tunnels), idle_ns_(idle_timeout_ns) {}

const std::string& TunnelTable::Uid(const decode::IpAddr& a, const decode::IpAddr& b,
                                    decode::TunnelType type, int64_t now_ns) {
  Key key;
  const bool a_first = std::memcmp(a.bytes.data(), b.bytes.data(), 16) <= 0;
  key.lo = a_first ? a : b;
  key.hi = a_first ? b : a;
  key.type = type;
  auto it = map_.find(key);
  if (it != map_.end()) {
    it->second.last_ns = now_ns;
    lru_.splice(lru_.end(), lru_, it->second.lru);
    return it->second.uid;
  }
  if (map_.size() >= max_ && !lru_.empty()) {
    map_.erase(lru_.front());
    lru_.pop_front();
  }
  lru_.push_back(key);
  next_expiry_ns_ = std::min(next_expiry_ns_, now_ns + idle_ns_);
  Entry e{SerialUid(seed_, ++serial_), now_ns, std::prev(lru_.end())};
  return map_.emplace(key, std::move(e)).first->second.uid;
}

void TunnelTable::Expire(int64_t now_ns) {
  // Called for every packet: one comparison unless a tunnel may be due.
  if (now_ns < next_expiry_ns_) return;
  next_expiry_ns_ = INT64_MAX;
  while (!lru_.empty()) {
    auto it = map_.find(lru_.front());
    if (it->second.last_ns + idle_ns_ > now_ns) {
      next_expiry_ns_ = it->second.last_ns + idle_ns_;
      break;
    }
    map_.erase(it);
    lru_.pop_front();
  }
}

}  // namespace vigil::agent::flow
