#pragma once
// The result of decoding one captured frame: the link-layer tags and one
// Layer per IP header found, outermost first. A plain packet has one layer; a
// tunnelled packet (GRE, IP-in-IP, VXLAN, Geneve, Teredo, GTP-U) has one per
// encapsulation level, each marked with the tunnel that carries it. Spans
// point into the captured frame or into this packet's own reassembly
// buffers: they stay valid while the frame's bytes do and this DecodedPacket
// is not decoded into again (so a reader may decode several frames ahead).
//
// Owned by the capture thread, which reuses its DecodedPackets for every
// frame (no allocation per packet; reassembly buffers keep their capacity).
// Not thread-safe.

#include <array>
#include <cstdint>
#include <span>
#include <vector>

namespace vigil::agent::decode {

/// Encapsulation levels kept per packet; deeper nesting is a counted anomaly.
inline constexpr int kMaxLayers = 4;
/// VLAN tags recorded per packet (outer, inner); deeper tags are decoded.
inline constexpr int kMaxRecordedVlans = 2;

enum class TunnelType : uint8_t {
  kNone = 0,  ///< the outermost layer
  kIp,        ///< IP-in-IP, 6in4, 4in6, 6in6
  kGre,
  kErspan,
  kVxlan,
  kGeneve,
  kTeredo,
  kGtpU,
};

/// An IP address in 16 bytes; IPv4 is stored IPv4-mapped (::ffff:a.b.c.d) so
/// that keys compare and hash the same way for both families.
struct IpAddr {
  std::array<uint8_t, 16> bytes{};

  bool operator==(const IpAddr&) const = default;
  bool IsV4Mapped() const {
    for (int i = 0; i < 10; ++i) {
      if (bytes[i] != 0) return false;
    }
    return bytes[10] == 0xff && bytes[11] == 0xff;
  }
  static IpAddr FromV4(const uint8_t* p) {
    IpAddr a;
    a.bytes[10] = 0xff;
    a.bytes[11] = 0xff;
    a.bytes[12] = p[0];
    a.bytes[13] = p[1];
    a.bytes[14] = p[2];
    a.bytes[15] = p[3];
    return a;
  }
  static IpAddr FromV6(const uint8_t* p) {
    IpAddr a;
    for (int i = 0; i < 16; ++i) a.bytes[i] = p[i];
    return a;
  }
};

enum class ChecksumState : uint8_t { kUnchecked = 0, kGood, kBad };

namespace tcp_flags {
inline constexpr uint8_t kFin = 0x01;
inline constexpr uint8_t kSyn = 0x02;
inline constexpr uint8_t kRst = 0x04;
inline constexpr uint8_t kPsh = 0x08;
inline constexpr uint8_t kAck = 0x10;
inline constexpr uint8_t kUrg = 0x20;
}  // namespace tcp_flags

inline constexpr uint8_t kProtoIcmp = 1;
inline constexpr uint8_t kProtoIpIp = 4;
inline constexpr uint8_t kProtoTcp = 6;
inline constexpr uint8_t kProtoUdp = 17;
inline constexpr uint8_t kProtoIpv6 = 41;
inline constexpr uint8_t kProtoGre = 47;
inline constexpr uint8_t kProtoIcmpv6 = 58;
inline constexpr uint8_t kProtoSctp = 132;

/// One IP header and what it carries.
struct Layer {
  IpAddr src, dst;
  uint8_t ip_version = 0;  ///< 4 or 6
  uint8_t proto = 0;       ///< upper-layer protocol after IPv6 extension headers
  uint8_t ttl = 0;
  bool reassembled = false;   ///< built from IP fragments
  bool transport_ok = false;  ///< TCP/UDP/ICMP header parsed (false for other protocols)
  TunnelType tunnel = TunnelType::kNone;  ///< how this layer is carried in the previous one
  ChecksumState ip_checksum = ChecksumState::kUnchecked;
  ChecksumState l4_checksum = ChecksumState::kUnchecked;
  uint16_t ip_header_len = 0;  ///< including IPv4 options / IPv6 extension headers
  uint32_t ip_total_len = 0;   ///< IPv4 total length, IPv6 40 + payload length

  // Transport fields (valid when transport_ok).
  uint16_t src_port = 0, dst_port = 0;  ///< TCP/UDP
  uint8_t icmp_type = 0, icmp_code = 0;
  uint8_t tcp_flags = 0;
  uint8_t tcp_header_len = 0;
  uint16_t tcp_window = 0;
  uint32_t tcp_seq = 0, tcp_ack = 0;
  uint16_t udp_length = 0;  ///< the UDP length field

  /// The IP packet as captured, from its first header byte (trimmed to the
  /// IP total length, so Ethernet padding is not part of it).
  std::span<const uint8_t> ip;
  /// Application payload after the transport header, as captured.
  std::span<const uint8_t> payload;
  /// Payload length according to the headers (exceeds payload.size() when
  /// the capture was cut by the snap length).
  uint32_t payload_len = 0;

  /// Resets every field to its default, once per IP header decoded. Spelled
  /// out because `*this = Layer{}` compiles (GCC, generic tuning) to a
  /// `rep stos`, whose start-up alone cost more than the rest of decoding an
  /// IPv4 header; these plain stores merge into a few wide ones.
  void Clear() {
    src = IpAddr{};
    dst = IpAddr{};
    ip_version = 0;
    proto = 0;
    ttl = 0;
    reassembled = false;
    transport_ok = false;
    tunnel = TunnelType::kNone;
    ip_checksum = ChecksumState::kUnchecked;
    l4_checksum = ChecksumState::kUnchecked;
    ip_header_len = 0;
    ip_total_len = 0;
    src_port = dst_port = 0;
    icmp_type = icmp_code = 0;
    tcp_flags = 0;
    tcp_header_len = 0;
    tcp_window = 0;
    tcp_seq = tcp_ack = 0;
    udp_length = 0;
    ip = {};
    payload = {};
    payload_len = 0;
  }
};

static_assert(sizeof(Layer) == 112, "a field added to Layer must be reset in Layer::Clear()");

struct DecodedPacket {
  int64_t ts_ns = 0;
  uint32_t wire_len = 0;
  uint8_t vlan_count = 0;  ///< tags recorded in vlans (outermost first)
  uint8_t layer_count = 0;
  std::array<uint16_t, kMaxRecordedVlans> vlans{};
  std::array<Layer, kMaxLayers> layers{};
  /// Datagrams reassembled from fragments, by the layer they became.
  std::array<std::vector<uint8_t>, kMaxLayers> reassembly;

  void Reset() {
    vlan_count = 0;
    layer_count = 0;
  }
  const Layer& Innermost() const { return layers[layer_count - 1]; }
};

}  // namespace vigil::agent::decode
