#pragma once
// Top talkers without a cardinality explosion: the hosts that moved the most
// bytes in the last completed window, as at most K series plus one `other`
// series per agency, whatever the traffic looks like.
//
// Each agent session writes into its own shard (a Space-Saving summary per
// window behind a mutex that only that session and the scrape ever take), so
// concurrent sessions never contend. At scrape time the shards' summaries of
// the last completed window are merged, the K largest hosts are published and
// everything else is folded into `other` (and counted). Windows are aligned
// to the Unix epoch (window N covers [N*W, (N+1)*W)), so every shard agrees
// on them without coordination.
//
// Owned by CollectorMetrics. Thread-safe: Shard::Add from any one thread per
// shard (a second thread only costs contention), Publish from scrapes.

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "collector/metrics/space_saving.h"

namespace vigil::collector::metrics {

/// A host of one agency: the agency index makes the same private address in
/// two agencies two different hosts.
struct TalkerKey {
  uint32_t agency = 0;
  uint8_t length = 0;  ///< 4 (IPv4) or 16 (IPv6)
  std::array<uint8_t, 16> address{};
  bool operator==(const TalkerKey&) const = default;
};

/// Seeded hash: keys are chosen by whoever sends packets, so a fixed hash
/// would let a scanner aim every address at one hash bucket.
struct TalkerKeyHash {
  uint64_t seed = 0;
  std::size_t operator()(const TalkerKey& key) const;
};

struct TopTalkerOptions {
  std::size_t top_k = 20;  ///< published hosts per window (<= kMaxTopTalkers)
  std::chrono::milliseconds window{std::chrono::seconds(60)};
  std::size_t counters_per_shard = 1024;  ///< Space-Saving counters per agent session
};

inline constexpr std::size_t kMaxTopTalkers = 50;

class TopTalkerShard {
 public:
  TopTalkerShard(std::size_t counters, uint64_t seed);
  /// Credits `bytes` to the host `address` (4 or 16 bytes; other lengths are
  /// ignored and return false) in window `epoch`.
  bool Add(int64_t epoch, uint32_t agency, std::span<const uint8_t> address, uint64_t bytes);

 private:
  friend class TopTalkers;
  using Summary = SpaceSaving<TalkerKey, TalkerKeyHash>;
  struct Window {
    explicit Window(std::size_t counters, uint64_t seed) : summary(counters, TalkerKeyHash{seed}) {}
    int64_t epoch = INT64_MIN;
    Summary summary;
    std::map<uint32_t, uint64_t> agency_totals;
  };

  std::mutex mu_;
  Window current_;
  Window previous_;
};

/// One published host.
struct TopTalker {
  uint32_t agency = 0;
  std::string address;  ///< text form (RFC 5952 for IPv6)
  uint64_t bytes = 0;   ///< guaranteed lower bound of the host's bytes in the window
};

struct TopTalkerPublication {
  int64_t epoch = INT64_MIN;                 ///< window published (INT64_MIN: none yet)
  std::vector<TopTalker> top;                ///< at most top_k, largest first
  std::map<uint32_t, uint64_t> other_bytes;  ///< per agency: bytes not in `top`
};

class TopTalkers {
 public:
  explicit TopTalkers(TopTalkerOptions options);

  /// A shard for one agent session (kept alive by the caller and by us).
  std::shared_ptr<TopTalkerShard> NewShard();
  int64_t EpochAt(std::chrono::system_clock::time_point t) const;

  /// Publishes the last window completed at `now` if it is not published
  /// yet, and returns the current publication (a copy).
  TopTalkerPublication Publish(std::chrono::system_clock::time_point now);

  uint64_t FoldedBytesTotal() const;
  uint64_t EvictionsTotal() const;
  const TopTalkerOptions& Options() const { return options_; }

 private:
  TopTalkerOptions options_;
  uint64_t seed_;
  mutable std::mutex mu_;
  std::vector<std::shared_ptr<TopTalkerShard>> shards_;
  TopTalkerPublication published_;
  uint64_t folded_bytes_total_ = 0;
  uint64_t evictions_total_ = 0;
};

/// "192.0.2.1", "2001:db8::1"; "" for a length other than 4 or 16.
std::string AddressText(std::span<const uint8_t> address);

}  // namespace vigil::collector::metrics
