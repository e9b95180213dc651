// Cost of the two renderings of a record's Zeek view: the agent's JSON line
// (RenderZeekJson, on the capture thread's hot path) and the collector's
// rule event (EventFromProto, on the pipeline thread), for one full record
// of each kind from record_samples. items/s is records per second. Built,
// never run by ctest:
//   <build>/tests/proto/vigil_zeek_view_bench --benchmark_repetitions=5

#include <benchmark/benchmark.h>

#include <string>

#include "agent/export/zeek_json.h"
#include "collector/engine/event_proto.h"
#include "tests/proto/record_samples.h"

namespace {

constexpr const char* kKinds[] = {"conn_full", "dns_full", "ssl_full", "http_full"};

vigil::v1::Event Record(int64_t kind) {
  for (auto& s : vigil::test::RecordSamples()) {
    if (s.name == kKinds[kind]) return s.event;
  }
  return {};
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
  state.SetLabel(kKinds[state.range(0)]);
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
  state.SetLabel(kKinds[state.range(0)]);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EventFromProto)->DenseRange(0, 3);

}  // namespace

BENCHMARK_MAIN();
