#pragma once
// The on-disk format of the agent's spool: segment files of frames, each a
// fixed 48-byte header (with its own CRC, so a torn or rotten header is
// recognised and skipped) followed by one serialized EventBatch (with a
// second CRC over the payload). The scanner finds every intact frame in a
// segment's bytes and resynchronises after damage by searching for the next
// header that checks out, so one bad frame never hides the frames after it.
// Pure functions on byte spans: no I/O, no allocation beyond the result,
// fuzzed (tests/agent/export/fuzz). Little-endian on disk.
//
// Segment: "VIGILSP1" | u32 version=1 | u32 crc32c(first 12 bytes)
// Frame:   u32 magic "VBF1" | u32 header_crc (crc32c of bytes 8..47)
//          u64 sequence | u32 records | u32 payload_bytes
//          i64 first_event_ns | i64 last_event_ns | u32 payload_crc | u32 0
//          payload (serialized vigil.v1.EventBatch)

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace vigil::agent::exporter {

inline constexpr size_t kSegmentHeaderBytes = 16;
inline constexpr size_t kFrameHeaderBytes = 48;
inline constexpr uint32_t kFrameMagic = 0x31464256;  // "VBF1" little-endian
/// No batch is larger (the sink seals far below; gRPC's limit is 64 MiB).
inline constexpr uint32_t kMaxFramePayload = 64u << 20;

/// CRC-32C (Castagnoli), hardware-accelerated when the CPU has SSE4.2.
uint32_t Crc32c(const void* data, size_t size, uint32_t crc = 0);

struct FrameHeader {
  uint64_t sequence = 0;
  uint32_t records = 0;
  uint32_t payload_bytes = 0;
  int64_t first_event_ns = 0;
  int64_t last_event_ns = 0;
  uint32_t payload_crc = 0;
};

void EncodeSegmentHeader(uint8_t out[kSegmentHeaderBytes]);
bool SegmentHeaderValid(std::span<const uint8_t> bytes);

void EncodeFrameHeader(const FrameHeader& header, uint8_t out[kFrameHeaderBytes]);
/// True when `bytes` starts with a complete header whose magic and CRC
/// check out and whose sizes are plausible.
bool DecodeFrameHeader(std::span<const uint8_t> bytes, FrameHeader* out);

struct ScannedFrame {
  FrameHeader header;
  uint64_t offset = 0;  ///< of the header, within the segment
};

struct SegmentScan {
  bool header_valid = false;
  std::vector<ScannedFrame> frames;  ///< intact frames, in file order
  /// Frames whose header is intact but whose payload is cut off (a torn
  /// write) or, with verify_payload, fails its CRC: their batch is lost but
  /// its sequence and record count are known.
  std::vector<ScannedFrame> damaged;
  uint64_t corrupt_regions = 0;  ///< stretches of bytes that are no frame
  uint64_t corrupt_bytes = 0;
  uint64_t valid_end = 0;  ///< offset just past the last intact frame
};

/// Scans a whole segment. With `verify_payload` each payload CRC is checked
/// too (reads every byte); without, only headers and sizes are.
SegmentScan ScanSegment(std::span<const uint8_t> segment, bool verify_payload);

}  // namespace vigil::agent::exporter
