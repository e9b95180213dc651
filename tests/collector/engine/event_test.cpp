// The event model: strict JSON reading, the two adapters agreeing field for
// field, rendering back to JSON, the public suffix list and the derived
// fields (the name tables are tested with the view, in tests/proto).
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <fstream>
#include <limits>

#include "collector/engine/event_json.h"
#include "collector/engine/event_proto.h"
#include "collector/engine/fields/derived_fields.h"
#include "collector/engine/fields/public_suffix.h"
#include "collector/engine/json_reader.h"
#include "vigil/v1/records.pb.h"

namespace vigil::collector::engine {
namespace {

std::string Code(std::string_view text) {
  auto r = ParseJsonObject(text);
  return r ? std::string("ok") : r.error().code;
}

TEST(JsonReader, AcceptsZeekLines) {
  auto r = ParseJsonObject(
      R"({"ts":1591367999.305988,"uid":"CHhAvVGS1DHFjwGM9","id.orig_h":"192.168.1.1","a":[1,2.5,"x",true,null],"n":-0.0e+1})");
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->size(), 5u);
  EXPECT_EQ((*r)[0].second.kind(), Value::Kind::kDouble);
  EXPECT_EQ((*r)[3].second.array().size(), 5u);
}

TEST(JsonReader, FlattensNestedObjectsWithDots) {
  auto r = ParseJsonObject(R"({"id":{"orig_h":"10.0.0.1","orig_p":1},"x":{}})");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].first, "id.orig_h");
  EXPECT_EQ((*r)[1].first, "id.orig_p");
}

TEST(JsonReader, IntegersStayIntegersDoublesWhenTooLarge) {
  auto r = ParseJsonObject(R"({"a":9223372036854775807,"b":9223372036854775808,"c":-12})");
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)[0].second.int_value(), INT64_MAX);
  EXPECT_EQ((*r)[1].second.kind(), Value::Kind::kDouble);
  EXPECT_EQ((*r)[2].second.int_value(), -12);
}

TEST(JsonReader, DecodesEscapesAndSurrogatePairs) {
  auto r = ParseJsonObject(R"({"s":"a\"b\\c\/d\n\u00e9\ud83d\ude00"})");
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)[0].second.string_value(), "a\"b\\c/d\n\xC3\xA9\xF0\x9F\x98\x80");
}

TEST(JsonReader, RejectsWhatIsNotStrictJson) {
  EXPECT_EQ(Code(""), "not_an_object");
  EXPECT_EQ(Code("[1]"), "not_an_object");
  EXPECT_EQ(Code(R"({"a":1} x)"), "trailing_data");
  EXPECT_EQ(Code(R"({"a":1,"a":2})"), "duplicate_key");
  EXPECT_EQ(Code(R"({"a":01})"), "bad_number");
  EXPECT_EQ(Code(R"({"a":1.})"), "bad_number");
  EXPECT_EQ(Code(R"({"a":.5})"), "unexpected_character");
  EXPECT_EQ(Code(R"({"a":NaN})"), "unexpected_character");
  EXPECT_EQ(Code(R"({"a":1e999})"), "bad_number");
  EXPECT_EQ(Code(R"({"a":"x)"), "unexpected_end");
  EXPECT_EQ(Code("{\"a\":\"x\ny\"}"), "control_character");
  EXPECT_EQ(Code(R"({"a":"\x"})"), "bad_escape");
  EXPECT_EQ(Code(R"({"a":"\ud800"})"), "bad_escape");
  EXPECT_EQ(Code(R"({"a":"\udc00"})"), "bad_escape");
  EXPECT_EQ(Code("{\"a\":\"\xC0\xAF\"}"), "invalid_utf8");      // overlong '/'
  EXPECT_EQ(Code("{\"a\":\"\xED\xA0\x80\"}"), "invalid_utf8");  // encoded surrogate
  EXPECT_EQ(Code("{\"a\":\"\xFF\"}"), "invalid_utf8");
  EXPECT_EQ(Code(R"({"a":[{"b":1}]})"), "object_in_array");
  EXPECT_EQ(Code(R"({"a":1,})"), "expected_key");
  EXPECT_EQ(Code(R"({"a" 1})"), "expected_colon");
  EXPECT_EQ(Code(R"({'a':1})"), "expected_key");
  EXPECT_EQ(Code(R"({"a":tru})"), "unexpected_character");
}

TEST(JsonReader, BoundsDepthAndSize) {
  std::string deep = "{\"a\":";
  for (int i = 0; i < 40; ++i) deep += "[";
  deep += "1";
  for (int i = 0; i < 40; ++i) deep += "]";
  deep += "}";
  EXPECT_EQ(Code(deep), "too_deep");
  JsonLimits small;
  small.max_bytes = 8;
  auto r = ParseJsonObject(R"({"abc":"defgh"})", small);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "input_too_large");
}

