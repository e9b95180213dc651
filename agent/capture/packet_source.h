#pragma once
// A source of captured packets: a live interface or a capture file. The agent
// reads it from one thread (the capture thread); implementations need not be
// thread-safe except Stats() and Interrupt(), which other threads may call.

#include <cstdint>
#include <span>
#include <string>

namespace vigil::agent::capture {

/// One captured packet. `data` stays valid until the next call to Next().
struct Packet {
  int64_t ts_ns = 0;      ///< capture time, nanoseconds since the Unix epoch (UTC)
  uint32_t wire_len = 0;  ///< length on the wire (may exceed data.size() with a snaplen)
  std::span<const uint8_t> data;
};

/// Cumulative counters since the source opened.
struct CaptureStats {
  uint64_t packets_received = 0;  ///< packets handed to the agent
  uint64_t bytes_received = 0;    ///< sum of wire_len of those packets
  uint64_t kernel_drops = 0;      ///< pcap_stats ps_drop (live only)
  uint64_t interface_drops = 0;   ///< pcap_stats ps_ifdrop (live only)
};

enum class ReadStatus {
  kPacket,   ///< `packet` holds the next packet
  kTimeout,  ///< no packet within the read timeout (live); call again
  kEnd,      ///< end of file, or Interrupt() was called
  kError,    ///< unrecoverable read error; see Error()
};

class PacketSource {
 public:
  virtual ~PacketSource() = default;
  /// libpcap link-layer type (DLT_*), decides the first decoder.
  virtual int LinkType() const = 0;
  virtual ReadStatus Next(Packet& packet) = 0;
  virtual CaptureStats Stats() const = 0;
  /// Makes a blocked or future Next() return kEnd. Thread-safe.
  virtual void Interrupt() = 0;
  /// Interface or file name, for logs and heartbeats.
  virtual const std::string& Name() const = 0;
  virtual bool Offline() const = 0;
  virtual std::string Error() const = 0;
};

}  // namespace vigil::agent::capture
