#pragma once
// A source of captured packets: a live interface or a capture file. The agent
// reads it from one thread (the capture thread); implementations need not be
// thread-safe except Stats() and Interrupt(), which other threads may call.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

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

/// Several packets read at once, their bytes copied into storage the batch
/// owns: unlike Next(), a batch stays valid until the next read into it, so
/// the reader can look ahead (decode a few packets, prefetch their flows)
/// before processing the first. Reused across reads (capacity kept).
class PacketBatch {
 public:
  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  Packet operator[](size_t i) const {
    const Entry& e = entries_[i];
    return Packet{e.ts_ns, e.wire_len,
                  std::span<const uint8_t>(storage_.data() + e.offset, e.caplen)};
  }
  void Clear() { entries_.clear(), storage_.clear(); }
  /// Copies one packet in.
  void Add(int64_t ts_ns, uint32_t wire_len, std::span<const uint8_t> data) {
    entries_.push_back({ts_ns, wire_len, static_cast<uint32_t>(storage_.size()),
                        static_cast<uint32_t>(data.size())});
    storage_.insert(storage_.end(), data.begin(), data.end());
  }

 private:
  friend class PacketSource;
  struct Entry {
    int64_t ts_ns;
    uint32_t wire_len;
    uint32_t offset;
    uint32_t caplen;
  };
  std::vector<Entry> entries_;
  std::vector<uint8_t> storage_;
  /// A status met while filling (end, timeout, error) after some packets
  /// were read: reported by the next NextBatch() call.
  ReadStatus deferred_ = ReadStatus::kPacket;
};

class PacketSource {
 public:
  virtual ~PacketSource() = default;
  /// libpcap link-layer type (DLT_*), decides the first decoder.
  virtual int LinkType() const = 0;
  virtual ReadStatus Next(Packet& packet) = 0;
  /// Replaces `batch` with up to `max` packets that are available now
  /// (kPacket, at least one), or reports kTimeout, kEnd or kError like
  /// Next(). Never waits for a batch to fill: a live source returns what its
  /// buffer holds. The default reads through Next() and copies.
  virtual ReadStatus NextBatch(PacketBatch& batch, size_t max);
  virtual CaptureStats Stats() const = 0;
  /// Makes a blocked or future Next() return kEnd. Thread-safe.
  virtual void Interrupt() = 0;
  /// Interface or file name, for logs and heartbeats.
  virtual const std::string& Name() const = 0;
  virtual bool Offline() const = 0;
  virtual std::string Error() const = 0;
};

inline ReadStatus PacketSource::NextBatch(PacketBatch& batch, size_t max) {
  batch.Clear();
  if (batch.deferred_ != ReadStatus::kPacket) {
    const ReadStatus s = batch.deferred_;
    batch.deferred_ = ReadStatus::kPacket;
    return s;
  }
  Packet p;
  while (batch.size() < max) {
    const ReadStatus s = Next(p);
    if (s != ReadStatus::kPacket) {
      if (batch.empty()) return s;
      batch.deferred_ = s;
      break;
    }
    batch.Add(p.ts_ns, p.wire_len, p.data);
    // A live source answers the next Next() only after waiting: stop at what
    // was there.
    if (!Offline()) break;
  }
  return ReadStatus::kPacket;
}

}  // namespace vigil::agent::capture