TEST(JsonReader, ErrorOffsetsPointAtTheProblem) {
  auto r = ParseJsonObject(R"({"a":1,"b":x})");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().offset, 11u);
}

void SetAddr(std::string* out, const char* text) {
  unsigned char buf[16];
  if (inet_pton(AF_INET, text, buf) == 1) {
    out->assign(reinterpret_cast<char*>(buf), 4);
  } else {
    ASSERT_EQ(inet_pton(AF_INET6, text, buf), 1);
    out->assign(reinterpret_cast<char*>(buf), 16);
  }
}

vigil::v1::Event Envelope(const char* orig, uint32_t op, const char* resp, uint32_t rp,
                          vigil::v1::Transport t, uint32_t ip_proto) {
  vigil::v1::Event e;
  e.set_uid("CHhAvVGS1DHFjwGM9");
  e.mutable_ts()->set_seconds(1700000000);
  e.mutable_ts()->set_nanos(123456789);  // rounds to .123457
  SetAddr(e.mutable_id()->mutable_orig_addr(), orig);
  e.mutable_id()->set_orig_port(op);
  SetAddr(e.mutable_id()->mutable_resp_addr(), resp);
  e.mutable_id()->set_resp_port(rp);
  e.mutable_id()->set_transport(t);
  e.mutable_id()->set_ip_proto(ip_proto);
  return e;
}

EventOrigin Origin() {
  EventOrigin o;
  o.agent_id = "agent-7";
  o.agency = "finance";
  o.sequence = 12;
  o.received_ns = 99;
  return o;
}

void ExpectSame(const vigil::v1::Event& proto, const std::string& json) {
  auto a = EventFromProto(proto, Origin());
  ASSERT_TRUE(a) << a.error().message;
  auto b = EventFromJson(json, Origin());
  ASSERT_TRUE(b) << b.error().message;
  EXPECT_EQ(a->ToJson(), b->ToJson());
  EXPECT_TRUE(*a == *b);
  // Rendering and reading back is lossless.
  auto c = EventFromJson(a->ToJson(), Origin());
  ASSERT_TRUE(c);
  EXPECT_TRUE(*c == *a) << a->ToJson() << "\n" << c->ToJson();
}

TEST(Adapters, ConnFromProtoAndJsonAreIdentical) {
  auto e = Envelope("10.0.0.1", 51000, "2001:db8::1", 443, vigil::v1::TRANSPORT_TCP, 6);
  auto* f = e.mutable_flow();
  f->add_services("ssl");
  f->add_services("http");
  f->mutable_duration()->set_seconds(2);
  f->mutable_duration()->set_nanos(500000000);
  f->mutable_totals()->set_orig_bytes(100);
  f->mutable_totals()->set_resp_bytes(2000);
  f->mutable_totals()->set_orig_pkts(5);
  f->mutable_totals()->set_orig_ip_bytes(400);
  f->mutable_totals()->set_resp_pkts(6);
  f->mutable_totals()->set_resp_ip_bytes(2400);
  f->set_conn_state(vigil::v1::CONN_STATE_SF);
  f->set_history("ShADadFf");
  f->add_vlans(100);
  f->add_vlans(7);
  f->set_community_id("1:abc=");
  f->set_end_reason(vigil::v1::END_REASON_CLOSED);
  f->set_local_orig(true);
  ExpectSame(
      e,
      R"({"_path":"conn","ts":1700000000.123457,"uid":"CHhAvVGS1DHFjwGM9","id.orig_h":"10.0.0.1","id.orig_p":51000,)"
      R"("id.resp_h":"2001:db8::1","id.resp_p":443,"proto":"tcp","service":"ssl,http","duration":2.5,"orig_bytes":100,)"
      R"("resp_bytes":2000,"conn_state":"SF","local_orig":true,"local_resp":false,"missed_bytes":0,"history":"ShADadFf",)"
      R"("orig_pkts":5,"orig_ip_bytes":400,"resp_pkts":6,"resp_ip_bytes":2400,"ip_proto":6,"vlan":100,"inner_vlan":7,)"
      R"("community_id":"1:abc=","end_reason":"closed"})");
}

