#pragma once
// Named decode anomalies. Every malformed or unexpected packet the decoders
// see is counted under one of these stable snake_case names; the names become
// metric labels and appear in docs, so never rename one (add a new one).
//
// Free functions and constant tables: thread-safe.

#include <array>
#include <cstdint>
#include <string_view>

namespace vigil::agent::decode {

// X-macro so the enum and its names cannot drift apart.
#define VIGIL_DECODE_ANOMALIES(X)                                     \
  X(kUnsupportedLinkType, "unsupported_link_type")                    \
  X(kTruncatedEthernetHeader, "truncated_ethernet_header")            \
  X(kUnknownEthertype, "unknown_ethertype")                           \
  X(kTruncatedLlcHeader, "truncated_llc_header")                      \
  X(kTruncatedVlanHeader, "truncated_vlan_header")                    \
  X(kVlanStackTooDeep, "vlan_stack_too_deep")                         \
  X(kTruncatedMplsHeader, "truncated_mpls_header")                    \
  X(kMplsStackTooDeep, "mpls_stack_too_deep")                         \
  X(kMplsUnknownPayload, "mpls_unknown_payload")                      \
  X(kTruncatedPppoeHeader, "truncated_pppoe_header")                  \
  X(kPppoeUnknownProtocol, "pppoe_unknown_protocol")                  \
  X(kTruncatedSllHeader, "truncated_sll_header")                      \
  X(kTruncatedSll2Header, "truncated_sll2_header")                    \
  X(kTruncatedNullHeader, "truncated_null_header")                    \
  X(kNullUnknownFamily, "null_unknown_family")                        \
  X(kUnknownIpVersion, "unknown_ip_version")                          \
  X(kTruncatedIpv4Header, "truncated_ipv4_header")                    \
  X(kIpv4BadVersion, "ipv4_bad_version")                              \
  X(kIpv4BadHeaderLength, "ipv4_bad_header_length")                   \
  X(kIpv4BadTotalLength, "ipv4_bad_total_length")                     \
  X(kIpv4TotalLengthZero, "ipv4_total_length_zero")                   \
  X(kTruncatedIpv4, "truncated_ipv4")                                 \
  X(kBadIpv4Checksum, "bad_ipv4_checksum")                            \
  X(kTruncatedIpv6Header, "truncated_ipv6_header")                    \
  X(kIpv6BadVersion, "ipv6_bad_version")                              \
  X(kIpv6PayloadLengthZero, "ipv6_payload_length_zero")               \
  X(kTruncatedIpv6, "truncated_ipv6")                                 \
  X(kTruncatedIpv6ExtensionHeader, "truncated_ipv6_extension_header") \
  X(kIpv6TooManyExtensionHeaders, "ipv6_too_many_extension_headers")  \
  X(kIncompletelyCapturedFragment, "incompletely_captured_fragment")  \
  X(kFragmentBadLength, "fragment_bad_length")                        \
  X(kFragmentOverlap, "fragment_overlap")                             \
  X(kFragmentTooLarge, "fragment_too_large")                          \
  X(kFragmentTooManyPieces, "fragment_too_many_pieces")               \
  X(kFragmentTableFull, "fragment_table_full")                        \
  X(kFragmentTimeout, "fragment_timeout")                             \
  X(kTruncatedTcpHeader, "truncated_tcp_header")                      \
  X(kTcpBadHeaderLength, "tcp_bad_header_length")                     \
  X(kTruncatedUdpHeader, "truncated_udp_header")                      \
  X(kUdpLengthMismatch, "udp_length_mismatch")                        \
  X(kTruncatedIcmpHeader, "truncated_icmp_header")                    \
  X(kTruncatedSctpHeader, "truncated_sctp_header")                    \
  X(kBadTcpChecksum, "bad_tcp_checksum")                              \
  X(kBadUdpChecksum, "bad_udp_checksum")                              \
  X(kBadIcmpChecksum, "bad_icmp_checksum")                            \
  X(kTruncatedGreHeader, "truncated_gre_header")                      \
  X(kGreUnsupportedVersion, "gre_unsupported_version")                \
  X(kGreRoutingUnsupported, "gre_routing_unsupported")                \
  X(kGreUnknownProtocol, "gre_unknown_protocol")                      \
  X(kTruncatedErspanHeader, "truncated_erspan_header")                \
  X(kTruncatedPppHeader, "truncated_ppp_header")                      \
  X(kPppUnknownProtocol, "ppp_unknown_protocol")                      \
  X(kTruncatedGtpHeader, "truncated_gtp_header")                      \
  X(kGtpUnknownPayload, "gtp_unknown_payload")                        \
  X(kTunnelTooDeep, "tunnel_too_deep")

enum class Anomaly : uint8_t {
#define VIGIL_X(id, name) id,
  VIGIL_DECODE_ANOMALIES(VIGIL_X)
#undef VIGIL_X
      kCount
};

inline constexpr size_t kAnomalyCount = static_cast<size_t>(Anomaly::kCount);

inline constexpr std::array<std::string_view, kAnomalyCount> kAnomalyNames = {
#define VIGIL_X(id, name) std::string_view(name),
    VIGIL_DECODE_ANOMALIES(VIGIL_X)
#undef VIGIL_X
};

constexpr std::string_view AnomalyName(Anomaly a) { return kAnomalyNames[static_cast<size_t>(a)]; }

}  // namespace vigil::agent::decode
