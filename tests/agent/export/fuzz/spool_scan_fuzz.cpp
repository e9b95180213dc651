// Fuzzes the spool segment scanner: whatever bytes a crash, a bad disk or
// a hostile local user leaves in a spool file, recovery must not crash,
// must stay inside the buffer, and must only report frames that check out.

#include <cstdint>
#include <cstdlib>
#include <span>

#include "agent/export/spool_frame.h"

namespace ex = vigil::agent::exporter;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> bytes(data, size);
  for (bool verify : {false, true}) {
    ex::SegmentScan s = ex::ScanSegment(bytes, verify);
    if (s.valid_end > size) std::abort();
    uint64_t prev_end = 0;
    for (const auto& f : s.frames) {
      uint64_t end = f.offset + ex::kFrameHeaderBytes + f.header.payload_bytes;
      if (f.offset < prev_end || end > size) std::abort();
      ex::FrameHeader again;
      if (!ex::DecodeFrameHeader(bytes.subspan(f.offset), &again)) std::abort();
      if (verify && ex::Crc32c(data + f.offset + ex::kFrameHeaderBytes, f.header.payload_bytes) !=
                        f.header.payload_crc) {
        std::abort();
      }
      prev_end = end;
    }
    if (s.corrupt_bytes > size) std::abort();
  }
  return 0;
}
