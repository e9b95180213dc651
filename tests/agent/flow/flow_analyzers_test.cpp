// The flow table with the real analyzers behind it: services on the conn
// record (including protocols nested in a CONNECT tunnel), roles flipped by
// an analyzer (Zeek's DNS flip), analyzer records carrying the flow's uid
// and id, VLANs outside the key, and stream delivery across reordering.

#include <gtest/gtest.h>

#include "agent/analyzers/registry.h"
#include "tests/agent/flow/flow_test_util.h"

namespace vigil::agent::flow {
namespace {

namespace tcp = testing::tcp;
using testing::Bytes;
using testing::ParseIp;

constexpr uint8_t kPA = tcp::kPsh | tcp::kAck;

AnalyzerFactory AllAnalyzers() {
  return [](const analyzers::FlowInfo& info, analyzers::AnalyzerContext& ctx) {
    return analyzers::CreateCandidates(info, ctx);
  };
}

std::string Str(const Bytes& b) { return std::string(b.begin(), b.end()); }

std::string Addr4(const std::string& bytes) {
  std::string s;
  for (size_t i = 0; i < bytes.size(); ++i)
    s += (i ? "." : "") + std::to_string(static_cast<uint8_t>(bytes[i]));
  return s;
}

std::vector<v1::Event> Records(const FlowHarness& h, v1::Event::RecordCase which) {
  std::vector<v1::Event> out;
  for (const auto& e : h.All()) {
    if (e.record_case() == which) out.push_back(e);
  }
  return out;
}

std::string Services(const v1::Event& conn) {
  std::string s;
  for (const auto& name : conn.flow().services()) s += (s.empty() ? "" : ",") + name;
  return s;
}

Bytes Dns(uint16_t id, bool response) {
  testing::DnsMessage m;
  m.id = id;
  m.response = response;
  m.questions.push_back({"intranet.example", 1, 1});
  if (response) m.answers.push_back({"intranet.example", 1, 1, 300, {10, 1, 2, 3}});
  return testing::EncodeDns(m);
}

void Udp(FlowHarness& h, const std::string& src, uint16_t sport, const std::string& dst,
         uint16_t dport, const Bytes& payload, int64_t ts, std::vector<uint16_t> vlans = {}) {
  const Bytes s = ParseIp(src), d = ParseIp(dst);
  testing::L2 l2;
  l2.vlans = std::move(vlans);
  h.Frame(testing::Frame(l2, s, d, testing::kProtoUdp, testing::Udp(s, d, sport, dport, payload)),
          ts);
}

TEST(FlowAnalyzers, TlsInsideHttpConnectNamesBothServices) {
  FlowHarness h(FlowHarness::Defaults(), AllAnalyzers());
  TcpTalk t(h, "10.0.0.1", 40000, "10.0.0.2", 3128);
  t.Handshake();
  t.C(kPA, "CONNECT inner.example:443 HTTP/1.1\r\nHost: inner.example:443\r\n\r\n");
  t.S(kPA, "HTTP/1.1 200 Connection established\r\n\r\n");
  testing::ClientHelloSpec hello;
  hello.sni = "inner.example";
  t.C(kPA, Str(testing::EncodeClientHelloRecord(hello)));
  t.S(kPA, Str(testing::EncodeServerHelloRecord(0x1301, true)));
  t.C(tcp::kFin | tcp::kAck);
  t.S(tcp::kFin | tcp::kAck);
  t.C(tcp::kAck);
  const v1::Event conn = h.OnlyConn();
  // Zeek: "http,ssl" in the order the analyzers confirmed the protocols.
  EXPECT_EQ(Services(conn), "http,ssl");
  const auto http = Records(h, v1::Event::kHttp);
  const auto tls = Records(h, v1::Event::kTls);
  ASSERT_EQ(http.size(), 1u);
  ASSERT_EQ(tls.size(), 1u);
  EXPECT_EQ(tls[0].tls().server_name(), "inner.example");
  EXPECT_EQ(tls[0].uid(), conn.uid());
  EXPECT_EQ(http[0].uid(), conn.uid());
}

TEST(FlowAnalyzers, PlainTlsNamesOnlySsl) {
  FlowHarness h(FlowHarness::Defaults(), AllAnalyzers());
  TcpTalk t(h, "10.0.0.1", 40000, "10.0.0.2", 443);
  t.Handshake();
  testing::ClientHelloSpec hello;
  hello.sni = "portal.example";
  t.C(kPA, Str(testing::EncodeClientHelloRecord(hello)));
  t.S(kPA, Str(testing::EncodeServerHelloRecord(0x1301, true)));
  EXPECT_EQ(Services(h.OnlyConn()), "ssl");
}

TEST(FlowAnalyzers, DnsResponseFirstBetweenPort53HostsFlipsTheConnection) {
  // Zeek's dns53 trace: the capture starts with a response from one port-53
  // server to another. The port heuristics keep the sender as originator;
  // the DNS analyzer flips it because the first message is a response.
  FlowHarness h(FlowHarness::Defaults(), AllAnalyzers());
  Udp(h, "207.158.192.40", 53, "10.20.1.31", 53, Dns(25701, true), kSecond);
  h.table().FlushAll();
  const auto conns = h.Conns();
  ASSERT_EQ(conns.size(), 1u);
  const v1::Event& c = conns[0];
  EXPECT_EQ(Addr4(c.id().orig_addr()), "10.20.1.31");
  EXPECT_EQ(Addr4(c.id().resp_addr()), "207.158.192.40");
  EXPECT_EQ(c.flow().history(), "D^");
  EXPECT_EQ(c.flow().conn_state(), v1::CONN_STATE_SHR);
  EXPECT_EQ(c.flow().totals().orig_pkts(), 0u);
  EXPECT_EQ(c.flow().totals().resp_pkts(), 1u);
  EXPECT_EQ(Services(c), "dns");
  const auto dns = Records(h, v1::Event::kDns);
  ASSERT_EQ(dns.size(), 1u);
  EXPECT_EQ(Addr4(dns[0].id().orig_addr()), "10.20.1.31");
  EXPECT_EQ(dns[0].uid(), c.uid());
  EXPECT_EQ(dns[0].dns().trans_id(), 25701u);
}

TEST(FlowAnalyzers, DnsQueryFirstDoesNotFlip) {
  FlowHarness h(FlowHarness::Defaults(), AllAnalyzers());
  Udp(h, "10.0.0.5", 53, "10.0.0.53", 53, Dns(7, false), kSecond);
  Udp(h, "10.0.0.53", 53, "10.0.0.5", 53, Dns(7, true), kSecond + kMs);
  h.table().FlushAll();
  const auto conns = h.Conns();
  ASSERT_EQ(conns.size(), 1u);
  EXPECT_EQ(Addr4(conns[0].id().orig_addr()), "10.0.0.5");
  EXPECT_EQ(conns[0].flow().history(), "Dd");
  EXPECT_EQ(conns[0].flow().conn_state(), v1::CONN_STATE_SF);
}

TEST(FlowAnalyzers, MulticastDnsResponseIsNotFlipped) {
  // Anyone may answer on a multicast group: Zeek leaves the roles alone.
  FlowHarness h(FlowHarness::Defaults(), AllAnalyzers());
  Udp(h, "10.0.0.9", 5353, "224.0.0.251", 5353, Dns(0, true), kSecond);
  h.table().FlushAll();
  const auto conns = h.Conns();
  ASSERT_EQ(conns.size(), 1u);
  EXPECT_EQ(Addr4(conns[0].id().orig_addr()), "10.0.0.9");
  EXPECT_EQ(conns[0].flow().history(), "D");
}

TEST(FlowAnalyzers, QueryAndResponseOnDifferentVlansAreOneTransactionByDefault) {
  // Zeek's sshfp-trunc trace: the query travels on VLAN 34, the response on
  // VLAN 47. With Zeek's default 5-tuple key they are one connection and one
  // dns.log row with the query's qtype and the response's rcode.
  FlowHarness h(FlowHarness::Defaults(), AllAnalyzers());
  testing::DnsMessage q;
  q.id = 22044;
  q.questions.push_back({"host.example", 1, 1});
  testing::DnsMessage r = q;
  r.response = true;
  r.rcode = 3;
  Udp(h, "10.0.0.5", 54109, "10.0.0.53", 53, testing::EncodeDns(q), kSecond, {34});
  Udp(h, "10.0.0.53", 53, "10.0.0.5", 54109, testing::EncodeDns(r), kSecond + kMs, {47});
  h.table().FlushAll();
  const auto conns = h.Conns();
  ASSERT_EQ(conns.size(), 1u);
  ASSERT_EQ(conns[0].flow().vlans_size(), 1);
  EXPECT_EQ(conns[0].flow().vlans(0), 34u);  // the first packet's, as Zeek's vlan-logging
  const auto dns = Records(h, v1::Event::kDns);
  ASSERT_EQ(dns.size(), 1u);
  EXPECT_EQ(dns[0].dns().qtype(), 1u);
  EXPECT_EQ(dns[0].dns().rcode(), 3u);
  EXPECT_EQ(dns[0].dns().query(), "host.example");
}

TEST(FlowAnalyzers, OutOfOrderSegmentsReachTheAnalyzerInOrder) {
  FlowHarness h(FlowHarness::Defaults(), AllAnalyzers());
  TcpTalk t(h, "10.0.0.1", 40000, "10.0.0.2", 80);
  t.Handshake();
  const std::string part1 = "GET /reordered HTTP/1.1\r\n";
  const std::string part2 = "Host: a.example\r\n\r\n";
  const uint32_t seq = t.cseq();
  t.Raw(true, kPA, seq + static_cast<uint32_t>(part1.size()), t.sseq(), part2);
  t.Raw(true, kPA, seq, t.sseq(), part1);
  t.set_cseq(seq + static_cast<uint32_t>(part1.size() + part2.size()));
  t.S(kPA, "HTTP/1.1 204 No Content\r\n\r\n");
  const v1::Event conn = h.OnlyConn();
  EXPECT_EQ(Services(conn), "http");
  const auto http = Records(h, v1::Event::kHttp);
  ASSERT_EQ(http.size(), 1u);
  EXPECT_EQ(http[0].http().uri(), "/reordered");
  EXPECT_EQ(http[0].http().host(), "a.example");
  EXPECT_EQ(http[0].http().status_code(), 204u);
}

// Zeek's HTTP and SSL analyzers ignore a connection whose start was not
// seen (TCP()->IsPartial()): a keep-alive connection already open when the
// capture began gets a conn record but no http/ssl record and no service.
// DNS over TCP is still analysed, as Zeek does.
TEST(FlowAnalyzers, HttpAndTlsIgnoreConnectionsSeenMidstream) {
  {
    FlowHarness h(FlowHarness::Defaults(), AllAnalyzers());
    TcpTalk t(h, "10.0.0.1", 40000, "10.0.0.2", 80);
    t.C(kPA, "GET /later HTTP/1.1\r\nHost: a.example\r\n\r\n");
    t.S(kPA, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    EXPECT_EQ(Services(h.OnlyConn()), "");
    EXPECT_TRUE(Records(h, v1::Event::kHttp).empty());
  }
  {
    FlowHarness h(FlowHarness::Defaults(), AllAnalyzers());
    TcpTalk t(h, "10.0.0.1", 40000, "10.0.0.2", 443);
    testing::ClientHelloSpec hello;
    hello.sni = "portal.example";
    t.C(kPA, Str(testing::EncodeClientHelloRecord(hello)));
    t.S(kPA, Str(testing::EncodeServerHelloRecord(0x1301, true)));
    EXPECT_EQ(Services(h.OnlyConn()), "");
    EXPECT_TRUE(Records(h, v1::Event::kTls).empty());
  }
  {
    // The responder's first packet is not a SYN-ACK (lost): partial too.
    FlowHarness h(FlowHarness::Defaults(), AllAnalyzers());
    TcpTalk t(h, "10.0.0.1", 40000, "10.0.0.2", 80);
    t.C(tcp::kSyn);
    t.C(kPA, "GET /x HTTP/1.1\r\nHost: a.example\r\n\r\n");
    t.S(kPA, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    EXPECT_TRUE(Records(h, v1::Event::kHttp).empty());
  }
  {
    // The same exchange with its handshake is analysed.
    FlowHarness h(FlowHarness::Defaults(), AllAnalyzers());
    TcpTalk t(h, "10.0.0.1", 40000, "10.0.0.2", 80);
    t.Handshake();
    t.C(kPA, "GET /later HTTP/1.1\r\nHost: a.example\r\n\r\n");
    t.S(kPA, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    EXPECT_EQ(Services(h.OnlyConn()), "http");
    EXPECT_EQ(Records(h, v1::Event::kHttp).size(), 1u);
  }
}

// A sink that copies instead of moving: the table's reused conn event keeps
// whatever the previous record left in it, so a field not rewritten on every
// record would leak into the next one.
class CopyingSink final : public exporter::RecordSink {
 public:
  void Emit(v1::Event&& event) override { events.push_back(event); }
  std::vector<v1::Event> events;
};

void MixedTraffic(FlowTable& table) {
  decode::Decoder decoder;
  decode::DecodedPacket pkt;
  int64_t ts = kSecond;
  auto frame = [&](const Bytes& f) {
    if (decoder.Decode(decode::link_type::kEthernet, ts, static_cast<uint32_t>(f.size()), f, pkt) ==
        decode::DecodeResult::kIp) {
      table.Process(pkt);
    }
    ts += 400 * kMs;
  };
  const Bytes c = ParseIp("10.0.0.1"), s = ParseIp("192.0.2.80"), v6a = ParseIp("2001:db8::1"),
              v6b = ParseIp("2001:db8::2");
  testing::L2 tagged;
  tagged.vlans = {10, 20};
  const std::string req = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  const std::string resp = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
  // A tagged HTTP connection whose records get a duration, services and an
  // interim delta (active timeout 1 s).
  frame(testing::Frame(tagged, c, s, testing::kProtoTcp,
                       testing::Tcp(c, s, 40000, 80, 100, 0, tcp::kSyn)));
  frame(testing::Frame(tagged, s, c, testing::kProtoTcp,
                       testing::Tcp(s, c, 80, 40000, 500, 101, tcp::kSyn | tcp::kAck)));
  frame(testing::Frame(tagged, c, s, testing::kProtoTcp,
                       testing::Tcp(c, s, 40000, 80, 101, 501, kPA, testing::ToBytes(req))));
  frame(testing::Frame(tagged, s, c, testing::kProtoTcp,
                       testing::Tcp(s, c, 80, 40000, 501, 101 + static_cast<uint32_t>(req.size()),
                                    kPA, testing::ToBytes(resp))));
  // Single-packet UDP (no duration, no service, no VLAN), IPv6 UDP, ICMP.
  frame(testing::Frame({}, c, s, testing::kProtoUdp, testing::Udp(c, s, 5000, 9, Bytes(4, 1))));
  frame(testing::Frame({}, v6a, v6b, testing::kProtoUdp,
                       testing::Udp(v6a, v6b, 5001, 53, Dns(1, false))));
  frame(testing::Frame({}, c, s, testing::kProtoIcmp, testing::Icmp(c, s, 8, 0, 1, Bytes(8, 0))));
  table.FlushAll();
}

TEST(FlowRecords, AReusedConnEventCarriesNothingFromThePreviousRecord) {
  FlowTableOptions o = FlowHarness::Defaults();
  o.timeouts.active_ns = kSecond;
  RecordingSink moving;
  CopyingSink copying;
  {
    FlowTable a(o, moving, AllAnalyzers());
    MixedTraffic(a);
  }
  {
    FlowTable b(o, copying, AllAnalyzers());
    MixedTraffic(b);
  }
  ASSERT_EQ(moving.events.size(), copying.events.size());
  ASSERT_GE(moving.events.size(), 6u);
  bool saw_interim = false, saw_plain_after_rich = false, rich = false;
  for (size_t i = 0; i < moving.events.size(); ++i) {
    EXPECT_EQ(moving.events[i].DebugString(), copying.events[i].DebugString()) << "record " << i;
    if (!moving.events[i].has_flow()) continue;
    const auto& f = moving.events[i].flow();
    saw_interim |= f.interim();
    if (f.services_size() > 0 || f.has_delta() || f.vlans_size() > 0) rich = true;
    if (rich && f.services_size() == 0 && !f.has_duration() && f.vlans_size() == 0)
      saw_plain_after_rich = true;
  }
  EXPECT_TRUE(saw_interim);
  EXPECT_TRUE(saw_plain_after_rich);  // the scenario exercises what could leak
}

}  // namespace
}  // namespace vigil::agent::flow
