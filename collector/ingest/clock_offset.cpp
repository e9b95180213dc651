#include "collector/ingest/clock_offset.h"

#include <algorithm>

namespace vigil::collector::ingest {

void ClockOffsetEstimator::AddSample(int64_t agent_sent_ns, int64_t collector_received_ns) {
  if (agent_sent_ns <= 0) return;  // unset timestamp: no information
  samples_.push_back(agent_sent_ns - collector_received_ns);
  while (samples_.size() > window_) samples_.pop_front();
}

std::optional<int64_t> ClockOffsetEstimator::Estimate() const {
  if (samples_.empty()) return std::nullopt;
  return *std::max_element(samples_.begin(), samples_.end());
}

}  // namespace vigil::collector::ingest
