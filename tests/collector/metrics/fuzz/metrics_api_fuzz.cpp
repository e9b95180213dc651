// Fuzzes CollectorMetrics through its public API with attacker-shaped input:
// identities, agency names and rule ids of arbitrary bytes, addresses of any
// length, service ids and enum values out of range, NaN/Inf latencies, and
// reloads in between. Whatever happens, every scrape must parse as valid
// exposition text with valid UTF-8 label values, and the number of series
// must stay small (a loose bound: a few agents, agencies and rules exist).

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "collector/metrics/collector_metrics.h"
#include "collector/metrics/label_value.h"
#include "tests/collector/metrics/support/exposition.h"

namespace {

using namespace vigil::collector::metrics;

class Input {
 public:
  Input(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  bool Empty() const { return pos_ >= size_; }
  uint8_t U8() { return pos_ < size_ ? data_[pos_++] : 0; }
  std::string Str() {
    const size_t want = U8() % 24;
    const size_t n = std::min(want, size_ - std::min(pos_, size_));
    std::string s(reinterpret_cast<const char*>(data_ + pos_), n);
    pos_ += n;
    return s;
  }
  std::vector<uint8_t> Bytes() {
    const size_t want = U8() % 20;
    const size_t n = std::min(want, size_ - std::min(pos_, size_));
    std::vector<uint8_t> b(data_ + pos_, data_ + pos_ + n);
    pos_ += n;
    return b;
  }
  double Double() {
    uint64_t bits = 0;
    for (int i = 0; i < 8; ++i) bits = bits << 8 | U8();
    double d;
    std::memcpy(&d, &bits, sizeof d);
    return d;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

// At most ~4+3+1 agents, ~12 agencies, ~600 rule ids over 200 ops: far
// below this, while a per-event series leak would exceed it quickly.
constexpr size_t kMaxSamples = 200000;

void Check(const CollectorMetrics& m) {
  const std::string text = m.ScrapeText();
  auto parsed = vigil::testing::ParseExposition(text);
  if (!parsed) {
    std::fprintf(stderr, "unparseable exposition: %s\n", parsed.error().c_str());
    std::abort();
  }
  if (parsed->samples.size() > kMaxSamples) {
    std::fprintf(stderr, "series explosion: %zu samples\n", parsed->samples.size());
    std::abort();
  }
  for (const auto& s : parsed->samples) {
    for (const auto& [k, v] : s.labels) {
      if (!IsValidUtf8(v) || v.size() > kMaxLabelValueBytes) {
        std::fprintf(stderr, "bad label value in %s{%s}\n", s.name.c_str(), k.c_str());
        std::abort();
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Input in(data, size);
  auto now = std::make_shared<int64_t>(1700000000);
  CollectorMetricsOptions o;
  o.clock = [now] { return std::chrono::system_clock::time_point(std::chrono::seconds(*now)); };
  o.allow_unlisted_agents = in.U8() & 1;
  o.max_unlisted_agents = 3;
  o.top_talkers.top_k = in.U8() % 6;
  o.top_talkers.window = std::chrono::seconds(1);
  o.top_talkers.counters_per_shard = 8;
  for (int i = in.U8() % 4; i > 0; --i) o.agents.push_back({in.Str(), in.Str(), in.Str()});
  CollectorMetrics m(o);
  std::vector<AgentHandle> handles(1);
  auto handle = [&] { return handles[in.U8() % handles.size()]; };

  for (int ops = 0; !in.Empty() && ops < 200; ++ops) {
    switch (in.U8() % 10) {
      case 0:
        handles.push_back(m.Agent(in.Str()));
        break;
      case 1:
        m.OnEvents(handle(), static_cast<LogType>(in.U8() % 6), in.U8());
        break;
      case 2: {
        const auto a = in.Bytes(), b = in.Bytes();
        FlowSample f;
        f.protocol = static_cast<Protocol>(in.U8() % 6);
        f.service = in.U8();
        f.bytes = in.U8() * 1000u;
        f.packets = in.U8();
        f.flow_ended = in.U8() & 1;
        f.orig_address = a;
        f.resp_address = b;
        m.OnFlow(handle(), f);
        break;
      }
      case 3:
        m.OnAlert(in.Str(), in.Str(), static_cast<AlertOutcome>(in.U8() % 4), in.U8());
        break;
      case 4: {
        std::vector<RuleInfo> rules;
        for (int i = in.U8() % 4; i > 0; --i) {
          rules.push_back({in.Str(), static_cast<Level>(in.U8() % kLevelCount),
                           static_cast<RuleState>(in.U8() % kRuleStateCount), in.Str()});
        }
        m.SetRuleset(in.Str(), std::move(rules));
        m.RecordRulesReload(in.U8() & 1);
        break;
      }
      case 5: {
        std::vector<AgentIdentity> agents;
        for (int i = in.U8() % 4; i > 0; --i) agents.push_back({in.Str(), in.Str(), in.Str()});
        m.SetAgents(std::move(agents), in.U8() & 1);
        break;
      }
      case 6:
        *now += in.U8();
        break;
      case 7:
        m.ObserveRuleEvaluation(in.Double());
        m.ObserveStoreWrite(in.Double());
        break;
      case 8: {
        std::vector<NamedCount> drops;
        for (int i = in.U8() % 3; i > 0; --i) drops.push_back({in.Str(), in.U8()});
        m.SetIngestStatusSource([drops] { return IngestStatus{1, 2, drops, drops}; });
        break;
      }
      default:
        Check(m);
        break;
    }
  }
  Check(m);
  return 0;
}
