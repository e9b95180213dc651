// The decoder's one-pass path for common frames (DecoderOptions::common_path)
// against the generic per-protocol walk: every frame of a generated corpus —
// well-formed frames of every shape the fast path takes or refuses, each
// truncated at every length and with random bytes changed — must decode to
// the same result, the same layers field by field, the same VLAN tags and
// the same counters, anomalies included.

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "agent/decode/decoder.h"
#include "tests/support/packet_builder.h"

namespace vigil::agent::decode {
namespace {

namespace tb = vigil::testing;
using tb::Bytes;

std::string Diff(const Layer& a, const Layer& b) {
  std::string d;
  auto check = [&](const char* name, bool same) {
    if (!same) d += std::string(name) + " ";
  };
  check("src", a.src == b.src);
  check("dst", a.dst == b.dst);
  check("ip_version", a.ip_version == b.ip_version);
  check("proto", a.proto == b.proto);
  check("ttl", a.ttl == b.ttl);
  check("reassembled", a.reassembled == b.reassembled);
  check("transport_ok", a.transport_ok == b.transport_ok);
  check("tunnel", a.tunnel == b.tunnel);
  check("ip_checksum", a.ip_checksum == b.ip_checksum);
  check("l4_checksum", a.l4_checksum == b.l4_checksum);
  check("ip_header_len", a.ip_header_len == b.ip_header_len);
  check("ip_total_len", a.ip_total_len == b.ip_total_len);
  check("src_port", a.src_port == b.src_port);
  check("dst_port", a.dst_port == b.dst_port);
  check("icmp_type", a.icmp_type == b.icmp_type);
  check("icmp_code", a.icmp_code == b.icmp_code);
  check("tcp_flags", a.tcp_flags == b.tcp_flags);
  check("tcp_header_len", a.tcp_header_len == b.tcp_header_len);
  check("tcp_window", a.tcp_window == b.tcp_window);
  check("tcp_seq", a.tcp_seq == b.tcp_seq);
  check("tcp_ack", a.tcp_ack == b.tcp_ack);
  check("udp_length", a.udp_length == b.udp_length);
  check("ip", a.ip.data() == b.ip.data() && a.ip.size() == b.ip.size());
  check("payload", a.payload.data() == b.payload.data() && a.payload.size() == b.payload.size());
  check("payload_len", a.payload_len == b.payload_len);
  return d;
}

// Well-formed frames: what the common path takes (Ethernet, 0-2 VLAN tags,
// IPv4 with or without options, IPv6, TCP, UDP) and neighbours it must hand
// to the generic walk (3 tags, 802.1ad, fragments, extension headers,
// tunnel ports, ICMP, GRE, ARP, MPLS, 802.3 LLC).
std::vector<Bytes> Shapes() {
  const Bytes a4 = tb::ParseIp("10.1.2.3"), b4 = tb::ParseIp("192.0.2.80");
  const Bytes a6 = tb::ParseIp("2001:db8::1"), b6 = tb::ParseIp("2001:db8::2");
  const Bytes payload = tb::ToBytes("GET / HTTP/1.1\r\nHost: example\r\n\r\n");
  std::vector<Bytes> out;
  for (const std::vector<uint16_t>& vlans : {std::vector<uint16_t>{}, {7}, {7, 4094}, {1, 2, 3}}) {
    for (const bool qinq : {false, true}) {
      tb::L2 l2;
      l2.vlans = vlans;
      l2.qinq = qinq && !vlans.empty();
      for (const bool v6 : {false, true}) {
        const Bytes& a = v6 ? a6 : a4;
        const Bytes& b = v6 ? b6 : b4;
        out.push_back(tb::Frame(l2, a, b, tb::kProtoTcp,
                                tb::Tcp(a, b, 40000, 443, 1, 2, tb::tcp::kAck, payload)));
        out.push_back(tb::Frame(l2, a, b, tb::kProtoTcp, tb::Tcp(a, b, 40000, 80, 1, 0, 0x02)));
        out.push_back(tb::Frame(l2, a, b, tb::kProtoUdp, tb::Udp(a, b, 53000, 53, payload)));
        for (const uint16_t tunnel_port : {4789, 6081, 3544, 2152}) {
          out.push_back(
              tb::Frame(l2, a, b, tb::kProtoUdp, tb::Udp(a, b, 53000, tunnel_port, payload)));
          out.push_back(
              tb::Frame(l2, a, b, tb::kProtoUdp, tb::Udp(a, b, tunnel_port, 53, payload)));
        }
        out.push_back(tb::Frame(l2, a, b, v6 ? tb::kProtoIcmp6 : tb::kProtoIcmp,
                                tb::Icmp(a, b, v6 ? 128 : 8, 0, 0x00010001u)));
        out.push_back(tb::Frame(l2, a, b, 47, Bytes{0, 0, 0x08, 0x00}));        // GRE
        out.push_back(tb::Frame(l2, a, b, 50, Bytes{1, 2, 3, 4, 5, 6, 7, 8}));  // ESP
      }
      // IPv4 options, fragments; IPv6 extension headers.
      tb::Ipv4Options opt;
      opt.options = {1, 1, 1, 1};
      out.push_back(tb::Ethernet(
          l2, 0x0800,
          tb::Ipv4(a4, b4, tb::kProtoTcp, tb::Tcp(a4, b4, 1, 2, 3, 4, tb::tcp::kAck), opt)));
      tb::Ipv4Options frag;
      frag.dont_fragment = false;
      frag.more_fragments = true;
      out.push_back(tb::Ethernet(
          l2, 0x0800, tb::Ipv4(a4, b4, tb::kProtoUdp, tb::Udp(a4, b4, 1, 2, payload), frag)));
      Bytes hop_by_hop = {tb::kProtoTcp, 0, 1, 4, 0, 0, 0, 0};
      const Bytes tcp6 = tb::Tcp(a6, b6, 1, 2, 3, 4, tb::tcp::kAck);
      hop_by_hop.insert(hop_by_hop.end(), tcp6.begin(), tcp6.end());
      out.push_back(tb::Ethernet(l2, 0x86DD, tb::Ipv6(a6, b6, 0, hop_by_hop)));
    }
  }
  out.push_back(tb::Ethernet({}, 0x0806, Bytes(28, 0)));                         // ARP
  out.push_back(tb::Ethernet({}, 0x8847, Bytes{0, 0, 0x11, 0x40, 0x45, 0, 0}));  // MPLS
  out.push_back(tb::Ethernet({}, 46, Bytes(46, 0xAA)));                          // 802.3 LLC
  return out;
}

TEST(CommonPath, DecodesEveryFrameExactlyLikeTheGenericWalk) {
  DecoderOptions fast_options, walk_options;
  walk_options.common_path = false;
  Decoder fast(fast_options), walk(walk_options);
  DecodedPacket fp, wp;
  std::mt19937 rng(5);
  size_t frames = 0, common_ip = 0;
  int64_t ts = 1'000'000'000;
  auto compare = [&](const Bytes& frame, uint32_t wire) {
    ++frames;
    ts += 1000;
    const DecodeResult fr = fast.Decode(link_type::kEthernet, ts, wire, frame, fp);
    const DecodeResult wr = walk.Decode(link_type::kEthernet, ts, wire, frame, wp);
    ASSERT_EQ(fr, wr) << "frame " << frames << " size " << frame.size();
    ASSERT_EQ(fp.layer_count, wp.layer_count) << "frame " << frames;
    ASSERT_EQ(fp.vlan_count, wp.vlan_count) << "frame " << frames;
    for (int i = 0; i < fp.vlan_count; ++i) ASSERT_EQ(fp.vlans[i], wp.vlans[i]);
    for (int i = 0; i < fp.layer_count; ++i) {
      ASSERT_EQ(Diff(fp.layers[i], wp.layers[i]), "") << "frame " << frames << " layer " << i;
    }
    if (fr == DecodeResult::kIp && fp.layer_count == 1 && fp.layers[0].transport_ok) ++common_ip;
  };
  for (const Bytes& shape : Shapes()) {
    // Whole, cut by a snap length (wire length kept), and truncated.
    for (size_t len = 0; len <= shape.size(); ++len) {
      const Bytes cut(shape.begin(), shape.begin() + static_cast<ptrdiff_t>(len));
      compare(cut, static_cast<uint32_t>(shape.size()));
      compare(cut, static_cast<uint32_t>(len));
    }
    // Random bytes changed, one to four at a time, headers first.
    for (int round = 0; round < 300; ++round) {
      Bytes m = shape;
      const int changes = 1 + static_cast<int>(rng() % 4);
      for (int c = 0; c < changes; ++c) {
        const size_t at = rng() % std::min<size_t>(m.size(), 80);
        m[at] = static_cast<uint8_t>(rng());
      }
      compare(m, static_cast<uint32_t>(m.size()));
    }
  }
  const DecodeStats& f = fast.stats();
  const DecodeStats& w = walk.stats();
  EXPECT_EQ(f.packets, w.packets);
  EXPECT_EQ(f.ip_packets, w.ip_packets);
  EXPECT_EQ(f.non_ip_packets, w.non_ip_packets);
  EXPECT_EQ(f.malformed_packets, w.malformed_packets);
  EXPECT_EQ(f.fragments, w.fragments);
  EXPECT_EQ(f.datagrams_reassembled, w.datagrams_reassembled);
  EXPECT_EQ(f.udp_tunnel_port_mismatches, w.udp_tunnel_port_mismatches);
  for (size_t i = 0; i < kAnomalyCount; ++i) {
    EXPECT_EQ(f.anomalies[i], w.anomalies[i]) << kAnomalyNames[i];
  }
  EXPECT_GT(w.AnomalyTotal(), 1000u) << "the corpus exercises malformed frames";
  EXPECT_GT(common_ip, 1000u) << "the corpus exercises the common path";
  std::printf("%zu frames compared, %zu decoded as one IP layer with a transport header\n", frames,
              common_ip);
}

}  // namespace
}  // namespace vigil::agent::decode
