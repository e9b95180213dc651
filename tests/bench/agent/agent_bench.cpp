// Agent throughput and memory (Google Benchmark; built, not run by ctest).
//
//   BM_BareLibpcapLoop      pcap_next_ex over the capture, touching every
//                           packet: the ceiling
//   BM_AgentPipeline        the agent's packet path on the same capture
//                           (agent/app Pipeline: batched file source,
//                           decoder, flow table with or without all
//                           analyzers), records to a null sink
//   BM_IdleTcpFlowMemory    memory per established idle TCP flow: heap
//                           plus the table's own mappings, and RSS
//   BM_SynFlood             RSS while 1M distinct sources send a SYN each
//                           into a table capped at --flood_cap flows
//
// Each throughput benchmark runs on two captures (mix:0 "uniform", the first
// benchmark's mix, and mix:1 "agency", a model of an agency uplink built
// from published flow statistics; see traffic_generator.h), generated once
// into $TMPDIR/vigil-bench-<mix>-1.pcap. The ratio the issue targets is
// BM_AgentPipeline/mix:N/analyzers:1 over BM_BareLibpcapLoop/mix:N.
//
// Run (Release build):  build-perf-rel/tests/bench/agent/vigil_agent_bench

#include <benchmark/benchmark.h>
#include <malloc.h>
#ifdef VIGIL_BENCH_JEMALLOC
#include <jemalloc/jemalloc.h>
#endif
#include <pcap/pcap.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "agent/analyzers/registry.h"
#include "agent/app/pipeline.h"
#include "agent/capture/pcap_sources.h"
#include "agent/decode/decoder.h"
#include "agent/export/record_sink.h"
#include "agent/flow/flow_table.h"
#include "tests/bench/agent/traffic_generator.h"
#include "tests/support/packet_builder.h"

