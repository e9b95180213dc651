#pragma once
// A deterministic, seeded generator of a large mixed capture for the agent
// benchmarks: HTTP, TLS and bulk TCP connections, DNS over UDP (some over
// IPv6), ICMP echoes, with a share of VLAN-tagged traffic. Conversations are
// interleaved round-robin so that tens of thousands are open at once, as on a
// busy agency uplink. Bench-only code. Not thread-safe.

#include <cstdint>
#include <string>

namespace vigil::bench {

struct TrafficSpec {
  uint64_t seed = 1;
  uint32_t http_flows = 40000;
  uint32_t tls_flows = 15000;
  uint32_t bulk_flows = 200;
  uint32_t bulk_segments = 1000;  ///< data segments per bulk flow
  uint32_t dns_flows = 100000;
  uint32_t icmp_flows = 20000;
  uint32_t vlan_percent = 20;
  uint32_t ipv6_percent = 10;
  int64_t start_ns = 1'700'000'000'000'000'000;
  int64_t gap_ns = 40'000;  ///< time between packets
};

struct TrafficSummary {
  uint64_t packets = 0;
  uint64_t bytes = 0;
  uint64_t flows = 0;
  uint64_t peak_open = 0;  ///< conversations open at the same time
};

/// Writes the capture to `path` (classic pcap, Ethernet). Returns what it wrote.
TrafficSummary WriteMixedCapture(const std::string& path, const TrafficSpec& spec);

}  // namespace vigil::bench
