// Decoder tests, one group per protocol: what each decoder extracts from a
// well-formed frame, and the named anomaly each malformed case is counted
// under (names are stable: they are metric labels).

#include <gtest/gtest.h>

#include <algorithm>

#include "agent/decode/decoder.h"
#include "tests/support/packet_builder.h"

namespace vigil::agent::decode {
namespace {

using testing::Bytes;
using testing::ParseIp;
namespace tb = vigil::testing;

void Put16(Bytes& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}
void Put32(Bytes& b, uint32_t v) {
  Put16(b, static_cast<uint16_t>(v >> 16));
  Put16(b, static_cast<uint16_t>(v));
}
Bytes Cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

const Bytes kA = ParseIp("10.0.0.1");
const Bytes kB = ParseIp("10.0.0.2");
const Bytes kA6 = ParseIp("2001:db8::1");
const Bytes kB6 = ParseIp("2001:db8::2");

Bytes TcpV4(uint8_t flags = tb::tcp::kSyn, const Bytes& payload = {}) {
  return tb::Ipv4(kA, kB, tb::kProtoTcp, tb::Tcp(kA, kB, 1234, 80, 100, 0, flags, payload));
}
Bytes UdpV4(uint16_t sport, uint16_t dport, const Bytes& payload) {
  return tb::Ipv4(kA, kB, tb::kProtoUdp, tb::Udp(kA, kB, sport, dport, payload));
}

class DecodeTest : public ::testing::Test {
 protected:
  // The frame is kept: the decoded spans point into it, and tests read them
  // after the temporary they passed is gone.
  DecodeResult Run(const Bytes& frame, int link = link_type::kEthernet, uint32_t wire = 0) {
    frame_ = frame;
    return decoder_.Decode(link, ts_ns_, wire ? wire : static_cast<uint32_t>(frame_.size()), frame_,
                           pkt_);
  }
  uint64_t Anomalies(std::string_view name) const {
    for (size_t i = 0; i < kAnomalyCount; ++i) {
      if (kAnomalyNames[i] == name) return decoder_.stats().anomalies[i];
    }
    ADD_FAILURE() << "no anomaly named " << name;
    return 0;
  }
  void ExpectOnly(std::string_view name) {
    EXPECT_EQ(Anomalies(name), 1u) << name;
    EXPECT_EQ(decoder_.stats().AnomalyTotal(), 1u);
  }

