#pragma once
// Community ID v1 (https://github.com/corelight/community-id-spec): a
// direction-free flow hash shared by Zeek, Suricata, Elastic and others, so a
// flow can be pivoted on across tools. SHA-1 over
//   seed(2, BE) | saddr | daddr | proto(1) | 0(1) | [sport(2, BE) | dport(2, BE)]
// with the tuple ordered so both directions hash the same, rendered as
// "1:" + base64 (or hex).
//
// Free functions: thread-safe.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace vigil::agent::flow {

/// Zeek/Community ID port mapping for ICMP (proto 1) and ICMPv6 (58):
/// paired message types map to (type, counterpart type) and are
/// bidirectional; every other type maps to (type, code) and is one-way.
struct IcmpPorts {
  uint16_t src = 0;
  uint16_t dst = 0;
  bool one_way = false;
};
IcmpPorts MapIcmp(uint8_t proto, uint8_t type, uint8_t code);

/// Protocols whose Community ID includes ports: TCP, UDP, SCTP, ICMP, ICMPv6.
bool CommunityIdUsesPorts(uint8_t proto);

struct CommunityIdTuple {
  std::span<const uint8_t> saddr;  ///< 4 or 16 bytes, network order
  std::span<const uint8_t> daddr;  ///< same length as saddr
  uint8_t proto = 0;
  /// For ICMP/ICMPv6: already mapped with MapIcmp (sport = type side).
  uint16_t sport = 0, dport = 0;
  bool has_ports = false;
  /// One-way ICMP messages are hashed without reordering.
  bool one_way = false;
};

/// "1:<base64 sha1>" (or "1:<hex sha1>" when `base64` is false).
std::string CommunityId(const CommunityIdTuple& tuple, uint16_t seed = 0, bool base64 = true);

/// Length of the base64 form: "1:" + 28 characters.
inline constexpr size_t kCommunityIdLength = 30;
/// The base64 form written to `out` (kCommunityIdLength bytes) without
/// allocating, for the record path.
void CommunityIdTo(char* out, const CommunityIdTuple& tuple, uint16_t seed = 0);

}  // namespace vigil::agent::flow
