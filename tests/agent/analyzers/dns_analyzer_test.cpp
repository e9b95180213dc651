#include "agent/analyzers/dns/dns_analyzer.h"

#include <gtest/gtest.h>

#include "agent/analyzers/registry.h"
#include "tests/agent/analyzers/analyzer_harness.h"
#include "tests/agent/analyzers/dns_builder.h"

namespace vigil::agent::analyzers::dns {
namespace {

using vigil::testing::AnalyzerFactory;
using vigil::testing::CheckSegmentationInvariance;
using vigil::testing::Delivery;
using vigil::testing::DnsBuilder;
using vigil::testing::kAa;
using vigil::testing::kQueryRd;
using vigil::testing::kRa;
using vigil::testing::kRd;
using vigil::testing::kResponse;
using vigil::testing::RunConversation;

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kT0 = 1'700'000'000'000'000'000;

AnalyzerFactory Factory(vigil::v1::Transport transport, uint16_t resp_port = 53,
                        bool multicast = false) {
  return [=](AnalyzerContext& ctx) {
    FlowInfo flow;
    flow.transport = transport;
    flow.orig_port = 40000;
    flow.resp_port = resp_port;
    flow.resp_multicast = multicast;
    return std::unique_ptr<Analyzer>(std::make_unique<DnsAnalyzer>(flow, ctx));
  };
}

std::vector<uint8_t> Query(uint16_t id, std::string_view name, uint16_t type = 1) {
  DnsBuilder b(id, kQueryRd, 1, 0);
  b.Question(name, type);
  return b.bytes;
}

std::vector<uint8_t> AResponse(uint16_t id, std::string_view name, uint8_t last_octet) {
  DnsBuilder b(id, kResponse | kRd | kRa, 1, 1);
  b.Question(name, 1);
  b.Pointer(12).Rr(1, 300, {192, 0, 2, last_octet});
  return b.bytes;
}

TEST(DnsAnalyzer, PairsQueryAndResponseOverUdp) {
  auto r =
      RunConversation(Factory(vigil::v1::TRANSPORT_UDP),
                      {{Direction::kOrig, Query(0xbeef, "Example.COM"), kT0},
                       {Direction::kResp, AResponse(0xbeef, "example.com", 7), kT0 + 25 * kMs}});
  EXPECT_TRUE(r.recognized);
  EXPECT_FALSE(r.gave_up);
  ASSERT_EQ(r.events.size(), 1u);
  const auto& e = r.events[0];
  ASSERT_TRUE(e.has_dns());
  const auto& d = e.dns();
  EXPECT_EQ(e.ts().seconds(), kT0 / 1'000'000'000) << "ts is the query time";
  EXPECT_EQ(d.transport(), vigil::v1::TRANSPORT_UDP);
  EXPECT_EQ(d.trans_id(), 0xbeef);
  EXPECT_EQ(d.query(), "example.com");
  EXPECT_EQ(d.qtype(), 1u);
  EXPECT_EQ(d.qclass(), 1u);
  EXPECT_EQ(d.rcode(), 0u);
  EXPECT_TRUE(d.rd());
  EXPECT_TRUE(d.ra());
  EXPECT_FALSE(d.aa());
  EXPECT_FALSE(d.tc());
  EXPECT_FALSE(d.rejected());
  EXPECT_EQ(d.rtt().seconds(), 0);
  EXPECT_EQ(d.rtt().nanos(), 25 * kMs);
  ASSERT_EQ(d.answers_size(), 1);
  EXPECT_EQ(d.answers(0), "192.0.2.7");
  ASSERT_EQ(d.ttls_size(), 1);
  EXPECT_EQ(d.ttls(0).seconds(), 300);
  EXPECT_TRUE(r.anomalies.empty());
}

TEST(DnsAnalyzer, UnansweredQueryIsLoggedAtFlowEnd) {
  auto r = RunConversation(Factory(vigil::v1::TRANSPORT_UDP),
                           {{Direction::kOrig, Query(1, "a.test"), kT0}});
  ASSERT_EQ(r.events.size(), 1u);
  const auto& d = r.events[0].dns();
  EXPECT_EQ(d.query(), "a.test");
  EXPECT_FALSE(d.has_rcode());
  EXPECT_FALSE(d.has_rtt());
  EXPECT_EQ(d.answers_size(), 0);
}

// Zeek's duplicate-reponses baseline: the second response with the same id
// finds no query and is logged on its own, without qtype/qclass or rtt.
TEST(DnsAnalyzer, DuplicateResponseIsLoggedUnmatched) {
  auto r = RunConversation(Factory(vigil::v1::TRANSPORT_UDP),
                           {{Direction::kOrig, Query(21140, "www.cmu.edu"), kT0},
                            {Direction::kResp, AResponse(21140, "www.cmu.edu", 1), kT0 + kMs},
                            {Direction::kResp, AResponse(21140, "www.cmu.edu", 1), kT0 + 2 * kMs}});
  ASSERT_EQ(r.events.size(), 2u);
  EXPECT_TRUE(r.events[0].dns().has_rtt());
  EXPECT_TRUE(r.events[0].dns().has_qtype());
  const auto& second = r.events[1].dns();
  EXPECT_EQ(second.query(), "www.cmu.edu") << "query comes from the answer's owner name";
  EXPECT_FALSE(second.has_qtype());
  EXPECT_FALSE(second.has_qclass());
  EXPECT_FALSE(second.has_rtt()) << "only the response was seen";
  EXPECT_EQ(second.rcode(), 0u);
  EXPECT_EQ(second.answers_size(), 1);
}

// Zeek's ipv6-frag baseline: a retried query; the response pairs with the
// oldest query of that id and the retry is logged unanswered.
TEST(DnsAnalyzer, RetriedQueryPairsWithTheOldest) {
  auto r = RunConversation(Factory(vigil::v1::TRANSPORT_UDP),
                           {{Direction::kOrig, Query(40849, "x.test"), kT0},
                            {Direction::kOrig, Query(40849, "x.test"), kT0 + 5000 * kMs},
                            {Direction::kResp, AResponse(40849, "x.test", 9), kT0 + 5084 * kMs}});
  ASSERT_EQ(r.events.size(), 2u);
  EXPECT_EQ(r.events[0].dns().rtt().seconds(), 5);
  EXPECT_EQ(r.events[0].dns().rtt().nanos(), 84 * kMs);
  EXPECT_FALSE(r.events[1].dns().has_rtt());
  EXPECT_FALSE(r.events[1].dns().has_rcode());
}

TEST(DnsAnalyzer, InterleavedIdsMatchIndependently) {
  auto r = RunConversation(Factory(vigil::v1::TRANSPORT_UDP),
                           {{Direction::kOrig, Query(1, "one.test"), kT0},
                            {Direction::kOrig, Query(2, "two.test"), kT0 + kMs},
                            {Direction::kResp, AResponse(2, "two.test", 2), kT0 + 3 * kMs},
                            {Direction::kResp, AResponse(1, "one.test", 1), kT0 + 4 * kMs}});
  ASSERT_EQ(r.events.size(), 2u);
  EXPECT_EQ(r.events[0].dns().query(), "two.test");
  EXPECT_EQ(r.events[0].dns().answers(0), "192.0.2.2");
  EXPECT_EQ(r.events[1].dns().query(), "one.test");
  EXPECT_EQ(r.events[1].dns().answers(0), "192.0.2.1");
}

TEST(DnsAnalyzer, RejectedResponses) {
  // REFUSED with the question echoed and no records at all (notify baseline).
  DnsBuilder refused(5, kResponse | 5, 1, 0);
  refused.Question("dhcp.lbnl.us", 6);
  // NXDOMAIN with an SOA in authority: not "rejected" in Zeek's sense.
  DnsBuilder nx(6, kResponse | 3, 1, 0, 1);
  nx.Question("nope.test", 1);
  nx.Name("test").Rr(6, 60, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
  auto r = RunConversation(Factory(vigil::v1::TRANSPORT_UDP),
                           {{Direction::kOrig, Query(5, "dhcp.lbnl.us", 6), kT0},
                            {Direction::kResp, refused.bytes, kT0 + kMs},
                            {Direction::kOrig, Query(6, "nope.test"), kT0 + 2 * kMs},
                            {Direction::kResp, nx.bytes, kT0 + 3 * kMs}});
  ASSERT_EQ(r.events.size(), 2u);
  EXPECT_EQ(r.events[0].dns().rcode(), 5u);
  EXPECT_TRUE(r.events[0].dns().rejected());
  EXPECT_FALSE(r.events[0].dns().has_rtt()) << "rtt needs an answer record, as in Zeek";
  EXPECT_EQ(r.events[1].dns().rcode(), 3u);
  EXPECT_FALSE(r.events[1].dns().rejected());
}

TEST(DnsAnalyzer, NotifyOpcodeIsTrackedOtherOpcodesAreNot) {
  DnsBuilder notify(9, 4 << 11, 1, 0);
  notify.Question("zone.test", 6);
  DnsBuilder status(10, 2 << 11, 0, 0);
  auto r = RunConversation(
      Factory(vigil::v1::TRANSPORT_UDP),
      {{Direction::kOrig, notify.bytes, kT0}, {Direction::kOrig, status.bytes, kT0}});
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].dns().opcode(), 4u);
  EXPECT_EQ(r.events[0].dns().query(), "zone.test");
}

TEST(DnsAnalyzer, MulticastMessagesStandAlone) {
  auto r = RunConversation(Factory(vigil::v1::TRANSPORT_UDP, 5353, /*multicast=*/true),
                           {{Direction::kOrig, Query(0, "printer.local", 12), kT0},
                            {Direction::kOrig, AResponse(0, "printer.local", 5), kT0 + kMs}});
  ASSERT_EQ(r.events.size(), 2u) << "each mDNS message is its own entry";
  EXPECT_EQ(r.events[0].dns().qtype(), 12u);
  EXPECT_FALSE(r.events[0].dns().has_rcode());
  EXPECT_EQ(r.events[1].dns().answers(0), "192.0.2.5");
}

TEST(DnsAnalyzer, NetbiosQueriesAreDecoded) {
  auto r =
      RunConversation(Factory(vigil::v1::TRANSPORT_UDP, 137),
                      {{Direction::kOrig, Query(3, "FHEPFCELEHFCEPFFFACACACACACACAAA", 33), kT0}});
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].dns().query(), "WORKGROUP");
  EXPECT_EQ(r.events[0].dns().qtype(), 33u);
}

