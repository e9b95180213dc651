// Transport benchmarks (built, never run by ctest). Agents -> collector over
// 127.0.0.1 with mutual TLS and default batching, in one process so the
// numbers include both sides competing for the same cores, as on a
// collector that also hosts agents' load in a lab. The handler only
// acknowledges (rules off).
//
//   BM_Throughput/agents:N   events/s from N agents (each its own sink,
//                            certificate, spool and producer thread);
//                            counters: events_per_s, cpu_s_per_M_events
//   BM_Latency/rate:R        record-to-collector latency (emit -> handler)
//                            at R events/s from one agent: p50_ms, p99_ms
//
// Run: build-transport-rel/tests/bench/transport/vigil_transport_bench
//   (see docs/transport.md for the numbers measured on the 2-core machine).

#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "agent/export/collector_sink.h"
#include "collector/ingest/ingest_server.h"
#include "tests/transport/test_pki.h"

namespace {

using namespace vigil;
using namespace std::chrono_literals;

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

double CpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/// A typical conn record (~170 bytes serialized).
v1::Event MakeEvent(uint64_t i, int64_t ts_ns) {
  v1::Event e;
  e.set_uid("CHhAvVGS1DHFjwGM9" + std::to_string(i % 1000));
  e.mutable_ts()->set_seconds(ts_ns / 1000000000);
  e.mutable_ts()->set_nanos(static_cast<int32_t>(ts_ns % 1000000000));
  auto* id = e.mutable_id();
  id->set_orig_addr(std::string("\x0a\x01\x02\x03", 4));
  id->set_resp_addr(std::string("\xc0\xa8\x01\x01", 4));
  id->set_orig_port(static_cast<uint32_t>(32768 + i % 28000));
  id->set_resp_port(443);
  id->set_ip_proto(6);
  auto* f = e.mutable_flow();
  f->add_services("ssl");
  f->mutable_duration()->set_seconds(1);
  f->mutable_duration()->set_nanos(234567000);
  auto* t = f->mutable_totals();
  t->set_orig_bytes(1234 + i % 1000);
  t->set_resp_bytes(56789);
  t->set_orig_pkts(12);
  t->set_resp_pkts(40);
  t->set_orig_ip_bytes(2000);
  t->set_resp_ip_bytes(60000);
  f->set_history("ShADadFf");
  f->set_community_id("1:LQU9qZlK+B5F3KDmev6m5PMibrg=");
  f->set_local_orig(true);
  return e;
}

class AckOnlyHandler : public collector::ingest::BatchHandler {
 public:
  uint64_t HighWaterMark(const std::string& id) override {
    std::lock_guard l(mu_);
    return hwm_[id];
  }
  void Submit(const collector::ingest::AgentInfo& a, std::shared_ptr<const v1::EventBatch> batch,
              int64_t received_ns, std::function<void(bool)> done) override {
    records_.fetch_add(static_cast<uint64_t>(batch->events_size()), std::memory_order_relaxed);
    if (sample_latency_) {
      std::lock_guard l(mu_);
      for (const auto& e : batch->events()) {
        latencies_.push_back(received_ns - (e.ts().seconds() * 1000000000 + e.ts().nanos()));
      }
    }
    {
      std::lock_guard l(mu_);
      hwm_[a.agent_id] = batch->sequence();
    }
    done(true);
  }
  void OnAgentEvent(const collector::ingest::AgentInfo&,
                    const collector::ingest::AgentEvent&) override {}

