#pragma once
// Deterministic, seeded generators of large captures for the agent
// benchmarks. Two mixes:
//  - "uniform" (WriteMixedCapture, the first benchmark's mix, kept so results
//    stay comparable): fixed-length HTTP, TLS and bulk TCP conversations, DNS
//    over UDP (some IPv6), ICMP echoes, 20% VLAN; conversations interleaved
//    round-robin, one packet each per round (no packet trains), ~7 packets
//    per flow, 356-byte frames on average.
//  - "agency" (WriteAgencyCapture): a model of an agency uplink built from
//    published flow statistics, documented on AgencySpec.
// Bench-only code. Not thread-safe.

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
  uint64_t tcp_packets = 0;
  uint64_t tcp_flows = 0;
};

/// Writes the capture to `path` (classic pcap, Ethernet). Returns what it wrote.
TrafficSummary WriteMixedCapture(const std::string& path, const TrafficSpec& spec);

/// The "agency" mix: the traffic of a government agency's Internet uplink
/// (~100 Mbit/s, ~19k packets/s for 90 s), modelled on published
/// measurements rather than chosen round numbers. Sources and assumptions:
///
///  - Flow lengths and shares: Jurkiewicz et al., "Flow length and size
///    distributions in campus Internet traffic", Computer Communications 2021,
///    and their public dataset flow-models/agh_2015061019_IPv4_anon (one
///    hour of a university uplink, 6.5M flows): TCP is 52.5% of flows and 81%
///    of packets with 161 packets per flow on average; UDP 45.8% / 18.6%
///    (42 packets per flow); 71% of TCP flows have at most 8 packets but
///    carry 1.3% of TCP packets; mean packet 804 bytes. A government network
///    has no student video or P2P: the tail is cut (no flow above ~20k
///    packets), which lowers TCP's mean to ~50 packets and keeps enough
///    flows in 1-2M packets to load the flow table like a busy link.
///  - TCP behaviour: slow start from 10 segments (RFC 6928), doubling per
///    round trip up to 64; an ACK per two segments (RFC 1122 delayed ACK);
///    MSS 1460; back-to-back segments 12 us apart (1 Gbit/s). Packet trains
///    of one flow interleave with the others by time, as on a real link.
///  - Web: most TCP is TLS 1.3 on 443 to hosting/CDN address space (RTT
///    median 25 ms), persistent connections with ~3 requests (exponential),
///    think times lognormal (median 1 s), idle before close (median 8 s);
///    responses lognormal (median 3 KB, sigma 1.8, cap 3 MB), so sizes are
///    heavy-tailed; 10% of connections end with RST.
///  - DNS: every lookup is its own UDP flow (random source port) to an
///    internal resolver (RTT median 2 ms), 25% AAAA, 3% unanswered; names
///    repeat from a working set of 2000.
///  - Also: plain HTTP (1-3 requests), directory/file-sharing/SSH sessions
///    the agent does not analyze, a few large SMB transfers (median 3 MB),
///    failed connections (S0 with SYN retransmissions, REJ), QUIC on UDP 443,
///    NTP, syslog, ICMP echo; 10% IPv6, 20% on one of four VLANs (a trunk).
///
/// The flow table ends the capture with tens of thousands of flows open (UDP
/// flows stay for udp_idle after their last packet, as in Zeek), which is
/// what makes its working set larger than the CPU caches.
struct AgencySpec {
  uint64_t seed = 1;
  double duration_s = 90;  ///< conversations start during this many seconds
  double dns_per_s = 650;  ///< arrivals per second, Poisson, per class
  double other_udp_per_s = 80;
  double tls_per_s = 260;
  double http_per_s = 45;
  double other_tcp_per_s = 40;
  double bulk_per_s = 0.4;
  double failed_tcp_per_s = 15;
  double quic_per_s = 8;
  double icmp_per_s = 10;
  uint32_t vlan_percent = 20;
  uint32_t ipv6_percent = 10;
  int64_t start_ns = 1'714'550'400'000'000'000;  // 2024-05-01
};

/// Writes the agency capture to `path` (pcap, Ethernet, nanosecond
/// timestamps). Deterministic for a seed.
TrafficSummary WriteAgencyCapture(const std::string& path, const AgencySpec& spec);

}  // namespace vigil::bench
