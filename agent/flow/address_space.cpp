#include "agent/flow/address_space.h"

#include <array>
#include <cstdint>
#include <iterator>

namespace vigil::agent::flow {
namespace {

struct Block {
  std::array<uint8_t, 16> prefix;
  uint8_t bits;  // prefix length over the 128-bit (IPv4-mapped) address
};

constexpr Block V4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint8_t len) {
  return Block{{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, a, b, c, d},
               static_cast<uint8_t>(96 + len)};
}
constexpr Block V6(uint16_t w0, uint16_t w1, uint16_t w2, uint8_t len) {
  return Block{
      {static_cast<uint8_t>(w0 >> 8), static_cast<uint8_t>(w0), static_cast<uint8_t>(w1 >> 8),
       static_cast<uint8_t>(w1), static_cast<uint8_t>(w2 >> 8), static_cast<uint8_t>(w2), 0, 0, 0,
       0, 0, 0, 0, 0, 0, 0},
      len};
}

// IPv4 special-purpose registry blocks and their 6to4 (2002::/16) forms.
constexpr Block kPrivate[] = {
    V4(0, 0, 0, 0, 8),
    V6(0x2002, 0x0000, 0, 24),
    V4(10, 0, 0, 0, 8),
    V6(0x2002, 0x0a00, 0, 24),
    V4(100, 64, 0, 0, 10),
    V6(0x2002, 0x6440, 0, 26),
    V4(127, 0, 0, 0, 8),
    V6(0x2002, 0x7f00, 0, 24),
    V4(169, 254, 0, 0, 16),
    V6(0x2002, 0xa9fe, 0, 32),
    V4(172, 16, 0, 0, 12),
    V6(0x2002, 0xac10, 0, 28),
    V4(192, 0, 0, 0, 24),
    V6(0x2002, 0xc000, 0x0000, 40),
    V4(192, 0, 2, 0, 24),
    V6(0x2002, 0xc000, 0x0200, 40),
    V4(192, 168, 0, 0, 16),
    V6(0x2002, 0xc0a8, 0, 32),
    V4(198, 18, 0, 0, 15),
    V6(0x2002, 0xc612, 0, 31),
    V4(198, 51, 100, 0, 24),
    V6(0x2002, 0xc633, 0x6400, 40),
    V4(203, 0, 113, 0, 24),
    V6(0x2002, 0xcb00, 0x7100, 40),
    V4(224, 0, 0, 0, 24),
    V6(0x2002, 0xe000, 0, 40),
    V4(239, 0, 0, 0, 8),
    V6(0x2002, 0xef00, 0, 24),
    V4(240, 0, 0, 0, 4),
    V6(0x2002, 0xf000, 0, 20),
    V4(255, 255, 255, 255, 32),
    V6(0x2002, 0xffff, 0xffff, 48),
    // IPv6 special-purpose registry.
    Block{{}, 128},                                                // ::/128
    Block{{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 128},  // ::1/128
    V6(0x0064, 0xff9b, 0x0001, 48),
    V6(0x0100, 0x0000, 0x0000, 64),
    V6(0x2001, 0x0000, 0, 23),
    V6(0x2001, 0x0002, 0x0000, 48),
    V6(0x2001, 0x0db8, 0, 32),
    V6(0xfc00, 0, 0, 7),
    V6(0xfe80, 0, 0, 10),
    V6(0xfec0, 0, 0, 10),
};

bool InBlock(const decode::IpAddr& addr, const Block& b) {
  const int full = b.bits / 8;
  for (int i = 0; i < full; ++i) {
    if (addr.bytes[i] != b.prefix[i]) return false;
  }
  const int rest = b.bits % 8;
  if (rest == 0) return true;
  const uint8_t mask = static_cast<uint8_t>(0xFF << (8 - rest));
  return (addr.bytes[full] & mask) == (b.prefix[full] & mask);
}

// The IPv4 blocks of kPrivate as (network, mask) words: every conn record
// asks twice, so IPv4 is one masked compare per block.
struct V4Block {
  uint32_t net, mask;
};
constexpr V4Block V4Word(const Block& b) {
  const int len = b.bits - 96;
  const uint32_t mask = len == 0 ? 0 : ~uint32_t{0} << (32 - len);
  const uint32_t net = (uint32_t{b.prefix[12]} << 24) | (uint32_t{b.prefix[13]} << 16) |
                       (uint32_t{b.prefix[14]} << 8) | b.prefix[15];
  return {net & mask, mask};
}
constexpr size_t kV4Pairs = 16;
constexpr auto kV4Words = [] {
  std::array<V4Block, kV4Pairs> out{};
  for (size_t i = 0; i < kV4Pairs; ++i) out[i] = V4Word(kPrivate[2 * i]);
  return out;
}();

}  // namespace

bool IsPrivateAddress(const decode::IpAddr& addr) {
  // IPv4 blocks sit at even positions of kPrivate up to the IPv6 registry;
  // an IPv4-mapped address can only match those.
  if (addr.IsV4Mapped()) {
    const uint32_t a = (uint32_t{addr.bytes[12]} << 24) | (uint32_t{addr.bytes[13]} << 16) |
                       (uint32_t{addr.bytes[14]} << 8) | addr.bytes[15];
    for (const V4Block& b : kV4Words) {
      if ((a & b.mask) == b.net) return true;
    }
    return false;
  }
  for (size_t i = 0; i < std::size(kPrivate); ++i) {
    if (i < 2 * kV4Pairs && i % 2 == 0) continue;
    if (InBlock(addr, kPrivate[i])) return true;
  }
  return false;
}

bool IsMulticastAddress(const decode::IpAddr& addr) {
  if (addr.IsV4Mapped()) return (addr.bytes[12] & 0xF0) == 0xE0;
  return addr.bytes[0] == 0xFF;
}

}  // namespace vigil::agent::flow
