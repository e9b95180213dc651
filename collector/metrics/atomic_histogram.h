#pragma once
// A fixed-bucket histogram that the pipeline thread can update without a
// lock: Observe() is a binary search over the bounds and two relaxed atomic
// additions. prometheus-cpp's Histogram takes a mutex per observation, which
// the collector's hot path must not do. Owned by CollectorMetrics; Observe()
// and Snapshot() are thread-safe and may run concurrently (a snapshot taken
// during an observation may miss it, never tear a bucket).

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace vigil::collector::metrics {

struct HistogramSnapshot {
  std::vector<double> upper_bounds;         ///< finite bounds, ascending (+Inf is implicit)
  std::vector<uint64_t> cumulative_counts;  ///< one per bound, then one for +Inf
  uint64_t count = 0;                       ///< == cumulative_counts.back()
  double sum = 0;
};

class AtomicHistogram {
 public:
  /// `upper_bounds` must be finite and strictly ascending (checked: aborts).
  explicit AtomicHistogram(std::vector<double> upper_bounds);

  void Observe(double value);
  HistogramSnapshot Snapshot() const;
  std::span<const double> UpperBounds() const { return bounds_; }

 private:
  std::vector<double> bounds_;
  // Per-bucket (non-cumulative) counts; the last one is the +Inf bucket.
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;
  std::atomic<double> sum_{0};
};

/// Buckets for durations between 10 µs and 10 s (rule evaluation per event,
/// incident-store writes): 1-2.5-5 steps per decade.
std::vector<double> LatencyBucketsSeconds();

}  // namespace vigil::collector::metrics
