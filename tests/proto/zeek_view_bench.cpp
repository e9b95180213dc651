// Cost of the two Zeek views of a wire record: the agent's JSON line
// (RenderZeekJson, on the capture thread's hot path) and the collector's
// rule event (EventFromProto, on the pipeline thread). One representative
// record of each kind; items/s is records per second. Built, never run by
// ctest:
//   <build>/tests/proto/vigil_zeek_view_bench --benchmark_repetitions=5

#include <benchmark/benchmark.h>

#include <string>

#include "agent/export/zeek_json.h"
#include "collector/engine/event_proto.h"
#include "vigil/v1/records.pb.h"

namespace {

void Envelope(vigil::v1::Event& e, bool ipv6) {
  e.set_uid("CHhAvVGS1DHFjwGM9");
  e.mutable_ts()->set_seconds(1700000000);
  e.mutable_ts()->set_nanos(123456789);
  auto* id = e.mutable_id();
  if (ipv6) {
    id->set_orig_addr(
        std::string("\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01", 16));
    id->set_resp_addr(
        std::string("\x26\x06\x47\x00\x00\x00\x00\x00\x00\x00\x00\x00\x68\x12\x1a\x2b", 16));
  } else {
    id->set_orig_addr(std::string("\x0a\x01\x02\x03", 4));
    id->set_resp_addr(std::string("\xc6\x33\x64\x07", 4));
  }
  id->set_orig_port(51000);
  id->set_resp_port(443);
  id->set_transport(vigil::v1::TRANSPORT_TCP);
  id->set_ip_proto(6);
}

vigil::v1::Event Conn() {
  vigil::v1::Event e;
  Envelope(e, false);
  auto* f = e.mutable_flow();
  f->add_services("ssl");
  f->mutable_duration()->set_seconds(12);
  f->mutable_duration()->set_nanos(345678000);
  auto* t = f->mutable_totals();
  t->set_orig_bytes(1834);
  t->set_resp_bytes(48211);
  t->set_orig_pkts(21);
  t->set_orig_ip_bytes(2926);
  t->set_resp_pkts(40);
  t->set_resp_ip_bytes(50291);
  f->set_conn_state(vigil::v1::CONN_STATE_SF);
  f->set_history("ShADadFf");
  f->set_community_id("1:LQU9qZlK+B5F3KDmev6m5PMibrg=");
  f->set_end_reason(vigil::v1::END_REASON_CLOSED);
  f->set_local_orig(true);
  return e;
}

vigil::v1::Event Dns() {
  vigil::v1::Event e;
  Envelope(e, false);
  e.mutable_id()->set_transport(vigil::v1::TRANSPORT_UDP);
  e.mutable_id()->set_ip_proto(17);
  e.mutable_id()->set_resp_port(53);
  auto* d = e.mutable_dns();
  d->set_transport(vigil::v1::TRANSPORT_UDP);
  d->set_trans_id(4242);
  d->mutable_rtt()->set_nanos(23456000);
  d->set_query("www.portal.gov.example");
  d->set_qclass(1);
  d->set_qtype(1);
  d->set_rcode(0);
  d->set_rd(true);
  d->set_ra(true);
  d->add_answers("portal-lb.gov.example");
  d->add_answers("198.51.100.7");
  d->add_answers("198.51.100.8");
  for (int i = 0; i < 3; ++i) d->add_ttls()->set_seconds(300);
  return e;
}

vigil::v1::Event Ssl() {
  vigil::v1::Event e;
  Envelope(e, true);
  auto* t = e.mutable_tls();
  t->set_version(0x0304);
  t->set_cipher(0x1301);
  t->set_curve(0x11ec);
  t->set_server_name("portal.gov.example");
  t->set_next_protocol("h2");
  t->set_established(true);
  t->set_ssl_history("CsiI");
  t->set_ja3("0123456789abcdef0123456789abcdef");
  t->set_ja4("t13d1516h2_8daaf6152771_b0da82dd1658");
  t->add_client_alpn("h2");
  t->add_client_alpn("http/1.1");
  return e;
}

vigil::v1::Event Http() {
  vigil::v1::Event e;
  Envelope(e, false);
  e.mutable_id()->set_resp_port(80);
  auto* h = e.mutable_http();
  h->set_trans_depth(1);
  h->set_method("GET");
  h->set_host("portal.gov.example");
  h->set_uri("/services/permits/search?q=building&page=2");
  h->set_version("1.1");
  h->set_user_agent("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36");
  h->set_request_body_len(0);
  h->set_response_body_len(18234);
  h->set_status_code(200);
  h->set_status_msg("OK");
  h->add_resp_mime_types("text/html");
  h->add_client_header_names("HOST");
  h->add_client_header_names("USER-AGENT");
  return e;
}

vigil::v1::Event Record(int64_t kind) {
  switch (kind) {
    case 0:
      return Conn();
    case 1:
      return Dns();
    case 2:
      return Ssl();
    default:
      return Http();
  }
}

const char* Kind(int64_t kind) {
  static const char* const kNames[] = {"conn", "dns", "ssl", "http"};
  return kNames[kind];
}

void BM_RenderZeekJson(benchmark::State& state) {
  const vigil::v1::Event event = Record(state.range(0));
  std::string line;
  line.reserve(1024);
  for (auto _ : state) {
    line.clear();
    benchmark::DoNotOptimize(vigil::agent::exporter::RenderZeekJson(event, line));
    benchmark::DoNotOptimize(line.data());
  }
  state.SetLabel(Kind(state.range(0)));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RenderZeekJson)->DenseRange(0, 3);

void BM_EventFromProto(benchmark::State& state) {
  const vigil::v1::Event event = Record(state.range(0));
  vigil::collector::engine::EventOrigin origin;
  origin.agent_id = "agent-7";
  origin.agency = "finance";
  for (auto _ : state) {
    auto e = vigil::collector::engine::EventFromProto(event, origin);
    benchmark::DoNotOptimize(e);
  }
  state.SetLabel(Kind(state.range(0)));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EventFromProto)->DenseRange(0, 3);

}  // namespace

BENCHMARK_MAIN();
