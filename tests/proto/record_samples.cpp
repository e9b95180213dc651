#include "tests/proto/record_samples.h"

#include <arpa/inet.h>

#include <cstdint>
#include <cstdlib>
#include <limits>

namespace vigil::test {
namespace {

using vigil::v1::Event;

void SetDuration(google::protobuf::Duration* d, int64_t seconds, int32_t nanos) {
  d->set_seconds(seconds);
  d->set_nanos(nanos);
}

void Totals(vigil::v1::FlowCounters* t, uint64_t base) {
  t->set_orig_bytes(base + 1);
  t->set_resp_bytes(base + 2);
  t->set_orig_pkts(base + 3);
  t->set_orig_ip_bytes(base + 4);
  t->set_resp_pkts(base + 5);
  t->set_resp_ip_bytes(base + 6);
  t->set_missed_bytes(base + 7);
}

Event ConnFull() {
  Event e = Envelope("10.0.0.1", 51000, "2001:db8::1", 443, vigil::v1::TRANSPORT_TCP, 6);
  auto* f = e.mutable_flow();
  f->add_services("ssl");
  f->add_services("http");
  SetDuration(f->mutable_duration(), 2, 500000000);
  Totals(f->mutable_totals(), 100);
  f->set_conn_state(vigil::v1::CONN_STATE_SF);
  f->set_history("ShADadFf");
  f->add_vlans(100);
  f->add_vlans(7);
  f->add_vlans(3);  // a third tag is not logged
  f->set_community_id("1:LQU9qZlK+B5F3KDmev6m5PMibrg=");
  f->set_end_reason(vigil::v1::END_REASON_CLOSED);
  f->set_local_orig(true);
  return e;
}

Event ConnZeroDurationIcmp6() {
  Event e =
      Envelope("2001:db8::1", 128, "fe80::c801:eff:fe88:8", 129, vigil::v1::TRANSPORT_ICMP, 58);
  auto* f = e.mutable_flow();
  SetDuration(f->mutable_duration(), 0, 0);  // set but zero: omitted with the byte counts
  f->mutable_totals()->set_orig_bytes(56);
  f->mutable_totals()->set_orig_pkts(1);
  f->mutable_totals()->set_orig_ip_bytes(104);
  f->set_conn_state(vigil::v1::CONN_STATE_OTH);
  f->set_end_reason(vigil::v1::END_REASON_SHUTDOWN);
  return e;
}

Event ConnInterim() {
  Event e = Envelope("192.168.1.20", 5353, "224.0.0.251", 5353, vigil::v1::TRANSPORT_UDP, 17);
  auto* f = e.mutable_flow();
  SetDuration(f->mutable_duration(), 60, 0);
  Totals(f->mutable_totals(), 5000);
  Totals(f->mutable_delta(), 10);
  f->set_conn_state(vigil::v1::CONN_STATE_S0);
  f->add_vlans(4094);
  f->add_tunnel_parents("CabcDEF1");
  f->add_tunnel_parents("CghiJKL2");
  f->set_interim(true);
  f->set_end_reason(vigil::v1::END_REASON_ACTIVE_TIMEOUT);
  f->set_local_orig(true);
  f->set_local_resp(true);
  return e;
}

Event ConnUnspecified() {
  // What a newer or older writer may send: no state, no reason, another
  // IP protocol, no uid.
  Event e = Envelope("198.51.100.1", 0, "198.51.100.2", 0, vigil::v1::TRANSPORT_OTHER, 47);
  e.clear_uid();
  auto* f = e.mutable_flow();
  f->set_conn_state(static_cast<vigil::v1::ConnState>(99));
  f->set_end_reason(vigil::v1::END_REASON_UNSPECIFIED);
  f->add_services("");  // an empty service still takes its place in the list
  f->add_services("gre");
  return e;
}

Event ConnEdgeValues() {
  // Counts past int64, a negative duration (omitted, as Zeek's `> 0secs`),
  // a duration that rounds to zero microseconds (omitted), IPv4-mapped and
  // IPv4-compatible IPv6 addresses.
  Event e = Envelope("::ffff:192.0.2.1", 65535, "::192.0.2.2", 1, vigil::v1::TRANSPORT_TCP, 6);
  e.mutable_ts()->set_seconds(-1);
  e.mutable_ts()->set_nanos(999999500);  // rounds up to 0.000000
  auto* f = e.mutable_flow();
  SetDuration(f->mutable_duration(), 0, 400);
  auto* t = f->mutable_totals();
  t->set_orig_bytes(std::numeric_limits<uint64_t>::max());
  t->set_orig_pkts(static_cast<uint64_t>(std::numeric_limits<int64_t>::max()));
  t->set_resp_pkts(static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) + 1);
  f->set_conn_state(vigil::v1::CONN_STATE_RSTOS0);
  f->set_history("^h\xff");  // not UTF-8: rendered as \xff
  f->set_end_reason(vigil::v1::END_REASON_EVICTED);
  return e;
}

Event ConnNegativeDuration() {
  Event e = Envelope("10.1.1.1", 40000, "10.1.1.2", 22, vigil::v1::TRANSPORT_TCP, 6);
  auto* f = e.mutable_flow();
  SetDuration(f->mutable_duration(), -1, -500);
  f->set_conn_state(vigil::v1::CONN_STATE_REJ);
  f->set_end_reason(vigil::v1::END_REASON_IDLE_TIMEOUT);
  return e;
}

Event DnsFull() {
  Event e = Envelope("10.0.0.1", 5353, "10.0.0.53", 53, vigil::v1::TRANSPORT_UDP, 17);
  auto* d = e.mutable_dns();
  d->set_transport(vigil::v1::TRANSPORT_UDP);
  d->set_trans_id(4242);
  SetDuration(d->mutable_rtt(), 0, 1500000);
  d->set_query("www.example.com");
  d->set_qclass(1);
  d->set_qtype(28);
  d->set_rcode(3);
  d->set_opcode(0);
  d->set_aa(true);
  d->set_tc(true);
  d->set_rd(true);
  d->set_ra(true);
  d->set_z(2);
  d->add_answers("www.cdn.example.com");
  d->add_answers("2001:db8::5");
  SetDuration(d->add_ttls(), 300, 0);
  SetDuration(d->add_ttls(), 59, 999999600);  // 60 after rounding
  d->set_rejected(true);
  return e;
}

Event DnsUnknownNames() {
  Event e = Envelope("10.0.0.1", 40001, "10.0.0.53", 53, vigil::v1::TRANSPORT_TCP, 6);
  auto* d = e.mutable_dns();
  d->set_transport(vigil::v1::TRANSPORT_TCP);
  d->set_trans_id(65535);
  d->set_query("weird.example");
  d->set_qclass(77);
  d->set_qtype(65000);
  d->set_rcode(99);
  d->set_opcode(9);
  return e;
}

Event DnsNetbios() {
  Event e = Envelope("192.168.1.5", 137, "192.168.1.255", 137, vigil::v1::TRANSPORT_UDP, 17);
  auto* d = e.mutable_dns();
  d->set_transport(vigil::v1::TRANSPORT_UDP);
  d->set_trans_id(7);
  d->set_query("WORKGROUP");
  d->set_qclass(1);
  d->set_qtype(33);  // NBSTAT on NetBIOS name service
  d->set_rcode(8);   // Zeek spells it NXRRSet
  d->set_opcode(5);
  return e;
}

Event DnsQueryOnly() {
  // A query never answered: no rtt, rcode, answers; transport left unset.
  Event e = Envelope("10.0.0.9", 33333, "10.0.0.53", 53, vigil::v1::TRANSPORT_UDP, 17);
  auto* d = e.mutable_dns();
  d->set_trans_id(1);
  d->set_query("unanswered.example");
  d->set_qclass(255);
  d->set_qtype(255);
  return e;
}

Event DnsZeroRtt() {
  Event e = Envelope("10.0.0.9", 33334, "10.0.0.53", 53, vigil::v1::TRANSPORT_UDP, 17);
  auto* d = e.mutable_dns();
  d->set_transport(vigil::v1::TRANSPORT_UDP);
  d->set_trans_id(2);
  SetDuration(d->mutable_rtt(), 0, 0);  // Zeek deletes a zero rtt
  d->set_rcode(3842);                   // BADSIG, past the 4-bit header field via TSIG
  d->set_rejected(true);
  return e;
}

Event SslFull() {
  Event e = Envelope("10.0.0.1", 51000, "198.51.100.7", 443, vigil::v1::TRANSPORT_TCP, 6);
  auto* t = e.mutable_tls();
  t->set_version(0x0304);
  t->set_cipher(0x1301);
  t->set_curve(0x11ec);
  t->set_server_name("portal.gov.example");
  t->set_resumed(true);
  t->set_next_protocol("h2");
  t->set_established(true);
  t->set_ssl_history("CsiI");
  t->set_client_legacy_version(0x0303);
  t->add_client_supported_versions(0x0304);
  t->add_client_alpn("h2");
  t->add_client_alpn("http/1.1");
  t->set_ja3("0123456789abcdef0123456789abcdef");
  t->set_ja4("t13d1516h2_8daaf6152771_b0da82dd1658");
  t->set_server_supported_version(0x0304);
  return e;
}

Event SslUnknownValues() {
  Event e = Envelope("10.0.0.1", 51001, "198.51.100.8", 8443, vigil::v1::TRANSPORT_TCP, 6);
  auto* t = e.mutable_tls();
  t->set_version(0x7f17);  // TLS 1.3 draft 23
  t->set_cipher(0x4242);
  t->set_curve(0x0a0a);  // GREASE: Zeek has no name in these tables' era
  t->set_server_name("");
  t->set_ssl_history("Cs");
  return e;
}

Event SslClientOnly() {
  Event e = Envelope("10.0.0.1", 51002, "198.51.100.9", 443, vigil::v1::TRANSPORT_TCP, 6);
  auto* t = e.mutable_tls();
  t->set_server_name("only-client.example");
  t->set_ssl_history("C");
  t->set_ja3("ffffffffffffffffffffffffffffffff");
  return e;
}

Event HttpFull() {
  Event e = Envelope("10.0.0.1", 51000, "10.0.0.80", 80, vigil::v1::TRANSPORT_TCP, 6);
  auto* h = e.mutable_http();
  h->set_trans_depth(3);
  h->set_method("POST");
  h->set_host("portal.gov.example");
  h->set_uri("/a/b.php?x=1");
  h->set_referrer("https://portal.gov.example/");
  h->set_version("1.1");
  h->set_user_agent("curl/8.0");
  h->set_origin("https://portal.gov.example");
  h->set_request_body_len(1200);
  h->set_response_body_len(512);
  h->set_status_code(200);
  h->set_status_msg("OK");
  h->set_info_code(100);
  h->set_info_msg("Continue");
  h->set_username("alice");
  h->add_client_header_names("HOST");
  h->add_client_header_names("CONTENT-TYPE");
  h->add_orig_mime_types("application/x-www-form-urlencoded");
  h->add_resp_mime_types("text/html");
  h->add_resp_mime_types("image/png");
  return e;
}

Event HttpHostileText() {
  Event e = Envelope("10.0.0.1", 51003, "10.0.0.80", 80, vigil::v1::TRANSPORT_TCP, 6);
  auto* h = e.mutable_http();
  h->set_trans_depth(1);
  h->set_method("GET");
  // JSON specials, controls, DEL, a stray byte, valid UTF-8, an overlong
  // '/', an encoded surrogate and a NUL.
  static constexpr char kUri[] = "/a\"b\\c\n\r\t\x01\x7f\xff\xc3\xa9\xc0\xaf\xed\xa0\x80\0end";
  h->set_uri(std::string(kUri, sizeof(kUri) - 1));
  h->set_user_agent("\xf0\x9f\x98\x80 \xf4\x90\x80\x80");  // U+1F600, then past U+10FFFF
  h->set_status_msg("");
  h->add_resp_mime_types("");
  return e;
}

Event HttpMinimal() {
  Event e = Envelope("10.0.0.1", 51004, "10.0.0.80", 8080, vigil::v1::TRANSPORT_TCP, 6);
  e.mutable_http();  // every field unset
  return e;
}

}  // namespace

