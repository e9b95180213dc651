// Analyzer micro-benchmarks (Google Benchmark; built, never run by ctest):
// per-transaction cost of DNS, TLS and HTTP on the capture thread, body
// streaming throughput, the cost of rejecting a flow that is not the
// protocol, and the size of each analyzer object.
//
//   build-*/tests/agent/analyzers/vigil_agent_analyzers_bench

#include <benchmark/benchmark.h>

#include "agent/analyzers/dns/dns_analyzer.h"
#include "agent/analyzers/http/http_analyzer.h"
#include "agent/analyzers/registry.h"
#include "agent/analyzers/tls/tls_analyzer.h"
#include "tests/agent/analyzers/dns_builder.h"
#include "tests/agent/analyzers/tls_builder.h"

namespace {

using namespace vigil::agent::analyzers;
namespace tb = vigil::testing::tls;

class CountingContext final : public AnalyzerContext {
 public:
  void EmitRecord(vigil::v1::Event&& event) override {
    benchmark::DoNotOptimize(event);
    ++records;
  }
  void Anomaly(std::string_view) override { ++anomalies; }
  int64_t records = 0;
  int64_t anomalies = 0;
};

std::vector<uint8_t> AsBytes(std::string_view s) { return {s.begin(), s.end()}; }

void BM_DnsUdpPair(benchmark::State& state) {
  vigil::testing::DnsBuilder q(0x1234, vigil::testing::kQueryRd, 1, 0);
  q.Question("www.example.com", 1);
  vigil::testing::DnsBuilder r(0x1234, vigil::testing::kResponse | vigil::testing::kRa, 1, 3);
  r.Question("www.example.com", 1);
  r.Pointer(12).Rr(5, 300, {3, 'c', 'd', 'n', 0xc0, 12});
  r.Pointer(12).Rr(1, 60, {192, 0, 2, 1});
  r.Pointer(12).Rr(1, 60, {192, 0, 2, 2});
  CountingContext ctx;
  FlowInfo flow;
  flow.transport = vigil::v1::TRANSPORT_UDP;
  flow.resp_port = 53;
  dns::DnsAnalyzer analyzer(flow, ctx);
  int64_t ts = 0;
  for (auto _ : state) {
    analyzer.OnData(Direction::kOrig, q.bytes, ts += 1000);
    analyzer.OnData(Direction::kResp, r.bytes, ts += 1000);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["records"] = static_cast<double>(ctx.records);
}
BENCHMARK(BM_DnsUdpPair);

// One whole TLS 1.3 handshake (new analyzer per flow, JA3 + JA4 included).
void BM_TlsHandshake(benchmark::State& state) {
  const tb::Bytes hello = tb::HandshakeRecord(tb::Handshake(
      1, tb::ClientHelloBody(0x0303, tb::Bytes(32, 1),
                             {0x1a1a, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030,
                              0xcca9, 0xcca8, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035},
                             {tb::Sni("www.example.com"), tb::Groups({0x2a2a, 29, 23, 24}),
                              tb::PointFormats({0}), tb::Alpn({"h2", "http/1.1"}),
                              tb::SigAlgs({0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501}),
                              tb::Versions({0x0304, 0x0303}), tb::ClientKeyShare(29)})));
  const tb::Bytes server =
      tb::Cat({tb::HandshakeRecord(tb::Handshake(
                   2, tb::ServerHelloBody(0x0303, tb::Bytes(32, 1), 0x1301,
                                          {tb::ServerVersion(0x0304), tb::ServerKeyShare(29)}))),
               tb::Ccs(), tb::Encrypted(23, 2500)});
  const tb::Bytes client = tb::Cat({tb::Ccs(), tb::Encrypted(23, 60)});
  CountingContext ctx;
  for (auto _ : state) {
    tls::TlsAnalyzer analyzer(tls::TlsAnalyzer::Mode::kPort, ctx);
    analyzer.OnData(Direction::kOrig, hello, 1);
    analyzer.OnData(Direction::kResp, server, 2);
    analyzer.OnData(Direction::kOrig, client, 3);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["records"] = static_cast<double>(ctx.records);
}
BENCHMARK(BM_TlsHandshake);

// A keep-alive HTTP/1.1 transaction with a small body.
void BM_HttpTransaction(benchmark::State& state) {
  const auto request = AsBytes(
      "GET /index.html?id=42 HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: Mozilla/5.0 "
      "(X11; Linux x86_64)\r\nAccept: text/html\r\nAccept-Encoding: gzip\r\nCookie: a=b\r\n\r\n");
  const auto response = AsBytes(
      "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 64\r\n\r\n"
      "<html><body>0123456789012345678901234567890123456789</body></html>");
  CountingContext ctx;
  FlowInfo flow;
  flow.transport = vigil::v1::TRANSPORT_TCP;
  flow.resp_port = 80;
  http::HttpAnalyzer analyzer(http::HttpAnalyzer::Mode::kPort, flow, ctx);
  int64_t ts = 0;
  for (auto _ : state) {
    analyzer.OnData(Direction::kOrig, request, ts += 1000);
    analyzer.OnData(Direction::kResp, response, ts += 1000);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["records"] = static_cast<double>(ctx.records);
}
BENCHMARK(BM_HttpTransaction);

// Body bytes in 1460-byte segments (read until close): bytes per second.
void BM_HttpBodyStreaming(benchmark::State& state) {
  CountingContext ctx;
  FlowInfo flow;
  flow.transport = vigil::v1::TRANSPORT_TCP;
  flow.resp_port = 80;
  http::HttpAnalyzer analyzer(http::HttpAnalyzer::Mode::kPort, flow, ctx);
  analyzer.OnData(Direction::kOrig, AsBytes("GET /big HTTP/1.0\r\n\r\n"), 1);
  analyzer.OnData(Direction::kResp, AsBytes("HTTP/1.0 200 OK\r\n\r\n"), 2);
  const std::vector<uint8_t> segment(1460, 'x');
  for (auto _ : state) analyzer.OnData(Direction::kResp, segment, 3);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(segment.size()));
}
BENCHMARK(BM_HttpBodyStreaming);

// A non-HTTP, non-TLS flow on port 443: the cost of asking the candidates.
void BM_RejectForeignFlow(benchmark::State& state) {
  const auto ssh = AsBytes("SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n");
  CountingContext ctx;
  FlowInfo flow;
  flow.transport = vigil::v1::TRANSPORT_TCP;
  flow.resp_port = 443;
  for (auto _ : state) {
    auto candidates = CreateCandidates(flow, ctx);
    for (auto& a : candidates) benchmark::DoNotOptimize(a->OnData(Direction::kOrig, ssh, 1));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RejectForeignFlow);

// A flow on an unrelated port with a first payload: nothing is allocated.
void BM_NoCandidates(benchmark::State& state) {
  const auto ssh = AsBytes("SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n");
  CountingContext ctx;
  FlowInfo flow;
  flow.transport = vigil::v1::TRANSPORT_TCP;
  flow.resp_port = 22;
  flow.first_payload = ssh;
  for (auto _ : state) benchmark::DoNotOptimize(CreateCandidates(flow, ctx));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_NoCandidates);

void BM_AnalyzerSizes(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(state.iterations());
  state.counters["dns_bytes"] = sizeof(dns::DnsAnalyzer);
  state.counters["tls_bytes"] = sizeof(tls::TlsAnalyzer);
  state.counters["http_bytes"] = sizeof(http::HttpAnalyzer);
}
BENCHMARK(BM_AnalyzerSizes)->Iterations(1);

}  // namespace

BENCHMARK_MAIN();
