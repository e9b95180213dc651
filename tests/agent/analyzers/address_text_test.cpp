// Address text against glibc's inet_ntop(), whose output dns.log answers
// must match: every zero-run shape of IPv6 (all 256 patterns of zero and
// non-zero groups, with small and large group values), IPv4-mapped and
// -compatible addresses, and random addresses; IPv4 over edge octets.

#include "agent/analyzers/address_text.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <array>
#include <random>

namespace vigil::agent::analyzers {
namespace {

std::string Ntop(int family, const uint8_t* a) {
  char buf[INET6_ADDRSTRLEN];
  EXPECT_NE(inet_ntop(family, a, buf, sizeof(buf)), nullptr);
  return buf;
}

std::string Ours6(const std::array<uint8_t, 16>& a) {
  std::string s = "x";  // appends, never replaces
  AppendIpv6Text(s, a.data());
  return s.substr(1);
}

TEST(AddressText, Ipv6MatchesInetNtopForEveryZeroRunShape) {
  std::mt19937 rng(3);
  for (int mask = 0; mask < 256; ++mask) {
    for (const uint16_t base : {uint16_t{1}, uint16_t{0xa}, uint16_t{0x1234}, uint16_t{0xffff}}) {
      std::array<uint8_t, 16> a{};
      for (int g = 0; g < 8; ++g) {
        if (mask & (1 << g)) continue;  // zero group
        const uint16_t v = static_cast<uint16_t>(base == 1 ? 1 + rng() % 0xfffe : base);
        a[2 * g] = static_cast<uint8_t>(v >> 8);
        a[2 * g + 1] = static_cast<uint8_t>(v);
      }
      ASSERT_EQ(Ours6(a), Ntop(AF_INET6, a.data())) << "zero mask " << mask;
    }
  }
}

TEST(AddressText, Ipv6EmbeddedIpv4AndRandom) {
  std::mt19937 rng(4);
  for (int i = 0; i < 20000; ++i) {
    std::array<uint8_t, 16> a{};
    for (auto& b : a) b = static_cast<uint8_t>(rng());
    switch (i % 5) {
      case 0:  // IPv4-mapped
        a = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, a[12], a[13], a[14], a[15]};
        break;
      case 1:  // IPv4-compatible (and ::1, ::)
        a = {0,
             0,
             0,
             0,
             0,
             0,
             0,
             0,
             0,
             0,
             0,
             0,
             a[12],
             a[13],
             static_cast<uint8_t>(i % 3 ? a[14] : 0),
             static_cast<uint8_t>(i % 7 ? a[15] : 0)};
        break;
      case 2:  // ::ffff:0:a.b.c.d and other near misses
        a = {0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, a[12], a[13], a[14], a[15]};
        break;
      default:
        break;
    }
    ASSERT_EQ(Ours6(a), Ntop(AF_INET6, a.data())) << "address " << i;
  }
}

TEST(AddressText, Ipv4MatchesInetNtop) {
  for (const uint8_t v : {0, 1, 9, 10, 99, 100, 199, 255}) {
    const uint8_t a[4] = {v, static_cast<uint8_t>(255 - v), 0, v};
    std::string s;
    AppendIpv4Text(s, a);
    EXPECT_EQ(s, Ntop(AF_INET, a));
  }
}

}  // namespace
}  // namespace vigil::agent::analyzers