namespace {

namespace fs = std::filesystem;
using namespace vigil;

class NullSink final : public agent::exporter::RecordSink {
 public:
  void Emit(v1::Event&& e) override {
    ++records;
    benchmark::DoNotOptimize(e);
  }
  uint64_t records = 0;
};

// The benchmark captures, generated once per mix and seed into $TMPDIR.
enum Mix : int64_t { kUniformMix = 0, kAgencyMix = 1 };
constexpr const char* kMixNames[] = {"uniform", "agency"};

const std::string& Capture(int64_t mix) {
  static std::string paths[2];
  std::string& path = paths[mix];
  if (!path.empty()) return path;
  const fs::path p =
      fs::temp_directory_path() / (std::string("vigil-bench-") + kMixNames[mix] + "-1.pcap");
  if (!fs::exists(p)) {
    const std::string tmp = p.string() + ".tmp";
    const bench::TrafficSummary s = mix == kUniformMix
                                        ? bench::WriteMixedCapture(tmp, bench::TrafficSpec{})
                                        : bench::WriteAgencyCapture(tmp, bench::AgencySpec{});
    fs::rename(tmp, p);
    std::fprintf(
        stderr,
        "generated %s: %llu packets (%llu TCP), %llu bytes (%.0f per frame), %llu "
        "flows (%llu TCP, %.1f packets per TCP flow), %llu conversations in progress "
        "at once\n",
        p.c_str(), static_cast<unsigned long long>(s.packets),
        static_cast<unsigned long long>(s.tcp_packets), static_cast<unsigned long long>(s.bytes),
        static_cast<double>(s.bytes) / static_cast<double>(s.packets),
        static_cast<unsigned long long>(s.flows), static_cast<unsigned long long>(s.tcp_flows),
        s.tcp_flows ? static_cast<double>(s.tcp_packets) / s.tcp_flows : 0.0,
        static_cast<unsigned long long>(s.peak_open));
  }
  path = p.string();
  return path;
}

uint64_t RssBytes() {
  std::ifstream in("/proc/self/statm");
  uint64_t size = 0, resident = 0;
  in >> size >> resident;
  return resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

// Bytes the allocator handed out (the flow table's own huge-page mappings
// are not among them: see FlowTable::MappedBytesInUse()).
uint64_t HeapInUse() {
#ifdef VIGIL_BENCH_JEMALLOC
  // jemalloc's statistics are a snapshot refreshed by writing "epoch".
  uint64_t epoch = 1;
  size_t len = sizeof(epoch);
  mallctl("epoch", &epoch, &len, &epoch, len);
  size_t allocated = 0;
  len = sizeof(allocated);
  if (mallctl("stats.allocated", &allocated, &len, nullptr, 0) != 0) return 0;
  return allocated;
#else
  // glibc: small chunks plus mmap()ed large blocks.
  const struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd;
#endif
}

void BM_BareLibpcapLoop(benchmark::State& state) {
  const std::string& capture = Capture(state.range(0));
  uint64_t packets = 0, bytes = 0;
  for (auto _ : state) {
    char err[PCAP_ERRBUF_SIZE];
    pcap_t* p = pcap_open_offline(capture.c_str(), err);
    pcap_pkthdr* h;
    const u_char* d;
    uint64_t sum = 0;
    while (pcap_next_ex(p, &h, &d) == 1) {
      sum += d[h->caplen - 1];
      ++packets;
      bytes += h->len;
    }
    benchmark::DoNotOptimize(sum);
    pcap_close(p);
  }
  state.counters["pkts/s"] =
      benchmark::Counter(static_cast<double>(packets), benchmark::Counter::kIsRate);
  state.counters["bytes/s"] =
      benchmark::Counter(static_cast<double>(bytes), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_BareLibpcapLoop)
    ->Arg(kUniformMix)
    ->Arg(kAgencyMix)
    ->ArgName("mix")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// The agent's capture stage alone: batched reads that copy each packet
// (what the pipeline pays before decoding), to attribute costs.
void BM_BatchedRead(benchmark::State& state) {
  const std::string& capture = Capture(state.range(0));
  uint64_t packets = 0;
  for (auto _ : state) {
    auto source = agent::capture::OpenFileSource({capture, ""});
    agent::capture::PacketBatch batch;
    uint64_t sum = 0;
    while ((*source)->NextBatch(batch, 32) == agent::capture::ReadStatus::kPacket) {
      for (size_t i = 0; i < batch.size(); ++i) sum += batch[i].data.back();
      packets += batch.size();
    }
    benchmark::DoNotOptimize(sum);
  }
  state.counters["pkts/s"] =
      benchmark::Counter(static_cast<double>(packets), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_BatchedRead)
    ->Arg(kUniformMix)
    ->Arg(kAgencyMix)
    ->ArgName("mix")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// Capture and decode only (no flow table): the next stage of the breakdown.
void BM_BatchedReadDecode(benchmark::State& state) {
  const std::string& capture = Capture(state.range(0));
  uint64_t packets = 0;
  for (auto _ : state) {
    auto source = agent::capture::OpenFileSource({capture, ""});
    agent::capture::PacketBatch batch;
    agent::decode::Decoder decoder;
    agent::decode::DecodedPacket pkt;
    uint64_t layers = 0;
    const int link = (*source)->LinkType();
    while ((*source)->NextBatch(batch, 32) == agent::capture::ReadStatus::kPacket) {
      for (size_t i = 0; i < batch.size(); ++i) {
        const agent::capture::Packet raw = batch[i];
        decoder.Decode(link, raw.ts_ns, raw.wire_len, raw.data, pkt);
        layers += pkt.layer_count;
      }
      packets += batch.size();
    }
    benchmark::DoNotOptimize(layers);
  }
  state.counters["pkts/s"] =
      benchmark::Counter(static_cast<double>(packets), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_BatchedReadDecode)
    ->Arg(kUniformMix)
    ->Arg(kAgencyMix)
    ->ArgName("mix")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void BM_AgentPipeline(benchmark::State& state) {
  const std::string& capture = Capture(state.range(0));
  const bool analyzers = state.range(1) != 0;
  uint64_t packets = 0, bytes = 0, records = 0, flows = 0, peak_active = 0;
  for (auto _ : state) {
    // The agent's own capture loop (agent/app Pipeline: batched reads,
    // decode, flow table with prefetch), records to a null sink.
    auto source = agent::capture::OpenFileSource({capture, ""});
    NullSink sink;
    agent::flow::FlowTableOptions fo;
    fo.seed = 1;
    agent::flow::AnalyzerFactory factory;
    if (analyzers)
      factory = [](const auto& info, auto& ctx) {
        return agent::analyzers::CreateCandidates(info, ctx);
      };
    agent::app::Pipeline pipeline(std::move(*source), {}, fo, sink, factory);
    if (!pipeline.Run()) state.SkipWithError("pipeline failed");
    const agent::app::PipelineSnapshot snap = pipeline.Snapshot();
    packets += snap.capture.packets_received;
    bytes += snap.capture.bytes_received;
    records += sink.records;
    flows += snap.flow.flows_created;
    peak_active = snap.flow.flows_active_peak;
  }
  state.counters["pkts/s"] =
      benchmark::Counter(static_cast<double>(packets), benchmark::Counter::kIsRate);
  state.counters["bytes/s"] =
      benchmark::Counter(static_cast<double>(bytes), benchmark::Counter::kIsRate);
  state.counters["flows"] =
      benchmark::Counter(static_cast<double>(flows), benchmark::Counter::kAvgIterations);
  state.counters["records"] =
      benchmark::Counter(static_cast<double>(records), benchmark::Counter::kAvgIterations);
  state.counters["peak_active_flows"] = static_cast<double>(peak_active);
}
BENCHMARK(BM_AgentPipeline)
    ->ArgsProduct({{kUniformMix, kAgencyMix}, {1, 0}})
    ->ArgNames({"mix", "analyzers"})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// Drives a table with three-way handshakes from `n` distinct clients.
void Handshakes(agent::flow::FlowTable& table, uint32_t n, bool syn_only, uint32_t first = 0) {
  namespace tb = vigil::testing;
  agent::decode::Decoder decoder;
  agent::decode::DecodedPacket pkt;
  const tb::Bytes server = tb::ParseIp("198.51.100.1");
  int64_t ts = 1'000'000'000 + int64_t{first} * 3000;
  auto send = [&](const tb::Bytes& src, const tb::Bytes& dst, uint16_t sp, uint16_t dp,
                  uint32_t seq, uint32_t ack, uint8_t flags) {
    const tb::Bytes frame =
        tb::Frame({}, src, dst, tb::kProtoTcp, tb::Tcp(src, dst, sp, dp, seq, ack, flags));
    decoder.Decode(agent::decode::link_type::kEthernet, ts, static_cast<uint32_t>(frame.size()),
                   frame, pkt);
    table.Process(pkt);
    ts += 1000;
  };
  for (uint32_t i = first; i < first + n; ++i) {
    const tb::Bytes client = {static_cast<uint8_t>(10 + (i >> 24)), static_cast<uint8_t>(i >> 16),
                              static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)};
    send(client, server, 40000, 443, 1000, 0, tb::tcp::kSyn);
    if (syn_only) continue;
    send(server, client, 443, 40000, 5000, 1001, tb::tcp::kSyn | tb::tcp::kAck);
    send(client, server, 40000, 443, 1001, 5001, tb::tcp::kAck);
  }
}

void BM_IdleTcpFlowMemory(benchmark::State& state) {
  const auto n = static_cast<uint32_t>(state.range(0));
  double heap_per_flow = 0, rss_per_flow = 0, slot = 0;
  for (auto _ : state) {
    NullSink sink;
    agent::flow::FlowTableOptions fo;
    fo.max_flows = n;
    fo.seed = 1;
    const uint64_t heap0 = HeapInUse(), rss0 = RssBytes();
    {
      agent::flow::FlowTable table(fo, sink);
      Handshakes(table, n, /*syn_only=*/false);
      heap_per_flow = static_cast<double>(HeapInUse() - heap0 + table.MappedBytesInUse()) / n;
      rss_per_flow = static_cast<double>(RssBytes() - rss0) / n;
      slot = static_cast<double>(table.BytesPerFlowSlot());
      state.PauseTiming();
    }
    state.ResumeTiming();
  }
  state.counters["heap_bytes_per_flow"] = heap_per_flow;
  state.counters["rss_bytes_per_flow"] = rss_per_flow;
  state.counters["table_bytes_per_slot"] = slot;
  state.counters["sizeof_Flow"] = static_cast<double>(sizeof(agent::flow::Flow));
}
BENCHMARK(BM_IdleTcpFlowMemory)->Arg(500000)->Iterations(1)->Unit(benchmark::kMillisecond);

void BM_SynFlood(benchmark::State& state) {
  const auto cap = static_cast<uint32_t>(state.range(0));
  const uint32_t sources = 1'000'000;
  double rss_growth = 0, rss_growth_second_half = 0, evictions = 0, active = 0;
  for (auto _ : state) {
    NullSink sink;
    agent::flow::FlowTableOptions fo;
    fo.max_flows = cap;
    fo.seed = 1;
    const uint64_t rss0 = RssBytes();
    agent::flow::FlowTable table(fo, sink);
    Handshakes(table, sources / 2, /*syn_only=*/true);
    const uint64_t rss_half = RssBytes();
    Handshakes(table, sources / 2, /*syn_only=*/true, sources / 2);
    rss_growth = static_cast<double>(RssBytes() - rss0);
    rss_growth_second_half = static_cast<double>(RssBytes() - rss_half);
    evictions = static_cast<double>(table.stats().EvictionsTotal());
    active = static_cast<double>(table.active_flows());
  }
  state.counters["sources"] = sources;
  state.counters["cap_flows"] = cap;
  state.counters["active_flows"] = active;
  state.counters["evictions"] = evictions;
  state.counters["rss_growth_MiB"] = rss_growth / (1 << 20);
  // Flat once the cap is reached: the second 500k sources cost (almost) nothing.
  state.counters["rss_growth_2nd_half_MiB"] = rss_growth_second_half / (1 << 20);
  state.counters["cap_budget_MiB"] = static_cast<double>(cap) * 256 / (1 << 20);
}
BENCHMARK(BM_SynFlood)->Arg(100000)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