std::string AddressBytes(const char* text) {
  unsigned char buf[16];
  if (inet_pton(AF_INET, text, buf) == 1) return std::string(reinterpret_cast<char*>(buf), 4);
  if (inet_pton(AF_INET6, text, buf) == 1) return std::string(reinterpret_cast<char*>(buf), 16);
  std::abort();
}

vigil::v1::Event Envelope(const char* orig, uint32_t orig_port, const char* resp,
                          uint32_t resp_port, vigil::v1::Transport transport, uint32_t ip_proto) {
  vigil::v1::Event e;
  e.set_uid("CHhAvVGS1DHFjwGM9");
  e.mutable_ts()->set_seconds(1700000000);
  e.mutable_ts()->set_nanos(123456789);  // .123457
  auto* id = e.mutable_id();
  id->set_orig_addr(AddressBytes(orig));
  id->set_orig_port(orig_port);
  id->set_resp_addr(AddressBytes(resp));
  id->set_resp_port(resp_port);
  id->set_transport(transport);
  id->set_ip_proto(ip_proto);
  return e;
}

std::vector<RecordSample> RecordSamples() {
  return {
      {"conn_full", ConnFull()},
      {"conn_zero_duration_icmp6", ConnZeroDurationIcmp6()},
      {"conn_interim", ConnInterim()},
      {"conn_unspecified", ConnUnspecified()},
      {"conn_edge_values", ConnEdgeValues()},
      {"conn_negative_duration", ConnNegativeDuration()},
      {"dns_full", DnsFull()},
      {"dns_unknown_names", DnsUnknownNames()},
      {"dns_netbios", DnsNetbios()},
      {"dns_query_only", DnsQueryOnly()},
      {"dns_zero_rtt", DnsZeroRtt()},
      {"ssl_full", SslFull()},
      {"ssl_unknown_values", SslUnknownValues()},
      {"ssl_client_only", SslClientOnly()},
      {"http_full", HttpFull()},
      {"http_hostile_text", HttpHostileText()},
      {"http_minimal", HttpMinimal()},
  };
}

}  // namespace vigil::test