// Zeek raises no reply event for NetBIOS NB records (type 32) nor for NBSTAT
// (type 33 from port 137): no answers, TTLs, AA/RA or rtt from them.
TEST(DnsAnalyzer, NetbiosAnswersAreNotLogged) {
  const std::string name = "FHEPFCELEHFCEPFFFACACACACACACAAA";
  DnsBuilder nb(7, kResponse | 0x0400 /* AA */ | kRa, 0, 1);
  nb.Name(name).Rr(32, 300000, {0x60, 0x00, 10, 0, 0, 9});
  DnsBuilder nbstat(8, kResponse | 0x0400, 0, 1);
  nbstat.Name(name).Rr(33, 0, std::vector<uint8_t>(50, 0x41));
  auto r = RunConversation(Factory(vigil::v1::TRANSPORT_UDP, 137),
                           {{Direction::kOrig, Query(7, name, 32), kT0},
                            {Direction::kResp, nb.bytes, kT0 + kMs},
                            {Direction::kOrig, Query(8, name, 33), kT0 + 2 * kMs},
                            {Direction::kResp, nbstat.bytes, kT0 + 3 * kMs}});
  ASSERT_EQ(r.events.size(), 2u);
  for (const auto& e : r.events) {
    EXPECT_EQ(e.dns().query(), "WORKGROUP");
    EXPECT_EQ(e.dns().answers_size(), 0);
    EXPECT_EQ(e.dns().ttls_size(), 0);
    EXPECT_FALSE(e.dns().aa());
    EXPECT_FALSE(e.dns().has_rtt());
  }
}

