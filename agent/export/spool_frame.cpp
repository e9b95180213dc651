#include "agent/export/spool_frame.h"

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace vigil::agent::exporter {

namespace {

constexpr char kSegmentMagic[8] = {'V', 'I', 'G', 'I', 'L', 'S', 'P', '1'};
constexpr uint32_t kSegmentVersion = 1;

constexpr std::array<uint32_t, 256> MakeTable() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    t[i] = c;
  }
  return t;
}
constexpr auto kTable = MakeTable();

uint32_t Crc32cSoftware(const uint8_t* p, size_t n, uint32_t crc) {
  for (size_t i = 0; i < n; ++i) crc = kTable[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
  return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) uint32_t Crc32cHardware(const uint8_t* p, size_t n,
                                                          uint32_t crc) {
  uint64_t c = crc;
  while (n >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    c = _mm_crc32_u64(c, v);
    p += 8;
    n -= 8;
  }
  uint32_t c32 = static_cast<uint32_t>(c);
  while (n-- > 0) c32 = _mm_crc32_u8(c32, *p++);
  return c32;
}
bool HaveSse42() {
  static const bool have = __builtin_cpu_supports("sse4.2");
  return have;
}
#endif

void Put32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
void Put64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
uint32_t Get32(const uint8_t* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(p[i]) << (8 * i);
  return v;
}
uint64_t Get64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(p[i]) << (8 * i);
  return v;
}

}  // namespace

uint32_t Crc32c(const void* data, size_t size, uint32_t crc) {
  const auto* p = static_cast<const uint8_t*>(data);
  crc = ~crc;
#if defined(__x86_64__)
  if (HaveSse42()) return ~Crc32cHardware(p, size, crc);
#endif
  return ~Crc32cSoftware(p, size, crc);
}

void EncodeSegmentHeader(uint8_t out[kSegmentHeaderBytes]) {
  std::memcpy(out, kSegmentMagic, 8);
  Put32(out + 8, kSegmentVersion);
  Put32(out + 12, Crc32c(out, 12));
}

bool SegmentHeaderValid(std::span<const uint8_t> bytes) {
  if (bytes.size() < kSegmentHeaderBytes) return false;
  return std::memcmp(bytes.data(), kSegmentMagic, 8) == 0 &&
         Get32(bytes.data() + 8) == kSegmentVersion &&
         Get32(bytes.data() + 12) == Crc32c(bytes.data(), 12);
}

void EncodeFrameHeader(const FrameHeader& h, uint8_t out[kFrameHeaderBytes]) {
  Put32(out, kFrameMagic);
  Put64(out + 8, h.sequence);
  Put32(out + 16, h.records);
  Put32(out + 20, h.payload_bytes);
  Put64(out + 24, static_cast<uint64_t>(h.first_event_ns));
  Put64(out + 32, static_cast<uint64_t>(h.last_event_ns));
  Put32(out + 40, h.payload_crc);
  Put32(out + 44, 0);
  Put32(out + 4, Crc32c(out + 8, kFrameHeaderBytes - 8));
}

bool DecodeFrameHeader(std::span<const uint8_t> bytes, FrameHeader* out) {
  if (bytes.size() < kFrameHeaderBytes) return false;
  const uint8_t* p = bytes.data();
  if (Get32(p) != kFrameMagic) return false;
  if (Get32(p + 4) != Crc32c(p + 8, kFrameHeaderBytes - 8)) return false;
  FrameHeader h;
  h.sequence = Get64(p + 8);
  h.records = Get32(p + 16);
  h.payload_bytes = Get32(p + 20);
  h.first_event_ns = static_cast<int64_t>(Get64(p + 24));
  h.last_event_ns = static_cast<int64_t>(Get64(p + 32));
  h.payload_crc = Get32(p + 40);
  if (h.sequence == 0 || h.payload_bytes > kMaxFramePayload) return false;
  *out = h;
  return true;
}

SegmentScan ScanSegment(std::span<const uint8_t> seg, bool verify_payload) {
  SegmentScan scan;
  scan.header_valid = SegmentHeaderValid(seg);
  uint64_t pos = kSegmentHeaderBytes;
  if (!scan.header_valid) {
    // Still look for frames: a damaged first block must not cost the rest.
    pos = 0;
  }
  scan.valid_end = scan.header_valid ? kSegmentHeaderBytes : 0;
  uint64_t bad_start = 0;
  bool in_bad = false;
  auto end_bad = [&](uint64_t at) {
    if (in_bad) {
      ++scan.corrupt_regions;
      scan.corrupt_bytes += at - bad_start;
      in_bad = false;
    }
  };
  while (pos + kFrameHeaderBytes <= seg.size()) {
    FrameHeader h;
    if (DecodeFrameHeader(seg.subspan(pos), &h)) {
      uint64_t payload_at = pos + kFrameHeaderBytes;
      uint64_t end = payload_at + h.payload_bytes;
      if (end > seg.size()) {
        // Header intact, payload cut short: the torn last write of a crash.
        end_bad(pos);
        scan.damaged.push_back(ScannedFrame{h, pos});
        pos = seg.size();
        break;
      }
      bool payload_ok =
          !verify_payload || Crc32c(seg.data() + payload_at, h.payload_bytes) == h.payload_crc;
      end_bad(pos);
      if (payload_ok) {
        scan.frames.push_back(ScannedFrame{h, pos});
        scan.valid_end = end;
      } else {
        scan.damaged.push_back(ScannedFrame{h, pos});
      }
      pos = end;
      continue;
    }
    if (!in_bad) {
      in_bad = true;
      bad_start = pos;
    }
    ++pos;
  }
  if (pos < seg.size() && !in_bad) {
    in_bad = true;
    bad_start = pos;
  }
  end_bad(seg.size());
  return scan;
}

}  // namespace vigil::agent::exporter
