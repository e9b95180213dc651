#pragma once
// Decoder: captured frame -> DecodedPacket. Walks the link layer (Ethernet,
// 802.3 LLC/SNAP, 802.1Q/802.1ad at any depth, MPLS, PPPoE, Linux cooked
// SLL/SLL2, BSD null/loopback, raw IP), IPv4 with options and fragment
// reassembly, IPv6 with its extension-header chain and fragments, TCP, UDP,
// ICMP, ICMPv6, and the tunnels GRE (incl. ERSPAN II/III, PPTP), IP-in-IP,
// VXLAN, Geneve, Teredo and GTP-U. Which decoder follows which is one table
// (registry.cpp); each protocol is its own file. The frames nearly all
// traffic is made of (Ethernet, VLAN, IPv4/IPv6, TCP/UDP) take a one-pass
// path with the same checks and results (DecoderOptions::common_path).
//
// Bytes off the wire never throw and never allocate per packet: a malformed
// frame is counted under a named anomaly (anomaly.h) and decoding stops at the
// last complete layer. IP fragments are held in bounded buffers (see
// DecoderOptions) and expire on packet time.
//
// Owned by the capture thread. Not thread-safe; read stats() from the owning
// thread and publish copies.

#include <array>
#include <cstdint>
#include <memory>
#include <span>

#include "agent/decode/anomaly.h"
#include "agent/decode/packet.h"

namespace vigil::agent::decode {

/// libpcap link types (DLT_* values) the decoder understands.
namespace link_type {
inline constexpr int kNull = 0;           ///< BSD loopback, host-order address family
inline constexpr int kEthernet = 1;       ///< DLT_EN10MB
inline constexpr int kRaw = 12;           ///< DLT_RAW on Linux/most platforms
inline constexpr int kRawAlt = 14;        ///< DLT_RAW on OpenBSD
inline constexpr int kRawLinktype = 101;  ///< LINKTYPE_RAW as stored in files
inline constexpr int kLoop = 108;         ///< OpenBSD loopback, network-order family
inline constexpr int kLinuxSll = 113;
inline constexpr int kIpv4 = 228;
inline constexpr int kIpv6 = 229;
inline constexpr int kLinuxSll2 = 276;
}  // namespace link_type

struct DecoderOptions {
  /// Verify IPv4 header and TCP/UDP/ICMP checksums (Zeek's default; `zeek -C`
  /// turns it off). Off by default: NIC checksum offload makes locally sent
  /// packets carry bad checksums on capture hosts.
  bool verify_checksums = false;
  /// Datagrams being reassembled at once; beyond it new ones are dropped
  /// (counted as fragment_table_full).
  uint32_t max_fragment_datagrams = 4096;
  /// Bytes held by all datagrams being reassembled.
  uint64_t max_fragment_bytes = 32ull << 20;
  /// An incomplete datagram is dropped this long after its first fragment.
  int64_t fragment_timeout_ns = 30'000'000'000;
  /// Decode the common frames (Ethernet, VLAN, IPv4/IPv6, TCP/UDP) in one
  /// pass instead of the generic per-protocol walk. The results are the
  /// same either way (a test compares them frame by frame); off is for that
  /// comparison and for measuring the walk.
  bool common_path = true;
};

/// What happened to one frame.
enum class DecodeResult : uint8_t {
  kIp,               ///< at least one IP layer decoded (see layer_count)
  kNonIp,            ///< a well-formed frame that carries no IP (ARP, LLDP, STP, ...)
  kFragmentPending,  ///< an IP fragment was stored; its datagram is not complete yet
  kMalformed,        ///< nothing usable; an anomaly was counted
};

/// Cumulative counters since the decoder was created.
struct DecodeStats {
  uint64_t packets = 0;
  uint64_t ip_packets = 0;
  uint64_t non_ip_packets = 0;
  uint64_t malformed_packets = 0;  ///< frames that yielded no IP layer
  uint64_t fragments = 0;          ///< IP fragments received
  uint64_t datagrams_reassembled = 0;
  uint64_t fragment_bytes_held = 0;  ///< gauge: bytes currently buffered
  /// UDP datagrams on a tunnel's port that did not carry that tunnel (a
  /// client's ephemeral port equal to 4789, ...): decoded as plain UDP.
  uint64_t udp_tunnel_port_mismatches = 0;
  std::array<uint64_t, kAnomalyCount> anomalies{};

  uint64_t AnomalyTotal() const {
    uint64_t total = 0;
    for (uint64_t n : anomalies) total += n;
    return total;
  }
};

class FragmentReassembler;

class Decoder {
 public:
  explicit Decoder(const DecoderOptions& options = {});
  ~Decoder();
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  /// Decodes `frame` (captured bytes) of a packet `wire_len` bytes long on
  /// the wire, captured at `ts_ns` on a link of type `link_type` (DLT_*).
  DecodeResult Decode(int link_type, int64_t ts_ns, uint32_t wire_len,
                      std::span<const uint8_t> frame, DecodedPacket& out);

  /// Drops incomplete fragmented datagrams older than the timeout.
  void ExpireFragments(int64_t now_ns);

  /// True if `link_type` is one Decode() understands.
  static bool SupportsLinkType(int link_type);

  const DecodeStats& stats() const { return stats_; }
  const DecoderOptions& options() const { return options_; }

 private:
  DecoderOptions options_;
  DecodeStats stats_;
  std::unique_ptr<FragmentReassembler> fragments_;
};

}  // namespace vigil::agent::decode
