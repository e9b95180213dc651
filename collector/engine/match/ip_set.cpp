#include "collector/engine/match/ip_set.h"

#include <charconv>

namespace vigil::collector::engine {

IpAddress Canonical(const IpAddress& a) {
  if (a.size != 16) return a;
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  for (int i = 0; i < 12; ++i) {
    if (a.bytes[static_cast<size_t>(i)] != kMapped[i]) return a;
  }
  IpAddress v4;
  v4.size = 4;
  for (int i = 0; i < 4; ++i)
    v4.bytes[static_cast<size_t>(i)] = a.bytes[static_cast<size_t>(12 + i)];
  return v4;
}

std::optional<IpNetwork> MappedV4(const IpNetwork& n) {
  if (n.address.size != 16 || n.prefix < 96) return std::nullopt;
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  for (int i = 0; i < 12; ++i) {
    if (n.address.bytes[static_cast<size_t>(i)] != kMapped[i]) return std::nullopt;
  }
  IpNetwork v4;
  v4.address.size = 4;
  for (int i = 0; i < 4; ++i)
    v4.address.bytes[static_cast<size_t>(i)] = n.address.bytes[static_cast<size_t>(12 + i)];
  v4.prefix = static_cast<uint8_t>(n.prefix - 96);
  return v4;
}

bool IpNetwork::Contains(const IpAddress& raw) const {
  const IpAddress a = Canonical(raw);
  if (a.size == 4 && address.size == 16) {
    const auto v4 = MappedV4(*this);
    return v4 && v4->Contains(a);
  }
  if (a.size != address.size) return false;
  const int full = prefix / 8;
  for (int i = 0; i < full; ++i) {
    if (a.bytes[static_cast<size_t>(i)] != address.bytes[static_cast<size_t>(i)]) return false;
  }
  const int rest = prefix % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (a.bytes[static_cast<size_t>(full)] & mask) == address.bytes[static_cast<size_t>(full)];
}

std::string IpNetwork::ToString() const {
  return address.ToString() + "/" + std::to_string(prefix);
}

std::expected<IpNetwork, std::string> ParseNetwork(std::string_view text) {
  const size_t slash = text.find('/');
  const std::string_view addr_text = text.substr(0, slash);
  auto addr = IpAddress::Parse(addr_text);
  if (!addr) return std::unexpected("'" + std::string(addr_text) + "' is not an IP address");
  IpNetwork net;
  net.address = *addr;
  const int max = addr->size * 8;
  if (slash == std::string_view::npos) {
    net.prefix = static_cast<uint8_t>(max);
    return net;
  }
  const std::string_view prefix_text = text.substr(slash + 1);
  int prefix = -1;
  auto res = std::from_chars(prefix_text.data(), prefix_text.data() + prefix_text.size(), prefix);
  if (prefix_text.empty() || res.ec != std::errc() ||
      res.ptr != prefix_text.data() + prefix_text.size() || prefix < 0) {
    return std::unexpected("'" + std::string(prefix_text) + "' is not a prefix length");
  }
  if (prefix > max) {
    return std::unexpected("prefix /" + std::to_string(prefix) + " is longer than " +
                           std::to_string(max) + " bits");
  }
  net.prefix = static_cast<uint8_t>(prefix);
  for (int bit = prefix; bit < max; ++bit) {
    if ((addr->bytes[static_cast<size_t>(bit / 8)] >> (7 - bit % 8)) & 1) {
      return std::unexpected("host bits set in '" + std::string(text) + "' (did you mean " + [&] {
        IpNetwork fixed = net;
        for (int b = prefix; b < max; ++b) {
          fixed.address.bytes[static_cast<size_t>(b / 8)] &=
              static_cast<uint8_t>(~(1u << (7 - b % 8)));
        }
        return fixed.ToString();
      }() + "?)");
    }
  }
  return net;
}

void IpTrie::Insert(const IpNetwork& network, uint32_t id) {
  // Lookups see mapped addresses as IPv4: a network covering them goes into
  // the IPv4 trie too.
  if (const auto v4 = MappedV4(network)) Insert(*v4, id);
  auto& nodes = network.address.size == 4 ? v4_ : v6_;
  int32_t n = 0;
  for (int i = 0; i < network.prefix; ++i) {
    const int bit = (network.address.bytes[static_cast<size_t>(i / 8)] >> (7 - i % 8)) & 1;
    int32_t next = nodes[static_cast<size_t>(n)].child[bit];
    if (next < 0) {
      next = static_cast<int32_t>(nodes.size());
      nodes[static_cast<size_t>(n)].child[bit] = next;
      nodes.emplace_back();
    }
    n = next;
  }
  nodes[static_cast<size_t>(n)].ids.push_back(id);
}

bool IpTrie::Contains(const IpAddress& a) const {
  bool found = false;
  Lookup(a, [&](uint32_t) { found = true; });
  return found;
}

}  // namespace vigil::collector::engine
