// Cost of the collector's metric calls on the event path, and of a scrape.
// Built with VIGIL_BUILD_BENCH, never run by ctest:
//   build/tests/collector/metrics/bench/vigil_collector_metrics_bench

#include <benchmark/benchmark.h>

#include <cstring>
#include <random>

#include "collector/metrics/collector_metrics.h"

namespace vigil::collector::metrics {
namespace {

CollectorMetricsOptions Fleet(int agencies, int agents_per_agency) {
  CollectorMetricsOptions o;
  for (int a = 0; a < agencies; ++a) {
    for (int i = 0; i < agents_per_agency; ++i) {
      o.agents.push_back({"agent-" + std::to_string(a) + "-" + std::to_string(i),
                          "Agency " + std::to_string(a), ""});
    }
  }
  o.top_talkers.top_k = 20;
  return o;
}

std::vector<RuleInfo> Rules(int n) {
  std::vector<RuleInfo> rules;
  for (int i = 0; i < n; ++i) {
    rules.push_back({"rule." + std::to_string(i), static_cast<Level>(i % kLevelCount),
                     i % 7 == 0 ? RuleState::kShadow : RuleState::kEnforce, "stable"});
  }
  return rules;
}

void BM_OnEvents(benchmark::State& state) {
  CollectorMetrics m(Fleet(10, 5));
  const AgentHandle h = m.Agent("agent-3-2");
  for (auto _ : state) m.OnEvents(h, LogType::kDns, 1);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_OnEvents)->ThreadRange(1, 2);

// Flow records with random addresses: the top-talker summary is full and
// evicts on almost every call (a scan), the worst case.
void BM_OnFlowScan(benchmark::State& state) {
  // One instance shared by the benchmark's threads, built before any runs
  // (benchmark threads start together: no thread may build it for others).
  static CollectorMetrics* const m = new CollectorMetrics(Fleet(10, 5));
  const AgentHandle h = m->Agent("agent-" + std::to_string(state.thread_index()) + "-0");
  std::mt19937 rng(static_cast<unsigned>(state.thread_index()));
  const uint8_t target[4] = {10, 0, 0, 1};
  uint8_t source[4];
  FlowSample f;
  f.protocol = Protocol::kTcp;
  f.service = m->ResolveService("");
  f.bytes = 60;
  f.packets = 1;
  f.flow_ended = true;
  f.orig_address = source;
  f.resp_address = target;
  for (auto _ : state) {
    const uint32_t r = rng();
    std::memcpy(source, &r, 4);
    m->OnFlow(h, f);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_OnFlowScan)->ThreadRange(1, 2);

void BM_OnAlert(benchmark::State& state) {
  CollectorMetrics m(Fleet(20, 2));
  m.SetRuleset("h", Rules(500));
  for (auto _ : state) m.OnAlert("rule.123", "Agency 7", AlertOutcome::kRaised);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_OnAlert);

void BM_ObserveRuleEvaluation(benchmark::State& state) {
  CollectorMetrics m(Fleet(1, 1));
  double v = 0.00001;
  for (auto _ : state) {
    m.ObserveRuleEvaluation(v);
    v = v < 1 ? v * 1.7 : 0.00001;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ObserveRuleEvaluation);

// A scrape of a large deployment: 20 agencies x 10 agents, 200 rules.
void BM_ScrapeText(benchmark::State& state) {
  CollectorMetrics m(Fleet(20, 10));
  m.SetRuleset("h", Rules(static_cast<int>(state.range(0))));
  std::size_t bytes = 0;
  for (auto _ : state) bytes = m.ScrapeText().size();
  state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_ScrapeText)->Arg(50)->Arg(200)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace vigil::collector::metrics

BENCHMARK_MAIN();