  DecoderOptions options_;
  Decoder decoder_{options_};
  DecodedPacket pkt_;
  Bytes frame_;  // the last frame given to Run()
  int64_t ts_ns_ = 1'000'000'000;
};

TEST_F(DecodeTest, AnomalyNamesAreUniqueSnakeCase) {
  std::vector<std::string_view> names(kAnomalyNames.begin(), kAnomalyNames.end());
  std::sort(names.begin(), names.end());
  EXPECT_EQ(std::adjacent_find(names.begin(), names.end()), names.end());
  for (std::string_view n : names) {
    EXPECT_TRUE(std::all_of(n.begin(), n.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    })) << n;
  }
}

// ---- link layers ---------------------------------------------------------

TEST_F(DecodeTest, EthernetIpv4Tcp) {
  ASSERT_EQ(Run(tb::Ethernet({}, 0x0800, TcpV4(tb::tcp::kSyn | tb::tcp::kAck, tb::ToBytes("hi")))),
            DecodeResult::kIp);
  ASSERT_EQ(pkt_.layer_count, 1);
  const Layer& l = pkt_.layers[0];
  EXPECT_EQ(l.ip_version, 4);
  EXPECT_EQ(l.proto, kProtoTcp);
  EXPECT_TRUE(l.transport_ok);
  EXPECT_EQ(l.src_port, 1234);
  EXPECT_EQ(l.dst_port, 80);
  EXPECT_EQ(l.tcp_seq, 100u);
  EXPECT_EQ(l.tcp_flags, tcp_flags::kSyn | tcp_flags::kAck);
  EXPECT_EQ(l.ip_total_len, 20u + 20u + 2u);
  EXPECT_EQ(l.payload_len, 2u);
  EXPECT_EQ(std::string(l.payload.begin(), l.payload.end()), "hi");
  EXPECT_EQ(l.src, IpAddr::FromV4(kA.data()));
  EXPECT_EQ(decoder_.stats().AnomalyTotal(), 0u);
}

// A DecodedPacket is reused for every frame: a layer must not keep the
// previous frame's transport fields when the next one has none (Layer::Clear).
TEST_F(DecodeTest, ReusedPacketKeepsNoStaleTransportFields) {
  const Bytes esp = {0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 1};
  for (const bool v6 : {false, true}) {
    const Bytes& a = v6 ? kA6 : kA;
    const Bytes& b = v6 ? kB6 : kB;
    ASSERT_EQ(Run(tb::Frame({}, a, b, tb::kProtoTcp,
                            tb::Tcp(a, b, 1234, 80, 100, 7, tb::tcp::kAck, tb::ToBytes("hi")))),
              DecodeResult::kIp);
    ASSERT_TRUE(pkt_.layers[0].transport_ok);
    ASSERT_EQ(Run(tb::Frame({}, a, b, 50, esp)), DecodeResult::kIp);  // ESP: no transport header
    ASSERT_EQ(pkt_.layer_count, 1);
    const Layer& l = pkt_.layers[0];
    EXPECT_EQ(l.proto, 50);
    EXPECT_FALSE(l.transport_ok);
    EXPECT_EQ(l.src_port, 0);
    EXPECT_EQ(l.dst_port, 0);
    EXPECT_EQ(l.tcp_seq, 0u);
    EXPECT_EQ(l.tcp_ack, 0u);
    EXPECT_EQ(l.tcp_flags, 0);
    EXPECT_EQ(l.tcp_header_len, 0);
    EXPECT_EQ(l.tcp_window, 0);
    EXPECT_EQ(l.udp_length, 0);
    EXPECT_EQ(l.icmp_type, 0);
    EXPECT_EQ(l.l4_checksum, ChecksumState::kUnchecked);
    EXPECT_EQ(l.tunnel, TunnelType::kNone);
    EXPECT_FALSE(l.reassembled);
    EXPECT_EQ(l.payload_len, esp.size());
    EXPECT_EQ(std::vector<uint8_t>(l.payload.begin(), l.payload.end()), esp);
  }
}

TEST_F(DecodeTest, EthernetPaddingIsNotPayload) {
  Bytes frame = tb::Ethernet({}, 0x0800, TcpV4(tb::tcp::kAck));
  frame.resize(frame.size() + 6, 0);  // minimum frame size padding
  ASSERT_EQ(Run(frame), DecodeResult::kIp);
  EXPECT_EQ(pkt_.layers[0].payload_len, 0u);
  EXPECT_TRUE(pkt_.layers[0].payload.empty());
}

TEST_F(DecodeTest, SnaplenCutPayloadKeepsWireLength) {
  const Bytes frame = tb::Ethernet({}, 0x0800, TcpV4(tb::tcp::kAck, Bytes(100, 'x')));
  const Bytes cut(frame.begin(), frame.begin() + 64);
  ASSERT_EQ(Run(cut, link_type::kEthernet, static_cast<uint32_t>(frame.size())), DecodeResult::kIp);
  EXPECT_EQ(pkt_.layers[0].payload_len, 100u);
  EXPECT_EQ(pkt_.layers[0].payload.size(), 64u - 54u);
}

TEST_F(DecodeTest, TruncatedEthernetHeader) {
  EXPECT_EQ(Run(Bytes(10, 0)), DecodeResult::kMalformed);
  ExpectOnly("truncated_ethernet_header");
}

TEST_F(DecodeTest, UnknownEthertypeIsCountedButArpIsNot) {
  EXPECT_EQ(Run(tb::Ethernet({}, 0x1234, Bytes(20, 0))), DecodeResult::kMalformed);
  ExpectOnly("unknown_ethertype");
  EXPECT_EQ(Run(tb::Ethernet({}, 0x0806, Bytes(28, 0))), DecodeResult::kNonIp);
  EXPECT_EQ(decoder_.stats().non_ip_packets, 1u);
  EXPECT_EQ(decoder_.stats().AnomalyTotal(), 1u);
}

TEST_F(DecodeTest, Ieee8023SnapCarriesIp) {
  const Bytes ip = TcpV4();
  Bytes llc = {0xAA, 0xAA, 0x03, 0, 0, 0};
  Put16(llc, 0x0800);
  const Bytes payload = Cat({llc, ip});
  Bytes frame(12, 0x02);
  Put16(frame, static_cast<uint16_t>(payload.size()));
  frame.insert(frame.end(), payload.begin(), payload.end());
  ASSERT_EQ(Run(frame), DecodeResult::kIp);
  EXPECT_EQ(pkt_.layers[0].proto, kProtoTcp);
  // Spanning tree (LLC 0x42) is well-formed non-IP traffic.
  Bytes stp(12, 0x02);
  Put16(stp, 38);
  Bytes bpdu = {0x42, 0x42, 0x03};
  bpdu.resize(38, 0);
  stp.insert(stp.end(), bpdu.begin(), bpdu.end());
  EXPECT_EQ(Run(stp), DecodeResult::kNonIp);
}

TEST_F(DecodeTest, VlanAndQinQTagsAreRecorded) {
  tb::L2 one;
  one.vlans = {42};
  ASSERT_EQ(Run(tb::Ethernet(one, 0x0800, TcpV4())), DecodeResult::kIp);
  EXPECT_EQ(pkt_.vlan_count, 1);
  EXPECT_EQ(pkt_.vlans[0], 42);

  tb::L2 qinq;
  qinq.vlans = {100, 200, 300};  // three tags: two recorded, all decoded
  qinq.qinq = true;
  ASSERT_EQ(Run(tb::Ethernet(qinq, 0x0800, TcpV4())), DecodeResult::kIp);
  EXPECT_EQ(pkt_.vlan_count, 2);
  EXPECT_EQ(pkt_.vlans[0], 100);
  EXPECT_EQ(pkt_.vlans[1], 200);
  EXPECT_EQ(pkt_.layers[0].proto, kProtoTcp);
}

TEST_F(DecodeTest, VlanAnomalies) {
  Bytes frame(12, 0x02);
  Put16(frame, 0x8100);
  frame.push_back(0);  // half a tag
  EXPECT_EQ(Run(frame), DecodeResult::kMalformed);
  ExpectOnly("truncated_vlan_header");

  tb::L2 deep;
  deep.vlans.assign(20, 7);
  EXPECT_EQ(Run(tb::Ethernet(deep, 0x0800, TcpV4())), DecodeResult::kMalformed);
  EXPECT_EQ(Anomalies("vlan_stack_too_deep"), 1u);
}

TEST_F(DecodeTest, MplsLabelStack) {
  Bytes labels;
  Put32(labels, (16u << 12) | 0x00);        // label 16, not bottom
  Put32(labels, (17u << 12) | 0x100 | 64);  // bottom of stack
  ASSERT_EQ(Run(tb::Ethernet({}, 0x8847, Cat({labels, TcpV4()}))), DecodeResult::kIp);
  EXPECT_EQ(pkt_.layers[0].proto, kProtoTcp);

  Bytes bad;
  Put32(bad, (16u << 12) | 0x100);
  bad.push_back(0x90);  // neither IPv4, IPv6 nor a control word
  bad.resize(bad.size() + 30, 0);
  EXPECT_EQ(Run(tb::Ethernet({}, 0x8847, bad)), DecodeResult::kMalformed);
  EXPECT_EQ(Anomalies("mpls_unknown_payload"), 1u);

  Bytes unterminated;
  Put32(unterminated, 16u << 12);
  EXPECT_EQ(Run(tb::Ethernet({}, 0x8847, unterminated)), DecodeResult::kMalformed);
  EXPECT_EQ(Anomalies("truncated_mpls_header"), 1u);
}

TEST_F(DecodeTest, PppoeSessionCarriesIpv6) {
  const Bytes ip6 = tb::Ipv6(kA6, kB6, tb::kProtoUdp, tb::Udp(kA6, kB6, 546, 547, Bytes(4, 1)));
  Bytes pppoe = {0x11, 0x00, 0x12, 0x34};
  Put16(pppoe, static_cast<uint16_t>(ip6.size() + 2));
  Put16(pppoe, 0x0057);
  ASSERT_EQ(Run(tb::Ethernet({}, 0x8864, Cat({pppoe, ip6}))), DecodeResult::kIp);
  EXPECT_EQ(pkt_.layers[0].ip_version, 6);
  EXPECT_EQ(pkt_.layers[0].dst_port, 547);

  Bytes lcp = {0x11, 0x00, 0x12, 0x34, 0x00, 0x06, 0xC0, 0x21, 1, 1, 0, 4};
  EXPECT_EQ(Run(tb::Ethernet({}, 0x8864, lcp)), DecodeResult::kNonIp);
  Bytes odd = {0x11, 0x00, 0x12, 0x34, 0x00, 0x04, 0x00, 0x3D, 0, 0};
  EXPECT_EQ(Run(tb::Ethernet({}, 0x8864, odd)), DecodeResult::kMalformed);
  EXPECT_EQ(Anomalies("pppoe_unknown_protocol"), 1u);
}

TEST_F(DecodeTest, LinuxCookedSllAndSll2) {
  Bytes sll(14, 0);
  Put16(sll, 0x0800);
  ASSERT_EQ(Run(Cat({sll, TcpV4()}), link_type::kLinuxSll), DecodeResult::kIp);
  Bytes sll2;
  Put16(sll2, 0x86DD);
  sll2.resize(20, 0);
  const Bytes ip6 = tb::Ipv6(kA6, kB6, tb::kProtoTcp, tb::Tcp(kA6, kB6, 1, 2, 3, 0, tb::tcp::kSyn));
  ASSERT_EQ(Run(Cat({sll2, ip6}), link_type::kLinuxSll2), DecodeResult::kIp);
  EXPECT_EQ(pkt_.layers[0].ip_version, 6);
  EXPECT_EQ(Run(Bytes(10, 0), link_type::kLinuxSll), DecodeResult::kMalformed);
  EXPECT_EQ(Anomalies("truncated_sll_header"), 1u);
  EXPECT_EQ(Run(Bytes(10, 0), link_type::kLinuxSll2), DecodeResult::kMalformed);
  EXPECT_EQ(Anomalies("truncated_sll2_header"), 1u);
}

TEST_F(DecodeTest, NullLoopbackEitherByteOrderAndRawIp) {
  const Bytes le = {2, 0, 0, 0};  // AF_INET, little-endian capture host
  ASSERT_EQ(Run(Cat({le, TcpV4()}), link_type::kNull), DecodeResult::kIp);
  const Bytes be6 = {0, 0, 0, 30};  // AF_INET6 on macOS, big-endian
  const Bytes ip6 = tb::Ipv6(kA6, kB6, tb::kProtoTcp, tb::Tcp(kA6, kB6, 1, 2, 3, 0, tb::tcp::kSyn));
  ASSERT_EQ(Run(Cat({be6, ip6}), link_type::kNull), DecodeResult::kIp);
  ASSERT_EQ(Run(Cat({Bytes{0, 0, 0, 2}, TcpV4()}), link_type::kLoop), DecodeResult::kIp);
  EXPECT_EQ(Run(Cat({Bytes{99, 0, 0, 0}, TcpV4()}), link_type::kNull), DecodeResult::kMalformed);
  EXPECT_EQ(Anomalies("null_unknown_family"), 1u);
  ASSERT_EQ(Run(TcpV4(), link_type::kRaw), DecodeResult::kIp);
  ASSERT_EQ(Run(ip6, link_type::kRawLinktype), DecodeResult::kIp);
  EXPECT_EQ(Run(Bytes{0x50, 0, 0, 0}, link_type::kRaw), DecodeResult::kMalformed);
  EXPECT_EQ(Anomalies("unknown_ip_version"), 1u);
}

TEST_F(DecodeTest, UnsupportedLinkType) {
  EXPECT_FALSE(Decoder::SupportsLinkType(147));
  EXPECT_EQ(Run(TcpV4(), 147), DecodeResult::kMalformed);
  ExpectOnly("unsupported_link_type");
}

// ---- IPv4 ----------------------------------------------------------------

TEST_F(DecodeTest, Ipv4WithOptions) {
  tb::Ipv4Options opt;
  opt.options = {0x94, 0x04, 0x00, 0x00};  // router alert
  const Bytes ip = tb::Ipv4(kA, kB, tb::kProtoUdp, tb::Udp(kA, kB, 5, 6, Bytes(3, 9)), opt);
  ASSERT_EQ(Run(tb::Ethernet({}, 0x0800, ip)), DecodeResult::kIp);
  EXPECT_EQ(pkt_.layers[0].ip_header_len, 24);
  EXPECT_EQ(pkt_.layers[0].dst_port, 6);
  EXPECT_EQ(pkt_.layers[0].payload_len, 3u);
}

TEST_F(DecodeTest, Ipv4Anomalies) {
  Bytes ip = TcpV4();
  ip[0] = 0x44;  // header length 16
  EXPECT_EQ(Run(tb::Ethernet({}, 0x0800, ip)), DecodeResult::kMalformed);
  EXPECT_EQ(Anomalies("ipv4_bad_header_length"), 1u);

  ip = TcpV4();
  ip[0] = 0x65;
  EXPECT_EQ(Run(tb::Ethernet({}, 0x0800, ip)), DecodeResult::kMalformed);
  EXPECT_EQ(Anomalies("ipv4_bad_version"), 1u);

  EXPECT_EQ(Run(tb::Ethernet({}, 0x0800, Bytes{0x45, 0, 0, 40})), DecodeResult::kMalformed);
  EXPECT_EQ(Anomalies("truncated_ipv4_header"), 1u);

  ip = TcpV4();
  ip[2] = 0x01;  // total length 256+, longer than the frame on the wire
  EXPECT_EQ(Run(tb::Ethernet({}, 0x0800, ip)), DecodeResult::kMalformed);
  EXPECT_EQ(Anomalies("truncated_ipv4"), 1u);

  ip = TcpV4();
  ip[2] = 0;
  ip[3] = 10;  // shorter than its own header
  EXPECT_EQ(Run(tb::Ethernet({}, 0x0800, ip)), DecodeResult::kMalformed);
  EXPECT_EQ(Anomalies("ipv4_bad_total_length"), 1u);
}

TEST_F(DecodeTest, Ipv4ZeroTotalLengthFromSegmentationOffload) {
  Bytes ip = TcpV4(tb::tcp::kAck, Bytes(10, 'a'));
  ip[2] = ip[3] = 0;
  ASSERT_EQ(Run(tb::Ethernet({}, 0x0800, ip)), DecodeResult::kIp);
  EXPECT_EQ(Anomalies("ipv4_total_length_zero"), 1u);
  EXPECT_EQ(pkt_.layers[0].payload_len, 10u);
}

TEST(DecodeChecksums, VerificationIsOptional) {
  Bytes ip = TcpV4(tb::tcp::kAck, Bytes(4, 'z'));
  ip[10] ^= 0xFF;  // break the IPv4 header checksum
  Bytes bad_tcp = TcpV4(tb::tcp::kAck, Bytes(4, 'z'));
  bad_tcp[20 + 16] ^= 0xFF;  // break the TCP checksum
  DecodedPacket pkt;
  {
    Decoder d;  // default: no verification (like zeek -C)
    EXPECT_EQ(d.Decode(link_type::kRaw, 0, static_cast<uint32_t>(ip.size()), ip, pkt),
              DecodeResult::kIp);
    EXPECT_EQ(d.Decode(link_type::kRaw, 0, static_cast<uint32_t>(bad_tcp.size()), bad_tcp, pkt),
              DecodeResult::kIp);
    EXPECT_EQ(pkt.layers[0].l4_checksum, ChecksumState::kUnchecked);
    EXPECT_EQ(d.stats().AnomalyTotal(), 0u);
  }
  DecoderOptions verify;
  verify.verify_checksums = true;
  Decoder d(verify);
  EXPECT_EQ(d.Decode(link_type::kRaw, 0, static_cast<uint32_t>(ip.size()), ip, pkt),
            DecodeResult::kMalformed);
  EXPECT_EQ(d.stats().anomalies[static_cast<size_t>(Anomaly::kBadIpv4Checksum)], 1u);
  EXPECT_EQ(d.Decode(link_type::kRaw, 0, static_cast<uint32_t>(bad_tcp.size()), bad_tcp, pkt),
            DecodeResult::kIp);
  EXPECT_EQ(pkt.layers[0].l4_checksum, ChecksumState::kBad);
  EXPECT_EQ(d.stats().anomalies[static_cast<size_t>(Anomaly::kBadTcpChecksum)], 1u);
  const Bytes good = TcpV4(tb::tcp::kAck, Bytes(4, 'z'));
  EXPECT_EQ(d.Decode(link_type::kRaw, 0, static_cast<uint32_t>(good.size()), good, pkt),
            DecodeResult::kIp);
  EXPECT_EQ(pkt.layers[0].l4_checksum, ChecksumState::kGood);
  const Bytes udp = UdpV4(1, 2, Bytes(5, 1));
  EXPECT_EQ(d.Decode(link_type::kRaw, 0, static_cast<uint32_t>(udp.size()), udp, pkt),
            DecodeResult::kIp);
  EXPECT_EQ(pkt.layers[0].l4_checksum, ChecksumState::kGood);
}

// ---- IPv4 fragments --------------------------------------------------------

Bytes Fragment(const Bytes& l4, size_t offset, size_t len, bool more, uint16_t id = 77) {
  tb::Ipv4Options opt;
  opt.id = id;
  opt.dont_fragment = false;
  opt.more_fragments = more;
  opt.fragment_offset = static_cast<uint16_t>(offset);
  const Bytes part(l4.begin() + static_cast<ptrdiff_t>(offset),
                   l4.begin() + static_cast<ptrdiff_t>(offset + len));
  return tb::Ipv4(kA, kB, tb::kProtoUdp, part, opt);
}

TEST_F(DecodeTest, Ipv4FragmentsReassembleInAnyOrder) {
  Bytes payload(100);
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<uint8_t>(i);
  const Bytes udp = tb::Udp(kA, kB, 4000, 53, payload);  // 108 bytes
  EXPECT_EQ(Run(Fragment(udp, 48, 60, false), link_type::kRaw), DecodeResult::kFragmentPending);
  EXPECT_EQ(Run(Fragment(udp, 24, 24, true), link_type::kRaw), DecodeResult::kFragmentPending);
  ASSERT_EQ(Run(Fragment(udp, 0, 24, true), link_type::kRaw), DecodeResult::kIp);
  const Layer& l = pkt_.layers[0];
  EXPECT_TRUE(l.reassembled);
  EXPECT_EQ(l.ip_total_len, 20u + 108u);
  EXPECT_EQ(l.dst_port, 53);
  ASSERT_EQ(l.payload.size(), 100u);
  EXPECT_TRUE(std::equal(l.payload.begin(), l.payload.end(), payload.begin()));
  EXPECT_EQ(decoder_.stats().fragments, 3u);
  EXPECT_EQ(decoder_.stats().datagrams_reassembled, 1u);
  EXPECT_EQ(decoder_.stats().fragment_bytes_held, 0u);
}

TEST_F(DecodeTest, Ipv4FragmentOverlapFirstWins) {
  Bytes payload(40, 'A');
  const Bytes udp = tb::Udp(kA, kB, 1, 2, payload);  // 48 bytes
  Bytes altered = udp;
  for (size_t i = 16; i < 32; ++i) altered[i] = 'B';
  EXPECT_EQ(Run(Fragment(udp, 0, 32, true), link_type::kRaw), DecodeResult::kFragmentPending);
  // Same range again with different bytes, plus the tail: the first copy wins.
  EXPECT_EQ(Run(Fragment(altered, 16, 32, false), link_type::kRaw), DecodeResult::kIp);
  EXPECT_EQ(Anomalies("fragment_overlap"), 1u);
  EXPECT_TRUE(std::all_of(pkt_.layers[0].payload.begin(), pkt_.layers[0].payload.end(),
                          [](uint8_t c) { return c == 'A'; }));
}

TEST_F(DecodeTest, Ipv4FragmentLimits) {
  options_.max_fragment_datagrams = 2;
  options_.fragment_timeout_ns = 1'000'000'000;
  Decoder d(options_);
  const Bytes udp = tb::Udp(kA, kB, 1, 2, Bytes(40, 1));
  auto run = [&](const Bytes& f, int64_t ts) {
    return d.Decode(link_type::kRaw, ts, static_cast<uint32_t>(f.size()), f, pkt_);
  };
  auto count = [&](Anomaly a) { return d.stats().anomalies[static_cast<size_t>(a)]; };
  EXPECT_EQ(run(Fragment(udp, 0, 16, true, 1), 0), DecodeResult::kFragmentPending);
  EXPECT_EQ(run(Fragment(udp, 0, 16, true, 2), 0), DecodeResult::kFragmentPending);
  EXPECT_EQ(run(Fragment(udp, 0, 16, true, 3), 0), DecodeResult::kFragmentPending);
  EXPECT_EQ(count(Anomaly::kFragmentTableFull), 1u);
  // Two seconds later both pending datagrams have timed out.
  EXPECT_EQ(run(Fragment(udp, 0, 16, true, 4), 2'000'000'000), DecodeResult::kFragmentPending);
  EXPECT_EQ(count(Anomaly::kFragmentTimeout), 2u);
  EXPECT_EQ(run(Fragment(udp, 0, 12, true, 5), 2'000'000'000), DecodeResult::kFragmentPending);
  EXPECT_EQ(count(Anomaly::kFragmentBadLength), 1u);
}

// Offsets stay within 64 KiB but header + payload do not: the total length
// of the reassembled header cannot hold it (it was written truncated and the
// datagram decoded with a wrong length). Dropped as too large, as Zeek does.
TEST_F(DecodeTest, Ipv4ReassembledDatagramOver64KiBIsDropped) {
  const Bytes big(65528, 0x5a);  // offset + length = 65528: each piece is legal
  EXPECT_EQ(Run(Fragment(big, 0, 32000, true), link_type::kRaw), DecodeResult::kFragmentPending);
  EXPECT_EQ(Run(Fragment(big, 32000, 32000, true), link_type::kRaw),
            DecodeResult::kFragmentPending);
  EXPECT_NE(Run(Fragment(big, 64000, 1528, false), link_type::kRaw), DecodeResult::kIp);
  EXPECT_EQ(Anomalies("fragment_too_large"), 1u);
  EXPECT_EQ(decoder_.stats().datagrams_reassembled, 0u);
  EXPECT_EQ(decoder_.stats().fragment_bytes_held, 0u);
}

// ---- IPv6 ----------------------------------------------------------------

Bytes ExtHeader(uint8_t next, size_t len8) {
  Bytes h = {next, static_cast<uint8_t>(len8 - 1)};
  h.resize(len8 * 8, 0);
  return h;
}

TEST_F(DecodeTest, Ipv6ExtensionChain) {
  const Bytes udp = tb::Udp(kA6, kB6, 1000, 53, Bytes(7, 1));
  const Bytes chain = Cat({ExtHeader(60, 1), ExtHeader(tb::kProtoUdp, 2), udp});
  ASSERT_EQ(Run(tb::Ethernet({}, 0x86DD, tb::Ipv6(kA6, kB6, 0, chain))), DecodeResult::kIp);
  const Layer& l = pkt_.layers[0];
  EXPECT_EQ(l.proto, kProtoUdp);
  EXPECT_EQ(l.ip_header_len, 40 + 8 + 16);
  EXPECT_EQ(l.ip_total_len, 40u + chain.size());
  EXPECT_EQ(l.dst_port, 53);
}

TEST_F(DecodeTest, Ipv6Anomalies) {
  Bytes chain;
  for (int i = 0; i < 20; ++i) chain = Cat({chain, ExtHeader(60, 1)});
  EXPECT_EQ(Run(tb::Ethernet({}, 0x86DD, tb::Ipv6(kA6, kB6, 60, chain))), DecodeResult::kMalformed);
  EXPECT_EQ(Anomalies("ipv6_too_many_extension_headers"), 1u);

  Bytes big = ExtHeader(tb::kProtoUdp, 1);
  big[1] = 10;  // claims 88 bytes
  EXPECT_EQ(Run(tb::Ethernet({}, 0x86DD, tb::Ipv6(kA6, kB6, 0, big))), DecodeResult::kMalformed);
  EXPECT_EQ(Anomalies("truncated_ipv6_extension_header"), 1u);

  EXPECT_EQ(Run(tb::Ethernet({}, 0x86DD, Bytes(30, 0x60))), DecodeResult::kMalformed);
  EXPECT_EQ(Anomalies("truncated_ipv6_header"), 1u);
  Bytes v4in6 = tb::Ipv6(kA6, kB6, 59, {});
  v4in6[0] = 0x40;
  EXPECT_EQ(Run(tb::Ethernet({}, 0x86DD, v4in6)), DecodeResult::kMalformed);
  EXPECT_EQ(Anomalies("ipv6_bad_version"), 1u);
}

TEST_F(DecodeTest, Ipv6FragmentsReassemble) {
  Bytes payload(64);
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<uint8_t>(i * 3);
  const Bytes udp = tb::Udp(kA6, kB6, 7, 53, payload);  // 72 bytes
  auto frag = [&](size_t off, size_t len, bool more) {
    Bytes fh = {tb::kProtoUdp, 0};
    Put16(fh, static_cast<uint16_t>(off | (more ? 1 : 0)));
    Put32(fh, 0xABCD);
    const Bytes part(udp.begin() + static_cast<ptrdiff_t>(off),
                     udp.begin() + static_cast<ptrdiff_t>(off + len));
    return tb::Ipv6(kA6, kB6, 44, Cat({fh, part}));
  };
  EXPECT_EQ(Run(frag(32, 40, false), link_type::kRaw), DecodeResult::kFragmentPending);
  ASSERT_EQ(Run(frag(0, 32, true), link_type::kRaw), DecodeResult::kIp);
  const Layer& l = pkt_.layers[0];
  EXPECT_TRUE(l.reassembled);
  EXPECT_EQ(l.proto, kProtoUdp);
  EXPECT_EQ(l.ip_total_len, 40u + 72u);
  ASSERT_EQ(l.payload.size(), 64u);
  EXPECT_TRUE(std::equal(l.payload.begin(), l.payload.end(), payload.begin()));
}

// ---- transport -------------------------------------------------------------

TEST_F(DecodeTest, TransportAnomalies) {
  Bytes ip = tb::Ipv4(kA, kB, tb::kProtoTcp, Bytes(10, 0));
  EXPECT_EQ(Run(ip, link_type::kRaw), DecodeResult::kIp);  // the IP layer stands
  EXPECT_FALSE(pkt_.layers[0].transport_ok);
  EXPECT_EQ(Anomalies("truncated_tcp_header"), 1u);

  Bytes tcp = tb::Tcp(kA, kB, 1, 2, 3, 0, tb::tcp::kSyn);
  tcp[12] = 0x30;  // data offset 12 bytes
  Run(tb::Ipv4(kA, kB, tb::kProtoTcp, tcp), link_type::kRaw);
  EXPECT_EQ(Anomalies("tcp_bad_header_length"), 1u);

  Run(tb::Ipv4(kA, kB, tb::kProtoUdp, Bytes(5, 0)), link_type::kRaw);
  EXPECT_EQ(Anomalies("truncated_udp_header"), 1u);
  Run(tb::Ipv4(kA, kB, tb::kProtoIcmp, Bytes(4, 0)), link_type::kRaw);
  EXPECT_EQ(Anomalies("truncated_icmp_header"), 1u);

  Bytes udp = tb::Udp(kA, kB, 1, 2, Bytes(10, 0));
  udp[5] = 12;  // length field disagrees with the IP length
  ASSERT_EQ(Run(tb::Ipv4(kA, kB, tb::kProtoUdp, udp), link_type::kRaw), DecodeResult::kIp);
  EXPECT_TRUE(pkt_.layers[0].transport_ok);
  EXPECT_EQ(Anomalies("udp_length_mismatch"), 1u);
}

TEST_F(DecodeTest, IcmpAndSctp) {
  ASSERT_EQ(Run(tb::Ipv4(kA, kB, tb::kProtoIcmp, tb::Icmp(kA, kB, 8, 0, 0x10001, Bytes(56, 0))),
                link_type::kRaw),
            DecodeResult::kIp);
  EXPECT_EQ(pkt_.layers[0].icmp_type, 8);
  EXPECT_EQ(pkt_.layers[0].payload_len, 56u);
  Bytes sctp;
  Put16(sctp, 5060);
  Put16(sctp, 5061);
  sctp.resize(16, 0);
  ASSERT_EQ(Run(tb::Ipv4(kA, kB, 132, sctp), link_type::kRaw), DecodeResult::kIp);
  EXPECT_TRUE(pkt_.layers[0].transport_ok);
  EXPECT_EQ(pkt_.layers[0].src_port, 5060);
  Run(tb::Ipv4(kA, kB, 132, Bytes(8, 0)), link_type::kRaw);
  EXPECT_EQ(Anomalies("truncated_sctp_header"), 1u);
}

// ---- tunnels ---------------------------------------------------------------

const Bytes kInner = tb::Ipv4(
    ParseIp("192.168.1.1"), ParseIp("192.168.1.2"), tb::kProtoTcp,
    tb::Tcp(ParseIp("192.168.1.1"), ParseIp("192.168.1.2"), 5555, 443, 1, 0, tb::tcp::kSyn));

void ExpectInnerTcp(const DecodedPacket& p, TunnelType via) {
  ASSERT_EQ(p.layer_count, 2);
  EXPECT_EQ(p.layers[1].tunnel, via);
  EXPECT_EQ(p.layers[1].proto, kProtoTcp);
  EXPECT_EQ(p.layers[1].dst_port, 443);
  EXPECT_TRUE(p.layers[1].transport_ok);
}

TEST_F(DecodeTest, GreCarriesIpv4) {
  Bytes gre = {0x20, 0x00, 0x08, 0x00, 0, 0, 0, 42};  // key present
  ASSERT_EQ(Run(tb::Ipv4(kA, kB, 47, Cat({gre, kInner})), link_type::kRaw), DecodeResult::kIp);
  ExpectInnerTcp(pkt_, TunnelType::kGre);
  EXPECT_EQ(pkt_.layers[0].proto, kProtoGre);

  Bytes unknown = {0x00, 0x00, 0x12, 0x34};
  Run(tb::Ipv4(kA, kB, 47, Cat({unknown, kInner})), link_type::kRaw);
  EXPECT_EQ(Anomalies("gre_unknown_protocol"), 1u);
  Run(tb::Ipv4(kA, kB, 47, Bytes{0x00, 0x03, 0x08, 0x00}), link_type::kRaw);
  EXPECT_EQ(Anomalies("gre_unsupported_version"), 1u);
  Run(tb::Ipv4(kA, kB, 47, Bytes{0x80}), link_type::kRaw);
  EXPECT_EQ(Anomalies("truncated_gre_header"), 1u);
}

TEST_F(DecodeTest, ErspanType2CarriesEthernet) {
  Bytes gre = {0x10, 0x00, 0x88, 0xBE, 0, 0, 0, 1};  // sequence present
  const Bytes erspan(8, 0);
  const Bytes eth = tb::Ethernet({}, 0x0800, kInner);
  ASSERT_EQ(Run(tb::Ipv4(kA, kB, 47, Cat({gre, erspan, eth})), link_type::kRaw), DecodeResult::kIp);
  ExpectInnerTcp(pkt_, TunnelType::kErspan);
}

TEST_F(DecodeTest, IpInIpAnd6In4) {
  ASSERT_EQ(Run(tb::Ipv4(kA, kB, 4, kInner), link_type::kRaw), DecodeResult::kIp);
  ExpectInnerTcp(pkt_, TunnelType::kIp);
  const Bytes ip6 =
      tb::Ipv6(kA6, kB6, tb::kProtoTcp, tb::Tcp(kA6, kB6, 1, 443, 3, 0, tb::tcp::kSyn));
  ASSERT_EQ(Run(tb::Ipv4(kA, kB, 41, ip6), link_type::kRaw), DecodeResult::kIp);
  EXPECT_EQ(pkt_.layers[1].ip_version, 6);
  EXPECT_EQ(pkt_.layers[1].tunnel, TunnelType::kIp);
}

TEST_F(DecodeTest, TunnelDepthIsBounded) {
  Bytes p = kInner;
  for (int i = 0; i < 6; ++i) p = tb::Ipv4(kA, kB, 4, p);
  ASSERT_EQ(Run(p, link_type::kRaw), DecodeResult::kIp);
  EXPECT_EQ(pkt_.layer_count, kMaxLayers);
  EXPECT_EQ(Anomalies("tunnel_too_deep"), 1u);
}

TEST_F(DecodeTest, VxlanCarriesEthernet) {
  const Bytes vxlan = {0x08, 0, 0, 0, 0, 0, 42, 0};
  const Bytes eth = tb::Ethernet({}, 0x0800, kInner);
  ASSERT_EQ(Run(UdpV4(49152, 4789, Cat({vxlan, eth})), link_type::kRaw), DecodeResult::kIp);
  ExpectInnerTcp(pkt_, TunnelType::kVxlan);
  EXPECT_EQ(pkt_.layers[0].proto, kProtoUdp);
  EXPECT_TRUE(pkt_.layers[0].transport_ok);

  // Without the I flag it is not VXLAN: plain UDP that happens to use 4789.
  Bytes bad = vxlan;
  bad[0] = 0;
  ASSERT_EQ(Run(UdpV4(49152, 4789, Cat({bad, eth})), link_type::kRaw), DecodeResult::kIp);
  EXPECT_EQ(pkt_.layer_count, 1);
  EXPECT_EQ(decoder_.stats().AnomalyTotal(), 0u);
  EXPECT_EQ(decoder_.stats().udp_tunnel_port_mismatches, 1u);
}

TEST_F(DecodeTest, EphemeralPortEqualToATunnelPortIsPlainUdp) {
  // A DNS query leaving from port 4789, and its answer coming back to it.
  ASSERT_EQ(Run(UdpV4(4789, 53, Bytes(30, 0x11)), link_type::kRaw), DecodeResult::kIp);
  EXPECT_EQ(pkt_.layer_count, 1);
  EXPECT_TRUE(pkt_.layers[0].transport_ok);
  ASSERT_EQ(Run(UdpV4(53, 3544, Bytes(30, 0x11)), link_type::kRaw), DecodeResult::kIp);
  EXPECT_EQ(pkt_.layer_count, 1);
  EXPECT_EQ(decoder_.stats().AnomalyTotal(), 0u);
  EXPECT_EQ(decoder_.stats().udp_tunnel_port_mismatches, 2u);
}

TEST_F(DecodeTest, GeneveCarriesEthernet) {
  Bytes geneve = {0x01, 0x00, 0x65, 0x58, 0, 0, 1, 0, 1, 2, 3, 4};  // 4 bytes of options
  const Bytes eth = tb::Ethernet({}, 0x0800, kInner);
  ASSERT_EQ(Run(UdpV4(1000, 6081, Cat({geneve, eth})), link_type::kRaw), DecodeResult::kIp);
  ExpectInnerTcp(pkt_, TunnelType::kGeneve);
}

TEST_F(DecodeTest, TeredoCarriesIpv6) {
  const Bytes ip6 =
      tb::Ipv6(kA6, kB6, tb::kProtoTcp, tb::Tcp(kA6, kB6, 1, 443, 3, 0, tb::tcp::kSyn));
  Bytes origin = {0, 0, 0x12, 0x34, 1, 2, 3, 4};
  ASSERT_EQ(Run(UdpV4(3544, 50000, Cat({origin, ip6})), link_type::kRaw), DecodeResult::kIp);
  ASSERT_EQ(pkt_.layer_count, 2);
  EXPECT_EQ(pkt_.layers[1].tunnel, TunnelType::kTeredo);
  EXPECT_EQ(pkt_.layers[1].dst_port, 443);
  ASSERT_EQ(Run(UdpV4(3544, 50000, Bytes(48, 0x45)), link_type::kRaw), DecodeResult::kIp);
  EXPECT_EQ(pkt_.layer_count, 1);
  EXPECT_EQ(decoder_.stats().udp_tunnel_port_mismatches, 1u);
  EXPECT_EQ(decoder_.stats().AnomalyTotal(), 0u);
}

TEST_F(DecodeTest, GtpUCarriesIp) {
  Bytes gtp = {0x32, 0xFF};  // version 1, PT, S flag; G-PDU
  Put16(gtp, static_cast<uint16_t>(4 + kInner.size()));
  Put32(gtp, 0x1234);  // TEID
  Put32(gtp, 0);       // sequence, N-PDU, next extension
  ASSERT_EQ(Run(UdpV4(2152, 2152, Cat({gtp, kInner})), link_type::kRaw), DecodeResult::kIp);
  ExpectInnerTcp(pkt_, TunnelType::kGtpU);
  Bytes echo = {0x30, 0x01, 0, 0, 0, 0, 0, 0};
  ASSERT_EQ(Run(UdpV4(2152, 2152, echo), link_type::kRaw), DecodeResult::kIp);
  EXPECT_EQ(pkt_.layer_count, 1);
  Bytes v2 = {0x48, 0xFF, 0, 0, 0, 0, 0, 0};
  Run(UdpV4(2152, 2152, v2), link_type::kRaw);
  EXPECT_EQ(decoder_.stats().udp_tunnel_port_mismatches, 1u);
  Bytes cut = {0x36, 0xFF, 0, 8, 0, 0, 0, 1, 0, 0, 0, 0x85};  // extension header promised, missing
  Run(UdpV4(2152, 2152, cut), link_type::kRaw);
  EXPECT_EQ(Anomalies("truncated_gtp_header"), 1u);
}

}  // namespace
}  // namespace vigil::agent::decode