TEST(DnsAnalyzer, GivesUpOnNonDnsFirstMessage) {
  auto r =
      RunConversation(Factory(vigil::v1::TRANSPORT_UDP),
                      {{Direction::kOrig, vigil::testing::Bytes("GET / HTTP/1.1\r\n\r\n"), kT0}});
  EXPECT_FALSE(r.recognized);
  EXPECT_TRUE(r.gave_up);
  EXPECT_TRUE(r.events.empty());
  ASSERT_EQ(r.anomalies.size(), 1u);
  EXPECT_EQ(r.anomalies[0], "dns_too_many_questions");
}

TEST(DnsAnalyzer, MalformedMessageAfterRecognitionIsCountedNotFatal) {
  std::vector<uint8_t> junk = {0, 1, 0x81};
  auto r = RunConversation(Factory(vigil::v1::TRANSPORT_UDP),
                           {{Direction::kOrig, Query(1, "a.test"), kT0},
                            {Direction::kResp, junk, kT0 + kMs},
                            {Direction::kResp, AResponse(1, "a.test", 1), kT0 + 2 * kMs}});
  EXPECT_TRUE(r.recognized);
  EXPECT_FALSE(r.gave_up);
  ASSERT_EQ(r.anomalies.size(), 1u);
  EXPECT_EQ(r.anomalies[0], "dns_truncated_header");
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].dns().answers(0), "192.0.2.1");
}

