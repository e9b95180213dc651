// The one table that wires decoders together: (parent protocol, key) ->
// child protocol. A new protocol is its own file plus one line here (and one
// in kDecoders). Keys are EtherTypes for link layers and GRE/Geneve, IP
// protocol numbers for IP, ports for UDP, PPP protocol numbers for
// PPPoE/PPP, IP versions for raw/loopback/MPLS/Teredo/GTP-U.

#include <algorithm>
#include <array>
#include <vector>

#include "agent/decode/decode_step.h"

namespace vigil::agent::decode {

extern const uint32_t kMplsKeyEthernet;

namespace {

struct Link {
  Protocol parent;
  uint32_t key;
  Protocol child;
};

// EtherTypes that carry no IP: counted as non-IP traffic, not as anomalies.
constexpr uint32_t kNonIpEthertypes[] = {
    0x0806,  // ARP
    0x0842,  // Wake-on-LAN
    0x22F0,  // AVTP
    0x22F3,  // TRILL
    0x6002,  // DEC MOP
    0x8035,  // RARP
    0x809B,  // AppleTalk
    0x80F3,  // AARP
    0x8137,  // IPX
    0x8808,  // Ethernet flow control
    0x8809,  // slow protocols (LACP, OAM)
    0x8863,  // PPPoE discovery
    0x886D,  // Intel ANS probes
    0x888E,  // EAPOL (802.1X)
    0x8892,  // PROFINET
    0x889A,  // HyperSCSI
    0x88A4,  // EtherCAT
    0x88B5,  // local experimental 1
    0x88B6,  // local experimental 2
    0x88B8,  // GOOSE
    0x88BA,  // Sampled Values
    0x88CC,  // LLDP
    0x88E1,  // HomePlug AV
    0x88E3,  // MRP
    0x88E5,  // MACsec (encrypted)
    0x88F7,  // PTP
    0x8902,  // CFM
    0x8906,  // FCoE
    0x8914,  // FCoE initialization
    0x893A,  // IEEE 1905.1
    0x9000,  // loopback (configuration test)
};

std::vector<Link> BuildTable() {
  std::vector<Link> t = {
      // Link layers: EtherType -> next.
      {Protocol::kEthernet, 0x0800, Protocol::kIpv4},
      {Protocol::kEthernet, 0x86DD, Protocol::kIpv6},
      {Protocol::kEthernet, 0x8100, Protocol::kVlan},
      {Protocol::kEthernet, 0x88A8, Protocol::kVlan},
      {Protocol::kEthernet, 0x9100, Protocol::kVlan},
      {Protocol::kEthernet, 0x8847, Protocol::kMpls},
      {Protocol::kEthernet, 0x8848, Protocol::kMpls},
      {Protocol::kEthernet, 0x8864, Protocol::kPppoe},
      // MPLS payload guess (mpls.cpp).
      {Protocol::kMpls, 4, Protocol::kIpv4},
      {Protocol::kMpls, 6, Protocol::kIpv6},
      {Protocol::kMpls, kMplsKeyEthernet, Protocol::kEthernet},
      // PPP protocol numbers.
      {Protocol::kPppoe, 0x0021, Protocol::kIpv4},
      {Protocol::kPppoe, 0x0057, Protocol::kIpv6},
      {Protocol::kPpp, 0x0021, Protocol::kIpv4},
      {Protocol::kPpp, 0x0057, Protocol::kIpv6},
      // Address family / version nibble.
      {Protocol::kNull, 4, Protocol::kIpv4},
      {Protocol::kNull, 6, Protocol::kIpv6},
      {Protocol::kLoop, 4, Protocol::kIpv4},
      {Protocol::kLoop, 6, Protocol::kIpv6},
      {Protocol::kRawIp, 4, Protocol::kIpv4},
      {Protocol::kRawIp, 6, Protocol::kIpv6},
      // IP protocol numbers.
      {Protocol::kIpv4, 1, Protocol::kIcmp},
      {Protocol::kIpv4, 4, Protocol::kIpv4},
      {Protocol::kIpv4, 6, Protocol::kTcp},
      {Protocol::kIpv4, 17, Protocol::kUdp},
      {Protocol::kIpv4, 41, Protocol::kIpv6},
      {Protocol::kIpv4, 47, Protocol::kGre},
      {Protocol::kIpv4, 132, Protocol::kSctp},
      {Protocol::kIpv6, 4, Protocol::kIpv4},
      {Protocol::kIpv6, 6, Protocol::kTcp},
      {Protocol::kIpv6, 17, Protocol::kUdp},
      {Protocol::kIpv6, 41, Protocol::kIpv6},
      {Protocol::kIpv6, 47, Protocol::kGre},
      {Protocol::kIpv6, 58, Protocol::kIcmpv6},
      {Protocol::kIpv6, 132, Protocol::kSctp},
      // GRE protocol types.
      {Protocol::kGre, 0x0800, Protocol::kIpv4},
      {Protocol::kGre, 0x86DD, Protocol::kIpv6},
      {Protocol::kGre, 0x6558, Protocol::kEthernet},
      {Protocol::kGre, 0x88BE, Protocol::kErspan2},
      {Protocol::kGre, 0x22EB, Protocol::kErspan3},
      {Protocol::kGre, 0x880B, Protocol::kPpp},
      // UDP tunnels by well-known port.
      {Protocol::kUdp, 2152, Protocol::kGtpU},
      {Protocol::kUdp, 3544, Protocol::kTeredo},
      {Protocol::kUdp, 4789, Protocol::kVxlan},
      {Protocol::kUdp, 6081, Protocol::kGeneve},
      {Protocol::kGeneve, 0x6558, Protocol::kEthernet},
      {Protocol::kGeneve, 0x0800, Protocol::kIpv4},
      {Protocol::kGeneve, 0x86DD, Protocol::kIpv6},
      {Protocol::kTeredo, 6, Protocol::kIpv6},
      {Protocol::kGtpU, 4, Protocol::kIpv4},
      {Protocol::kGtpU, 6, Protocol::kIpv6},
  };
  // Every EtherType-keyed link layer shares Ethernet's children.
  for (Protocol p : {Protocol::kVlan, Protocol::kLlc, Protocol::kSll, Protocol::kSll2}) {
    const size_t n = t.size();
    for (size_t i = 0; i < n; ++i) {
      if (t[i].parent == Protocol::kEthernet) t.push_back({p, t[i].key, t[i].child});
    }
  }
  for (Protocol p :
       {Protocol::kEthernet, Protocol::kVlan, Protocol::kLlc, Protocol::kSll, Protocol::kSll2}) {
    for (uint32_t type : kNonIpEthertypes) t.push_back({p, type, Protocol::kNonIp});
  }
  return t;
}

// Slot storage of the child tables (lookups happen a few times per packet,
// so they must not search): filled once at static initialization.
std::array<std::vector<registry_detail::ChildSlot>, static_cast<size_t>(Protocol::kCount)>
    child_slots;

std::array<registry_detail::ChildTable, static_cast<size_t>(Protocol::kCount)> BuildChildren() {
  std::array<registry_detail::ChildTable, static_cast<size_t>(Protocol::kCount)> t{};
  const std::vector<Link> links = BuildTable();
  std::array<size_t, static_cast<size_t>(Protocol::kCount)> counts{};
  for (const Link& l : links) ++counts[static_cast<size_t>(l.parent)];
  for (size_t p = 0; p < t.size(); ++p) {
    if (counts[p] == 0) continue;
    uint32_t size = 8;
    while (size < counts[p] * 4) size <<= 1;  // load <= 1/4: short probes
    child_slots[p].resize(size);
    t[p].mask = size - 1;
  }
  for (const Link& l : links) {
    auto& slots = child_slots[static_cast<size_t>(l.parent)];
    const uint32_t mask = t[static_cast<size_t>(l.parent)].mask;
    uint32_t i = registry_detail::ChildHash(l.key) & mask;
    while (slots[i].child != Protocol::kCount) i = (i + 1) & mask;
    slots[i] = {l.key, l.child};
  }
  for (size_t p = 0; p < t.size(); ++p) {
    if (!child_slots[p].empty()) t[p].slots = child_slots[p].data();
  }
  return t;
}

}  // namespace

namespace registry_detail {

constinit const std::array<DecodeFn, static_cast<size_t>(Protocol::kCount)> kDecoders = [] {
  std::array<DecodeFn, static_cast<size_t>(Protocol::kCount)> d{};
  d[static_cast<size_t>(Protocol::kEthernet)] = &DecodeEthernet;
  d[static_cast<size_t>(Protocol::kLlc)] = &DecodeLlc;
  d[static_cast<size_t>(Protocol::kVlan)] = &DecodeVlan;
  d[static_cast<size_t>(Protocol::kMpls)] = &DecodeMpls;
  d[static_cast<size_t>(Protocol::kPppoe)] = &DecodePppoe;
  d[static_cast<size_t>(Protocol::kPpp)] = &DecodePpp;
  d[static_cast<size_t>(Protocol::kSll)] = &DecodeSll;
  d[static_cast<size_t>(Protocol::kSll2)] = &DecodeSll2;
  d[static_cast<size_t>(Protocol::kNull)] = &DecodeNull;
  d[static_cast<size_t>(Protocol::kLoop)] = &DecodeLoop;
  d[static_cast<size_t>(Protocol::kRawIp)] = &DecodeRawIp;
  d[static_cast<size_t>(Protocol::kIpv4)] = &DecodeIpv4;
  d[static_cast<size_t>(Protocol::kIpv6)] = &DecodeIpv6;
  d[static_cast<size_t>(Protocol::kTcp)] = &DecodeTcp;
  d[static_cast<size_t>(Protocol::kUdp)] = &DecodeUdp;
  d[static_cast<size_t>(Protocol::kIcmp)] = &DecodeIcmp;
  d[static_cast<size_t>(Protocol::kIcmpv6)] = &DecodeIcmpv6;
  d[static_cast<size_t>(Protocol::kSctp)] = &DecodeSctp;
  d[static_cast<size_t>(Protocol::kGre)] = &DecodeGre;
  d[static_cast<size_t>(Protocol::kErspan2)] = &DecodeErspan2;
  d[static_cast<size_t>(Protocol::kErspan3)] = &DecodeErspan3;
  d[static_cast<size_t>(Protocol::kVxlan)] = &DecodeVxlan;
  d[static_cast<size_t>(Protocol::kGeneve)] = &DecodeGeneve;
  d[static_cast<size_t>(Protocol::kTeredo)] = &DecodeTeredo;
  d[static_cast<size_t>(Protocol::kGtpU)] = &DecodeGtpU;
  return d;
}();

const std::array<ChildTable, static_cast<size_t>(Protocol::kCount)> kChildren = BuildChildren();

}  // namespace registry_detail

Anomaly UnknownChildAnomaly(Protocol parent) {
  switch (parent) {
    case Protocol::kEthernet:
    case Protocol::kVlan:
    case Protocol::kLlc:
    case Protocol::kSll:
    case Protocol::kSll2:
      return Anomaly::kUnknownEthertype;
    case Protocol::kGre:
      return Anomaly::kGreUnknownProtocol;
    case Protocol::kPppoe:
      return Anomaly::kPppoeUnknownProtocol;
    case Protocol::kPpp:
      return Anomaly::kPppUnknownProtocol;
    default:
      return Anomaly::kCount;  // e.g. an IP protocol or UDP port without a decoder
  }
}

}  // namespace vigil::agent::decode