  std::atomic<uint64_t> records_{0};
  bool sample_latency_ = false;
  std::mutex mu_;
  std::map<std::string, uint64_t> hwm_;
  std::vector<int64_t> latencies_;
};

struct Rig {
  explicit Rig(int agents) {
    collector_cert = pki.Collector();
    for (int k = 0; k < agents; ++k) certs.push_back(pki.Agent("agent-" + std::to_string(k)));
    collector::ingest::IngestOptions o;
    o.listen = "127.0.0.1:0";
    o.tls = {pki.ca_file(), collector_cert.cert, collector_cert.key, ""};
    o.allow_unlisted_agents = true;
    o.log = [](transport::LogLevel, std::string_view) {};
    server = std::move(*collector::ingest::IngestServer::Start(o, handler));
  }
  std::unique_ptr<agent::exporter::CollectorSink> Sink(int k) {
    agent::exporter::CollectorSinkOptions o;
    o.addresses = {"127.0.0.1:" + std::to_string(server->port())};
    o.ca_file = pki.ca_file();
    o.cert_file = certs[static_cast<size_t>(k)].cert;
    o.key_file = certs[static_cast<size_t>(k)].key;
    o.spool_directory = (spool.path() / ("a" + std::to_string(k))).string();
    o.log = [](transport::LogLevel, std::string_view) {};
    return std::move(*agent::exporter::CollectorSink::Create(o, nullptr));
  }
  testing::TestPki pki;
  testing::TestCert collector_cert;
  std::vector<testing::TestCert> certs;
  testing::TempDir spool{"vigil-bench-spool"};
  AckOnlyHandler handler;
  std::unique_ptr<collector::ingest::IngestServer> server;
};

void BM_Throughput(benchmark::State& state) {
  const int agents = static_cast<int>(state.range(0));
  const uint64_t per_agent = static_cast<uint64_t>(state.range(1)) / static_cast<uint64_t>(agents);
  Rig rig(agents);
  std::vector<std::unique_ptr<agent::exporter::CollectorSink>> sinks;
  for (int k = 0; k < agents; ++k) sinks.push_back(rig.Sink(k));
  double cpu = 0, wall = 0;
  uint64_t total = 0;
  for (auto _ : state) {
    uint64_t before = rig.handler.records_.load();
    double cpu0 = CpuSeconds();
    auto t0 = std::chrono::steady_clock::now();
    std::vector<std::thread> producers;
    for (int k = 0; k < agents; ++k) {
      producers.emplace_back([&, k] {
        int64_t ts = NowNs();
        for (uint64_t i = 0; i < per_agent; ++i) {
          sinks[static_cast<size_t>(k)]->Emit(MakeEvent(i, ts));
        }
        sinks[static_cast<size_t>(k)]->Flush(600000);
      });
    }
    for (auto& t : producers) t.join();
    wall += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    cpu += CpuSeconds() - cpu0;
    total += rig.handler.records_.load() - before;
  }
  uint64_t dropped = 0;
  for (auto& s : sinks) dropped += s->Stats().records_dropped_queue_full;
  state.SetItemsProcessed(static_cast<int64_t>(total));
  state.counters["events_per_s"] = static_cast<double>(total) / wall;
  state.counters["cpu_s_per_M_events"] = cpu / (static_cast<double>(total) / 1e6);
  state.counters["queue_full_drops"] = static_cast<double>(dropped);
  for (auto& s : sinks) s->Shutdown(2s);
}
BENCHMARK(BM_Throughput)
    ->ArgNames({"agents", "events"})
    ->Args({1, 2000000})
    ->Args({50, 2000000})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(1);

void BM_Latency(benchmark::State& state) {
  const double rate = static_cast<double>(state.range(0));
  const auto duration = std::chrono::seconds(5);
  Rig rig(1);
  rig.handler.sample_latency_ = true;
  auto sink = rig.Sink(0);
  for (auto _ : state) {
    auto t0 = std::chrono::steady_clock::now();
    uint64_t i = 0;
    while (std::chrono::steady_clock::now() - t0 < duration) {
      // Emit in small bursts at the target rate; each record carries its
      // emit time, the handler subtracts it from the receive time.
      auto due = t0 + std::chrono::duration<double>(static_cast<double>(i) / rate);
      std::this_thread::sleep_until(due);
      for (int b = 0; b < 100; ++b, ++i) sink->Emit(MakeEvent(i, NowNs()));
    }
    sink->Flush(60000);
  }
  std::vector<int64_t> l;
  {
    std::lock_guard lock(rig.handler.mu_);
    l = rig.handler.latencies_;
  }
  std::sort(l.begin(), l.end());
  auto pct = [&](double p) {
    return l.empty() ? 0.0 : static_cast<double>(l[static_cast<size_t>(p * (l.size() - 1))]) / 1e6;
  };
  state.counters["p50_ms"] = pct(0.50);
  state.counters["p99_ms"] = pct(0.99);
  state.counters["max_ms"] = pct(1.0);
  state.counters["samples"] = static_cast<double>(l.size());
  sink->Shutdown(2s);
}
BENCHMARK(BM_Latency)
    ->ArgName("rate")
    ->Arg(100000)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(1);

}  // namespace

BENCHMARK_MAIN();