TEST(Adapters, ConnWithoutDurationOmitsTheByteCounts) {
  auto e = Envelope("10.0.0.1", 51000, "10.0.0.2", 80, vigil::v1::TRANSPORT_TCP, 6);
  auto* f = e.mutable_flow();
  f->mutable_totals()->set_orig_pkts(1);
  f->mutable_totals()->set_orig_ip_bytes(60);
  f->set_conn_state(vigil::v1::CONN_STATE_S0);
  f->set_history("S");
  auto ev = EventFromProto(e, {});
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->Find("duration"), nullptr);
  EXPECT_EQ(ev->Find("orig_bytes"), nullptr);
  ExpectSame(
      e,
      R"({"_path":"conn","ts":1700000000.123457,"uid":"CHhAvVGS1DHFjwGM9","id.orig_h":"10.0.0.1","id.orig_p":51000,)"
      R"("id.resp_h":"10.0.0.2","id.resp_p":80,"proto":"tcp","conn_state":"S0","local_orig":false,"local_resp":false,)"
      R"("missed_bytes":0,"history":"S","orig_pkts":1,"orig_ip_bytes":60,"resp_pkts":0,"resp_ip_bytes":0,"ip_proto":6})");
}

TEST(Adapters, InterimConnCarriesDeltas) {
  auto e = Envelope("10.0.0.1", 51000, "10.0.0.2", 80, vigil::v1::TRANSPORT_UDP, 17);
  auto* f = e.mutable_flow();
  f->mutable_duration()->set_seconds(60);
  f->mutable_totals()->set_orig_bytes(5000);
  f->mutable_delta()->set_orig_bytes(1000);
  f->set_interim(true);
  f->set_end_reason(vigil::v1::END_REASON_ACTIVE_TIMEOUT);
  ExpectSame(
      e,
      R"({"_path":"conn","ts":1700000000.123457,"uid":"CHhAvVGS1DHFjwGM9","id.orig_h":"10.0.0.1","id.orig_p":51000,)"
      R"("id.resp_h":"10.0.0.2","id.resp_p":80,"proto":"udp","duration":60,"orig_bytes":5000,"resp_bytes":0,)"
      R"("local_orig":false,"local_resp":false,"missed_bytes":0,"orig_pkts":0,"orig_ip_bytes":0,"resp_pkts":0,)"
      R"("resp_ip_bytes":0,"ip_proto":17,"end_reason":"active_timeout","interim":true,"delta_orig_bytes":1000,)"
      R"("delta_resp_bytes":0,"delta_orig_pkts":0,"delta_orig_ip_bytes":0,"delta_resp_pkts":0,"delta_resp_ip_bytes":0})");
}

TEST(Adapters, DnsFromProtoAndJsonAreIdentical) {
  auto e = Envelope("10.0.0.1", 5353, "10.0.0.53", 53, vigil::v1::TRANSPORT_UDP, 17);
  auto* d = e.mutable_dns();
  d->set_transport(vigil::v1::TRANSPORT_UDP);
  d->set_trans_id(4242);
  d->mutable_rtt()->set_nanos(1500000);
  d->set_query("www.example.com");
  d->set_qclass(1);
  d->set_qtype(28);
  d->set_rcode(3);
  d->set_rd(true);
  d->add_answers("2001:db8::5");
  d->add_ttls()->set_seconds(300);
  d->set_rejected(true);
  ExpectSame(
      e,
      R"({"_path":"dns","ts":1700000000.123457,"uid":"CHhAvVGS1DHFjwGM9","id.orig_h":"10.0.0.1","id.orig_p":5353,)"
      R"("id.resp_h":"10.0.0.53","id.resp_p":53,"proto":"udp","trans_id":4242,"rtt":0.0015,"query":"www.example.com",)"
      R"("qclass":1,"qclass_name":"C_INTERNET","qtype":28,"qtype_name":"AAAA","rcode":3,"rcode_name":"NXDOMAIN",)"
      R"("AA":false,"TC":false,"RD":true,"RA":false,"Z":0,"answers":["2001:db8::5"],"TTLs":[300.0],"rejected":true})");
}

