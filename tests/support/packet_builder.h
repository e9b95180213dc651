#pragma once
// Builds well-formed (or deliberately broken) packets for tests and the
// capture generator: Ethernet with VLAN tags, IPv4/IPv6, TCP/UDP/ICMP with
// correct checksums, and application payloads (DNS messages, TLS hellos).
// Pure functions over byte vectors; addresses are given as text and a bad
// address aborts (it is a bug in the test, not input to handle).

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace vigil::testing {

using Bytes = std::vector<uint8_t>;

/// "10.0.0.1" -> 4 bytes, "2001:db8::1" -> 16 bytes (network order).
Bytes ParseIp(std::string_view text);
Bytes ToBytes(std::string_view text);

namespace tcp {
inline constexpr uint8_t kFin = 0x01;
inline constexpr uint8_t kSyn = 0x02;
inline constexpr uint8_t kRst = 0x04;
inline constexpr uint8_t kPsh = 0x08;
inline constexpr uint8_t kAck = 0x10;
}  // namespace tcp

inline constexpr uint8_t kProtoIcmp = 1;
inline constexpr uint8_t kProtoTcp = 6;
inline constexpr uint8_t kProtoUdp = 17;
inline constexpr uint8_t kProtoIcmp6 = 58;

/// Link-layer framing: Ethernet addresses and 802.1Q tags (outermost first).
struct L2 {
  std::array<uint8_t, 6> src{0x02, 0, 0, 0, 0, 1};
  std::array<uint8_t, 6> dst{0x02, 0, 0, 0, 0, 2};
  std::vector<uint16_t> vlans;
  bool qinq = false;  ///< outer tag uses TPID 0x88a8 (802.1ad)
};

struct Ipv4Options {
  uint8_t ttl = 64;
  uint16_t id = 0;
  bool dont_fragment = true;
  bool more_fragments = false;
  uint16_t fragment_offset = 0;  ///< in bytes, multiple of 8
  Bytes options;                 ///< raw option bytes, padded to 4 by the builder
};

Bytes Ethernet(const L2& l2, uint16_t ethertype, std::span<const uint8_t> payload);
Bytes Ipv4(std::span<const uint8_t> src, std::span<const uint8_t> dst, uint8_t proto,
           std::span<const uint8_t> payload, const Ipv4Options& opt = {});
Bytes Ipv6(std::span<const uint8_t> src, std::span<const uint8_t> dst, uint8_t next_header,
           std::span<const uint8_t> payload, uint8_t hop_limit = 64);

/// Transport segments; checksums use the pseudo-header of src/dst (4 or 16 bytes).
Bytes Tcp(std::span<const uint8_t> src, std::span<const uint8_t> dst, uint16_t sport,
          uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags,
          std::span<const uint8_t> payload = {}, uint16_t window = 65535);
Bytes Udp(std::span<const uint8_t> src, std::span<const uint8_t> dst, uint16_t sport,
          uint16_t dport, std::span<const uint8_t> payload);
/// ICMP (IPv4) or ICMPv6 (when src is 16 bytes); `rest` is the 4 bytes after the checksum.
Bytes Icmp(std::span<const uint8_t> src, std::span<const uint8_t> dst, uint8_t type, uint8_t code,
           uint32_t rest, std::span<const uint8_t> payload = {});

/// IPv4 or IPv6 packet by address length, wrapped in Ethernet.
Bytes Frame(const L2& l2, std::span<const uint8_t> src, std::span<const uint8_t> dst, uint8_t proto,
            std::span<const uint8_t> l4, uint8_t ttl = 64);

/// A DNS message (no name compression).
struct DnsQuestion {
  std::string name;
  uint16_t qtype = 1;
  uint16_t qclass = 1;
};
struct DnsAnswer {
  std::string name;
  uint16_t type = 1;
  uint16_t rclass = 1;
  uint32_t ttl = 300;
  Bytes rdata;
};
struct DnsMessage {
  uint16_t id = 0;
  bool response = false;
  uint8_t opcode = 0;
  bool aa = false, tc = false, rd = true, ra = false;
  uint8_t rcode = 0;
  std::vector<DnsQuestion> questions;
  std::vector<DnsAnswer> answers;
};
Bytes EncodeDnsName(std::string_view name);
Bytes EncodeDns(const DnsMessage& message);

/// A TLS record carrying a ClientHello (TLS 1.2 legacy version; TLS 1.3
/// offered through supported_versions when `tls13` is set).
struct ClientHelloSpec {
  std::string sni;                ///< empty: no server_name extension
  std::vector<std::string> alpn;  ///< empty: no ALPN extension
  std::vector<uint16_t> ciphers{0x1301, 0x1302, 0xc02f, 0xc030, 0x009c};
  bool tls13 = true;
  std::array<uint8_t, 32> random{};
};
Bytes EncodeClientHelloRecord(const ClientHelloSpec& spec);
/// A TLS record with a ServerHello choosing `cipher` (and TLS 1.3 via
/// supported_versions when `tls13`), optionally an ALPN choice.
Bytes EncodeServerHelloRecord(uint16_t cipher, bool tls13, std::string_view alpn = {});

}  // namespace vigil::testing
