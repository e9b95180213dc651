#include "agent/analyzers/tls/tls_analyzer.h"

#include <gtest/gtest.h>

#include "agent/analyzers/registry.h"
#include "agent/analyzers/tls/fingerprint.h"
#include "agent/analyzers/tls/hello.h"
#include "tests/agent/analyzers/analyzer_harness.h"
#include "tests/agent/analyzers/tls_builder.h"

namespace vigil::agent::analyzers::tls {
namespace {

namespace tb = vigil::testing::tls;
using vigil::testing::AnalyzerFactory;
using vigil::testing::CheckSegmentationInvariance;
using vigil::testing::Delivery;
using vigil::testing::RunConversation;

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kT0 = 1'700'000'000'000'000'000;

// A browser-like TLS 1.3 ClientHello with GREASE everywhere it may appear.
tb::Bytes BrowserHelloBody(const tb::Bytes& session_id = tb::Bytes(32, 0x5a)) {
  return tb::ClientHelloBody(0x0303, session_id,
                             {0x1a1a, 0x1301, 0x1302, 0xc02b, 0xc02f, 0x009c, 0x00ff},
                             {{0x0a0a, {}},
                              tb::Sni("example.com"),
                              {0x0017, {}},
                              {0xff01, {0}},
                              tb::Groups({0x2a2a, 29, 23, 24}),
                              tb::PointFormats({0}),
                              {0x0023, {}},
                              tb::Alpn({"h2", "http/1.1"}),
                              tb::SigAlgs({0x0403, 0x0804, 0x0401}),
                              tb::Versions({0x3a3a, 0x0304, 0x0303}),
                              tb::ClientKeyShare(29),
                              {0x002d, {1, 1}}});
}

// A TLS 1.2 ClientHello without SNI or ALPN.
tb::Bytes Tls12HelloBody(const tb::Bytes& session_id = {}, std::vector<tb::Extension> extra = {}) {
  std::vector<tb::Extension> exts = {tb::Groups({23, 24}), tb::PointFormats({0}),
                                     tb::SigAlgs({0x0401})};
  for (auto& e : extra) exts.push_back(std::move(e));
  return tb::ClientHelloBody(0x0303, session_id, {0xc02f, 0xc030, 0x009c}, exts);
}

AnalyzerFactory Factory(TlsAnalyzer::Mode mode) {
  return [=](AnalyzerContext& ctx) {
    return std::unique_ptr<Analyzer>(std::make_unique<TlsAnalyzer>(mode, ctx));
  };
}

ClientHello Parse(const tb::Bytes& body) {
  ClientHello hello;
  EXPECT_EQ(ParseClientHello(body, false, hello), HelloError::kNone);
  return hello;
}

TEST(TlsFingerprint, Ja3AndJa4OfABrowserHello) {
  const ClientHello hello = Parse(BrowserHelloBody());
  // Expected values computed independently (Python hashlib) from the JA3
  // and JA4 definitions.
  EXPECT_EQ(Ja3String(hello),
            "771,4865-4866-49195-49199-156-255,0-23-65281-10-11-35-16-13-43-51-45,29-23-24,0");
  EXPECT_EQ(Ja3(hello), "30524b9c798a0ba1457baf92b85b8fb5");
  EXPECT_EQ(Ja4(hello, Ja4Transport::kTcp), "t13d0611h2_4c548d4f1d6a_0c936b6b1637");
  EXPECT_EQ(Ja4Raw(hello, Ja4Transport::kTcp),
            "t13d0611h2_009c,00ff,1301,1302,c02b,c02f_"
            "000a,000b,000d,0017,0023,002b,002d,0033,ff01_0403,0804,0401");
  EXPECT_EQ(Ja4(hello, Ja4Transport::kQuic).substr(0, 1), "q");
}

TEST(TlsFingerprint, Tls12HelloWithoutSniOrAlpn) {
  const ClientHello hello = Parse(Tls12HelloBody());
  EXPECT_EQ(Ja3(hello), "d238d6c739c77f31759f29b7292fd370");
  EXPECT_EQ(Ja4(hello, Ja4Transport::kTcp), "t12i030300_13bac7b83268_379eb492da94");
}

TEST(TlsFingerprint, Ja4AlpnRuleFollowsTheSpecification) {
  auto ja4_a = [](std::vector<std::string> alpn) {
    ClientHello hello = Parse(Tls12HelloBody());
    hello.alpn = std::move(alpn);
    hello.has_alpn = true;
    return Ja4(hello, Ja4Transport::kTcp).substr(8, 2);
  };
  EXPECT_EQ(ja4_a({"h2"}), "h2");
  EXPECT_EQ(ja4_a({"http/1.1", "h2"}), "h1");
  EXPECT_EQ(ja4_a({"h"}), "hh");
  EXPECT_EQ(ja4_a({""}), "00");
  EXPECT_EQ(ja4_a({}), "00");
  EXPECT_EQ(ja4_a({"\xba\xad"}), "bd") << "hex of first and last byte, not the '99' of the tools";
  EXPECT_EQ(ja4_a({"0\xab"}), "3b");
}

TEST(TlsFingerprint, EmptyExtensionListHashesToZeros) {
  const ClientHello hello = Parse(tb::ClientHelloBody(0x0301, {}, {0x002f}, {}));
  EXPECT_EQ(Ja4(hello, Ja4Transport::kTcp), "t10i010000_ba72b8082249_000000000000");
  EXPECT_EQ(Ja3String(hello), "769,47,,,");
}

TEST(TlsHello, RejectsMalformedHellos) {
  ClientHello hello;
  tb::Bytes body = BrowserHelloBody();
  body.resize(50);
  EXPECT_EQ(ParseClientHello(body, false, hello), HelloError::kTruncated);
  tb::Bytes odd = tb::ClientHelloBody(0x0303, {}, {0x1301}, {});
  odd[35] = 3;  // cipher list length 3
  EXPECT_NE(ParseClientHello(odd, false, hello), HelloError::kNone);
  // Extension block declared 5 bytes longer than it is: version, random,
  // session id length, 3 ciphers, compression come first (45 bytes).
  tb::Bytes bad_ext = Tls12HelloBody();
  constexpr size_t kExtLengthLow = 2 + 32 + 1 + 2 + 6 + 2 + 1;
  bad_ext[kExtLengthLow] = static_cast<uint8_t>(bad_ext[kExtLengthLow] + 5);
  EXPECT_EQ(ParseClientHello(bad_ext, false, hello), HelloError::kBadExtensions);
}

// TLS 1.2 full handshake with ECDHE, session ticket: Zeek writes
// ssl_history "CsxknGIti" and established T.
std::vector<Delivery> Tls12Conversation() {
  const tb::Bytes cert = tb::Handshake(11, tb::Bytes(600, 0x30));
  const tb::Bytes ske = tb::Handshake(12, tb::Cat({{3, 0, 23, 65}, tb::Bytes(65, 4)}));
  return {
      {Direction::kOrig,
       tb::HandshakeRecord(tb::Handshake(
           1, Tls12HelloBody({}, {tb::Sni("secure.example"), tb::Alpn({"h2", "http/1.1"})}))),
       kT0},
      {Direction::kResp,
       tb::HandshakeRecord(
           tb::Cat({tb::Handshake(2, tb::ServerHelloBody(0x0303, tb::Bytes(32, 9), 0xc02f,
                                                         {tb::Alpn({"h2"})})),
                    cert, ske, tb::Handshake(14, {})})),
       kT0 + 10 * kMs},
      {Direction::kOrig,
       tb::Cat({tb::HandshakeRecord(tb::Handshake(16, tb::Bytes(66, 7))), tb::Ccs(),
                tb::Encrypted(22)}),
       kT0 + 20 * kMs},
      {Direction::kResp,
       tb::Cat({tb::HandshakeRecord(tb::Handshake(4, tb::Bytes(100, 1))), tb::Ccs(),
                tb::Encrypted(22)}),
       kT0 + 30 * kMs},
      {Direction::kOrig, tb::Encrypted(23, 300), kT0 + 40 * kMs},
  };
}

TEST(TlsAnalyzer, Tls12FullHandshake) {
  auto r = RunConversation(Factory(TlsAnalyzer::Mode::kPort), Tls12Conversation());
  EXPECT_TRUE(r.recognized);
  EXPECT_TRUE(r.gave_up) << "established: nothing more to learn, stop feeding";
  EXPECT_TRUE(r.anomalies.empty());
  ASSERT_EQ(r.events.size(), 1u);
  const auto& e = r.events[0];
  ASSERT_TRUE(e.has_tls());
  const auto& t = e.tls();
  EXPECT_EQ(e.ts().seconds(), kT0 / 1'000'000'000);
  EXPECT_EQ(t.version(), 0x0303u);
  EXPECT_EQ(t.cipher(), 0xc02fu);
  EXPECT_EQ(t.curve(), 23u);
  EXPECT_EQ(t.server_name(), "secure.example");
  EXPECT_EQ(t.next_protocol(), "h2");
  EXPECT_TRUE(t.established());
  EXPECT_FALSE(t.resumed());
  EXPECT_EQ(t.ssl_history(), "CsxknGIti");
  EXPECT_EQ(t.client_legacy_version(), 0x0303u);
  ASSERT_EQ(t.client_alpn_size(), 2);
  EXPECT_EQ(t.client_alpn(1), "http/1.1");
  EXPECT_EQ(t.ja3().size(), 32u);
  EXPECT_EQ(t.ja4().substr(0, 10), "t12d0305h2");
  EXPECT_EQ(CheckSegmentationInvariance(Factory(TlsAnalyzer::Mode::kPort), Tls12Conversation()),
            "");
}

std::vector<Delivery> Tls13Conversation(bool compat_ccs) {
  tb::Bytes server = tb::HandshakeRecord(
      tb::Handshake(2, tb::ServerHelloBody(0x0303, tb::Bytes(32, 0x5a), 0x1301,
                                           {tb::ServerVersion(0x0304), tb::ServerKeyShare(29)})));
  if (compat_ccs) server = tb::Cat({server, tb::Ccs()});
  server = tb::Cat({server, tb::Encrypted(23, 90), tb::Encrypted(23, 800), tb::Encrypted(23, 60)});
  tb::Bytes client =
      compat_ccs ? tb::Cat({tb::Ccs(), tb::Encrypted(23, 60)}) : tb::Encrypted(23, 60);
  return {
      {Direction::kOrig, tb::HandshakeRecord(tb::Handshake(1, BrowserHelloBody())), kT0},
      {Direction::kResp, server, kT0 + 10 * kMs},
      {Direction::kOrig, client, kT0 + 20 * kMs},
  };
}

TEST(TlsAnalyzer, Tls13WithCompatibilityCcs) {
  auto r = RunConversation(Factory(TlsAnalyzer::Mode::kPort), Tls13Conversation(true));
  ASSERT_EQ(r.events.size(), 1u);
  const auto& t = r.events[0].tls();
  EXPECT_EQ(t.version(), 0x0304u);
  EXPECT_EQ(t.server_supported_version(), 0x0304u);
  EXPECT_EQ(t.cipher(), 0x1301u);
  EXPECT_EQ(t.curve(), 29u);
  EXPECT_TRUE(t.established());
  EXPECT_EQ(t.ssl_history(), "CsiI");
  EXPECT_EQ(t.server_name(), "example.com");
  ASSERT_EQ(t.client_supported_versions_size(), 2) << "GREASE dropped";
  EXPECT_EQ(t.client_supported_versions(0), 0x0304u);
  EXPECT_EQ(t.ja4(), "t13d0611h2_4c548d4f1d6a_0c936b6b1637");
  EXPECT_FALSE(t.resumed()) << "a TLS 1.3 echoed session id is not resumption";
  EXPECT_EQ(CheckSegmentationInvariance(Factory(TlsAnalyzer::Mode::kPort), Tls13Conversation(true)),
            "");
}

TEST(TlsAnalyzer, Tls13WithoutCcsIsEstablishedByEncryptedRecords) {
  auto r = RunConversation(Factory(TlsAnalyzer::Mode::kPort), Tls13Conversation(false));
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_TRUE(r.events[0].tls().established());
  EXPECT_EQ(r.events[0].tls().ssl_history(), "Cs");
}

TEST(TlsAnalyzer, HelloRetryRequest) {
  const tb::Bytes hrr = tb::Handshake(
      2, tb::ServerHelloBody(0x0303, tb::Bytes(32, 0x5a), 0x1301,
                             {tb::ServerVersion(0x0304), {0x0033, {0x00, 0x17}}}, /*hrr=*/true));
  const tb::Bytes sh =
      tb::Handshake(2, tb::ServerHelloBody(0x0303, tb::Bytes(32, 0x5a), 0x1301,
                                           {tb::ServerVersion(0x0304), tb::ServerKeyShare(23)}));
  std::vector<Delivery> conv = {
      {Direction::kOrig, tb::HandshakeRecord(tb::Handshake(1, BrowserHelloBody())), kT0},
      {Direction::kResp, tb::Cat({tb::HandshakeRecord(hrr), tb::Ccs()}), kT0 + kMs},
      {Direction::kOrig,
       tb::Cat({tb::Ccs(), tb::HandshakeRecord(tb::Handshake(1, BrowserHelloBody()))}),
       kT0 + 2 * kMs},
      {Direction::kResp, tb::Cat({tb::HandshakeRecord(sh), tb::Encrypted(23, 100)}), kT0 + 3 * kMs},
      {Direction::kOrig, tb::Encrypted(23, 50), kT0 + 4 * kMs},
  };
  auto r = RunConversation(Factory(TlsAnalyzer::Mode::kPort), conv);
  ASSERT_EQ(r.events.size(), 1u);
  const auto& t = r.events[0].tls();
  EXPECT_EQ(t.ssl_history(), "CjiICs");
  EXPECT_EQ(t.curve(), 23u) << "the group of the final ServerHello";
  EXPECT_TRUE(t.established());
}

TEST(TlsAnalyzer, AbbreviatedHandshakeIsResumed) {
  const tb::Bytes sid(32, 0x77);
  std::vector<Delivery> conv = {
      {Direction::kOrig, tb::HandshakeRecord(tb::Handshake(1, Tls12HelloBody(sid))), kT0},
      {Direction::kResp,
       tb::Cat({tb::HandshakeRecord(tb::Handshake(2, tb::ServerHelloBody(0x0303, sid, 0xc02f, {}))),
                tb::Ccs(), tb::Encrypted(22)}),
       kT0 + kMs},
      {Direction::kOrig, tb::Cat({tb::Ccs(), tb::Encrypted(22)}), kT0 + 2 * kMs},
  };
  auto r = RunConversation(Factory(TlsAnalyzer::Mode::kPort), conv);
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_TRUE(r.events[0].tls().resumed());
  EXPECT_TRUE(r.events[0].tls().established());
  EXPECT_EQ(r.events[0].tls().ssl_history(), "CsiI");
}

TEST(TlsAnalyzer, TicketResumptionWithoutKeyExchange) {
  std::vector<Delivery> conv = {
      {Direction::kOrig,
       tb::HandshakeRecord(tb::Handshake(1, Tls12HelloBody({}, {{0x0023, tb::Bytes(80, 3)}}))),
       kT0},
      {Direction::kResp,
       tb::Cat({tb::HandshakeRecord(
                    tb::Handshake(2, tb::ServerHelloBody(0x0303, tb::Bytes(32, 1), 0xc02f, {}))),
                tb::HandshakeRecord(tb::Handshake(4, tb::Bytes(90, 2))), tb::Ccs(),
                tb::Encrypted(22)}),
       kT0 + kMs},
      {Direction::kOrig, tb::Cat({tb::Ccs(), tb::Encrypted(22)}), kT0 + 2 * kMs},
  };
  auto r = RunConversation(Factory(TlsAnalyzer::Mode::kPort), conv);
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_TRUE(r.events[0].tls().resumed());
  EXPECT_EQ(r.events[0].tls().ssl_history(), "CstiI");
}

// Zeek's modbus_and_non_modbus_on_port_502 baseline: a ClientHello on port
// 502 answered by garbage still makes the flow `ssl`.
TEST(TlsAnalyzer, DetectionConfirmsOnAValidClientHello) {
  std::vector<Delivery> conv = {
      {Direction::kOrig, tb::HandshakeRecord(tb::Handshake(1, BrowserHelloBody())), kT0},
      {Direction::kResp, {0x16, 0x03, 0x01, 0x00, 0x00, 0x03, 0x00, 0x80, 0x01}, kT0 + kMs}};
  auto r = RunConversation(Factory(TlsAnalyzer::Mode::kDetect), conv);
  EXPECT_TRUE(r.recognized);
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].tls().ssl_history(), "C");
  EXPECT_FALSE(r.events[0].tls().established());

