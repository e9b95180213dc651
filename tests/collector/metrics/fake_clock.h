#pragma once
// A settable wall clock for CollectorMetrics/AgentMetrics options (agent
// silence, top-talker windows) so tests never sleep. Thread-safe.

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>

namespace vigil::testing {

class FakeClock {
 public:
  explicit FakeClock(std::chrono::system_clock::time_point start =
                         std::chrono::system_clock::time_point(std::chrono::seconds(1700000000)))
      : ns_(std::make_shared<std::atomic<int64_t>>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(start.time_since_epoch())
                .count())) {}

  std::function<std::chrono::system_clock::time_point()> Function() const {
    return [ns = ns_] {
      return std::chrono::system_clock::time_point(
          std::chrono::duration_cast<std::chrono::system_clock::duration>(
              std::chrono::nanoseconds(ns->load())));
    };
  }
  std::chrono::system_clock::time_point Now() const { return Function()(); }
  int64_t NowNs() const { return ns_->load(); }
  void Advance(std::chrono::nanoseconds d) { ns_->fetch_add(d.count()); }

 private:
  std::shared_ptr<std::atomic<int64_t>> ns_;
};

}  // namespace vigil::testing
