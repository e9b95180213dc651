// Transport benchmarks (built, never run by ctest). Agents -> collector over
// 127.0.0.1 with mutual TLS and default batching. The collector runs in
// this process, the agents in a child process (this binary with
// --agent-child), both on the same 2 cores. The handler only acknowledges
// (rules off). Producing the records is part of the agent's CPU.
//
//   BM_Throughput/agents:N   events/s from N agents (each its own sink,
//                            certificate, spool and producer thread, all in
//                            one child process); counters: events_per_s,
//                            collector_cpu_s_per_M, agent_cpu_s_per_M
//                            (getrusage of this process / of the child)
//   BM_Latency/rate:R        record-to-collector latency (emit -> handler)
//                            at R events/s from one agent: p50_ms, p99_ms
//
// Run: build-transport-rel/tests/bench/transport/vigil_transport_bench
//   (see docs/transport.md for the numbers measured on the 2-core machine).

#include <benchmark/benchmark.h>
#include <google/protobuf/arena.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>

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

extern char** environ;

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

/// Collector side (this process): IngestServer + ack-only handler, and a
/// certificate per agent for the agent process.
struct Rig {
  explicit Rig(int agents) {
    collector_cert = pki.Collector();
    for (int k = 0; k < agents; ++k) {
      transport::IssueRequest r;
      r.name = "agent-" + std::to_string(k);
      r.out_dir = certs.path();
      (void)pki.ca().Issue(r);
    }
    collector::ingest::IngestOptions o;
    o.listen = "127.0.0.1:0";
    o.tls = {pki.ca_file(), collector_cert.cert, collector_cert.key, ""};
    o.allow_unlisted_agents = true;
    o.log = [](transport::LogLevel, std::string_view) {};
    server = std::move(*collector::ingest::IngestServer::Start(o, handler));
  }
  /// Runs the agent side in a child process (its own heap and threads, its
  /// CPU reported separately) and waits for it. Returns its wall time.
  double RunAgents(int agents, uint64_t per_agent, double rate) {
    std::vector<std::string> argv = {"/proc/self/exe",
                                     "--agent-child",
                                     "127.0.0.1:" + std::to_string(server->port()),
                                     pki.ca_file(),
                                     certs.str(),
                                     spool.str(),
                                     std::to_string(agents),
                                     std::to_string(per_agent),
                                     std::to_string(rate)};
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    // The child reports the time from its first record to the last
    // acknowledgement (sink creation, certificate loading and connecting
    // are not throughput); stdout is a pipe for that one line.
    int fds[2];
    if (::pipe(fds) != 0) return -1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    pid_t pid = 0;
    int rc = posix_spawn(&pid, args[0], &fa, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    ::close(fds[1]);
    if (rc != 0) return -1;
    std::string out;
    char buf[256];
    ssize_t n;
    while ((n = ::read(fds[0], buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
    ::close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    auto at = out.find("ELAPSED ");
    return at == std::string::npos ? -1 : std::stod(out.substr(at + 8));
  }
  testing::TestPki pki;
  testing::TestCert collector_cert;
  testing::TempDir certs{"vigil-bench-certs"};
  testing::TempDir spool{"vigil-bench-spool"};
  AckOnlyHandler handler;
  std::unique_ptr<collector::ingest::IngestServer> server;
};

double ChildCpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_CHILDREN, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

void BM_Throughput(benchmark::State& state) {
  const int agents = static_cast<int>(state.range(0));
  const uint64_t per_agent = static_cast<uint64_t>(state.range(1)) / static_cast<uint64_t>(agents);
  Rig rig(agents);
  double wall = 0, collector_cpu = 0, agent_cpu = 0;
  uint64_t total = 0;
  for (auto _ : state) {
    uint64_t before = rig.handler.records_.load();
    double c0 = CpuSeconds(), a0 = ChildCpuSeconds();
    wall += rig.RunAgents(agents, per_agent, 0);
    collector_cpu += CpuSeconds() - c0;
    agent_cpu += ChildCpuSeconds() - a0;
    total += rig.handler.records_.load() - before;
  }
  double m = static_cast<double>(total) / 1e6;
  state.SetItemsProcessed(static_cast<int64_t>(total));
  state.counters["events_per_s"] = static_cast<double>(total) / wall;
  state.counters["collector_cpu_s_per_M"] = collector_cpu / m;
  state.counters["agent_cpu_s_per_M"] = agent_cpu / m;
  state.counters["delivered"] = static_cast<double>(total);
}
BENCHMARK(BM_Throughput)
    ->ArgNames({"agents", "events"})
    ->Args({1, 2000000})
    ->Args({50, 2000000})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(1);

// Where the CPU goes, per event (single thread, no network): building a
// record (the producer's cost, not transport's), serializing it into a
// batch, and parsing a batch on an arena as the collector does.
void BM_MakeEvent(benchmark::State& state) {
  uint64_t i = 0;
  int64_t ts = NowNs();
  for (auto _ : state) benchmark::DoNotOptimize(MakeEvent(i++, ts));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_MakeEvent);

void BM_SerializeEvent(benchmark::State& state) {
  std::vector<v1::Event> events;
  for (int i = 0; i < 1000; ++i) events.push_back(MakeEvent(static_cast<uint64_t>(i), NowNs()));
  std::string out;
  for (auto _ : state) {
    out.clear();
    for (const auto& e : events) e.AppendToString(&out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * 1000);
  state.counters["bytes_per_event"] = static_cast<double>(out.size()) / 1000.0;
}
BENCHMARK(BM_SerializeEvent);

void BM_ParseBatchOnArena(benchmark::State& state) {
  v1::EventBatch batch;
  batch.set_sequence(1);
  for (int i = 0; i < 1000; ++i) *batch.add_events() = MakeEvent(static_cast<uint64_t>(i), NowNs());
  std::string wire = batch.SerializeAsString();
  for (auto _ : state) {
    google::protobuf::Arena arena;
    auto* b = google::protobuf::Arena::CreateMessage<v1::EventBatch>(&arena);
    benchmark::DoNotOptimize(b->ParseFromString(wire));
  }
  state.SetItemsProcessed(state.iterations() * 1000);
}
BENCHMARK(BM_ParseBatchOnArena);

void BM_Latency(benchmark::State& state) {
  const double rate = static_cast<double>(state.range(0));
  Rig rig(1);
  rig.handler.sample_latency_ = true;
  for (auto _ : state) rig.RunAgents(1, static_cast<uint64_t>(rate * 5), rate);  // 5 s
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
}
BENCHMARK(BM_Latency)
    ->ArgName("rate")
    ->Arg(100000)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(1);

/// The agent side: K sinks, one producer thread each, as fast as possible
/// (rate 0) or at `rate` events/s per agent; exits once all is acknowledged.
int AgentChild(char** argv) {
  std::string address = argv[2], ca = argv[3], certs = argv[4], spool = argv[5];
  int agents = std::stoi(argv[6]);
  uint64_t per_agent = std::stoull(argv[7]);
  double rate = std::stod(argv[8]);
  std::vector<std::unique_ptr<agent::exporter::CollectorSink>> sinks;
  for (int k = 0; k < agents; ++k) {
    agent::exporter::CollectorSinkOptions o;
    o.addresses = {address};
    o.ca_file = ca;
    o.cert_file = certs + "/agent-" + std::to_string(k) + ".crt";
    o.key_file = certs + "/agent-" + std::to_string(k) + ".key";
    o.spool_directory = spool + "/a" + std::to_string(k);
    o.log = [](transport::LogLevel, std::string_view) {};
    auto sink = agent::exporter::CollectorSink::Create(o, nullptr);
    if (!sink) {
      std::fprintf(stderr, "bench agent: %s\n", sink.error().c_str());
      return 3;
    }
    sinks.push_back(std::move(*sink));
  }
  // Wait until every sink is connected, so the clock measures streaming.
  for (auto& s : sinks) {
    for (int i = 0; i < 1000 && !s->Stats().connected; ++i) std::this_thread::sleep_for(10ms);
  }
  auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> producers;
  for (int k = 0; k < agents; ++k) {
    producers.emplace_back([&, k] {
      auto& sink = *sinks[static_cast<size_t>(k)];
      auto start = std::chrono::steady_clock::now();
      for (uint64_t i = 0; i < per_agent; ++i) {
        if (rate > 0 && i % 100 == 0) {
          std::this_thread::sleep_until(
              start + std::chrono::duration<double>(static_cast<double>(i) / rate));
        }
        sink.Emit(MakeEvent(i, NowNs()));
      }
      sink.Flush(600000);
    });
  }
  for (auto& t : producers) t.join();
  std::printf("ELAPSED %.6f\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  std::fflush(stdout);
  uint64_t dropped = 0;
  for (auto& s : sinks) {
    auto st = s->Stats();
    dropped += st.records_dropped_queue_full;
    s->Shutdown(2s);
  }
  std::fprintf(stderr, "bench agent: %llu records dropped (queue full)\n",
               static_cast<unsigned long long>(dropped));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 9 && std::string(argv[1]) == "--agent-child") return AgentChild(argv);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