  // Something else first on an arbitrary port: not TLS, nothing logged.
  auto other = RunConversation(Factory(TlsAnalyzer::Mode::kDetect),
                               {{Direction::kOrig, vigil::testing::Bytes("\x16hello"), kT0}});
  EXPECT_FALSE(other.recognized);
  EXPECT_TRUE(other.events.empty());
  // A server that speaks first with a ClientHello-looking record is not
  // accepted in detection mode (roles must be right).
  auto server_first = RunConversation(
      Factory(TlsAnalyzer::Mode::kDetect),
      {{Direction::kResp, tb::HandshakeRecord(tb::Handshake(1, BrowserHelloBody())), kT0}});
  EXPECT_FALSE(server_first.recognized);
}

TEST(TlsAnalyzer, NotTlsOnATlsPort) {
  auto r =
      RunConversation(Factory(TlsAnalyzer::Mode::kPort),
                      {{Direction::kOrig, vigil::testing::Bytes("SSH-2.0-OpenSSH_9.2\r\n"), kT0}});
  EXPECT_FALSE(r.recognized);
  EXPECT_TRUE(r.gave_up);
  EXPECT_TRUE(r.events.empty());
  EXPECT_TRUE(r.anomalies.empty()) << "another protocol is not an anomaly";

  // An SSLv2-style hello is not parsed either.
  auto v2 = RunConversation(Factory(TlsAnalyzer::Mode::kPort),
                            {{Direction::kOrig, {0x80, 0x2e, 0x01, 0x00, 0x02, 0x00, 0x15}, kT0}});
  EXPECT_TRUE(v2.gave_up);
}

TEST(TlsAnalyzer, MalformedHelloIsAnAnomaly) {
  tb::Bytes body = BrowserHelloBody();
  body.resize(40);
  auto r = RunConversation(Factory(TlsAnalyzer::Mode::kPort),
                           {{Direction::kOrig, tb::HandshakeRecord(tb::Handshake(1, body)), kT0}});
  EXPECT_TRUE(r.gave_up);
  EXPECT_EQ(r.anomalies, std::vector<std::string>{"tls_malformed_client_hello"});
  EXPECT_TRUE(r.events.empty());
}

TEST(TlsAnalyzer, OversizedHandshakeMessageIsBoundedAndCounted) {
  // A ClientHello that claims 100 KiB, spread over records.
  tb::Bytes header = {1, 0x01, 0x90, 0x00};
  std::vector<Delivery> conv = {{Direction::kOrig, tb::HandshakeRecord(header), kT0}};
  for (int i = 0; i < 8; ++i) {
    conv.push_back({Direction::kOrig, tb::HandshakeRecord(tb::Bytes(12800, 0)), kT0});
  }
  auto r = RunConversation(Factory(TlsAnalyzer::Mode::kPort), conv);
  EXPECT_TRUE(r.gave_up);
  EXPECT_EQ(r.anomalies, std::vector<std::string>{"tls_handshake_message_too_long"});
}

TEST(TlsAnalyzer, InvalidRecordAfterRecognitionEmitsWhatWasSeen) {
  std::vector<Delivery> conv = {
      {Direction::kOrig, tb::HandshakeRecord(tb::Handshake(1, BrowserHelloBody())), kT0},
      {Direction::kResp, {0x99, 0x99, 0x99, 0x99, 0x99, 0x99}, kT0 + kMs},
  };
  auto r = RunConversation(Factory(TlsAnalyzer::Mode::kPort), conv);
  EXPECT_TRUE(r.recognized);
  EXPECT_TRUE(r.gave_up);
  EXPECT_EQ(r.anomalies, std::vector<std::string>{"tls_invalid_record"});
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_FALSE(r.events[0].tls().established());
  EXPECT_EQ(r.events[0].tls().ssl_history(), "C");
}

TEST(TlsAnalyzer, HandshakeMessageSplitAcrossRecords) {
  const tb::Bytes msg = tb::Handshake(1, BrowserHelloBody());
  const size_t half = msg.size() / 2;
  std::vector<Delivery> conv = {
      {Direction::kOrig,
       tb::Cat({tb::HandshakeRecord(tb::Bytes(msg.begin(), msg.begin() + half)),
                tb::HandshakeRecord(tb::Bytes(msg.begin() + half, msg.end()))}),
       kT0}};
  auto r = RunConversation(Factory(TlsAnalyzer::Mode::kPort), conv);
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].tls().ja4(), "t13d0611h2_4c548d4f1d6a_0c936b6b1637");
}