TEST(Adapters, SslFromProtoAndJsonAreIdentical) {
  auto e = Envelope("10.0.0.1", 51000, "198.51.100.7", 443, vigil::v1::TRANSPORT_TCP, 6);
  auto* t = e.mutable_tls();
  t->set_version(0x0304);
  t->set_cipher(0x1301);
  t->set_curve(29);
  t->set_server_name("portal.gov.example");
  t->set_next_protocol("h2");
  t->set_established(true);
  t->set_ssl_history("CsxknGIi");
  t->set_ja3("0123456789abcdef0123456789abcdef");
  t->set_ja4("t13d1516h2_8daaf6152771_b0da82dd1658");
  t->add_client_alpn("h2");
  t->add_client_alpn("http/1.1");
  ExpectSame(
      e,
      R"({"_path":"ssl","ts":1700000000.123457,"uid":"CHhAvVGS1DHFjwGM9","id.orig_h":"10.0.0.1","id.orig_p":51000,)"
      R"("id.resp_h":"198.51.100.7","id.resp_p":443,"version":"TLSv13","cipher":"TLS_AES_128_GCM_SHA256",)"
      R"("curve":"x25519","server_name":"portal.gov.example","resumed":false,"next_protocol":"h2","established":true,)"
      R"("ssl_history":"CsxknGIi","ja3":"0123456789abcdef0123456789abcdef","ja4":"t13d1516h2_8daaf6152771_b0da82dd1658",)"
      R"("client_alpn":["h2","http/1.1"]})");
}

TEST(Adapters, HttpFromProtoAndJsonAreIdentical) {
  auto e = Envelope("10.0.0.1", 51000, "10.0.0.80", 80, vigil::v1::TRANSPORT_TCP, 6);
  auto* h = e.mutable_http();
  h->set_trans_depth(1);
  h->set_method("GET");
  h->set_host("portal.gov.example");
  h->set_uri("/a/b.php?x=1");
  h->set_version("1.1");
  h->set_user_agent("curl/8.0");
  h->set_request_body_len(0);
  h->set_response_body_len(512);
  h->set_status_code(200);
  h->set_status_msg("OK");
  h->set_username("alice");
  h->add_resp_mime_types("text/html");
  ExpectSame(
      e,
      R"({"_path":"http","ts":1700000000.123457,"uid":"CHhAvVGS1DHFjwGM9","id.orig_h":"10.0.0.1","id.orig_p":51000,)"
      R"("id.resp_h":"10.0.0.80","id.resp_p":80,"trans_depth":1,"method":"GET","host":"portal.gov.example",)"
      R"("uri":"/a/b.php?x=1","version":"1.1","user_agent":"curl/8.0","request_body_len":0,"response_body_len":512,)"
      R"("status_code":200,"status_msg":"OK","username":"alice","resp_mime_types":["text/html"]})");
}

TEST(Adapters, OriginSetsTheCollectorFields) {
  auto e = EventFromJson(R"({"_path":"dns","ts":1,"query":"x"})", Origin());
  ASSERT_TRUE(e);
  ASSERT_NE(e->Find("vigil.agent"), nullptr);
  EXPECT_EQ(e->Find("vigil.agent")->string_value(), "agent-7");
  EXPECT_EQ(e->Find("vigil.agency")->string_value(), "finance");
  EXPECT_EQ(e->origin().sequence, 12u);
}

TEST(Adapters, BadRecordsAreNamedErrors) {
  vigil::v1::Event empty;
  auto a = EventFromProto(empty, {});
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().code, "record_without_payload");
  auto bad_addr = Envelope("10.0.0.1", 1, "10.0.0.2", 2, vigil::v1::TRANSPORT_TCP, 6);
  bad_addr.mutable_id()->set_orig_addr("abc");
  bad_addr.mutable_flow();
  EXPECT_EQ(EventFromProto(bad_addr, {}).error().code, "bad_address_length");
  EXPECT_EQ(EventFromJson(R"({"ts":1})", {}).error().code, "missing_path");
  EXPECT_EQ(EventFromJson(R"({"_path":"smb_files","ts":1})", {}).error().code, "unsupported_log");
  EXPECT_EQ(EventFromJson(R"({"_path":"dns",)", {}).error().code, "json_unexpected_end");
  auto no_path = EventFromJson(R"({"ts":1,"query":"x"})", {}, LogType::kDns);
  EXPECT_TRUE(no_path);
}

