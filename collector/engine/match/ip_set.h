#pragma once
// IP networks for the `cidr` modifier and address lists: strict parsing (as
// Python's ip_network: host bits set is an error) and IpTrie, a binary trie
// over address bits mapping every network to ids, so one lookup finds all
// networks containing an address. Build once, then lookups are const and
// thread-safe.

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "collector/engine/event.h"

namespace vigil::collector::engine {

struct IpNetwork {
  IpAddress address;   ///< network address (host bits zero)
  uint8_t prefix = 0;  ///< 0..32 or 0..128
  bool Contains(const IpAddress& a) const;
  std::string ToString() const;
};

/// Parses "10.0.0.0/8", "2001:db8::/32" or a bare address (/32, /128).
/// Errors name the problem ("host bits set", "prefix longer than 32").
std::expected<IpNetwork, std::string> ParseNetwork(std::string_view text);

/// IPv4-mapped IPv6 (::ffff:a.b.c.d) as IPv4, so v4 networks cover it.
IpAddress Canonical(const IpAddress& a);

/// An IPv4-mapped IPv6 network (::ffff:0:0/96 or longer) as the IPv4 network
/// it covers: ::ffff:10.0.0.0/104 is 10.0.0.0/8, ::ffff:0:0/96 is 0.0.0.0/0.
/// Addresses are compared in Canonical form, so this is how a mapped network
/// matches them. Nullopt for every other network (a shorter IPv6 prefix such
/// as ::/0 covers IPv6 addresses only).
std::optional<IpNetwork> MappedV4(const IpNetwork& network);

class IpTrie {
 public:
  void Insert(const IpNetwork& network, uint32_t id);
  bool empty() const {
    return v4_.size() == 1 && v6_.size() == 1 && v4_[0].ids.empty() && v6_[0].ids.empty();
  }

  template <class F>
  void Lookup(const IpAddress& raw, F&& on_match) const {
    const IpAddress a = Canonical(raw);
    const auto& nodes = a.size == 4 ? v4_ : v6_;
    if (a.size == 0) return;
    const int bits = a.size * 8;
    int32_t n = 0;
    for (int i = 0;; ++i) {
      for (uint32_t id : nodes[static_cast<size_t>(n)].ids) on_match(id);
      if (i == bits) break;
      const int bit = (a.bytes[static_cast<size_t>(i / 8)] >> (7 - i % 8)) & 1;
      n = nodes[static_cast<size_t>(n)].child[bit];
      if (n < 0) break;
    }
  }
  bool Contains(const IpAddress& a) const;

 private:
  struct Node {
    int32_t child[2] = {-1, -1};
    std::vector<uint32_t> ids;
  };
  std::vector<Node> v4_{Node{}};
  std::vector<Node> v6_{Node{}};
};

}  // namespace vigil::collector::engine