TEST(DnsAnalyzer, PendingQueriesAreBounded) {
  std::vector<Delivery> conv;
  for (uint16_t id = 0; id < DnsAnalyzer::kMaxPending + 3; ++id) {
    conv.push_back({Direction::kOrig, Query(id, "flood.test"), kT0 + id});
  }
  auto r = RunConversation(Factory(vigil::v1::TRANSPORT_UDP), conv);
  EXPECT_EQ(r.events.size(), DnsAnalyzer::kMaxPending + 3) << "nothing is dropped";
  EXPECT_EQ(std::count(r.anomalies.begin(), r.anomalies.end(), "dns_unmatched_msg_quantity"), 3);
  EXPECT_EQ(r.events[0].dns().trans_id(), 0u) << "the oldest is logged first";
  // Evicted early or flushed at the end, every query is logged once, in order.
  for (size_t i = 0; i < r.events.size(); ++i) {
    EXPECT_EQ(r.events[i].dns().trans_id(), i);
    EXPECT_EQ(r.events[i].dns().query(), "flood.test");
    EXPECT_EQ(r.events[i].dns().answers_size(), 0);
  }
}

// Transactions wait inline or behind it; whichever is matched, the others
// keep their place and a slot reused for a later query carries nothing of
// the transaction it held before.
TEST(DnsAnalyzer, PendingTransactionsMatchFromAnyPositionWithoutStaleFields) {
  auto r = RunConversation(Factory(vigil::v1::TRANSPORT_UDP),
                           {{Direction::kOrig, Query(1, "one.test"), kT0},
                            {Direction::kOrig, Query(2, "two.test"), kT0 + kMs},
                            {Direction::kOrig, Query(3, "three.test"), kT0 + 2 * kMs},
                            {Direction::kResp, AResponse(1, "one.test", 1), kT0 + 10 * kMs},
                            {Direction::kOrig, Query(4, "four.test", 28), kT0 + 11 * kMs},
                            {Direction::kResp, AResponse(3, "three.test", 3), kT0 + 12 * kMs},
                            {Direction::kOrig, Query(5, "five.test"), kT0 + 13 * kMs}});
  // Answered: 1, 3; unanswered at the end, oldest first: 2, 4, 5.
  ASSERT_EQ(r.events.size(), 5u);
  const uint32_t ids[] = {1, 3, 2, 4, 5};
  const char* names[] = {"one.test", "three.test", "two.test", "four.test", "five.test"};
  for (size_t i = 0; i < 5; ++i) {
    const auto& d = r.events[i].dns();
    EXPECT_EQ(d.trans_id(), ids[i]) << i;
    EXPECT_EQ(d.query(), names[i]) << i;
    const bool answered = i < 2;
    EXPECT_EQ(d.answers_size(), answered ? 1 : 0) << i;
    EXPECT_EQ(d.has_rtt(), answered) << i;
    EXPECT_EQ(d.has_rcode(), answered) << i;
  }
  EXPECT_EQ(r.events[0].dns().answers(0), "192.0.2.1");
  EXPECT_EQ(r.events[1].dns().answers(0), "192.0.2.3");
  EXPECT_EQ(r.events[1].dns().rtt().nanos(), 10 * kMs);
  EXPECT_EQ(r.events[3].dns().qtype(), 28u);
}

