#pragma once
// PacketSource implementations over libpcap: a capture file (pcap or pcapng,
// any link type libpcap reads, nanosecond timestamps kept when the file has
// them) and a live interface (snap length, kernel buffer size, promiscuous
// and immediate modes, read timeout). Both take an optional BPF filter.
// Errors carry libpcap's own message.
//
// Each source is read by one thread (the capture thread). Stats() and
// Interrupt() may be called from any thread: live kernel/interface drop
// counters are polled by the capture thread about once a second and
// published through atomics, because pcap_stats() is not safe to call
// concurrently with a read.

#include <cstdint>
#include <expected>
#include <memory>
#include <string>

#include "agent/capture/packet_source.h"

namespace vigil::agent::capture {

struct FileSourceOptions {
  std::string path;
  std::string bpf_filter;  ///< "" = every packet
};

struct LiveSourceOptions {
  std::string interface;
  std::string bpf_filter;  ///< "" = every packet
  int snaplen = 65535;
  uint64_t buffer_size = 64ull << 20;  ///< kernel ring buffer, bytes
  bool promiscuous = true;
  /// Deliver packets as they arrive instead of batching them in the kernel
  /// (lower latency, more wakeups).
  bool immediate = false;
  /// How long Next() waits for a packet before returning kTimeout (so the
  /// pipeline can run its wall-clock timers when the link is quiet).
  int timeout_ms = 100;
};

std::expected<std::unique_ptr<PacketSource>, std::string> OpenFileSource(
    const FileSourceOptions& options);

std::expected<std::unique_ptr<PacketSource>, std::string> OpenLiveSource(
    const LiveSourceOptions& options);

}  // namespace vigil::agent::capture
