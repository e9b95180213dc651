// Spool frame format: CRC-32C, header round trip, and the scanner's
// handling of torn writes, garbage and bit rot.

#include "agent/export/spool_frame.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

namespace vigil::agent::exporter {
namespace {

std::vector<uint8_t> Segment() {
  std::vector<uint8_t> seg(kSegmentHeaderBytes);
  EncodeSegmentHeader(seg.data());
  return seg;
}

void AppendFrame(std::vector<uint8_t>& seg, uint64_t seq, uint32_t records,
                 const std::string& payload) {
  FrameHeader h;
  h.sequence = seq;
  h.records = records;
  h.payload_bytes = static_cast<uint32_t>(payload.size());
  h.first_event_ns = 100;
  h.last_event_ns = 200;
  h.payload_crc = Crc32c(payload.data(), payload.size());
  uint8_t header[kFrameHeaderBytes];
  EncodeFrameHeader(h, header);
  seg.insert(seg.end(), header, header + kFrameHeaderBytes);
  seg.insert(seg.end(), payload.begin(), payload.end());
}

TEST(Crc32cTest, MatchesTheStandardCheckValue) {
  // RFC 3720 B.4 / the CRC catalogue's check value for "123456789".
  const char* s = "123456789";
  EXPECT_EQ(Crc32c(s, 9), 0xE3069283u);
  // Incremental use gives the same result as one call.
  EXPECT_EQ(Crc32c(s + 4, 5, Crc32c(s, 4)), 0xE3069283u);
  std::vector<uint8_t> zeros(32, 0);
  EXPECT_EQ(Crc32c(zeros.data(), zeros.size()), 0x8A9136AAu);
}

TEST(SpoolFrameTest, HeaderRoundTripsAndRejectsDamage) {
  FrameHeader h{42, 7, 1000, -5, 99, 0xDEADBEEF};
  uint8_t buf[kFrameHeaderBytes];
  EncodeFrameHeader(h, buf);
  FrameHeader out;
  ASSERT_TRUE(DecodeFrameHeader(buf, &out));
  EXPECT_EQ(out.sequence, 42u);
  EXPECT_EQ(out.records, 7u);
  EXPECT_EQ(out.payload_bytes, 1000u);
  EXPECT_EQ(out.first_event_ns, -5);
  EXPECT_EQ(out.last_event_ns, 99);
  EXPECT_EQ(out.payload_crc, 0xDEADBEEFu);
  for (size_t i = 0; i < kFrameHeaderBytes; ++i) {
    uint8_t copy[kFrameHeaderBytes];
    std::memcpy(copy, buf, sizeof(copy));
    copy[i] ^= 0x01;
    EXPECT_FALSE(DecodeFrameHeader(copy, &out)) << "flipped byte " << i;
  }
  EXPECT_FALSE(DecodeFrameHeader(std::span<const uint8_t>(buf, kFrameHeaderBytes - 1), &out));
}

TEST(SpoolFrameTest, ScanFindsEveryIntactFrame) {
  auto seg = Segment();
  AppendFrame(seg, 1, 3, "aaa");
  AppendFrame(seg, 2, 1, "bbbbbb");
  AppendFrame(seg, 3, 0, "");
  SegmentScan s = ScanSegment(seg, true);
  EXPECT_TRUE(s.header_valid);
  ASSERT_EQ(s.frames.size(), 3u);
  EXPECT_EQ(s.frames[1].header.sequence, 2u);
  EXPECT_EQ(s.frames[1].offset, kSegmentHeaderBytes + kFrameHeaderBytes + 3);
  EXPECT_EQ(s.corrupt_regions, 0u);
  EXPECT_TRUE(s.damaged.empty());
  EXPECT_EQ(s.valid_end, seg.size());
}

TEST(SpoolFrameTest, TornPayloadAtTheEndIsDamagedWithItsIdentityKnown) {
  auto seg = Segment();
  AppendFrame(seg, 1, 3, "aaa");
  AppendFrame(seg, 2, 5, std::string(100, 'x'));
  size_t intact_end = kSegmentHeaderBytes + kFrameHeaderBytes + 3;
  seg.resize(seg.size() - 40);  // kill -9 in the middle of the write
  SegmentScan s = ScanSegment(seg, false);
  ASSERT_EQ(s.frames.size(), 1u);
  ASSERT_EQ(s.damaged.size(), 1u);
  EXPECT_EQ(s.damaged[0].header.sequence, 2u);
  EXPECT_EQ(s.damaged[0].header.records, 5u);
  EXPECT_EQ(s.valid_end, intact_end);
}

TEST(SpoolFrameTest, TornHeaderAtTheEndIsOneCorruptRegion) {
  auto seg = Segment();
  AppendFrame(seg, 1, 3, "aaa");
  AppendFrame(seg, 2, 5, "bbb");
  seg.resize(seg.size() - 3 - 20);  // only part of frame 2's header made it
  SegmentScan s = ScanSegment(seg, false);
  ASSERT_EQ(s.frames.size(), 1u);
  EXPECT_TRUE(s.damaged.empty());
  EXPECT_EQ(s.corrupt_regions, 1u);
  EXPECT_EQ(s.corrupt_bytes, kFrameHeaderBytes - 20);
}

TEST(SpoolFrameTest, ResynchronisesAfterGarbageInTheMiddle) {
  auto seg = Segment();
  AppendFrame(seg, 1, 1, "one");
  seg.insert(seg.end(), 77, 0xAB);  // a stretch of junk (bad sector)
  AppendFrame(seg, 2, 1, "two");
  AppendFrame(seg, 3, 1, "three");
  SegmentScan s = ScanSegment(seg, true);
  ASSERT_EQ(s.frames.size(), 3u);
  EXPECT_EQ(s.frames[2].header.sequence, 3u);
  EXPECT_EQ(s.corrupt_regions, 1u);
  EXPECT_EQ(s.corrupt_bytes, 77u);
}

TEST(SpoolFrameTest, PayloadBitRotIsCaughtOnlyWhenVerifying) {
  auto seg = Segment();
  AppendFrame(seg, 1, 1, "payload-one");
  AppendFrame(seg, 2, 1, "payload-two");
  seg[kSegmentHeaderBytes + kFrameHeaderBytes + 2] ^= 0x40;
  SegmentScan quick = ScanSegment(seg, false);
  EXPECT_EQ(quick.frames.size(), 2u);
  SegmentScan full = ScanSegment(seg, true);
  ASSERT_EQ(full.frames.size(), 1u);
  ASSERT_EQ(full.damaged.size(), 1u);
  EXPECT_EQ(full.damaged[0].header.sequence, 1u);
  EXPECT_EQ(full.frames[0].header.sequence, 2u);
}

TEST(SpoolFrameTest, DamagedSegmentHeaderStillYieldsItsFrames) {
  auto seg = Segment();
  AppendFrame(seg, 9, 1, "x");
  seg[3] = 'Z';
  SegmentScan s = ScanSegment(seg, true);
  EXPECT_FALSE(s.header_valid);
  ASSERT_EQ(s.frames.size(), 1u);
  EXPECT_EQ(s.frames[0].header.sequence, 9u);
  EXPECT_EQ(s.corrupt_regions, 1u);
}

}  // namespace
}  // namespace vigil::agent::exporter
