// Space-Saving and top talkers: exactness on small inputs, the error bounds
// on large ones, window publication, folding, and the series budget under a
// scan from a million random sources scraped over HTTP.

#include "collector/metrics/top_talkers.h"

#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <random>
#include <unordered_map>

#include "collector/metrics/collector_metrics.h"
#include "collector/metrics/metrics_server.h"
#include "collector/metrics/space_saving.h"
#include "tests/collector/metrics/fake_clock.h"
#include "tests/collector/metrics/support/exposition.h"
#include "tests/collector/metrics/support/loopback_http.h"

namespace vigil::collector::metrics {
namespace {

using namespace std::chrono_literals;
using testing::FakeClock;

TEST(SpaceSaving, IsExactWhileDistinctKeysFitTheCounters) {
  std::mt19937_64 rng(7);
  SpaceSaving<int> ss(64);
  std::map<int, uint64_t> exact;
  for (int i = 0; i < 20000; ++i) {
    const int key = static_cast<int>(rng() % 50);
    const uint64_t w = 1 + rng() % 1500;
    ss.Add(key, w);
    exact[key] += w;
  }
  const auto entries = ss.Entries();
  ASSERT_EQ(entries.size(), exact.size());
  EXPECT_EQ(ss.Evictions(), 0u);
  uint64_t previous = UINT64_MAX;
  for (const auto& e : entries) {
    EXPECT_EQ(e.estimate, exact[e.key]) << e.key;
    EXPECT_EQ(e.error, 0u);
    EXPECT_LE(e.LowerBound(), previous);  // largest first
    previous = e.LowerBound();
  }
}

TEST(SpaceSaving, BoundsHoldAndHeavyHittersAreKeptOnSkewedStreams) {
  std::mt19937_64 rng(11);
  constexpr std::size_t kCounters = 100;
  SpaceSaving<uint32_t> ss(kCounters);
  std::unordered_map<uint32_t, uint64_t> exact;
  // 20 heavy hosts carry about half the bytes; 50 000 light ones the rest.
  uint64_t total = 0;
  for (int i = 0; i < 200000; ++i) {
    const bool heavy = rng() % 2 == 0;
    const uint32_t key =
        heavy ? static_cast<uint32_t>(rng() % 20) : 1000 + static_cast<uint32_t>(rng() % 50000);
    const uint64_t w = heavy ? 100 + rng() % 100 : 1 + rng() % 200;
    ss.Add(key, w);
    exact[key] += w;
    total += w;
  }
  EXPECT_EQ(ss.Total(), total);
  EXPECT_GT(ss.Evictions(), 0u);
  const uint64_t bound = total / kCounters;
  std::map<uint32_t, bool> tracked;
  for (const auto& e : ss.Entries()) {
    tracked[e.key] = true;
    EXPECT_LE(e.LowerBound(), exact[e.key]) << e.key;
    EXPECT_GE(e.estimate, exact[e.key]) << e.key;
    EXPECT_LE(e.error, bound) << e.key;
  }
  for (const auto& [key, weight] : exact) {
    if (weight > bound) {
      EXPECT_TRUE(tracked[key]) << "heavy key " << key << " lost";
    }
  }
  // The 20 heavy hosts are the top 20 by lower bound.
  const auto entries = ss.Entries();
  for (std::size_t i = 0; i < 20; ++i) EXPECT_LT(entries[i].key, 20u) << i;
}

TEST(TopTalkers, PublishesTheLastCompletedWindowOnceWithOtherAndFolding) {
  FakeClock clock(std::chrono::system_clock::time_point(std::chrono::seconds(1700000040)));
  TopTalkerOptions o;
  o.top_k = 3;
  o.window = 60s;
  o.counters_per_shard = 16;
  TopTalkers tt(o);
  auto s1 = tt.NewShard();
  auto s2 = tt.NewShard();
  const int64_t w0 = tt.EpochAt(clock.Now());
  // Exact totals per host; fewer hosts than counters so the answer is exact.
  std::map<std::pair<uint32_t, uint8_t>, uint64_t> exact;
  auto add = [&](TopTalkerShard& s, uint32_t agency, uint8_t host, uint64_t bytes) {
    const uint8_t addr[4] = {10, 0, 0, host};
    ASSERT_TRUE(s.Add(w0, agency, addr, bytes));
    exact[{agency, host}] += bytes;
  };
  add(*s1, 0, 1, 5000);
  add(*s2, 0, 1, 2500);  // same host seen by two agents: merged
  add(*s1, 0, 2, 4000);
  add(*s2, 1, 3, 3000);
  add(*s1, 0, 4, 100);
  add(*s2, 1, 5, 50);
  const uint8_t bad[3] = {1, 2, 3};
  EXPECT_FALSE(s1->Add(w0, 0, bad, 1));

  // Window 0 is still open: nothing to publish.
  auto pub = tt.Publish(clock.Now());
  EXPECT_TRUE(pub.top.empty());
  EXPECT_EQ(tt.FoldedBytesTotal(), 0u);

  clock.Advance(60s);
  pub = tt.Publish(clock.Now());
  EXPECT_EQ(pub.epoch, w0);
  ASSERT_EQ(pub.top.size(), 3u);
  EXPECT_EQ(pub.top[0].address, "10.0.0.1");
  EXPECT_EQ(pub.top[0].bytes, 7500u);
  EXPECT_EQ(pub.top[1].address, "10.0.0.2");
  EXPECT_EQ(pub.top[1].bytes, 4000u);
  EXPECT_EQ(pub.top[2].address, "10.0.0.3");
  EXPECT_EQ(pub.top[2].agency, 1u);
  EXPECT_EQ(pub.other_bytes[0], 100u);
  EXPECT_EQ(pub.other_bytes[1], 50u);
  EXPECT_EQ(tt.FoldedBytesTotal(), 150u);
  // Scraping again within the same window publishes nothing new.
  tt.Publish(clock.Now() + 30s);
  EXPECT_EQ(tt.FoldedBytesTotal(), 150u);

  // Next window: only shard 1 talks; the old window's data is gone.
  const int64_t w1 = tt.EpochAt(clock.Now());
  const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  ASSERT_TRUE(s1->Add(w1, 0, v6, 999));
  clock.Advance(60s);
  pub = tt.Publish(clock.Now());
  ASSERT_EQ(pub.top.size(), 1u);
  EXPECT_EQ(pub.top[0].address, "2001:db8::1");
  EXPECT_EQ(pub.top[0].bytes, 999u);
  EXPECT_EQ(tt.FoldedBytesTotal(), 150u);
}

std::size_t CountSeries(const std::string& text) {
  std::size_t n = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const auto nl = text.find('\n', pos);
    const auto end = nl == std::string::npos ? text.size() : nl;
    if (end > pos && text[pos] != '#') ++n;
    pos = end + 1;
  }
  return n;
}

TEST(TopTalkers, AScanFromAMillionRandomSourcesStaysWithinTheSeriesBudget) {
  FakeClock clock(std::chrono::system_clock::time_point(std::chrono::seconds(1700000000)));
  CollectorMetricsOptions o;
  o.clock = clock.Function();
  o.agents = {{"agent-a", "Finance", ""}, {"agent-b", "Finance", ""}, {"agent-c", "Health", ""}};
  o.top_talkers.top_k = 20;
  o.top_talkers.window = 60s;
  o.top_talkers.counters_per_shard = 512;
  auto metrics = std::make_shared<CollectorMetrics>(o);
  auto server = MetricsServer::Start("127.0.0.1:0", {metrics});
  ASSERT_TRUE(server) << server.error();
  auto scrape = [&] {
    auto r = testing::HttpGet((*server)->Port(), "/metrics");
    EXPECT_TRUE(r && r->status == 200);
    return r ? r->body : std::string();
  };
  const std::size_t before = CountSeries(scrape());

  const AgentHandle agents[3] = {metrics->Agent("agent-a"), metrics->Agent("agent-b"),
                                 metrics->Agent("agent-c")};
  std::mt19937_64 rng(2024);
  const uint8_t target[4] = {10, 1, 1, 1};
  constexpr int kSources = 1000000;
  constexpr uint64_t kBytesPerProbe = 60;
  FlowSample probe;
  probe.protocol = Protocol::kTcp;
  probe.service = metrics->ResolveService("");
  probe.bytes = kBytesPerProbe;
  probe.packets = 1;
  probe.flow_ended = true;
  probe.resp_address = target;
  uint8_t source[4];
  for (int i = 0; i < kSources; ++i) {
    const uint32_t r = static_cast<uint32_t>(rng());
    std::memcpy(source, &r, 4);
    probe.orig_address = source;
    // The target sits in Finance; two Finance agents see the scan.
    metrics->OnFlow(agents[i % 2], probe);
  }
  clock.Advance(60s);
  const std::string text = scrape();
  const std::size_t after = CountSeries(text);
  // The only series the scan may add are the published top talkers.
  EXPECT_LE(after, before + o.top_talkers.top_k) << "before " << before << " after " << after;

  auto e = testing::ParseExposition(text);
  ASSERT_TRUE(e) << e.error();
  const auto talkers = testing::Find(*e, "vigil_traffic_top_talker_bytes");
  EXPECT_LE(talkers.size(), o.top_talkers.top_k + 2);  // + other per agency
  // The scanned host is the top talker, exactly (it never left any summary).
  const auto* top = testing::FindExact(*e, "vigil_traffic_top_talker_bytes",
                                       {{"agency", "Finance"}, {"address", "10.1.1.1"}});
  ASSERT_NE(top, nullptr);
  EXPECT_EQ(top->value, static_cast<double>(kSources * kBytesPerProbe));
  // Accounting closes: every byte credited is either shown or folded.
  double shown = 0;
  for (const auto* s : talkers) {
    if (s->labels.at("agency") == "Finance") shown += s->value;
  }
  EXPECT_EQ(shown, 2.0 * kSources * kBytesPerProbe);  // both endpoints credited
  const auto* folded = testing::FindExact(*e, "vigil_traffic_top_talkers_folded_bytes_total", {});
  ASSERT_NE(folded, nullptr);
  EXPECT_EQ(folded->value, testing::FindExact(*e, "vigil_traffic_top_talker_bytes",
                                              {{"agency", "Finance"}, {"address", "other"}})
                               ->value);
  const auto* evictions = testing::FindExact(*e, "vigil_traffic_top_talkers_evictions_total", {});
  ASSERT_NE(evictions, nullptr);
  EXPECT_GT(evictions->value, 0);
}

}  // namespace
}  // namespace vigil::collector::metrics
