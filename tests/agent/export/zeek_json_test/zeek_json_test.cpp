// The JSON lines writer: exact field names, units and omissions of
// docs/records.md for conn, dns, ssl and http records, strings that stay
// valid JSON whatever bytes they carry, and records without a Zeek view
// counted by reason. (Which fields appear is the Zeek view's, tested in
// tests/proto; these pin the JSON text.)

#include "agent/export/zeek_json.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace vigil::agent::exporter {
namespace {

v1::Event Header(bool ipv6 = false) {
  v1::Event e;
  e.set_uid("CHhAvVGS1DHFjwGM9");
  e.mutable_ts()->set_seconds(1690990955);
  e.mutable_ts()->set_nanos(944330123);
  auto* id = e.mutable_id();
  if (ipv6) {
    const uint8_t a[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    const uint8_t b[16] = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0xc8, 0x01, 0x0e, 0xff, 0xfe, 0x88, 0, 8};
    id->set_orig_addr(std::string(reinterpret_cast<const char*>(a), 16));
    id->set_resp_addr(std::string(reinterpret_cast<const char*>(b), 16));
  } else {
    id->set_orig_addr(std::string("\xa7\xdd\x1e\xb5", 4));
    id->set_resp_addr(std::string("\xd9\xcf\x9f\x3f", 4));
  }
  id->set_orig_port(59406);
  id->set_resp_port(27272);
  id->set_transport(v1::TRANSPORT_TCP);
  id->set_ip_proto(6);
  return e;
}

std::string Render(const v1::Event& e) {
  std::string out;
  EXPECT_TRUE(RenderZeekJson(e, out));
  return out;
}

TEST(ZeekJson, ConnRecordFieldsAndUnits) {
  v1::Event e = Header();
  auto* f = e.mutable_flow();
  f->add_services("http");
  f->mutable_duration()->set_seconds(10);
  f->mutable_duration()->set_nanos(914549000);
  auto* t = f->mutable_totals();
  t->set_orig_bytes(16);
  t->set_resp_bytes(191);
  t->set_orig_pkts(13);
  t->set_orig_ip_bytes(704);
  t->set_resp_pkts(12);
  t->set_resp_ip_bytes(823);
  f->set_conn_state(v1::CONN_STATE_SF);
  f->set_history("ShADadfF");
  f->set_community_id("1:Ozu0r2IedXlL2ckd+xbQHUf3ce4=");
  f->set_end_reason(v1::END_REASON_CLOSED);
  f->set_local_orig(true);
  EXPECT_EQ(Render(e),
            R"({"_path":"conn","ts":1690990955.944330,"uid":"CHhAvVGS1DHFjwGM9",)"
            R"("id.orig_h":"167.221.30.181","id.orig_p":59406,"id.resp_h":"217.207.159.63",)"
            R"("id.resp_p":27272,"proto":"tcp","service":"http","duration":10.914549,)"
            R"("orig_bytes":16,"resp_bytes":191,"conn_state":"SF","local_orig":true,)"
            R"("local_resp":false,"missed_bytes":0,"history":"ShADadfF","orig_pkts":13,)"
            R"("orig_ip_bytes":704,"resp_pkts":12,"resp_ip_bytes":823,"ip_proto":6,)"
            R"("community_id":"1:Ozu0r2IedXlL2ckd+xbQHUf3ce4=","end_reason":"closed"})");
}

TEST(ZeekJson, ZeroDurationOmitsDurationAndBytes) {
  v1::Event e = Header(/*ipv6=*/true);
  e.mutable_id()->set_transport(v1::TRANSPORT_ICMP);
  e.mutable_id()->set_ip_proto(58);
  auto* f = e.mutable_flow();
  f->mutable_totals()->set_orig_pkts(1);
  f->mutable_totals()->set_orig_ip_bytes(64);
  f->set_conn_state(v1::CONN_STATE_OTH);
  const std::string json = Render(e);
  EXPECT_NE(json.find(R"("id.orig_h":"2001:db8::1")"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("id.resp_h":"fe80::c801:eff:fe88:8")"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("proto":"icmp")"), std::string::npos);
  EXPECT_EQ(json.find("duration"), std::string::npos);
  EXPECT_EQ(json.find("orig_bytes"), std::string::npos);
  EXPECT_EQ(json.find("history"), std::string::npos);  // unset fields are omitted, never null
  EXPECT_EQ(json.find("service"), std::string::npos);
  EXPECT_EQ(json.find("null"), std::string::npos);
  EXPECT_NE(json.find(R"("orig_pkts":1)"), std::string::npos);
}

TEST(ZeekJson, InterimRecordsCarryDeltas) {
  v1::Event e = Header();
  auto* f = e.mutable_flow();
  f->set_interim(true);
  f->set_end_reason(v1::END_REASON_ACTIVE_TIMEOUT);
  f->add_vlans(10);
  f->add_vlans(20);
  f->add_tunnel_parents("CabcDEF");
  f->mutable_delta()->set_orig_bytes(5);
  f->mutable_delta()->set_resp_ip_bytes(40);
  const std::string json = Render(e);
  EXPECT_NE(json.find(R"("interim":true)"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("end_reason":"active_timeout")"), std::string::npos);
  EXPECT_NE(json.find(R"("vlan":10,"inner_vlan":20)"), std::string::npos);
  EXPECT_NE(json.find(R"("tunnel_parents":["CabcDEF"])"), std::string::npos);
  EXPECT_NE(json.find(R"("delta_orig_bytes":5,"delta_resp_bytes":0)"), std::string::npos);
  EXPECT_NE(json.find(R"("delta_resp_ip_bytes":40)"), std::string::npos);
}

TEST(ZeekJson, DnsRecordUsesZeekNames) {
  v1::Event e = Header();
  e.mutable_id()->set_transport(v1::TRANSPORT_UDP);
  e.mutable_id()->set_resp_port(53);
  auto* d = e.mutable_dns();
  d->set_transport(v1::TRANSPORT_UDP);
  d->set_trans_id(3903);
  d->mutable_rtt()->set_nanos(79300000);
  d->set_query("example.com");
  d->set_qclass(1);
  d->set_qtype(28);
  d->set_rcode(3);
  d->set_rd(true);
  d->add_answers("2001:db8::1");
  d->add_ttls()->set_seconds(300);
  d->set_rejected(true);
  const std::string json = Render(e);
  EXPECT_NE(json.find(R"("_path":"dns")"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("proto":"udp","trans_id":3903,"rtt":0.0793,"query":"example.com")"),
            std::string::npos)
      << json;
  EXPECT_NE(json.find(R"("qclass":1,"qclass_name":"C_INTERNET","qtype":28,"qtype_name":"AAAA")"),
            std::string::npos)
      << json;
  EXPECT_NE(json.find(R"("rcode":3,"rcode_name":"NXDOMAIN")"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("AA":false,"TC":false,"RD":true,"RA":false,"Z":0)"), std::string::npos);
  EXPECT_NE(json.find(R"("answers":["2001:db8::1"],"TTLs":[300],"rejected":true)"),
            std::string::npos)
      << json;
}

TEST(ZeekJson, SslAndHttpRecords) {
  v1::Event s = Header();
  auto* t = s.mutable_tls();
  t->set_version(0x0303);
  t->set_cipher(0xc02f);
  t->set_curve(29);
  t->set_server_name("www.example.org");
  t->set_established(true);
  t->set_ssl_history("CsxknGIti");
  t->add_client_alpn("h2");
  const std::string sj = Render(s);
  EXPECT_NE(sj.find(R"("_path":"ssl")"), std::string::npos);
  EXPECT_NE(sj.find(R"("version":"TLSv12","cipher":"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")"),
            std::string::npos)
      << sj;
  EXPECT_NE(sj.find(R"("curve":"x25519","server_name":"www.example.org","resumed":false)"),
            std::string::npos)
      << sj;
  EXPECT_NE(sj.find(R"("client_alpn":["h2"])"), std::string::npos);

  v1::Event h = Header();
  auto* r = h.mutable_http();
  r->set_trans_depth(1);
  r->set_method("GET");
  r->set_host("www.icir.org");
  r->set_uri("/");
  r->set_version("1.1");
  r->set_response_body_len(9130);
  r->set_status_code(200);
  r->set_status_msg("OK");
  r->add_resp_mime_types("text/html");
  EXPECT_NE(
      Render(h).find(R"("trans_depth":1,"method":"GET","host":"www.icir.org","uri":"/",)"
                     R"("version":"1.1","request_body_len":0,"response_body_len":9130,)"
                     R"("status_code":200,"status_msg":"OK","resp_mime_types":["text/html"]})"),
      std::string::npos)
      << Render(h);
}

TEST(ZeekJson, StringsStayValidJson) {
  v1::Event e = Header();
  auto* r = e.mutable_http();
  r->set_uri(std::string("/a\"b\\c\n\x01\xff\xc3\xa9", 11));
  const std::string json = Render(e);
  EXPECT_NE(json.find(R"("uri":"/a\"b\\c\n\u0001\\xff)"
                      "\xc3\xa9"
                      R"(")"),
            std::string::npos)
      << json;
}

TEST(ZeekJson, EventWithoutRecordIsCountedNotWritten) {
  std::FILE* out = std::tmpfile();
  ASSERT_NE(out, nullptr);
  ZeekJsonSink sink(out);
  sink.Emit(Header());
  v1::Event conn = Header();
  conn.mutable_flow()->set_conn_state(v1::CONN_STATE_S0);
  sink.Emit(std::move(conn));
  ASSERT_TRUE(sink.Flush(0));
  EXPECT_EQ(sink.stats().records_unrenderable, 1u);
  EXPECT_EQ(sink.stats().records_written, 1u);
  std::rewind(out);
  char buf[4096] = {};
  const size_t n = std::fread(buf, 1, sizeof(buf), out);
  std::fclose(out);
  const std::string text(buf, n);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1);
  EXPECT_EQ(text.rfind(R"({"_path":"conn")", 0), 0u);
}

TEST(ZeekJson, IntervalsTrimTimesKeepSixDecimals) {
  v1::Event e = Header();
  e.mutable_ts()->set_seconds(-2);
  e.mutable_ts()->set_nanos(-500000000);
  auto* d = e.mutable_dns();
  d->set_transport(v1::TRANSPORT_UDP);
  d->mutable_rtt()->set_seconds(1);
  d->add_ttls()->set_seconds(300);
  auto* ttl = d->add_ttls();
  ttl->set_seconds(59);
  ttl->set_nanos(999999600);  // rounds to 60
  d->add_ttls()->set_nanos(1000);
  d->add_answers("a");
  const std::string json = Render(e);
  EXPECT_NE(json.find(R"("ts":-2.500000,)"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("rtt":1,)"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("TTLs":[300,60,0.000001])"), std::string::npos) << json;
}

TEST(ZeekJson, UnknownConnStateIsOmittedNotGuessed) {
  v1::Event e = Header();
  e.mutable_flow()->set_conn_state(v1::CONN_STATE_UNSPECIFIED);
  const std::string json = Render(e);
  EXPECT_EQ(json.find("conn_state"), std::string::npos) << json;
  EXPECT_EQ(json.find("end_reason"), std::string::npos) << json;
}

TEST(ZeekJson, HttpClientHeaderNames) {
  v1::Event h = Header();
  auto* r = h.mutable_http();
  r->set_trans_depth(2);
  r->add_client_header_names("HOST");
  r->add_client_header_names("AUTHORIZATION");
  EXPECT_NE(
      Render(h).find(R"("response_body_len":0,"client_header_names":["HOST","AUTHORIZATION"]})"),
      std::string::npos)
      << Render(h);
}

TEST(ZeekJson, RecordsWithoutAViewAreCountedByReason) {
  std::FILE* out = std::tmpfile();
  ASSERT_NE(out, nullptr);
  ZeekJsonSink sink(out);
  v1::Event bad = Header();
  bad.mutable_id()->set_orig_addr("abc");
  bad.mutable_tls();
  sink.Emit(std::move(bad));
  sink.Emit(Header());  // no record
  ASSERT_TRUE(sink.Flush(0));
  EXPECT_EQ(sink.stats().records_bad_address, 1u);
  EXPECT_EQ(sink.stats().records_without_payload, 1u);
  EXPECT_EQ(sink.stats().records_unrenderable, 2u);
  EXPECT_EQ(sink.stats().records_written, 0u);
  EXPECT_EQ(std::ftell(out), 0);
  std::fclose(out);
  std::string line = "kept";
  v1::Event no_record = Header();
  EXPECT_FALSE(RenderZeekJson(no_record, line));
  EXPECT_EQ(line, "kept");
}

TEST(ZeekJson, FailedWritesAreCounted) {
  std::FILE* read_only = std::fopen("/dev/null", "r");
  ASSERT_NE(read_only, nullptr);
  ZeekJsonSink sink(read_only);
  v1::Event conn = Header();
  conn.mutable_flow()->set_conn_state(v1::CONN_STATE_S0);
  sink.Emit(std::move(conn));
  EXPECT_EQ(sink.stats().write_errors, 1u);
  EXPECT_EQ(sink.stats().records_written, 0u);
  std::fclose(read_only);
}

}  // namespace
}  // namespace vigil::agent::exporter
