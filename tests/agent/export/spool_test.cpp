// The on-disk spool: append/read/acknowledge, recovery after restart and
// after a torn write, overflow policies, corruption found on read.

#include "agent/export/spool.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "agent/export/spool_frame.h"
#include "tests/transport/test_pki.h"

namespace vigil::agent::exporter {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

std::shared_ptr<const std::string> Payload(uint64_t seq, size_t size = 1000) {
  std::string s(size, static_cast<char>('a' + seq % 26));
  s.replace(0, std::min<size_t>(size, 8), std::to_string(seq).substr(0, 8));
  return std::make_shared<const std::string>(std::move(s));
}

SpooledBatch Meta(uint64_t seq, uint32_t records = 10) {
  return SpooledBatch{seq, records, static_cast<int64_t>(seq) * 1000,
                      static_cast<int64_t>(seq) * 1000 + 999};
}

std::vector<fs::path> Segments(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ".vsp") out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

class SpoolTest : public ::testing::Test {
 protected:
  std::unique_ptr<Spool> Open(uint64_t max = 1 << 20,
                              SpoolOverflow overflow = SpoolOverflow::kDropOldest) {
    SpoolOptions o;
    o.directory = dir_.str();
    o.max_bytes = max;
    o.overflow = overflow;
    auto s = Spool::Open(o);
    EXPECT_TRUE(s.has_value()) << (s ? "" : s.error());
    return s ? std::move(*s) : nullptr;
  }
  TempDir dir_{"vigil-spool"};
};

TEST_F(SpoolTest, AppendReadAcknowledgeInOrder) {
  auto spool = Open();
  for (uint64_t s = 1; s <= 5; ++s) ASSERT_TRUE(spool->Append(Meta(s), Payload(s)).stored);
  auto u = spool->Usage();
  EXPECT_EQ(u.batches, 5u);
  EXPECT_EQ(u.records, 50u);
  EXPECT_EQ(u.first_sequence, 1u);
  EXPECT_EQ(u.last_sequence, 5u);
  auto r = spool->ReadAfter(2);
  ASSERT_TRUE(r.batch.has_value());
  EXPECT_EQ(r.batch->sequence, 3u);
  EXPECT_EQ(*r.payload, *Payload(3));
  auto removed = spool->Acknowledge(3);
  EXPECT_EQ(removed.size(), 3u);
  EXPECT_EQ(spool->Usage().first_sequence, 4u);
  EXPECT_EQ(spool->Usage().records, 20u);
}

TEST_F(SpoolTest, SurvivesRestartAndReadsFromDisk) {
  {
    auto spool = Open();
    for (uint64_t s = 1; s <= 4; ++s) ASSERT_TRUE(spool->Append(Meta(s, 7), Payload(s)).stored);
    spool->Acknowledge(1);
  }
  auto spool = Open();
  const auto& rec = spool->recovery();
  EXPECT_EQ(rec.batches, 3u);
  EXPECT_EQ(rec.records, 21u);
  EXPECT_EQ(rec.highest_sequence, 4u);
  EXPECT_TRUE(rec.damaged.empty());
  auto r = spool->ReadAfter(0);
  ASSERT_TRUE(r.batch);
  EXPECT_EQ(r.batch->sequence, 2u);
  EXPECT_EQ(*r.payload, *Payload(2));  // read back from the file, CRC checked
  EXPECT_EQ(r.batch->first_event_ns, 2000);
}

TEST_F(SpoolTest, TornWriteAfterKillIsReportedAndTheRestKept) {
  {
    auto spool = Open();
    for (uint64_t s = 1; s <= 3; ++s) ASSERT_TRUE(spool->Append(Meta(s), Payload(s)).stored);
  }
  auto segs = Segments(dir_.path());
  ASSERT_EQ(segs.size(), 1u);
  fs::resize_file(segs[0], fs::file_size(segs[0]) - 500);  // frame 3 cut in half
  auto spool = Open();
  const auto& rec = spool->recovery();
  EXPECT_EQ(rec.batches, 2u);
  ASSERT_EQ(rec.damaged.size(), 1u);
  EXPECT_EQ(rec.damaged[0].sequence, 3u);
  EXPECT_EQ(rec.damaged[0].records, 10u);
  EXPECT_EQ(rec.highest_sequence, 3u);
  // New appends go to a fresh segment, never after the torn bytes.
  ASSERT_TRUE(spool->Append(Meta(4), Payload(4)).stored);
  auto r = spool->ReadAfter(2);
  ASSERT_TRUE(r.batch);
  EXPECT_EQ(r.batch->sequence, 4u);
}

TEST_F(SpoolTest, DropOldestEvictsWholeSegmentsAndReportsThem) {
  auto spool = Open(/*max=*/256 << 10);  // segments of 64 KiB
  uint64_t stored = 0, evicted = 0;
  for (uint64_t s = 1; s <= 40; ++s) {
    auto r = spool->Append(Meta(s), Payload(s, 10000));
    ASSERT_TRUE(r.stored);
    ++stored;
    for (const auto& e : r.evicted) {
      EXPECT_EQ(e.sequence, evicted + 1) << "evicted oldest first, in order";
      ++evicted;
    }
  }
  auto u = spool->Usage();
  EXPECT_GT(evicted, 0u);
  EXPECT_EQ(u.batches, stored - evicted);
  EXPECT_LE(u.bytes_used, 256u << 10);
  EXPECT_EQ(u.last_sequence, 40u);
  EXPECT_EQ(u.first_sequence, evicted + 1);
}

TEST_F(SpoolTest, DropNewestRefusesTheNewBatch) {
  auto spool = Open(/*max=*/128 << 10, SpoolOverflow::kDropNewest);
  uint64_t refused = 0;
  for (uint64_t s = 1; s <= 30; ++s) {
    auto r = spool->Append(Meta(s), Payload(s, 10000));
    EXPECT_TRUE(r.evicted.empty());
    if (!r.stored) ++refused;
  }
  EXPECT_GT(refused, 0u);
  EXPECT_EQ(spool->Usage().first_sequence, 1u);
  EXPECT_LE(spool->Usage().bytes_used, 128u << 10);
  // Acknowledging frees room again.
  spool->Acknowledge(spool->Usage().last_sequence);
  EXPECT_TRUE(spool->Append(Meta(31), Payload(31, 10000)).stored);
}

TEST_F(SpoolTest, ABatchLargerThanTheSpoolIsRefused) {
  auto spool = Open(/*max=*/64 << 10);
  EXPECT_FALSE(spool->Append(Meta(1), Payload(1, 100 << 10)).stored);
}

TEST_F(SpoolTest, PayloadCorruptionOnDiskIsFoundOnReadAndSkipped) {
  {
    auto spool = Open();
    for (uint64_t s = 1; s <= 3; ++s) ASSERT_TRUE(spool->Append(Meta(s), Payload(s)).stored);
  }
  auto segs = Segments(dir_.path());
  {
    std::fstream f(segs[0], std::ios::in | std::ios::out | std::ios::binary);
    // Inside frame 2's payload.
    f.seekp(static_cast<std::streamoff>(kSegmentHeaderBytes + (kFrameHeaderBytes + 1000) +
                                        kFrameHeaderBytes + 500));
    f.put('#');
  }
  auto spool = Open();
  EXPECT_EQ(spool->recovery().batches, 3u);  // headers are intact
  auto r1 = spool->ReadAfter(0);
  ASSERT_TRUE(r1.batch);
  EXPECT_EQ(r1.batch->sequence, 1u);
  auto r2 = spool->ReadAfter(1);
  ASSERT_EQ(r2.corrupt.size(), 1u);
  EXPECT_EQ(r2.corrupt[0].sequence, 2u);
  ASSERT_TRUE(r2.batch);
  EXPECT_EQ(r2.batch->sequence, 3u);
  EXPECT_EQ(spool->Usage().batches, 2u);
}

TEST_F(SpoolTest, SegmentsAreDeletedOnceFullyAcknowledged) {
  auto spool = Open(/*max=*/1 << 20);  // 64 KiB segments
  for (uint64_t s = 1; s <= 30; ++s) ASSERT_TRUE(spool->Append(Meta(s), Payload(s, 10000)).stored);
  size_t before = Segments(dir_.path()).size();
  EXPECT_GE(before, 4u);
  spool->Acknowledge(30);
  EXPECT_EQ(Segments(dir_.path()).size(), 1u);  // only the one being written
  EXPECT_EQ(spool->Usage().batches, 0u);
}

TEST_F(SpoolTest, CacheBookkeepingStaysBoundedOnAHealthyAgent) {
  // Every batch is appended, read by the sender and acknowledged; the cache
  // (32 MiB) is never full, so only acknowledgement removes entries.
  auto spool = Open();
  for (uint64_t s = 1; s <= 5000; ++s) {
    ASSERT_TRUE(spool->Append(Meta(s), Payload(s, 100)).stored);
    auto r = spool->ReadAfter(s - 1);
    ASSERT_TRUE(r.batch.has_value());
    ASSERT_EQ(r.batch->sequence, s);
    spool->Acknowledge(s);
  }
  const auto u = spool->Usage();
  EXPECT_EQ(u.batches, 0u);
  EXPECT_EQ(u.cached_batches, 0u);
  EXPECT_LE(u.cache_order_entries, 64u) << "acknowledged batches stay in the cache's order";
}

TEST_F(SpoolTest, CacheBookkeepingStaysBoundedWhenSegmentsAreEvicted) {
  // drop_oldest with the collector away: whole segments are evicted again
  // and again; the cache keeps only what the spool still holds.
  auto spool = Open(256 << 10);
  for (uint64_t s = 1; s <= 5000; ++s) {
    ASSERT_TRUE(spool->Append(Meta(s), Payload(s, 1000)).stored);
  }
  const auto u = spool->Usage();
  EXPECT_LT(u.batches, 256u);
  EXPECT_LE(u.cached_batches, u.batches);
  EXPECT_LE(u.cache_order_entries, 2 * u.cached_batches + 64);
}

TEST_F(SpoolTest, SequenceZeroIsRefusedAsAWriteError) {
  // The sequence store's refusal (no durable reservation) reaches the
  // caller's write-error path instead of a frame recovery would drop.
  auto spool = Open();
  const auto r = spool->Append(Meta(0), Payload(0));
  EXPECT_FALSE(r.stored);
  EXPECT_TRUE(r.write_error);
  EXPECT_EQ(spool->Usage().batches, 0u);
}

TEST_F(SpoolTest, ASecondProcessCannotOpenTheSameSpool) {
  auto first = Open();
  SpoolOptions o;
  o.directory = dir_.str();
  auto second = Spool::Open(o);
  ASSERT_FALSE(second.has_value());
  EXPECT_NE(second.error().find("in use"), std::string::npos);
}

}  // namespace
}  // namespace vigil::agent::exporter
