#include "collector/metrics/top_talkers.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <unordered_map>

namespace vigil::collector::metrics {
namespace {

// splitmix64 finaliser: cheap and mixes every input bit into every output bit.
uint64_t Mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

uint64_t RandomSeed() {
  std::random_device rd;
  return (static_cast<uint64_t>(rd()) << 32) ^ rd();
}

}  // namespace

std::size_t TalkerKeyHash::operator()(const TalkerKey& key) const {
  uint64_t a = 0, b = 0;
  std::memcpy(&a, key.address.data(), 8);
  std::memcpy(&b, key.address.data() + 8, 8);
  uint64_t h = Mix(seed ^ (static_cast<uint64_t>(key.agency) << 8 | key.length));
  h = Mix(h ^ a);
  h = Mix(h ^ b);
  return static_cast<std::size_t>(h);
}

std::string AddressText(std::span<const uint8_t> address) {
  char text[INET6_ADDRSTRLEN] = {};
  if (address.size() == 4) {
    inet_ntop(AF_INET, address.data(), text, sizeof text);
  } else if (address.size() == 16) {
    inet_ntop(AF_INET6, address.data(), text, sizeof text);
  }
  return text;
}

TopTalkerShard::TopTalkerShard(std::size_t counters, uint64_t seed)
    : current_(counters, seed), previous_(counters, seed) {}

bool TopTalkerShard::Add(int64_t epoch, uint32_t agency, std::span<const uint8_t> address,
                         uint64_t bytes) {
  if (address.size() != 4 && address.size() != 16) return false;
  TalkerKey key;
  key.agency = agency;
  key.length = static_cast<uint8_t>(address.size());
  std::copy(address.begin(), address.end(), key.address.begin());

  std::lock_guard lock(mu_);
  if (current_.epoch != epoch) {
    // Roll: the finished window stays readable for one more window, which is
    // how long a scrape has to publish it.
    std::swap(current_, previous_);
    current_.epoch = epoch;
    current_.summary.Clear();
    current_.agency_totals.clear();
  }
  current_.summary.Add(key, bytes);
  current_.agency_totals[agency] += bytes;
  return true;
}

TopTalkers::TopTalkers(TopTalkerOptions options) : options_(options), seed_(RandomSeed()) {
  options_.top_k = std::min(options_.top_k, kMaxTopTalkers);
  if (options_.window.count() <= 0) options_.window = std::chrono::seconds(60);
  if (options_.counters_per_shard < options_.top_k) options_.counters_per_shard = options_.top_k;
}

std::shared_ptr<TopTalkerShard> TopTalkers::NewShard() {
  auto shard = std::make_shared<TopTalkerShard>(options_.counters_per_shard, seed_);
  std::lock_guard lock(mu_);
  shards_.push_back(shard);
  return shard;
}

int64_t TopTalkers::EpochAt(std::chrono::system_clock::time_point t) const {
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  const int64_t w = options_.window.count();
  // Floor division, so times before 1970 (never, but cheap) stay ordered.
  return ms >= 0 ? ms / w : -((-ms + w - 1) / w);
}

TopTalkerPublication TopTalkers::Publish(std::chrono::system_clock::time_point now) {
  const int64_t target = EpochAt(now) - 1;
  std::lock_guard lock(mu_);
  if (published_.epoch == target) return published_;

  struct Merged {
    uint64_t lower = 0;
    uint64_t estimate = 0;
  };
  std::unordered_map<TalkerKey, Merged, TalkerKeyHash> merged(64, TalkerKeyHash{seed_});
  std::map<uint32_t, uint64_t> totals;
  uint64_t evictions = 0;
  for (const auto& shard : shards_) {
    std::lock_guard shard_lock(shard->mu_);
    const TopTalkerShard::Window* w = nullptr;
    if (shard->current_.epoch == target) {
      w = &shard->current_;
    } else if (shard->previous_.epoch == target) {
      w = &shard->previous_;
    }
    if (w == nullptr) continue;
    for (const auto& e : w->summary.Entries()) {
      Merged& m = merged[e.key];
      m.lower += e.LowerBound();
      m.estimate += e.estimate;
    }
    for (const auto& [agency, bytes] : w->agency_totals) totals[agency] += bytes;
    evictions += w->summary.Evictions();
  }

  std::vector<std::pair<TalkerKey, Merged>> ranked(merged.begin(), merged.end());
  const std::size_t k = std::min(options_.top_k, ranked.size());
  std::partial_sort(ranked.begin(), ranked.begin() + static_cast<std::ptrdiff_t>(k), ranked.end(),
                    [](const auto& a, const auto& b) {
                      if (a.second.lower != b.second.lower) return a.second.lower > b.second.lower;
                      if (a.second.estimate != b.second.estimate) {
                        return a.second.estimate > b.second.estimate;
                      }
                      // Deterministic order for equal weights (tests, stable panels).
                      return std::lexicographical_compare(
                          a.first.address.begin(), a.first.address.end(), b.first.address.begin(),
                          b.first.address.end());
                    });

  TopTalkerPublication next;
  next.epoch = target;
  std::map<uint32_t, uint64_t> published_sum;
  for (std::size_t i = 0; i < k; ++i) {
    const auto& [key, m] = ranked[i];
    if (m.lower == 0) break;
    next.top.push_back(
        TopTalker{key.agency, AddressText(std::span<const uint8_t>(key.address.data(), key.length)),
                  m.lower});
    published_sum[key.agency] += m.lower;
  }
  for (const auto& [agency, total] : totals) {
    // Lower bounds never exceed the true weights, so this cannot underflow;
    // the guard is for a broken invariant, not an expected case.
    const uint64_t shown = published_sum[agency];
    const uint64_t other = total >= shown ? total - shown : 0;
    next.other_bytes[agency] = other;
    folded_bytes_total_ += other;
  }
  evictions_total_ += evictions;
  published_ = std::move(next);
  return published_;
}

uint64_t TopTalkers::FoldedBytesTotal() const {
  std::lock_guard lock(mu_);
  return folded_bytes_total_;
}

uint64_t TopTalkers::EvictionsTotal() const {
  std::lock_guard lock(mu_);
  return evictions_total_;
}

}  // namespace vigil::collector::metrics