TEST(Adapters, TypeMismatchesAndUnknownFieldsAreKeptAndCounted) {
  JsonAdapterStats stats;
  auto e = EventFromJson(R"({"_path":"conn","ts":1,"id.resp_p":"https","new_field":[1,2]})", {},
                         std::nullopt, &stats);
  ASSERT_TRUE(e);
  EXPECT_EQ(stats.type_mismatches, 1u);
  EXPECT_EQ(stats.unknown_fields, 1u);
  EXPECT_EQ(e->Find("id.resp_p")->string_value(), "https");
  ASSERT_NE(e->Find("new_field"), nullptr);
  EXPECT_NE(e->ToJson().find("\"new_field\":[1,2]"), std::string::npos);
}

TEST(PublicSuffix, RegisteredDomainsWithWildcardsAndExceptions) {
  const auto psl = PublicSuffixList::Parse(
      "// comment\ncom\nuk\nco.uk\n*.ck\n!www.ck\n\n// private\nblogspot.com\n");
  auto split = psl.SplitName("a.b.example.co.uk");
  EXPECT_EQ(split.public_suffix, "co.uk");
  EXPECT_EQ(split.registered_domain, "example.co.uk");
  EXPECT_EQ(split.subdomain, "a.b");
  EXPECT_EQ(psl.SplitName("x.y.ck").registered_domain, "x.y.ck");  // *.ck: y.ck is a suffix
  EXPECT_EQ(psl.SplitName("www.ck").registered_domain, "www.ck");  // !www.ck
  EXPECT_EQ(psl.SplitName("me.blogspot.com").registered_domain, "me.blogspot.com");
  EXPECT_EQ(psl.SplitName("co.uk").registered_domain, "");
  EXPECT_EQ(psl.SplitName("host.unknowntld").registered_domain, "host.unknowntld");  // implicit *
  EXPECT_EQ(psl.SplitName("a..b").public_suffix, "");
}

TEST(PublicSuffix, DebianListWhenInstalled) {
  std::ifstream in("/usr/share/publicsuffix/public_suffix_list.dat");
  if (!in) GTEST_SKIP() << "publicsuffix package not installed (scripts/bootstrap installs it)";
  const auto psl = PublicSuffixList::Parse(std::string(std::istreambuf_iterator<char>(in), {}));
  EXPECT_GT(psl.rule_count(), 5000u);
  EXPECT_EQ(psl.SplitName("update.malware-c2.example").registered_domain, "malware-c2.example");
  EXPECT_EQ(psl.SplitName("www.gov.uk").registered_domain, "www.gov.uk");
  EXPECT_EQ(psl.SplitName("a.b.bbc.co.uk").registered_domain, "bbc.co.uk");
}

Value Derived(DerivedField f, const std::string& json) {
  auto e = EventFromJson(json, {});
  EXPECT_TRUE(e) << json;
  return ComputeDerived(f, *e, PublicSuffixList::BuiltIn());
}

TEST(DerivedFields, DnsNameHeuristics) {
  const std::string q = R"({"_path":"dns","ts":1,"query":"aaaa.bbbbbbbb.Example.CO.UK."})";
  EXPECT_EQ(Derived(DerivedField::kQueryLength, q).int_value(), 28);
  EXPECT_EQ(Derived(DerivedField::kRegisteredDomain, q).string_value(), "example.co.uk");
  EXPECT_EQ(Derived(DerivedField::kPublicSuffix, q).string_value(), "co.uk");
  EXPECT_EQ(Derived(DerivedField::kSubdomain, q).string_value(), "aaaa.bbbbbbbb");
  EXPECT_EQ(Derived(DerivedField::kSubdomainLength, q).int_value(), 13);
  EXPECT_EQ(Derived(DerivedField::kLabelCount, q).int_value(), 5);
  EXPECT_EQ(Derived(DerivedField::kMaxLabelLength, q).int_value(), 8);
  EXPECT_NEAR(Derived(DerivedField::kDomainEntropy, q).double_value(), 2.5216, 1e-3);  // "example"
  EXPECT_FALSE(Derived(DerivedField::kQueryLength, R"({"_path":"dns","ts":1})").present());
}

