#include "agent/analyzers/dns/dns_message.h"

#include <gtest/gtest.h>

#include "tests/agent/analyzers/dns_builder.h"

namespace vigil::agent::analyzers::dns {
namespace {

using vigil::testing::DnsBuilder;
using vigil::testing::kAa;
using vigil::testing::kRa;
using vigil::testing::kResponse;

constexpr uint16_t kQuestionOffset = 12;  // first name right after the header

TEST(DnsMessage, ParsesHeaderFlagsAndQuestion) {
  // QR=0 opcode=0 RD=1, Z bits 0b001 (CD).
  DnsBuilder b(0x1234, 0x0110, 1, 0);
  b.Question("WWW.Example.COM", 1);
  Message m;
  ASSERT_EQ(ParseMessage(b.bytes, m), ParseError::kNone);
  EXPECT_EQ(m.header.id, 0x1234);
  EXPECT_FALSE(m.header.qr);
  EXPECT_TRUE(m.header.rd);
  EXPECT_EQ(m.header.z, 1);
  EXPECT_EQ(m.questions_parsed, 1);
  EXPECT_EQ(m.question_name, "www.example.com") << "query names are lower-cased like Zeek";
  EXPECT_EQ(m.question_type, 1);
  EXPECT_EQ(m.question_class, 1);
}

TEST(DnsMessage, RendersEveryIpv4OctetWidth) {
  DnsBuilder b(8, kResponse | kRa, 1, 4);
  b.Question("a.example", 1);
  b.Pointer(kQuestionOffset).Rr(1, 60, {0, 0, 0, 0});
  b.Pointer(kQuestionOffset).Rr(1, 60, {9, 10, 99, 100});
  b.Pointer(kQuestionOffset).Rr(1, 60, {101, 199, 200, 255});
  b.Pointer(kQuestionOffset).Rr(1, 60, {255, 255, 255, 255});
  Message m;
  ASSERT_EQ(ParseMessage(b.bytes, m), ParseError::kNone);
  ASSERT_EQ(m.answers.size(), 4u);
  EXPECT_EQ(m.answers[0].text, "0.0.0.0");
  EXPECT_EQ(m.answers[1].text, "9.10.99.100");
  EXPECT_EQ(m.answers[2].text, "101.199.200.255");
  EXPECT_EQ(m.answers[3].text, "255.255.255.255");
}

TEST(DnsMessage, RendersAnswersAsZeek) {
  DnsBuilder b(7, kResponse | kAa | kRa, 1, 9);
  b.Question("example.com", 255);
  b.Pointer(kQuestionOffset).Rr(1, 60, {192, 0, 2, 1});
  b.Pointer(kQuestionOffset)
      .Rr(28, 60, {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1});
  b.Pointer(kQuestionOffset).Rr(5, 300, {3, 'w', 'w', 'w', 0xc0, kQuestionOffset});
  b.Pointer(kQuestionOffset).Rr(15, 300, {0, 10, 2, 'm', 'x', 0xc0, kQuestionOffset});
  b.Pointer(kQuestionOffset).Rr(16, 300, {5, 'h', 'e', 'l', 'l', 'o', 3, 'a', 'b', 'c'});
  b.Pointer(kQuestionOffset).Rr(33, 300, {0, 1, 0, 2, 0x01, 0xbb, 1, 's', 0xc0, kQuestionOffset});
  b.Pointer(kQuestionOffset).Rr(44, 300, {1, 1, 0xde, 0xad, 0xbe, 0xef});
  b.Pointer(kQuestionOffset).Rr(43, 300, {0x12, 0x34, 8, 2, 0xaa});
  b.Pointer(kQuestionOffset).Rr(99, 300, {2, 'o', 'k'});
  Message m;
  ASSERT_EQ(ParseMessage(b.bytes, m), ParseError::kNone);
  ASSERT_EQ(m.answers.size(), 9u);
  EXPECT_EQ(m.answers[0].text, "192.0.2.1");
  EXPECT_EQ(m.answers[0].ttl, 60u);
  EXPECT_EQ(m.answers[0].owner, "example.com");
  EXPECT_EQ(m.answers[1].text, "2001:db8::1");
  EXPECT_EQ(m.answers[2].text, "www.example.com");
  EXPECT_EQ(m.answers[3].text, "mx.example.com");
  EXPECT_EQ(m.answers[4].text, "TXT 5 hello TXT 3 abc");
  EXPECT_EQ(m.answers[5].text, "s.example.com");
  EXPECT_EQ(m.answers[6].text, "SSHFP: deadbeef");
  EXPECT_EQ(m.answers[7].text, "DS 8 2");
  EXPECT_EQ(m.answers[8].text, "SPF 2 ok");
}

// Zeek's duplicate-reponses and rrsig baselines show answer names lower-cased
// ("www-cmu.andrew.cmu.edu" for WWW-CMU.ANDREW.cmu.edu on the wire).
TEST(DnsMessage, AnswerNamesAreLowerCased) {
  DnsBuilder b(7, kResponse, 1, 1);
  b.Question("WWW.CMU.EDU", 1);
  b.Name("WWW.CMU.EDU").Rr(5, 60, {3, 'W', 'W', 'W', 1, 'X', 0xc0, kQuestionOffset + 4});
  Message m;
  ASSERT_EQ(ParseMessage(b.bytes, m), ParseError::kNone);
  ASSERT_EQ(m.answers.size(), 1u);
  EXPECT_EQ(m.answers[0].owner, "www.cmu.edu");
  EXPECT_EQ(m.answers[0].text, "www.x.cmu.edu");
}

TEST(DnsMessage, RendersDnssecRecords) {
  DnsBuilder b(7, kResponse, 1, 4);
  b.Question("upenn.edu", 1);
  // RRSIG covering A (1), signer upenn.edu (compressed).
  b.Pointer(kQuestionOffset).Rr(46, 30, {0,   1, 8, 2, 0, 0, 0,    30,   0,    0,
                                         0,   1, 0, 0, 0, 2, 0x12, 0x34, 0xc0, kQuestionOffset,
                                         0xff});
  // RRSIG signed by the root.
  b.Pointer(kQuestionOffset).Rr(46, 30, {0, 5, 8, 0, 0, 0, 0, 30, 0, 0, 0, 1, 0, 0, 0, 2, 0, 1, 0});
  b.Pointer(kQuestionOffset).Rr(48, 30, {1, 1, 3, 13, 0xab});
  b.Pointer(kQuestionOffset).Rr(47, 30, {1, 'b', 0xc0, kQuestionOffset, 0, 6, 0x40, 1, 0, 0, 0, 3});
  Message m;
  ASSERT_EQ(ParseMessage(b.bytes, m), ParseError::kNone);
  ASSERT_EQ(m.answers.size(), 4u);
  EXPECT_EQ(m.answers[0].text, "RRSIG 1 upenn.edu");
  EXPECT_EQ(m.answers[1].text, "RRSIG 5 <Root>");
  EXPECT_EQ(m.answers[2].text, "DNSKEY 13");
  EXPECT_EQ(m.answers[3].text, "NSEC upenn.edu b.upenn.edu");
}

TEST(DnsMessage, UnloggedAndUnknownTypes) {
  DnsBuilder b(7, kResponse, 1, 3);
  b.Question("x.test", 65);
  b.Pointer(kQuestionOffset).Rr(65, 30, {0, 1, 0});        // HTTPS: parsed, never logged
  b.Pointer(kQuestionOffset).Rr(11, 30, {1, 2, 3, 4, 6});  // WKS: logged with no text
  b.Pointer(kQuestionOffset).Rr(4242, 30, {1});
  Message m;
  ASSERT_EQ(ParseMessage(b.bytes, m), ParseError::kNone);
  ASSERT_EQ(m.answers.size(), 3u);
  EXPECT_FALSE(m.answers[0].logged);
  EXPECT_TRUE(m.answers[1].logged);
  EXPECT_EQ(m.answers[1].text, "");
  EXPECT_EQ(m.answers[2].text, "<unknown type=4242>");
}

TEST(DnsMessage, EscapesNonPrintableLabelBytes) {
  DnsBuilder b(1, 0, 1, 0);
  b.Raw({4, 'a', 0x00, 0xff, '.', 3, 'c', 'o', 'm', 0}).U16(1).U16(1);
  Message m;
  ASSERT_EQ(ParseMessage(b.bytes, m), ParseError::kNone);
  EXPECT_EQ(m.question_name, "a\\x00\\xff..com");
}

TEST(DnsMessage, RootNameIsEmpty) {
  DnsBuilder b(1, 0, 1, 0);
  b.Question("", 2);
  Message m;
  ASSERT_EQ(ParseMessage(b.bytes, m), ParseError::kNone);
  EXPECT_EQ(m.question_name, "");
  EXPECT_EQ(m.question_type, 2);
}

TEST(DnsMessage, RejectsCompressionLoops) {
  {
    // A pointer to itself.
    DnsBuilder b(1, 0, 1, 0);
    b.Pointer(kQuestionOffset).U16(1).U16(1);
    Message m;
    EXPECT_EQ(ParseMessage(b.bytes, m), ParseError::kCompressionLoop);
  }
  {
    // label "a" then a pointer back to that label: a -> a -> a ...
    DnsBuilder b(1, 0, 1, 0);
    b.Raw({1, 'a'}).Pointer(kQuestionOffset).U16(1).U16(1);
    Message m;
    EXPECT_EQ(ParseMessage(b.bytes, m), ParseError::kCompressionLoop);
  }
  {
    // Two names pointing at each other.
    DnsBuilder b(1, 0, 2, 0);
    b.Raw({1, 'a'}).Pointer(kQuestionOffset + 8).U16(1).U16(1);  // name 1 -> name 2
    b.Raw({1, 'b'}).Pointer(kQuestionOffset).U16(1).U16(1);      // name 2 -> name 1
    Message m;
    EXPECT_EQ(ParseMessage(b.bytes, m), ParseError::kCompressionLoop);
  }
  {
    DnsBuilder b(1, 0, 1, 0);
    b.Pointer(0x3fff).U16(1).U16(1);
    Message m;
    EXPECT_EQ(ParseMessage(b.bytes, m), ParseError::kBadCompressionPointer);
  }
}

TEST(DnsMessage, NamedErrors) {
  Message m;
  const std::vector<uint8_t> short_header = {0, 1, 0, 0, 0, 1};
  EXPECT_EQ(ParseMessage(short_header, m), ParseError::kTruncatedHeader);
  EXPECT_EQ(AnomalyName(ParseError::kTruncatedHeader), "dns_truncated_header");

  DnsBuilder q(1, 0, 1, 0);
  q.Raw({3, 'a', 'b'});
  EXPECT_EQ(ParseMessage(q.bytes, m), ParseError::kTruncatedQuestion);

  DnsBuilder ext(1, 0, 1, 0);
  ext.Raw({0x41, 0}).U16(1).U16(1);
  EXPECT_EQ(ParseMessage(ext.bytes, m), ParseError::kBadLabelType);

  DnsBuilder many(1, 0, 500, 0);
  EXPECT_EQ(ParseMessage(many.bytes, m), ParseError::kTooManyQuestions);

  DnsBuilder rdlen(1, kResponse, 0, 1);
  rdlen.Name("a").U16(1).U16(1).U32(1).U16(200).Raw({1, 2, 3, 4});
  EXPECT_EQ(ParseMessage(rdlen.bytes, m), ParseError::kRdlengthOverrun);

  DnsBuilder bad_a(1, kResponse, 0, 1);
  bad_a.Name("a").Rr(1, 1, {1, 2, 3});
  EXPECT_EQ(ParseMessage(bad_a.bytes, m), ParseError::kMalformedRdata);

  DnsBuilder long_name(1, 0, 1, 0);
  for (int i = 0; i < 5; ++i) {
    long_name.bytes.push_back(63);
    long_name.bytes.insert(long_name.bytes.end(), 63, 'x');
  }
  long_name.Raw({0}).U16(1).U16(1);
  EXPECT_EQ(ParseMessage(long_name.bytes, m), ParseError::kNameTooLong);
}

TEST(DnsMessage, PartialParseKeepsWhatWasRead) {
  DnsBuilder b(9, kResponse, 1, 2);
  b.Question("keep.me", 1);
  b.Pointer(kQuestionOffset).Rr(1, 5, {10, 0, 0, 1});
  b.Pointer(kQuestionOffset).Raw({0, 1});  // second answer cut short
  Message m;
  EXPECT_EQ(ParseMessage(b.bytes, m), ParseError::kTruncatedAnswer);
  EXPECT_EQ(m.question_name, "keep.me");
  ASSERT_EQ(m.answers.size(), 1u);
  EXPECT_EQ(m.answers[0].text, "10.0.0.1");
}

TEST(DnsMessage, NetbiosNames) {
  // "FHEPFCELEHFCEPFFFACACACACACACAAA" encodes "WORKGROUP" + padding.
  EXPECT_EQ(DecodeNetbiosName("fhepfcelehfcepfffacacacacacacaaa"), "WORKGROUP");
  EXPECT_EQ(DecodeNetbiosName("not-netbios"), "");
  EXPECT_EQ(DecodeNetbiosName("ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ"), "");
}

}  // namespace
}  // namespace vigil::agent::analyzers::dns
