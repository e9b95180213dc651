// FlowTable semantics: every Zeek conn_state, the history letters and their
// repeat rules, originator flips, payload bytes from sequence numbers (wraps,
// retransmissions, gaps), timeouts on packet time, eviction under a SYN flood,
// interim records whose deltas add up to the totals, VLANs in and out of the
// key, ICMP port mapping, tunnel parents, uids and the memory bound.

#include <gtest/gtest.h>

#include <set>

#include "agent/flow/flow.h"
#include "tests/agent/flow/flow_test_util.h"

namespace vigil::agent::flow {
namespace {

namespace tcp = testing::tcp;
using testing::Bytes;
using testing::ParseIp;
using testing::ToBytes;
using v1::CONN_STATE_OTH;
using v1::CONN_STATE_REJ;
using v1::CONN_STATE_RSTO;
using v1::CONN_STATE_RSTOS0;
using v1::CONN_STATE_RSTR;
using v1::CONN_STATE_RSTRH;
using v1::CONN_STATE_S0;
using v1::CONN_STATE_S1;
using v1::CONN_STATE_S2;
using v1::CONN_STATE_S3;
using v1::CONN_STATE_SF;
using v1::CONN_STATE_SH;
using v1::CONN_STATE_SHR;

constexpr uint8_t kSA = tcp::kSyn | tcp::kAck;
constexpr uint8_t kFA = tcp::kFin | tcp::kAck;
constexpr uint8_t kPA = tcp::kPsh | tcp::kAck;
constexpr uint8_t kRA = tcp::kRst | tcp::kAck;

std::string Addr(const std::string& bytes) {
  std::string s;
  for (size_t i = 0; i < bytes.size(); ++i)
    s += (i ? "." : "") + std::to_string(static_cast<uint8_t>(bytes[i]));
  return s;
}

// ---- conn_state and history ------------------------------------------------

TEST(FlowStates, SfWithDataBothWays) {
  FlowHarness h;
  TcpTalk t(h);
  t.Handshake();
  t.C(kPA, "GET /");
  t.S(tcp::kAck);
  t.S(kPA, "HTTP/1.0 200 OK\r\n");
  t.C(tcp::kAck);
  t.C(kFA);
  t.S(kFA);
  t.C(tcp::kAck);
  const auto e = h.OnlyConn();
  const auto& f = e.flow();
  EXPECT_EQ(f.conn_state(), CONN_STATE_SF);
  EXPECT_EQ(f.history(), "ShADadFf");
  EXPECT_EQ(f.totals().orig_bytes(), 5u);
  EXPECT_EQ(f.totals().resp_bytes(), 17u);
  EXPECT_EQ(f.totals().orig_pkts(), 6u);
  EXPECT_EQ(f.totals().resp_pkts(), 4u);
  EXPECT_EQ(f.totals().orig_ip_bytes(), 6u * 40 + 5);
  EXPECT_EQ(f.totals().resp_ip_bytes(), 4u * 40 + 17);
  EXPECT_EQ(e.id().orig_port(), 40000u);
  EXPECT_EQ(Addr(e.id().orig_addr()), "10.0.0.1");
  // Duration stops at the packet that completed the close (the final ACK is not in it).
  EXPECT_EQ(f.duration().nanos(), 8 * kMs);
  EXPECT_TRUE(f.local_orig());
  EXPECT_EQ(f.end_reason(), v1::END_REASON_SHUTDOWN);
}

TEST(FlowStates, ClosedConnectionEndsAfterTcpClosedDelay) {
  FlowHarness h;
  TcpTalk t(h);
  t.Handshake();
  t.C(kFA);
  t.S(kFA);
  t.C(tcp::kAck);
  h.table().Advance(t.ts + 6 * kSecond);
  ASSERT_EQ(h.Conns().size(), 1u);
  EXPECT_EQ(h.Conns()[0].flow().end_reason(), v1::END_REASON_CLOSED);
  EXPECT_EQ(h.table().active_flows(), 0u);
}

TEST(FlowStates, S0AttemptTimesOutAfterTheFirstSyn) {
  FlowHarness h;
  TcpTalk t(h);
  t.C(tcp::kSyn);
  t.ts += kSecond;
  t.Raw(true, tcp::kSyn, 1000, 0);  // retransmitted SYN, same sequence: no new letter
  t.ts += 2 * kSecond;
  t.Raw(true, tcp::kSyn, 1000, 0);
  t.ts += 3 * kSecond;  // 6 s after the first SYN: the attempt is over, this is a new connection
  t.Raw(true, tcp::kSyn, 1000, 0);
  h.table().FlushAll();
  const auto conns = h.Conns();
  ASSERT_EQ(conns.size(), 2u);
  EXPECT_EQ(conns[0].flow().conn_state(), CONN_STATE_S0);
  EXPECT_EQ(History(conns[0]), "S");
  EXPECT_EQ(conns[0].flow().totals().orig_pkts(), 3u);
  EXPECT_EQ(conns[0].flow().end_reason(), v1::END_REASON_IDLE_TIMEOUT);
  EXPECT_EQ(conns[1].flow().totals().orig_pkts(), 1u);
  EXPECT_NE(conns[0].uid(), conns[1].uid());
}

struct StateCase {
  const char* name;
  std::function<void(TcpTalk&)> script;
  v1::ConnState state;
  const char* history;
};

class FlowStateTable : public ::testing::TestWithParam<StateCase> {};

TEST_P(FlowStateTable, ConnStateAndHistory) {
  FlowHarness h;
  TcpTalk t(h);
  GetParam().script(t);
  const auto e = h.OnlyConn();
  EXPECT_EQ(v1::ConnState_Name(e.flow().conn_state()), v1::ConnState_Name(GetParam().state));
  EXPECT_EQ(History(e), GetParam().history);
}

INSTANTIATE_TEST_SUITE_P(
    Zeek, FlowStateTable,
    ::testing::Values(
        StateCase{"REJ",
                  [](TcpTalk& talk) {
                    talk.C(tcp::kSyn);
                    talk.S(kRA);
                  },
                  CONN_STATE_REJ, "Sr"},
        StateCase{"S1", [](TcpTalk& talk) { talk.Handshake(); }, CONN_STATE_S1, "ShA"},
        StateCase{"S2",
                  [](TcpTalk& talk) {
                    talk.Handshake();
                    talk.C(kFA);
                  },
                  CONN_STATE_S2, "ShAF"},
        StateCase{"S3",
                  [](TcpTalk& talk) {
                    talk.Handshake();
                    talk.S(kFA);
                  },
                  CONN_STATE_S3, "ShAf"},
        StateCase{"RSTO",
                  [](TcpTalk& talk) {
                    talk.Handshake();
                    talk.C(kRA);
                  },
                  CONN_STATE_RSTO, "ShAR"},
        StateCase{"RSTR",
                  [](TcpTalk& talk) {
                    talk.Handshake();
                    talk.S(kRA);
                  },
                  CONN_STATE_RSTR, "ShAr"},
        StateCase{"RSTOS0",
                  [](TcpTalk& talk) {
                    talk.C(tcp::kSyn);
                    talk.C(tcp::kRst);
                  },
                  CONN_STATE_RSTOS0, "SR"},
        StateCase{"RSTRH",
                  [](TcpTalk& talk) {
                    talk.S(kSA);
                    talk.S(tcp::kRst);
                  },
                  CONN_STATE_RSTRH, "^hr"},
        StateCase{"SH",
                  [](TcpTalk& talk) {
                    talk.C(tcp::kSyn);
                    talk.C(tcp::kFin);
                  },
                  CONN_STATE_SH, "SF"},
        StateCase{"SHR",
                  [](TcpTalk& talk) {
                    talk.S(kSA);
                    talk.S(kFA);
                  },
                  CONN_STATE_SHR, "^hf"},
        StateCase{"OTH", [](TcpTalk& talk) { talk.C(kPA, "midstream"); }, CONN_STATE_OTH, "D"},
        StateCase{"OthSingleRst", [](TcpTalk& talk) { talk.C(tcp::kRst); }, CONN_STATE_OTH, "R"},
        StateCase{"SynAckThenRst",
                  [](TcpTalk& talk) {
                    talk.C(tcp::kSyn);
                    talk.S(tcp::kAck);
                    talk.C(tcp::kRst);
                  },
                  CONN_STATE_RSTOS0, "SaR"},
        StateCase{"FinAndRstTogether",
                  [](TcpTalk& talk) {
                    talk.Handshake();
                    talk.C(tcp::kFin | tcp::kRst);
                  },
                  CONN_STATE_RSTO, "ShAI"},
        StateCase{"SynFin", [](TcpTalk& talk) { talk.C(tcp::kSyn | tcp::kFin); }, CONN_STATE_SH,
                  "Q"}),
    [](const ::testing::TestParamInfo<StateCase>& param_info) {
      return std::string(param_info.param.name);
    });

// ---- originator choice ------------------------------------------------------

TEST(FlowOrigin, SynAckFirstFlipsToTheClient) {
  FlowHarness h;
  TcpTalk t(h);
  t.S(kSA);
  t.C(tcp::kAck);
  t.C(kPA, "hello");
  t.S(tcp::kAck);
  const auto e = h.OnlyConn();
  EXPECT_EQ(e.id().orig_port(), 40000u);
  EXPECT_EQ(History(e), "^hADa");
  EXPECT_EQ(e.flow().totals().orig_bytes(), 5u);
  EXPECT_EQ(e.flow().totals().resp_pkts(), 2u);
}

TEST(FlowOrigin, MidstreamFromAServerPortFlips) {
  FlowHarness h;
  TcpTalk t(h, "10.0.0.1", 40000, "10.0.0.2", 80);
  t.S(kPA, "HTTP/1.1 200 OK\r\n");
  const auto e = h.OnlyConn();
  EXPECT_EQ(e.id().orig_port(), 40000u);
  EXPECT_EQ(e.id().resp_port(), 80u);
  EXPECT_EQ(History(e), "^d");
}

TEST(FlowOrigin, UdpFromAServerPortFlips) {
  FlowHarness h;
  const Bytes a = ParseIp("10.0.0.1"), b = ParseIp("10.0.0.2");
  h.Frame(testing::Frame({}, b, a, testing::kProtoUdp, testing::Udp(b, a, 53, 33333, Bytes(20, 1))),
          kSecond);
  const auto e = h.OnlyConn();
  EXPECT_EQ(e.id().orig_port(), 33333u);
  EXPECT_EQ(e.flow().conn_state(), CONN_STATE_SHR);
  EXPECT_EQ(History(e), "^d");
}

// Zeek's likely_server_ports has 67/udp for DHCP but not the client's 68
// (nor 1813 for RADIUS accounting, nor TFTP's 69): a server's unicast OFFER
// to 68 as the first packet flips to the client, a reply from 1813 or 69 does
// not.
TEST(FlowOrigin, OnlyZeeksLikelyServerPortsFlipUdp) {
  struct Case {
    uint16_t from, to;
    uint16_t expect_orig_port;
    const char* history;
  };
  for (const Case c : {Case{67, 68, 68, "^d"}, Case{1813, 40001, 1813, "D"},
                       Case{69, 40002, 69, "D"}, Case{1812, 40003, 40003, "^d"}}) {
    FlowHarness h;
    const Bytes a = ParseIp("10.0.0.1"), b = ParseIp("10.0.0.2");
    h.Frame(testing::Frame({}, b, a, testing::kProtoUdp,
                           testing::Udp(b, a, c.from, c.to, Bytes(20, 1))),
            kSecond);
    const auto e = h.OnlyConn();
    EXPECT_EQ(e.id().orig_port(), c.expect_orig_port) << c.from << "->" << c.to;
    EXPECT_EQ(History(e), c.history) << c.from << "->" << c.to;
  }
}

// ---- sequence-number accounting ----------------------------------------------

TEST(FlowBytes, RetransmissionsCountOnceAndAreScaledInHistory) {
  FlowHarness h;
  TcpTalk t(h);
  t.Handshake();
  const uint32_t seq = t.cseq();
  for (int i = 0; i < 11; ++i) t.Raw(true, kPA, seq, t.sseq(), "0123456789");
  t.set_cseq(seq + 10);
  t.S(tcp::kAck);
  const auto e = h.OnlyConn();
  EXPECT_EQ(e.flow().totals().orig_bytes(), 10u);
  // 't'/'T' letters at the 1st and 10th retransmission.
  EXPECT_EQ(History(e), "ShADTTa");
}

TEST(FlowBytes, AckedButUnseenBytesAreAGap) {
  FlowHarness h;
  TcpTalk t(h);
  t.Handshake();
  t.C(kPA, "aaaaaaaaaa");
  t.set_cseq(t.cseq() + 10);  // ten bytes the capture missed
  t.C(kPA, "cccccccccc");
  t.S(tcp::kAck);
  t.C(kFA);
  t.S(kFA);
  t.C(tcp::kAck);
  const auto e = h.OnlyConn();
  EXPECT_EQ(e.flow().totals().orig_bytes(), 30u);
  EXPECT_EQ(e.flow().totals().missed_bytes(), 10u);
  EXPECT_EQ(History(e), "ShADaGFf");
}

TEST(FlowBytes, SequenceWrapAround) {
  FlowHarness h;
  TcpTalk t(h, "10.0.0.1", 40000, "10.0.0.2", 8081, 0xFFFFFFF0u, 5000);
  t.Handshake();
  for (int i = 0; i < 10; ++i) t.C(kPA, std::string(100, 'x'));
  t.S(tcp::kAck);
  t.C(kFA);
  t.S(kFA);
  const auto e = h.OnlyConn();
  EXPECT_EQ(e.flow().totals().orig_bytes(), 1000u);
  EXPECT_EQ(e.flow().conn_state(), CONN_STATE_SF);
}

TEST(FlowBytes, ZeroWindowLetter) {
  FlowHarness h;
  TcpTalk t(h);
  t.Handshake();
  t.S(tcp::kAck, "", 0);
  EXPECT_EQ(History(h.OnlyConn()), "ShAaw");
}

TEST(FlowBytes, BadChecksumsAreDiscardedWhenVerifying) {
  decode::DecoderOptions verify;
  verify.verify_checksums = true;
  FlowHarness h(FlowHarness::Defaults(), nullptr, verify);
  const Bytes a = ParseIp("10.0.0.1"), b = ParseIp("10.0.0.2");
  Bytes l4 = testing::Tcp(a, b, 40000, 8081, 1000, 0, tcp::kSyn);
  l4[16] ^= 0xFF;
  h.Frame(testing::Frame({}, a, b, testing::kProtoTcp, l4), kSecond);
  const auto e = h.OnlyConn();
  EXPECT_EQ(History(e), "C");
  EXPECT_EQ(e.flow().totals().orig_pkts(), 0u);
  EXPECT_EQ(h.table().stats().packets_bad_checksum, 1u);
}

// ---- reuse, timeouts, eviction ---------------------------------------------

TEST(FlowLifecycle, NewSynAfterCloseStartsANewConnection) {
  FlowHarness h;
  TcpTalk t(h);
  t.Handshake();
  t.C(kFA);
  t.S(kFA);
  t.C(tcp::kAck);
  TcpTalk again(h, "10.0.0.1", 40000, "10.0.0.2", 8081, 90000, 70000);
  again.ts = t.ts + kSecond;
  again.Handshake();
  h.table().FlushAll();
  const auto conns = h.Conns();
  ASSERT_EQ(conns.size(), 2u);
  EXPECT_EQ(conns[0].flow().conn_state(), CONN_STATE_SF);
  EXPECT_EQ(conns[0].flow().end_reason(), v1::END_REASON_CLOSED);
  EXPECT_EQ(conns[1].flow().conn_state(), CONN_STATE_S1);
  EXPECT_EQ(h.table().stats().flows_reused, 1u);
}

TEST(FlowLifecycle, UdpIdleTimeoutOnPacketTime) {
  FlowTableOptions o = FlowHarness::Defaults();
  o.timeouts.udp_idle_ns = 60 * kSecond;
  FlowHarness h(o);
  const Bytes a = ParseIp("10.0.0.1"), b = ParseIp("10.0.0.2");
  auto dgram = [&](int64_t ts) {
    h.Frame(
        testing::Frame({}, a, b, testing::kProtoUdp, testing::Udp(a, b, 5000, 6000, Bytes(10, 1))),
        ts);
  };
  dgram(0);
  dgram(59 * kSecond);   // within the timeout: same flow
  dgram(120 * kSecond);  // 61 s idle: the first flow ended before this packet
  ASSERT_EQ(h.Conns().size(), 1u);
  EXPECT_EQ(h.Conns()[0].flow().totals().orig_pkts(), 2u);
  EXPECT_EQ(h.Conns()[0].flow().end_reason(), v1::END_REASON_IDLE_TIMEOUT);
  EXPECT_EQ(h.Conns()[0].flow().conn_state(), CONN_STATE_S0);
  EXPECT_EQ(History(h.Conns()[0]), "D");
  EXPECT_EQ(h.table().active_flows(), 1u);
}

TEST(FlowLifecycle, SynFloodEvictsUnansweredAttemptsFirst) {
  FlowTableOptions o = FlowHarness::Defaults();
  o.max_flows = 5;
  FlowHarness h(o);
  for (int i = 0; i < 3; ++i) {
    TcpTalk t(h, "10.0.0.1", static_cast<uint16_t>(41000 + i));
    t.Handshake();
  }
  for (int i = 0; i < 100; ++i) {
    TcpTalk flood(h, "203.0." + std::to_string(i / 200) + "." + std::to_string(i % 200 + 1), 1234);
    flood.ts = 20 * kSecond + i * kMs;
    flood.C(tcp::kSyn);
  }
  const FlowTableStats& s = h.table().stats();
  EXPECT_EQ(h.table().active_flows(), 5u);
  EXPECT_EQ(s.evictions[static_cast<size_t>(TimerClass::kAttempt)], 98u);
  EXPECT_EQ(s.EvictionsTotal(), 98u);
  h.table().FlushAll();
  int established = 0, evicted = 0;
  for (const auto& e : h.Conns()) {
    if (e.flow().conn_state() == CONN_STATE_S1) {
      ++established;
      EXPECT_EQ(e.flow().end_reason(), v1::END_REASON_SHUTDOWN);
    }
    if (e.flow().end_reason() == v1::END_REASON_EVICTED) ++evicted;
  }
  EXPECT_EQ(established, 3);
  EXPECT_EQ(evicted, 98);
  EXPECT_EQ(h.Conns().size(), 103u);  // nothing is lost: every flow has its record
}

TEST(FlowLifecycle, InterimRecordsAddUpToTheTotals) {
  FlowTableOptions o = FlowHarness::Defaults();
  o.timeouts.active_ns = 10 * kSecond;
  FlowHarness h(o);
  TcpTalk t(h);
  t.ts = 0;
  t.Handshake();
  for (int i = 0; i < 35; ++i) {
    t.ts = (i + 1) * kSecond;
    t.C(kPA, std::string(100, 'x'));
    t.S(tcp::kAck);
  }
  t.C(kFA);
  t.S(kFA);
  h.table().FlushAll();
  const auto conns = h.Conns();
  ASSERT_EQ(conns.size(), 4u);  // interim at 10 s, 20 s, 30 s, then the final record
  uint64_t pkts = 0, bytes = 0, ip_bytes = 0;
  for (size_t i = 0; i < conns.size(); ++i) {
    const auto& f = conns[i].flow();
    EXPECT_EQ(f.interim(), i < 3) << i;
    EXPECT_EQ(f.end_reason(), i < 3 ? v1::END_REASON_ACTIVE_TIMEOUT : v1::END_REASON_SHUTDOWN);
    ASSERT_TRUE(f.has_delta());
    pkts += f.delta().orig_pkts() + f.delta().resp_pkts();
    bytes += f.delta().orig_bytes() + f.delta().resp_bytes();
    ip_bytes += f.delta().orig_ip_bytes() + f.delta().resp_ip_bytes();
    EXPECT_EQ(conns[i].uid(), conns[0].uid());
  }
  const auto& last = conns.back().flow().totals();
  EXPECT_EQ(pkts, last.orig_pkts() + last.resp_pkts());
  EXPECT_EQ(bytes, last.orig_bytes() + last.resp_bytes());
  EXPECT_EQ(ip_bytes, last.orig_ip_bytes() + last.resp_ip_bytes());
  EXPECT_EQ(last.orig_bytes(), 3500u);
  EXPECT_EQ(h.table().stats().interim_records, 3u);
}

// ---- VLANs, ICMP, tunnels ----------------------------------------------------

TEST(FlowKeys, MakeKeyHashesLikeHashKey) {
  // MakeKey computes the hash from its inputs; the table recomputes it from
  // stored keys (index deletion, uids): both must agree on every key shape.
  const std::vector<std::string> addrs = {"10.0.0.1",    "10.0.0.2",          "192.0.2.9",
                                          "2001:db8::1", "2001:db8::1:0:0:2", "::ffff:1.2.3.4"};
  for (const std::string& a : addrs) {
    for (const std::string& b : addrs) {
      for (const bool one_way : {false, true}) {
        for (const uint16_t vlan : {uint16_t{0}, uint16_t{4094}}) {
          const auto src = decode::IpAddr::FromV6(
              ParseIp(a).size() == 16 ? ParseIp(a).data() : ParseIp("::ffff:" + a).data());
          const auto dst = decode::IpAddr::FromV6(
              ParseIp(b).size() == 16 ? ParseIp(b).data() : ParseIp("::ffff:" + b).data());
          bool first = false;
          uint64_t hash = 0;
          FlowKey k;
          MakeKey(&k, src, 40000, dst, 53, 17, one_way, vlan, 7, &first, 99, &hash);
          EXPECT_EQ(hash, HashKey(k, 99)) << a << " " << b << " " << one_way << " " << vlan;
          bool first2 = false;
          FlowKey reverse;
          MakeKey(&reverse, dst, 53, src, 40000, 17, one_way, vlan, 7, &first2);
          if (!one_way) {
            EXPECT_EQ(reverse, k);     // both directions share one key
            EXPECT_NE(first, first2);  // exactly one direction is source-first
          }
        }
      }
    }
  }
}

TEST(FlowKeys, VlansAreNotPartOfTheKeyByDefault) {
  // Zeek's default connection key is the 5-tuple.
  EXPECT_FALSE(FlowTableOptions{}.include_vlan_in_key);
}

TEST(FlowKeys, AsymmetricVlansAreOneFlowWhenVlanIsNotInTheKey) {
  for (const bool in_key : {false, true}) {
    FlowTableOptions o = FlowHarness::Defaults();
    o.include_vlan_in_key = in_key;
    FlowHarness h(o);
    TcpTalk t(h);
    t.client_l2.vlans = {10};
    t.server_l2.vlans = {20};
    t.Handshake();
    h.table().FlushAll();
    EXPECT_EQ(h.Conns().size(), in_key ? 2u : 1u) << "include_vlan_in_key=" << in_key;
    // Either way a conn record names the VLAN of its first packet.
    ASSERT_EQ(h.Conns()[0].flow().vlans_size(), 1);
    EXPECT_EQ(h.Conns()[0].flow().vlans(0), 10u);
    if (in_key) {
      ASSERT_EQ(h.Conns()[1].flow().vlans_size(), 1);
      EXPECT_EQ(h.Conns()[1].flow().vlans(0), 20u);
    }
  }
}

TEST(FlowKeys, IcmpEchoIsOneFlowUnreachablesAreOneWay) {
  FlowHarness h;
  const Bytes a = ParseIp("10.0.0.1"), b = ParseIp("8.8.8.8");
  h.Frame(testing::Frame({}, a, b, testing::kProtoIcmp, testing::Icmp(a, b, 8, 0, 1, Bytes(56, 0))),
          kSecond);
  h.Frame(testing::Frame({}, b, a, testing::kProtoIcmp, testing::Icmp(b, a, 0, 0, 1, Bytes(56, 0))),
          kSecond + kMs);
  h.Frame(testing::Frame({}, a, b, testing::kProtoIcmp, testing::Icmp(a, b, 3, 3, 0, Bytes(28, 0))),
          2 * kSecond);
  h.Frame(testing::Frame({}, b, a, testing::kProtoIcmp, testing::Icmp(b, a, 3, 3, 0, Bytes(28, 0))),
          2 * kSecond);
  h.table().FlushAll();
  const auto conns = h.Conns();
  ASSERT_EQ(conns.size(), 3u);
  int echo = 0;
  for (const auto& e : conns) {
    EXPECT_EQ(e.id().transport(), v1::TRANSPORT_ICMP);
    EXPECT_EQ(e.flow().conn_state(), CONN_STATE_OTH);
    if (e.id().orig_port() == 8) {
      ++echo;
      EXPECT_EQ(e.id().resp_port(), 0u);
      EXPECT_EQ(e.flow().totals().orig_pkts(), 1u);
      EXPECT_EQ(e.flow().totals().resp_pkts(), 1u);
      EXPECT_EQ(e.flow().totals().orig_bytes(), 56u);
      EXPECT_FALSE(e.flow().local_resp());
    } else {
      EXPECT_EQ(e.id().orig_port(), 3u);
      EXPECT_EQ(e.id().resp_port(), 3u);
      EXPECT_EQ(e.flow().totals().resp_pkts(), 0u);
    }
  }
  EXPECT_EQ(echo, 1);
}

TEST(FlowKeys, TunnelledFlowsNameTheirParent) {
  FlowHarness h;
  const Bytes o1 = ParseIp("192.0.2.1"), o2 = ParseIp("192.0.2.2");
  const Bytes i1 = ParseIp("10.1.1.1"), i2 = ParseIp("10.1.1.2");
  const Bytes inner =
      testing::Ipv4(i1, i2, testing::kProtoTcp, testing::Tcp(i1, i2, 1, 22, 9, 0, tcp::kSyn));
  Bytes vxlan = {0x08, 0, 0, 0, 0, 0, 1, 0};
  Bytes eth = testing::Ethernet({}, 0x0800, inner);
  vxlan.insert(vxlan.end(), eth.begin(), eth.end());
  h.Frame(testing::Frame({}, o1, o2, testing::kProtoUdp, testing::Udp(o1, o2, 50000, 4789, vxlan)),
          kSecond);
  Bytes gre = {0, 0, 0x08, 0};
  gre.insert(gre.end(), inner.begin(), inner.end());
  h.Frame(testing::Ethernet({}, 0x0800, testing::Ipv4(o1, o2, 47, gre)), 2 * kSecond);
  h.table().FlushAll();
  const auto conns = h.Conns();
  ASSERT_EQ(conns.size(), 2u);
  const v1::Event* outer = nullptr;
  const v1::Event* tunnelled = nullptr;
  for (const auto& e : conns) (e.id().transport() == v1::TRANSPORT_UDP ? outer : tunnelled) = &e;
  ASSERT_TRUE(outer && tunnelled);
  ASSERT_EQ(tunnelled->flow().tunnel_parents_size(), 2);  // via VXLAN, then via GRE
  EXPECT_EQ(tunnelled->flow().tunnel_parents(0), outer->uid());
  EXPECT_NE(tunnelled->flow().tunnel_parents(1), outer->uid());
  EXPECT_EQ(outer->flow().tunnel_parents_size(), 0);
}

// ---- identity and memory -------------------------------------------------------

TEST(FlowIdentity, UidsAreZeekStyleUniqueAndSeeded) {
  auto run = [](uint64_t seed) {
    FlowTableOptions o = FlowHarness::Defaults();
    o.seed = seed;
    FlowHarness h(o);
    for (int i = 0; i < 50; ++i) {
      TcpTalk t(h, "10.0.0.1", static_cast<uint16_t>(30000 + i));
      t.C(tcp::kSyn);
    }
    h.table().FlushAll();
    std::vector<std::string> uids;
    for (const auto& e : h.Conns()) uids.push_back(e.uid());
    return uids;
  };
  const auto a = run(1), b = run(1), c = run(2);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_EQ(std::set<std::string>(a.begin(), a.end()).size(), a.size());
  for (const std::string& uid : a) {
    EXPECT_EQ(uid[0], 'C');
    EXPECT_GE(uid.size(), 12u);
    EXPECT_TRUE(std::all_of(uid.begin() + 1, uid.end(),
                            [](char ch) { return std::isalnum(static_cast<unsigned char>(ch)); }));
  }
}

TEST(FlowIdentity, CommunityIdOnEveryFlow) {
  FlowHarness h;
  TcpTalk t(h, "10.0.0.1", 10, "10.0.0.2", 20);
  t.C(tcp::kSyn);
  // The pycommunityid reference vector for TCP 10.0.0.1:10 -> 10.0.0.2:20.
  EXPECT_EQ(h.OnlyConn().flow().community_id(), "1:9j2Dzwrw7T9E+IZi4b4IVT66HBI=");
}

TEST(FlowMemory, IdleTcpFlowFitsIn256Bytes) {
  EXPECT_LE(sizeof(Flow), 240u);
  FlowTableOptions o = FlowHarness::Defaults();
  o.max_flows = 1'000'000;
  RecordingSink sink;
  FlowTable table(o, sink);
  EXPECT_LE(table.BytesPerFlowSlot(), 256u);
}

}  // namespace
}  // namespace vigil::agent::flow
