#include "agent/flow/flow_key.h"

#include <bit>
#include <cstddef>

namespace vigil::agent::flow {

static_assert(std::endian::native == std::endian::little, "key words are little-endian");

uint64_t HashKey(const FlowKey& key, uint64_t seed) {
  static_assert(offsetof(FlowKey, port) == 32 && offsetof(FlowKey, proto) == 40);
  using key_detail::Load64;
  const auto* p = reinterpret_cast<const uint8_t*>(&key);
  const uint64_t w[5] = {Load64(p), Load64(p + 8), Load64(p + 16), Load64(p + 24), Load64(p + 32)};
  uint32_t tail;
  std::memcpy(&tail, p + 40, 4);
  return key_detail::HashWords(w, tail, seed);
}

}  // namespace vigil::agent::flow
