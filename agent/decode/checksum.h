#pragma once
// Internet checksums (RFC 1071) for IPv4 headers and TCP/UDP/ICMP/ICMPv6,
// with the IPv4 or IPv6 pseudo-header where the protocol uses one.
//
// Free functions: thread-safe.

#include <cstdint>
#include <span>

#include "agent/decode/packet.h"

namespace vigil::agent::decode {

/// Adds `data` as 16-bit big-endian words to `sum` (odd length: zero-padded).
uint32_t ChecksumAdd(std::span<const uint8_t> data, uint32_t sum = 0);
/// Folds carries; a correct checksum over data that includes its own checksum
/// field folds to 0xFFFF.
uint16_t ChecksumFold(uint32_t sum);

bool Ipv4HeaderChecksumOk(std::span<const uint8_t> header);

/// Verifies the checksum of a transport segment (`segment` = header +
/// payload, complete) carried in `layer` (addresses, version). ICMPv4 has no
/// pseudo-header; a zero UDP checksum over IPv4 means "none" and passes.
bool TransportChecksumOk(const Layer& layer, uint8_t proto, std::span<const uint8_t> segment);

}  // namespace vigil::agent::decode