std::vector<uint8_t> Concat(std::initializer_list<std::vector<uint8_t>> parts) {
  std::vector<uint8_t> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

TEST(DnsAnalyzer, TcpFramingSeveralMessagesPerStream) {
  DnsBuilder q1(1, kQueryRd, 1, 0), q2(2, kQueryRd, 1, 0);
  q1.Question("one.test", 1);
  q2.Question("two.test", 28);
  DnsBuilder r1(1, kResponse | kAa, 1, 1), r2(2, kResponse, 1, 1);
  r1.Question("one.test", 1).Pointer(12).Rr(1, 10, {10, 0, 0, 1});
  r2.Question("two.test", 28)
      .Pointer(12)
      .Rr(28, 10, {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2});
  std::vector<Delivery> conv = {
      {Direction::kOrig, Concat({q1.Framed(), q2.Framed()}), kT0},
      {Direction::kResp, Concat({r1.Framed(), r2.Framed()}), kT0 + kMs},
  };
  auto r = RunConversation(Factory(vigil::v1::TRANSPORT_TCP), conv);
  EXPECT_TRUE(r.recognized);
  ASSERT_EQ(r.events.size(), 2u);
  EXPECT_EQ(r.events[0].dns().transport(), vigil::v1::TRANSPORT_TCP);
  EXPECT_TRUE(r.events[0].dns().aa());
  EXPECT_EQ(r.events[0].dns().answers(0), "10.0.0.1");
  EXPECT_EQ(r.events[1].dns().qtype(), 28u);
  EXPECT_EQ(r.events[1].dns().answers(0), "fe80::2");
  EXPECT_EQ(CheckSegmentationInvariance(Factory(vigil::v1::TRANSPORT_TCP), conv), "");
}

TEST(DnsAnalyzer, TcpTruncatedMessageAndGap) {
  DnsBuilder q(1, kQueryRd, 1, 0);
  q.Question("cut.test", 1);
  std::vector<uint8_t> framed = q.Framed();
  framed.resize(framed.size() - 3);
  auto r = RunConversation(Factory(vigil::v1::TRANSPORT_TCP), {{Direction::kOrig, framed, kT0}});
  EXPECT_TRUE(r.events.empty());
  ASSERT_EQ(r.anomalies.size(), 1u);
  EXPECT_EQ(r.anomalies[0], "dns_truncated_tcp_message");
}

// Regression (found by fuzzing): a zero length prefix split across two
// deliveries made the framing loop spin forever.
TEST(DnsAnalyzer, TcpZeroLengthMessageAcrossDeliveries) {
  DnsBuilder q(1, kQueryRd, 1, 0);
  q.Question("after.zero", 1);
  std::vector<uint8_t> rest = {0x00};
  const auto framed = q.Framed();
  rest.insert(rest.end(), framed.begin(), framed.end());
  auto r =
      RunConversation(Factory(vigil::v1::TRANSPORT_TCP), {{Direction::kOrig, q.Framed(), kT0},
                                                          {Direction::kOrig, {0x00}, kT0 + kMs},
                                                          {Direction::kOrig, rest, kT0 + 2 * kMs}});
  EXPECT_EQ(r.anomalies, std::vector<std::string>{"dns_truncated_header"});
  EXPECT_EQ(r.events.size(), 2u);
}

TEST(DnsAnalyzer, TcpGapStopsOnlyThatSide) {
  vigil::testing::RecordingContext ctx;
  FlowInfo flow;
  flow.transport = vigil::v1::TRANSPORT_TCP;
  flow.resp_port = 53;
  DnsAnalyzer a(flow, ctx);
  DnsBuilder q1(1, kQueryRd, 1, 0), q2(2, kQueryRd, 1, 0);
  q1.Question("one.test", 1);
  q2.Question("two.test", 1);
  DnsBuilder r1(1, kResponse, 1, 1);
  r1.Question("one.test", 1).Pointer(12).Rr(1, 10, {10, 0, 0, 1});
  EXPECT_EQ(a.OnData(Direction::kOrig, q1.Framed(), kT0), Verdict::kRecognized);
  a.OnGap(Direction::kOrig, 100);
  EXPECT_EQ(a.OnData(Direction::kOrig, q2.Framed(), kT0 + kMs), Verdict::kContinue);
  EXPECT_EQ(a.OnData(Direction::kResp, r1.Framed(), kT0 + 2 * kMs), Verdict::kContinue);
  a.OnFlowEnd(kT0 + 3 * kMs);
  ASSERT_EQ(ctx.events.size(), 1u) << "the query after the gap is not parsed";
  EXPECT_EQ(ctx.events[0].dns().answers(0), "10.0.0.1");
  EXPECT_EQ(ctx.anomalies, std::vector<std::string>{"dns_content_gap"});
}

}  // namespace
}  // namespace vigil::agent::analyzers::dns
