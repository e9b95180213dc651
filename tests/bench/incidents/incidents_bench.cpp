// Incident store throughput:
//  - CommitAlerts: alerts/s sustained into the store (synchronous=FULL),
//    100 alerts per batch, one batch per transaction.
//  - CommitEmptyBatches/N: batches/s of group commits carrying only
//    high-water marks (the rules-off ingest path), N batches per transaction.
//  - Export1M/format: rows/s exporting one million alerts (one million
//    incidents), in a child process so its peak RSS is measured alone
//    (counter peak_rss_mib).
//  - Verify1M: chain records/s verified (signatures included).
// Rates are wall-clock (UseRealTime): commits wait on fsync, exports run in
// a child. The 1M-alert log is built once per run in $VIGIL_BENCH_DIR
// (default /tmp).
#include <benchmark/benchmark.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "collector/incidents/chain_verifier.h"
#include "collector/incidents/checkpoint_key.h"
#include "collector/incidents/incident_store.h"

namespace inc = vigil::collector::incidents;
namespace eng = vigil::collector::engine;

namespace {

constexpr int64_t kS = 1'000'000'000;
constexpr int64_t kT0 = int64_t{1767225600} * kS;

std::filesystem::path BenchDir() {
  const char* env = std::getenv("VIGIL_BENCH_DIR");
  std::filesystem::path dir =
      std::filesystem::path(env != nullptr ? env : "/tmp") / "vigil-incidents-bench";
  std::filesystem::create_directories(dir);
  return dir;
}

std::filesystem::path Key() {
  const auto key = BenchDir() / "bench.key";
  if (!std::filesystem::exists(key)) (void)inc::GenerateSigningKey(key, BenchDir() / "bench.pub");
  return key;
}

inc::StoreConfig Config(const std::string& name) {
  inc::StoreConfig c;
  c.db_path = BenchDir() / name;
  c.signing_key_path = Key();
  c.durability = inc::Durability::kFull;
  return c;
}

eng::Alert MakeAlert(uint64_t i) {
  eng::Alert a;
  a.rule_id = "bench.rule" + std::to_string(i % 50);
  a.rule_title = "Benchmark rule";
  a.level = static_cast<eng::Level>(i % 5);
  a.author = "bench";
  a.tags = {"attack.t1046"};
  a.rule_file = "/etc/vigil/rules/bench.yml";
  a.rule_file_hash = std::string(64, 'a');
  a.ruleset_hash = std::string(64, 'b');
  a.group_key = "src=10." + std::to_string(i % 256) + "." + std::to_string((i / 256) % 256) + "." +
                std::to_string(i / 65536);
  a.event_time_ns = kT0 + static_cast<int64_t>(i) * 1000;
  a.matched_fields = {{"id.resp_p", "445"}};
  eng::AlertEvent e;
  e.origin = {"agent-1", "agency-a", i, a.event_time_ns, 0.001};
  e.event_time_ns = a.event_time_ns;
  e.log = "conn";
  e.json = R"({"ts":1767225600.0,"uid":"CbenchUID","id.orig_h":"10.0.0.5","id.orig_p":51515,)"
           R"("id.resp_h":"10.0.0.9","id.resp_p":445,"proto":"tcp","conn_state":"S0"})";
  a.events = {e};
  a.message = "Connection to SMB from 10.0.0.5";
  return a;
}

void CommitAlerts(benchmark::State& state) {
  std::filesystem::remove(BenchDir() / "alerts.db");
  auto store = inc::IncidentStore::Open(Config("alerts.db"), inc::OpenMode::kCollector);
  if (!store) {
    state.SkipWithError(store.error().message.c_str());
    return;
  }
  uint64_t seq = 0, n = 0;
  for (auto _ : state) {
    std::vector<eng::Alert> alerts;
    alerts.reserve(100);
    for (int i = 0; i < 100; ++i) alerts.push_back(MakeAlert(n++));
    inc::BatchCommit b{"agent-1", "agency-a", ++seq, 1000, kT0, alerts};
    if (!(*store)->CommitBatches(std::span<const inc::BatchCommit>(&b, 1))) {
      state.SkipWithError("commit failed");
      return;
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(n));
}
BENCHMARK(CommitAlerts)->Unit(benchmark::kMillisecond)->MinTime(5)->UseRealTime();

void CommitEmptyBatches(benchmark::State& state) {
  std::filesystem::remove(BenchDir() / "empty.db");
  auto store = inc::IncidentStore::Open(Config("empty.db"), inc::OpenMode::kCollector);
  if (!store) {
    state.SkipWithError(store.error().message.c_str());
    return;
  }
  const auto per_txn = static_cast<size_t>(state.range(0));
  std::vector<inc::BatchCommit> batches(per_txn);
  uint64_t seq = 0;
  for (auto _ : state) {
    for (size_t i = 0; i < per_txn; ++i) {
      // Four agents interleaved, 1000 events per batch.
      batches[i] = inc::BatchCommit{seq % 4 == 0   ? "agent-1"
                                    : seq % 4 == 1 ? "agent-2"
                                    : seq % 4 == 2 ? "agent-3"
                                                   : "agent-4",
                                    "agency-a",
                                    seq / 4 + 1,
                                    1000,
                                    kT0,
                                    {}};
      ++seq;
    }
    auto r = (*store)->CommitBatches(batches);
    if (!r || r->batches_committed != per_txn) {
      state.SkipWithError("commit failed or batches skipped as duplicates");
      return;
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * per_txn));
  state.counters["events_per_second"] = benchmark::Counter(
      static_cast<double>(state.iterations() * per_txn * 1000), benchmark::Counter::kIsRate);
}
BENCHMARK(CommitEmptyBatches)
    ->Arg(1)
    ->Arg(16)
    ->Arg(64)
    ->Arg(256)
    ->Unit(benchmark::kMillisecond)
    ->MinTime(3)
    ->UseRealTime();

constexpr uint64_t kMillion = 1'000'000;

/// Builds (once) a log holding one million alerts, each its own incident.
const inc::StoreConfig& MillionLog() {
  static inc::StoreConfig config = [] {
    inc::StoreConfig c = Config("million.db");
    c.durability = inc::Durability::kNormal;  // building the fixture, not measuring it
    c.checkpoint_every_records = 100000;
    std::filesystem::remove(c.db_path);
    auto store = inc::IncidentStore::Open(c, inc::OpenMode::kCollector);
    if (!store) std::abort();
    std::vector<eng::Alert> alerts;
    uint64_t seq = 0;
    for (uint64_t i = 0; i < kMillion;) {
      alerts.clear();
      for (int k = 0; k < 5000 && i < kMillion; ++k) alerts.push_back(MakeAlert(i++));
      inc::BatchCommit b{"agent-1", "agency-a", ++seq, 1000, kT0, alerts};
      if (!(*store)->CommitBatches(std::span<const inc::BatchCommit>(&b, 1))) std::abort();
    }
    return c;
  }();
  return config;
}

void Export1M(benchmark::State& state) {
  const auto& config = MillionLog();
  const auto format = static_cast<inc::ExportFormat>(state.range(0));
  for (auto _ : state) {
    // A child process does the export so that its peak RSS is its own.
    const pid_t pid = fork();
    if (pid == 0) {
      inc::StoreConfig op = config;
      op.signing_key_path.clear();
      auto store = inc::IncidentStore::Open(op, inc::OpenMode::kOperator);
      if (!store) _exit(3);
      inc::ExportOptions o;
      o.query.since_ns = kT0 - kS;
      o.query.until_ns = kT0 + 3600 * kS;
      o.format = format;
      o.output = BenchDir() / ("million." + std::string(inc::ExportFormatName(format)));
      o.exporter = "bench";
      auto r = (*store)->Export(o);
      _exit(r && r->rows == kMillion ? 0 : 4);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      state.SkipWithError("export failed or row count != 1000000");
      return;
    }
  }
  rusage usage{};
  getrusage(RUSAGE_CHILDREN, &usage);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kMillion));
  state.counters["peak_rss_mib"] = static_cast<double>(usage.ru_maxrss) / 1024.0;
}
BENCHMARK(Export1M)
    ->Arg(static_cast<int>(inc::ExportFormat::kJsonl))
    ->Arg(static_cast<int>(inc::ExportFormat::kCsv))
    ->Unit(benchmark::kSecond)
    ->Iterations(1)
    ->UseRealTime();

void Verify1M(benchmark::State& state) {
  const auto& config = MillionLog();
  inc::VerifyOptions options;
  options.keys.push_back(*inc::VerifyKey::Load(BenchDir() / "bench.pub"));
  uint64_t records = 0;
  for (auto _ : state) {
    auto r = inc::VerifyChain(config.db_path, options);
    if (!r || !r->ok) {
      state.SkipWithError("verify failed");
      return;
    }
    records += r->records;
  }
  state.SetItemsProcessed(static_cast<int64_t>(records));
}
BENCHMARK(Verify1M)->Unit(benchmark::kSecond)->Iterations(1)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