TEST(DerivedFields, HttpUriParts) {
  const std::string h =
      R"({"_path":"http","ts":1,"host":"Portal.gov.example:8080","uri":"/dl/Setup.EXE?a=1&b=2#frag"})";
  EXPECT_EQ(Derived(DerivedField::kUriPath, h).string_value(), "/dl/Setup.EXE");
  EXPECT_EQ(Derived(DerivedField::kUriQuery, h).string_value(), "a=1&b=2");
  EXPECT_EQ(Derived(DerivedField::kUriExtension, h).string_value(), "EXE");
  EXPECT_EQ(Derived(DerivedField::kRegisteredDomain, h).string_value(), "gov.example");
  const std::string proxy = R"({"_path":"http","ts":1,"uri":"http://x.example/a.b/file?q"})";
  EXPECT_EQ(Derived(DerivedField::kUriPath, proxy).string_value(), "/a.b/file");
  EXPECT_FALSE(Derived(DerivedField::kUriExtension, proxy).present());
  EXPECT_FALSE(Derived(DerivedField::kUriQuery, R"({"_path":"http","ts":1,"uri":"/a"})").present());
  EXPECT_FALSE(
      Derived(DerivedField::kRegisteredDomain, R"({"_path":"http","ts":1,"host":"10.1.2.3"})")
          .present());
}

TEST(DerivedFields, FirewallActionFromConnState) {
  auto action = [](const std::string& fields) {
    return Derived(DerivedField::kAction, R"({"_path":"conn","ts":1,)" + fields + "}");
  };
  EXPECT_EQ(action(R"("proto":"tcp","conn_state":"REJ")").string_value(), "reject");
  EXPECT_EQ(action(R"("proto":"tcp","conn_state":"S0")").string_value(), "drop");
  EXPECT_EQ(action(R"("proto":"tcp","conn_state":"SF")").string_value(), "accept");
  EXPECT_EQ(action(R"("proto":"udp","conn_state":"SF","resp_pkts":1)").string_value(), "accept");
  EXPECT_FALSE(action(R"("proto":"udp","conn_state":"S0","resp_pkts":0)").present());
  EXPECT_TRUE(
      Derived(DerivedField::kBlocked, R"({"_path":"conn","ts":1,"proto":"tcp","conn_state":"REJ"})")
          .bool_value());
}

TEST(DerivedFields, NewBytesPreferDeltas) {
  EXPECT_EQ(Derived(DerivedField::kNewOrigBytes,
                    R"({"_path":"conn","ts":1,"orig_bytes":900,"delta_orig_bytes":100})")
                .int_value(),
            100);
  EXPECT_EQ(Derived(DerivedField::kNewOrigBytes, R"({"_path":"conn","ts":1,"orig_bytes":900})")
                .int_value(),
            900);
}

// Found by the zeek_view fuzzer under UBSan: a timestamp of 1.6e10 s
// overflowed int64 nanoseconds (signed overflow, undefined behaviour).
TEST(EventTime, AbsurdTimestampsSaturateInsteadOfOverflowing) {
  EXPECT_EQ(SecondsToNs(1591367999.305988), 1591367999305988000);
  EXPECT_EQ(SecondsToNs(-1.5), -1500000000);
  EXPECT_EQ(SecondsToNs(1.5658643712123456e10), 9'190'000'000'000'000'000);
  EXPECT_EQ(SecondsToNs(1e300), 9'190'000'000'000'000'000);
  EXPECT_EQ(SecondsToNs(-1e300), -9'190'000'000'000'000'000);
  EXPECT_EQ(SecondsToNs(std::numeric_limits<double>::quiet_NaN()), 0);
  auto e = EventFromJson(R"({"_path":"dns","ts":1e19,"query":"x"})", Origin());
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_EQ(e->time_ns(), 9'190'000'000'000'000'000);
  // Intervals and interval vectors (DNS TTLs) saturate the same way.
  auto d = EventFromJson(R"({"_path":"dns","ts":1,"rtt":-1e300,"TTLs":[1e300,2.5]})", Origin());
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_DOUBLE_EQ(d->Find("rtt")->number(), -9.19e9);
  ASSERT_EQ(d->Find("TTLs")->array().size(), 2u);
  EXPECT_DOUBLE_EQ(d->Find("TTLs")->array()[0].number(), 9.19e9);
  EXPECT_DOUBLE_EQ(d->Find("TTLs")->array()[1].number(), 2.5);
}

}  // namespace
}  // namespace vigil::collector::engine
