#pragma once
// Shared plumbing of the libpcap sources (internal to agent/capture): the
// pcap_t handle, BPF filter installation and the packet loop common to files
// and interfaces.
//
// Read from the capture thread; Interrupt() and the published counters are
// safe from any thread.

#include <pcap/pcap.h>

#include <atomic>
#include <chrono>
#include <expected>
#include <string>

#include "agent/capture/packet_source.h"

namespace vigil::agent::capture {

class PcapSource : public PacketSource {
 public:
  PcapSource(pcap_t* handle, std::string name, bool offline, bool nanosecond);
  ~PcapSource() override;
  PcapSource(const PcapSource&) = delete;
  PcapSource& operator=(const PcapSource&) = delete;

  /// Compiles and installs `filter` (no-op when empty). Numeric filters are
  /// safest: libpcap resolves host names while compiling.
  std::expected<void, std::string> SetFilter(const std::string& filter);

  int LinkType() const override { return link_type_; }
  ReadStatus Next(Packet& packet) override;
  /// pcap_dispatch(): up to `max` packets of what libpcap has buffered (a
  /// live capture waits at most the read timeout for the first one).
  ReadStatus NextBatch(PacketBatch& batch, size_t max) override;
  CaptureStats Stats() const override;
  void Interrupt() override;
  const std::string& Name() const override { return name_; }
  bool Offline() const override { return offline_; }
  std::string Error() const override { return error_; }

 private:
  void PollKernelStats();

  pcap_t* handle_;
  std::string name_;
  bool offline_;
  bool nanosecond_;
  int link_type_;
  std::string error_;
  bool error_pending_ = false;  ///< a read failed after a batch was filled
  std::atomic<bool> interrupted_{false};
  std::atomic<uint64_t> packets_{0};
  std::atomic<uint64_t> bytes_{0};
  std::atomic<uint64_t> kernel_drops_{0};
  std::atomic<uint64_t> interface_drops_{0};
  std::chrono::steady_clock::time_point next_stats_poll_{};
};

}  // namespace vigil::agent::capture
