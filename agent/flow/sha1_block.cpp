#include "agent/flow/sha1_block.h"

#include <cstdlib>
#include <cstring>

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#endif

namespace vigil::agent::flow {
namespace {

constexpr uint32_t kInit[5] = {0x67452301u, 0xEFCDAB89u, 0x98BADCFEu, 0x10325476u, 0xC3D2E1F0u};

// The padded block: message, 0x80, zeros, bit length (big-endian).
void Pad(std::span<const uint8_t> message, uint8_t block[64]) {
  if (message.size() > kSha1ShortMax) std::abort();  // callers hash at most 40 bytes
  std::memset(block, 0, 64);
  std::memcpy(block, message.data(), message.size());
  block[message.size()] = 0x80;
  const uint64_t bits = uint64_t{message.size()} * 8;
  for (int i = 0; i < 8; ++i) block[63 - i] = static_cast<uint8_t>(bits >> (8 * i));
}

void Store(const uint32_t h[5], uint8_t out[20]) {
  for (int i = 0; i < 5; ++i) {
    out[4 * i] = static_cast<uint8_t>(h[i] >> 24);
    out[4 * i + 1] = static_cast<uint8_t>(h[i] >> 16);
    out[4 * i + 2] = static_cast<uint8_t>(h[i] >> 8);
    out[4 * i + 3] = static_cast<uint8_t>(h[i]);
  }
}

inline uint32_t Rotl(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }

// One stretch of 20 rounds with the same function and constant; the
// schedule is kept in a 16-word ring.
template <int kStart, typename F>
inline void Rounds(uint32_t (&w)[16], uint32_t& a, uint32_t& b, uint32_t& c, uint32_t& d,
                   uint32_t& e, uint32_t k, F f) {
  for (int i = kStart; i < kStart + 20; ++i) {
    uint32_t wi;
    if (i < 16) {
      wi = w[i];
    } else {
      wi = Rotl(w[(i + 13) & 15] ^ w[(i + 8) & 15] ^ w[(i + 2) & 15] ^ w[i & 15], 1);
      w[i & 15] = wi;
    }
    const uint32_t t = Rotl(a, 5) + f(b, c, d) + e + k + wi;
    e = d;
    d = c;
    c = Rotl(b, 30);
    b = a;
    a = t;
  }
}

#if defined(__x86_64__)
// Intel SHA extensions: four rounds per instruction. The message words are
// loaded big-endian with W0 in the highest lane, as sha1rnds4 expects.
__attribute__((target("sha,sse4.1"))) void BlockShaNi(const uint8_t block[64], uint32_t h[5]) {
  const __m128i kByteSwap = _mm_set_epi64x(0x0001020304050607LL, 0x08090a0b0c0d0e0fLL);
  __m128i g[20];
  for (int i = 0; i < 4; ++i) {
    g[i] = _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(block + 16 * i)),
                            kByteSwap);
  }
  for (int i = 4; i < 20; ++i) {
    g[i] = _mm_sha1msg2_epu32(_mm_xor_si128(_mm_sha1msg1_epu32(g[i - 4], g[i - 3]), g[i - 2]),
                              g[i - 1]);
  }
  const __m128i abcd0 =
      _mm_shuffle_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(h)), 0x1B);
  const __m128i e0 = _mm_set_epi32(static_cast<int>(h[4]), 0, 0, 0);
  __m128i abcd = abcd0;
  __m128i prev = abcd;
  abcd = _mm_sha1rnds4_epu32(abcd, _mm_add_epi32(e0, g[0]), 0);
  for (int i = 1; i < 5; ++i) {
    const __m128i e = _mm_sha1nexte_epu32(prev, g[i]);
    prev = abcd;
    abcd = _mm_sha1rnds4_epu32(abcd, e, 0);
  }
  for (int i = 5; i < 10; ++i) {
    const __m128i e = _mm_sha1nexte_epu32(prev, g[i]);
    prev = abcd;
    abcd = _mm_sha1rnds4_epu32(abcd, e, 1);
  }
  for (int i = 10; i < 15; ++i) {
    const __m128i e = _mm_sha1nexte_epu32(prev, g[i]);
    prev = abcd;
    abcd = _mm_sha1rnds4_epu32(abcd, e, 2);
  }
  for (int i = 15; i < 20; ++i) {
    const __m128i e = _mm_sha1nexte_epu32(prev, g[i]);
    prev = abcd;
    abcd = _mm_sha1rnds4_epu32(abcd, e, 3);
  }
  const __m128i e_out = _mm_sha1nexte_epu32(prev, e0);
  abcd = _mm_shuffle_epi32(_mm_add_epi32(abcd, abcd0), 0x1B);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(h), abcd);
  h[4] = static_cast<uint32_t>(_mm_extract_epi32(e_out, 3));
}

// CPUID directly: clang before 16 does not know __builtin_cpu_supports("sha").
bool HaveShaNi() {
  static const bool have = [] {
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return false;
    const bool sse41 = (ecx & bit_SSE4_1) != 0;
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return false;
    const bool sha = (ebx & (1u << 29)) != 0;  // CPUID.(7,0):EBX.SHA
    return sse41 && sha;
  }();
  return have;
}
#endif

}  // namespace

void Sha1ShortPortable(std::span<const uint8_t> message, uint8_t out[20]) {
  uint8_t block[64];
  Pad(message, block);
  uint32_t w[16];
  for (int i = 0; i < 16; ++i) {
    w[i] = uint32_t{block[4 * i]} << 24 | uint32_t{block[4 * i + 1]} << 16 |
           uint32_t{block[4 * i + 2]} << 8 | uint32_t{block[4 * i + 3]};
  }
  uint32_t a = kInit[0], b = kInit[1], c = kInit[2], d = kInit[3], e = kInit[4];
  Rounds<0>(w, a, b, c, d, e, 0x5A827999u,
            [](uint32_t x, uint32_t y, uint32_t z) { return z ^ (x & (y ^ z)); });
  Rounds<20>(w, a, b, c, d, e, 0x6ED9EBA1u,
             [](uint32_t x, uint32_t y, uint32_t z) { return x ^ y ^ z; });
  Rounds<40>(w, a, b, c, d, e, 0x8F1BBCDCu,
             [](uint32_t x, uint32_t y, uint32_t z) { return (x & y) | (z & (x | y)); });
  Rounds<60>(w, a, b, c, d, e, 0xCA62C1D6u,
             [](uint32_t x, uint32_t y, uint32_t z) { return x ^ y ^ z; });
  const uint32_t h[5] = {kInit[0] + a, kInit[1] + b, kInit[2] + c, kInit[3] + d, kInit[4] + e};
  Store(h, out);
}

bool Sha1ShortShaNi(std::span<const uint8_t> message, uint8_t out[20]) {
#if defined(__x86_64__)
  if (!HaveShaNi()) return false;
  uint8_t block[64];
  Pad(message, block);
  uint32_t h[5] = {kInit[0], kInit[1], kInit[2], kInit[3], kInit[4]};
  BlockShaNi(block, h);
  Store(h, out);
  return true;
#else
  (void)message;
  (void)out;
  return false;
#endif
}

void Sha1Short(std::span<const uint8_t> message, uint8_t out[20]) {
  if (!Sha1ShortShaNi(message, out)) Sha1ShortPortable(message, out);
}

}  // namespace vigil::agent::flow
