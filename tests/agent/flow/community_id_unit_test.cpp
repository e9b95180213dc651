// Community ID v1 against an independent computation: the spec's byte
// layout hashed with OpenSSL's SHA-1 and base64 encoder, over many
// pseudo-random IPv4/IPv6 tuples and seeds. Complements the conformance test
// (which needs the reference data) and checks the agent's own single-block
// SHA-1 on every input length Community ID produces.

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include "agent/flow/community_id.h"
#include "agent/flow/sha1_block.h"

namespace vigil::agent::flow {
namespace {

std::string Expected(std::vector<uint8_t> a, std::vector<uint8_t> b, uint8_t proto, uint16_t pa,
                     uint16_t pb, bool ports, uint16_t seed) {
  // Ordered as the spec says: lower address first, ports break a tie.
  if (std::lexicographical_compare(b.begin(), b.end(), a.begin(), a.end()) ||
      (a == b && ports && pb < pa)) {
    std::swap(a, b);
    std::swap(pa, pb);
  }
  std::vector<uint8_t> in = {static_cast<uint8_t>(seed >> 8), static_cast<uint8_t>(seed)};
  in.insert(in.end(), a.begin(), a.end());
  in.insert(in.end(), b.begin(), b.end());
  in.push_back(proto);
  in.push_back(0);
  if (ports) {
    for (uint16_t p : {pa, pb}) {
      in.push_back(static_cast<uint8_t>(p >> 8));
      in.push_back(static_cast<uint8_t>(p));
    }
  }
  uint8_t digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EXPECT_EQ(EVP_Digest(in.data(), in.size(), digest, &len, EVP_sha1(), nullptr), 1);
  char b64[64];
  const int n =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64), digest, static_cast<int>(len));
  return "1:" + std::string(b64, static_cast<size_t>(n));
}

TEST(CommunityId, MatchesIndependentSha1OnRandomTuples) {
  std::mt19937_64 rng(7);
  const uint8_t protos[] = {6, 17, 132, 47, 50};
  for (int i = 0; i < 4000; ++i) {
    const size_t alen = (i % 2 == 0) ? 4 : 16;
    std::vector<uint8_t> a(alen), b(alen);
    for (auto& x : a) x = static_cast<uint8_t>(rng());
    for (auto& x : b) x = static_cast<uint8_t>(rng());
    if (i % 17 == 0) b = a;  // equal addresses: ports decide the order
    const uint8_t proto = protos[rng() % std::size(protos)];
    const auto pa = static_cast<uint16_t>(rng()), pb = static_cast<uint16_t>(rng());
    const auto seed = static_cast<uint16_t>(i % 3 == 0 ? 0 : rng());
    CommunityIdTuple t;
    t.saddr = a;
    t.daddr = b;
    t.proto = proto;
    t.sport = pa;
    t.dport = pb;
    t.has_ports = CommunityIdUsesPorts(proto);
    const std::string want = Expected(a, b, proto, pa, pb, t.has_ports, seed);
    ASSERT_EQ(CommunityId(t, seed), want) << "tuple " << i;
    char out[kCommunityIdLength];
    CommunityIdTo(out, t, seed);
    ASSERT_EQ(std::string(out, kCommunityIdLength), want) << "tuple " << i;
    // Direction-free: the reverse tuple hashes the same.
    std::swap(t.saddr, t.daddr);
    std::swap(t.sport, t.dport);
    ASSERT_EQ(CommunityId(t, seed), want) << "reversed tuple " << i;
  }
}

// Both SHA-1 implementations (SHA extensions when the CPU has them, and the
// portable one) on every message length a single block holds.
TEST(Sha1Short, BothImplementationsMatchOpenSslOnEveryLength) {
  std::mt19937_64 rng(11);
  bool sha_ni_ran = false;
  for (size_t len = 0; len <= kSha1ShortMax; ++len) {
    for (int round = 0; round < 20; ++round) {
      std::vector<uint8_t> msg(len);
      for (auto& x : msg) x = static_cast<uint8_t>(rng());
      uint8_t want[EVP_MAX_MD_SIZE];
      unsigned int want_len = 0;
      ASSERT_EQ(EVP_Digest(msg.data(), msg.size(), want, &want_len, EVP_sha1(), nullptr), 1);
      ASSERT_EQ(want_len, 20u);
      uint8_t got[20];
      Sha1ShortPortable(msg, got);
      ASSERT_EQ(std::memcmp(got, want, 20), 0) << "portable, length " << len;
      if (Sha1ShortShaNi(msg, got)) {
        sha_ni_ran = true;
        ASSERT_EQ(std::memcmp(got, want, 20), 0) << "SHA extensions, length " << len;
      }
      Sha1Short(msg, got);
      ASSERT_EQ(std::memcmp(got, want, 20), 0) << "dispatch, length " << len;
    }
  }
  if (!sha_ni_ran)
    std::printf("note: this CPU has no SHA extensions; only the portable path ran\n");
}

}  // namespace
}  // namespace vigil::agent::flow
