#include "agent/flow/uid.h"

namespace vigil::agent::flow {
namespace {

uint64_t Mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  x ^= x >> 33;
  return x;
}

// Writes the base62 digits of `v` at `out`; returns how many.
size_t Base62(char* out, uint64_t v) {
  static constexpr char kDigits[] =
      "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  char buf[16];
  size_t n = 0;
  do {
    buf[n++] = kDigits[v % 62];
    v /= 62;
  } while (v != 0);
  for (size_t i = 0; i < n; ++i) out[i] = buf[n - 1 - i];
  return n;
}

size_t FormatUidTo(char* out, uint64_t hi, uint32_t lo, char prefix) {
  out[0] = prefix;
  size_t n = 1;
  n += Base62(out + n, hi);
  n += Base62(out + n, lo);
  return n;
}

}  // namespace

std::string FormatUid(uint64_t hi, uint32_t lo, char prefix) {
  char buf[kMaxUidLength];
  return std::string(buf, FormatUidTo(buf, hi, lo, prefix));
}

size_t FlowUidTo(char* out, uint64_t seed, const FlowKey& key, int64_t start_ns) {
  const uint64_t h = HashKey(key, seed);
  const uint64_t hi = Mix(h ^ static_cast<uint64_t>(start_ns));
  const uint64_t lo = Mix(hi ^ seed ^ 0x5bd1e9955bd1e995ull);
  return FormatUidTo(out, hi, static_cast<uint32_t>(lo), 'C');
}

std::string FlowUid(uint64_t seed, const FlowKey& key, int64_t start_ns) {
  char buf[kMaxUidLength];
  return std::string(buf, FlowUidTo(buf, seed, key, start_ns));
}

std::string SerialUid(uint64_t seed, uint64_t serial) {
  const uint64_t hi = Mix(seed ^ Mix(serial + 0x632be59bd9b4e019ull));
  const uint64_t lo = Mix(hi ^ serial);
  return FormatUid(hi, static_cast<uint32_t>(lo));
}

}  // namespace vigil::agent::flow
