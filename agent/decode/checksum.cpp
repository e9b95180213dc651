#include "agent/decode/checksum.h"

#include "agent/decode/bytes.h"

namespace vigil::agent::decode {

uint32_t ChecksumAdd(std::span<const uint8_t> data, uint32_t sum) {
  // 64-bit accumulator so long segments cannot overflow before folding.
  uint64_t acc = sum;
  size_t i = 0;
  const size_t n = data.size();
  for (; i + 1 < n; i += 2) acc += LoadBe16(data.data() + i);
  if (i < n) acc += static_cast<uint64_t>(data[i]) << 8;
  while (acc >> 32) acc = (acc & 0xFFFFFFFFu) + (acc >> 32);
  return static_cast<uint32_t>(acc);
}

uint16_t ChecksumFold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xFFFFu) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

bool Ipv4HeaderChecksumOk(std::span<const uint8_t> header) {
  return ChecksumFold(ChecksumAdd(header)) == 0xFFFF;
}

bool TransportChecksumOk(const Layer& layer, uint8_t proto, std::span<const uint8_t> segment) {
  uint32_t sum = 0;
  if (layer.ip_version == 4) {
    if (proto == kProtoUdp && segment.size() >= 8 && LoadBe16(segment.data() + 6) == 0) {
      return true;  // RFC 768: zero means the sender computed no checksum
    }
    if (proto != kProtoIcmp) {
      sum = ChecksumAdd(std::span<const uint8_t>(layer.src.bytes).subspan(12, 4), sum);
      sum = ChecksumAdd(std::span<const uint8_t>(layer.dst.bytes).subspan(12, 4), sum);
      sum += proto;
      sum += static_cast<uint32_t>(segment.size());
    }
  } else {
    sum = ChecksumAdd(layer.src.bytes, sum);
    sum = ChecksumAdd(layer.dst.bytes, sum);
    const uint32_t len = static_cast<uint32_t>(segment.size());
    sum += len >> 16;
    sum += len & 0xFFFF;
    sum += proto;
  }
  return ChecksumFold(ChecksumAdd(segment, sum)) == 0xFFFF;
}

}  // namespace vigil::agent::decode
