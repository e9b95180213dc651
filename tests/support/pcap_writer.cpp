#include "tests/support/pcap_writer.h"

#include <algorithm>
#include <cstring>

namespace vigil::testing {
namespace {

// Classic pcap file format (little-endian as written on x86): magic
// 0xa1b2c3d4 for microseconds, 0xa1b23c4d for nanoseconds.
constexpr uint32_t kMagicMicro = 0xa1b2c3d4;
constexpr uint32_t kMagicNano = 0xa1b23c4d;

template <typename T>
bool Put(std::FILE* f, T v) {
  return std::fwrite(&v, sizeof v, 1, f) == 1;
}

}  // namespace

PcapWriter::~PcapWriter() { Close(); }

bool PcapWriter::Open(const std::string& path, uint32_t link_type, bool nanosecond,
                      uint32_t snaplen) {
  Close();
  file_ = std::fopen(path.c_str(), "wb");
  if (file_ == nullptr) return false;
  nanosecond_ = nanosecond;
  snaplen_ = snaplen;
  packets_ = 0;
  bool ok = Put<uint32_t>(file_, nanosecond ? kMagicNano : kMagicMicro) &&
            Put<uint16_t>(file_, 2) && Put<uint16_t>(file_, 4) &&  // version 2.4
            Put<int32_t>(file_, 0) && Put<uint32_t>(file_, 0) &&   // thiszone, sigfigs
            Put<uint32_t>(file_, snaplen) && Put<uint32_t>(file_, link_type);
  return ok;
}

bool PcapWriter::Write(int64_t ts_ns, std::span<const uint8_t> data, uint32_t wire_len) {
  if (file_ == nullptr) return false;
  const auto caplen = static_cast<uint32_t>(std::min<size_t>(data.size(), snaplen_));
  if (wire_len == 0) wire_len = static_cast<uint32_t>(data.size());
  const auto sec = static_cast<uint32_t>(ts_ns / 1'000'000'000);
  const auto frac_ns = static_cast<uint32_t>(ts_ns % 1'000'000'000);
  const uint32_t frac = nanosecond_ ? frac_ns : frac_ns / 1000;
  bool ok = Put(file_, sec) && Put(file_, frac) && Put(file_, caplen) && Put(file_, wire_len) &&
            std::fwrite(data.data(), 1, caplen, file_) == caplen;
  if (ok) ++packets_;
  return ok;
}

bool PcapWriter::Close() {
  if (file_ == nullptr) return true;
  const bool ok = std::fclose(file_) == 0;
  file_ = nullptr;
  return ok;
}

}  // namespace vigil::testing
