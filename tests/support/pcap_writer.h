#pragma once
// Writes classic libpcap capture files (microsecond or nanosecond
// timestamps) for tests and the capture generator. Deterministic: the same
// packets give the same bytes. Not thread-safe.

#include <cstdint>
#include <cstdio>
#include <span>
#include <string>

namespace vigil::testing {

/// Link types used by the generator (values of libpcap's DLT_/LINKTYPE_).
inline constexpr uint32_t kLinkEthernet = 1;
inline constexpr uint32_t kLinkRaw = 101;
inline constexpr uint32_t kLinkLinuxSll = 113;
inline constexpr uint32_t kLinkNull = 0;

class PcapWriter {
 public:
  PcapWriter() = default;
  PcapWriter(const PcapWriter&) = delete;
  PcapWriter& operator=(const PcapWriter&) = delete;
  ~PcapWriter();

  /// Creates `path` and writes the file header. Returns false with errno set.
  bool Open(const std::string& path, uint32_t link_type = kLinkEthernet, bool nanosecond = false,
            uint32_t snaplen = 262144);
  /// Appends one packet captured at `ts_ns` (ns since the Unix epoch). If
  /// `wire_len` is 0 the packet is complete (wire length = data size).
  bool Write(int64_t ts_ns, std::span<const uint8_t> data, uint32_t wire_len = 0);
  bool Close();
  uint64_t packets() const { return packets_; }

 private:
  std::FILE* file_ = nullptr;
  bool nanosecond_ = false;
  uint32_t snaplen_ = 0;
  uint64_t packets_ = 0;
};

}  // namespace vigil::testing