TEST(TlsAnalyzer, StartTlsAfterPlaintext) {
  std::vector<Delivery> conv = {
      {Direction::kResp, vigil::testing::Bytes("<stream:features><starttls/></stream:features>"),
       kT0},
      {Direction::kOrig,
       vigil::testing::Bytes("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"), kT0 + kMs},
      {Direction::kResp,
       vigil::testing::Bytes("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"), kT0 + 2 * kMs},
  };
  for (auto& d : Tls12Conversation()) conv.push_back(d);
  auto r = RunConversation(Factory(TlsAnalyzer::Mode::kStartTls), conv);
  EXPECT_TRUE(r.recognized);
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].tls().ssl_history(), "CsxknGIti");
  EXPECT_TRUE(r.events[0].tls().established());
  EXPECT_EQ(CheckSegmentationInvariance(Factory(TlsAnalyzer::Mode::kStartTls), conv), "");
}

TEST(TlsAnalyzer, StartTlsGivesUpOnPlainProtocols) {
  std::vector<Delivery> conv;
  for (int i = 0; i < 40; ++i) {
    conv.push_back({Direction::kOrig, tb::Bytes(2000, 'a'), kT0 + i});
  }
  auto r = RunConversation(Factory(TlsAnalyzer::Mode::kStartTls), conv);
  EXPECT_TRUE(r.gave_up);
  EXPECT_TRUE(r.events.empty());
}

