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

void AppendBase62(std::string& out, uint64_t v) {
  static constexpr char kDigits[] =
      "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  char buf[16];
  int n = 0;
  do {
    buf[n++] = kDigits[v % 62];
    v /= 62;
  } while (v != 0);
  while (n > 0) out.push_back(buf[--n]);
}

}  // namespace

std::string FormatUid(uint64_t hi, uint32_t lo, char prefix) {
  std::string uid(1, prefix);
  uid.reserve(20);
  AppendBase62(uid, hi);
  AppendBase62(uid, lo);
  return uid;
}

std::string FlowUid(uint64_t seed, const FlowKey& key, int64_t start_ns) {
  const uint64_t h = HashKey(key, seed);
  const uint64_t hi = Mix(h ^ static_cast<uint64_t>(start_ns));
  const uint64_t lo = Mix(hi ^ seed ^ 0x5bd1e9955bd1e995ull);
  return FormatUid(hi, static_cast<uint32_t>(lo));
}

std::string SerialUid(uint64_t seed, uint64_t serial) {
  const uint64_t hi = Mix(seed ^ Mix(serial + 0x632be59bd9b4e019ull));
  const uint64_t lo = Mix(hi ^ serial);
  return FormatUid(hi, static_cast<uint32_t>(lo));
}

}  // namespace vigil::agent::flow
