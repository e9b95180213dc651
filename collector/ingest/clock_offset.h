#pragma once
// Estimates how far an agent's wall clock is from the collector's, from the
// send timestamps the agent puts in Hello and Heartbeat. Each message gives
// sent_at − received_at = offset − transit, and transit ≥ 0, so every
// sample is a lower bound of the offset; the largest sample of a sliding
// window (the message that waited least in queues) is the estimate. Its
// error is at most the smallest one-way delay in the window: milliseconds on
// a LAN, far below the seconds that matter for correlation and skew alerts.
// Owned by one agent's registry entry; not thread-safe.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>

namespace vigil::collector::ingest {

class ClockOffsetEstimator {
 public:
  explicit ClockOffsetEstimator(size_t window = 32) : window_(window) {}

  void AddSample(int64_t agent_sent_ns, int64_t collector_received_ns);
  /// Agent clock minus collector clock, ns (positive: the agent is ahead).
  std::optional<int64_t> Estimate() const;
  size_t samples() const { return samples_.size(); }
  void Reset() { samples_.clear(); }

 private:
  size_t window_;
  std::deque<int64_t> samples_;
};

}  // namespace vigil::collector::ingest