TEST(TlsAnalyzer, ClientHelloFromResponderIsFlipped) {
  std::vector<Delivery> conv = {
      {Direction::kResp, tb::HandshakeRecord(tb::Handshake(1, Tls12HelloBody())), kT0},
      {Direction::kOrig,
       tb::HandshakeRecord(tb::Handshake(2, tb::ServerHelloBody(0x0303, {}, 0xc02f, {}))),
       kT0 + kMs},
  };
  auto r = RunConversation(Factory(TlsAnalyzer::Mode::kPort), conv);
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].tls().ssl_history(), "^Cs");
}

TEST(TlsAnalyzer, AlertIsInTheHistory) {
  std::vector<Delivery> conv = {
      {Direction::kOrig, tb::HandshakeRecord(tb::Handshake(1, Tls12HelloBody())), kT0},
      {Direction::kResp, tb::Record(21, {2, 40}), kT0 + kMs},
  };
  auto r = RunConversation(Factory(TlsAnalyzer::Mode::kPort), conv);
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].tls().ssl_history(), "Cl");
  EXPECT_FALSE(r.events[0].tls().established());
  EXPECT_EQ(r.events[0].tls().version(), 0u) << "no ServerHello";
}

TEST(TlsAnalyzer, GapBeforeHandshakeGivesUp) {
  vigil::testing::RecordingContext ctx;
  TlsAnalyzer a(TlsAnalyzer::Mode::kPort, ctx);
  a.OnGap(Direction::kOrig, 1000);
  EXPECT_EQ(
      a.OnData(Direction::kOrig, tb::HandshakeRecord(tb::Handshake(1, Tls12HelloBody())), kT0),
      Verdict::kGiveUp);
  EXPECT_TRUE(ctx.anomalies.empty());
}

}  // namespace
}  // namespace vigil::agent::analyzers::tls
