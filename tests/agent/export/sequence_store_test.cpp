// Batch sequences never repeat: across restarts, kill -9, and an unclean
// reboot (simulated by a state file written under another boot id).

#include "agent/export/sequence_store.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

#include "tests/transport/test_pki.h"

namespace vigil::agent::exporter {
namespace {

using testing::TempDir;

TEST(SequenceStoreTest, StartsAtOneAndIncreasesAcrossRestarts) {
  TempDir dir("vigil-seq");
  {
    auto s = SequenceStore::Open(dir.str(), 0);
    ASSERT_TRUE(s.has_value()) << s.error();
    EXPECT_EQ((*s)->Next(), 1u);
    EXPECT_EQ((*s)->Next(), 2u);
    (*s)->MarkClean();
  }
  {
    // Killed (no MarkClean) on the same boot: continues exactly.
    auto s = SequenceStore::Open(dir.str(), 0);
    ASSERT_TRUE(s.has_value());
    EXPECT_EQ((*s)->Next(), 3u);
    EXPECT_GT((*s)->unknown_first(), (*s)->unknown_last());
  }
  auto s = SequenceStore::Open(dir.str(), 0);
  EXPECT_EQ((*s)->Next(), 4u);
}

TEST(SequenceStoreTest, NeverBelowWhatTheSpoolHolds) {
  TempDir dir("vigil-seq");
  auto s = SequenceStore::Open(dir.str(), 500);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ((*s)->Next(), 501u);
}

TEST(SequenceStoreTest, ManyNumbersCrossTheReservationBoundary) {
  TempDir dir("vigil-seq");
  uint64_t last = 0;
  {
    auto s = SequenceStore::Open(dir.str(), 0);
    for (uint64_t i = 0; i < 3 * SequenceStore::kReservationBlock; ++i) last = (*s)->Next();
  }
  auto s = SequenceStore::Open(dir.str(), 0);
  EXPECT_EQ((*s)->Next(), last + 1);
}

void WriteBootId(const std::filesystem::path& file, const char* id) {
  std::ofstream(file) << id << "\n";
}

TEST(SequenceStoreTest, UncleanRebootSkipsToTheReservationAndReportsTheGap) {
  TempDir dir("vigil-seq");
  auto boot = dir.path() / "boot_id";
  WriteBootId(boot, "11111111-2222-3333-4444-555555555555");
  {
    auto s = SequenceStore::Open(dir.str(), 0, boot.string());
    for (int i = 0; i < 10; ++i) (*s)->Next();
    // No MarkClean: the power went out.
  }
  WriteBootId(boot, "99999999-8888-7777-6666-555555555555");
  auto s = SequenceStore::Open(dir.str(), 0, boot.string());
  ASSERT_TRUE(s.has_value());
  // The last number written may be stale after a reboot: continue after
  // the durable reservation, and report what lies between as unknown.
  uint64_t next = (*s)->Next();
  EXPECT_GT(next, SequenceStore::kReservationBlock);
  EXPECT_EQ((*s)->unknown_first(), 11u);
  EXPECT_EQ((*s)->unknown_last(), next - 1);
}

TEST(SequenceStoreTest, CleanShutdownBeforeRebootContinuesExactly) {
  TempDir dir("vigil-seq");
  auto boot = dir.path() / "boot_id";
  WriteBootId(boot, "11111111-2222-3333-4444-555555555555");
  {
    auto s = SequenceStore::Open(dir.str(), 0, boot.string());
    for (int i = 0; i < 10; ++i) (*s)->Next();
    (*s)->MarkClean();
  }
  WriteBootId(boot, "99999999-8888-7777-6666-555555555555");
  auto s = SequenceStore::Open(dir.str(), 0, boot.string());
  EXPECT_EQ((*s)->Next(), 11u);
  EXPECT_GT((*s)->unknown_first(), (*s)->unknown_last());
}

TEST(SequenceStoreTest, RaiseFloorSkipsNumbersTheCollectorAlreadyHolds) {
  TempDir dir("vigil-seq");
  auto s = SequenceStore::Open(dir.str(), 0);
  (*s)->Next();
  (*s)->RaiseFloor(5000);
  EXPECT_EQ((*s)->Next(), 5001u);
}

TEST(SequenceStoreTest, ATornSlotFallsBackToTheOtherOne) {
  TempDir dir("vigil-seq");
  {
    auto s = SequenceStore::Open(dir.str(), 0);
    for (int i = 0; i < 6; ++i) (*s)->Next();
  }
  // Destroy whichever slot is newer; the older one is at most one behind.
  int fd = ::open((dir.path() / "sequence").c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  uint8_t junk[64];
  std::memset(junk, 0x5A, sizeof(junk));
  uint8_t slot0[64], slot1[64];
  ASSERT_EQ(::pread(fd, slot0, 64, 0), 64);
  ASSERT_EQ(::pread(fd, slot1, 64, 64), 64);
  uint32_t c0, c1;
  std::memcpy(&c0, slot0 + 8, 4);
  std::memcpy(&c1, slot1 + 8, 4);
  ASSERT_EQ(::pwrite(fd, junk, 64, c0 > c1 ? 0 : 64), 64);
  ::close(fd);
  auto s = SequenceStore::Open(dir.str(), 0);
  ASSERT_TRUE(s.has_value());
  // The destroyed slot may have held the newest number: only the durable
  // reservation is trusted, and the numbers in between are reported.
  uint64_t next = (*s)->Next();
  EXPECT_GT(next, 6u);
  EXPECT_LE((*s)->unknown_first(), 7u);
  EXPECT_EQ((*s)->unknown_last(), next - 1);
}

// Makes every write to a regular file fail (EFBIG) while in scope: the
// file-size limit applies to root too, unlike permissions.
class WritesFail {
 public:
  WritesFail() {
    old_handler_ = std::signal(SIGXFSZ, SIG_IGN);
    ::getrlimit(RLIMIT_FSIZE, &old_);
    rlimit none = old_;
    none.rlim_cur = 0;
    ok_ = ::setrlimit(RLIMIT_FSIZE, &none) == 0;
  }
  ~WritesFail() {
    ::setrlimit(RLIMIT_FSIZE, &old_);
    std::signal(SIGXFSZ, old_handler_);
  }
  bool ok() const { return ok_; }

 private:
  rlimit old_{};
  void (*old_handler_)(int) = nullptr;
  bool ok_ = false;
};

TEST(SequenceStoreTest, NoNumberPastAReservationThatDidNotReachTheDisk) {
  TempDir dir("vigil-seq");
  auto boot = dir.path() / "boot_id";
  WriteBootId(boot, "11111111-2222-3333-4444-555555555555");
  constexpr uint64_t kBlock = SequenceStore::kReservationBlock;
  std::vector<uint64_t> issued;
  {
    auto s = SequenceStore::Open(dir.str(), 0, boot.string());
    ASSERT_TRUE(s.has_value());
    // Open reserved 1..kBlock durably; use all but the last few.
    for (uint64_t i = 0; i + 4 < kBlock; ++i) issued.push_back((*s)->Next());
    {
      WritesFail fail;
      ASSERT_TRUE(fail.ok());
      // Still inside the durable reservation: issued although the
      // (unsynced) writes fail.
      for (int i = 0; i < 4; ++i) issued.push_back((*s)->Next());
      EXPECT_EQ(issued.back(), kBlock);
      // Past it the reservation cannot be extended: refused, repeatedly.
      EXPECT_EQ((*s)->Next(), 0u);
      EXPECT_EQ((*s)->Next(), 0u);
      EXPECT_EQ((*s)->last_assigned(), kBlock);
    }
    // The disk recovers: the next call extends the reservation and goes on
    // without a hole.
    issued.push_back((*s)->Next());
    EXPECT_EQ(issued.back(), kBlock + 1);
    for (int i = 0; i < 10; ++i) issued.push_back((*s)->Next());
    // No MarkClean: the power went out.
  }
  WriteBootId(boot, "99999999-8888-7777-6666-555555555555");
  auto s = SequenceStore::Open(dir.str(), 0, boot.string());
  ASSERT_TRUE(s.has_value());
  EXPECT_GT((*s)->Next(), issued.back()) << "a number issued before the reboot is issued again";
}

TEST(SequenceStoreTest, FailedExtensionIsNotTrustedAfterAnUncleanReboot) {
  TempDir dir("vigil-seq");
  auto boot = dir.path() / "boot_id";
  WriteBootId(boot, "11111111-2222-3333-4444-555555555555");
  std::vector<uint64_t> issued;
  {
    auto s = SequenceStore::Open(dir.str(), 0, boot.string());
    ASSERT_TRUE(s.has_value());
    for (uint64_t i = 0; i < SequenceStore::kReservationBlock; ++i) issued.push_back((*s)->Next());
    WritesFail fail;
    ASSERT_TRUE(fail.ok());
    // The disk refuses every write from here until the power goes out.
    for (int i = 0; i < 5; ++i) {
      const uint64_t n = (*s)->Next();
      if (n != 0) issued.push_back(n);
    }
  }
  WriteBootId(boot, "99999999-8888-7777-6666-555555555555");
  auto s = SequenceStore::Open(dir.str(), 0, boot.string());
  ASSERT_TRUE(s.has_value());
  const uint64_t next = (*s)->Next();
  for (uint64_t n : issued) EXPECT_LT(n, next) << n << " would be issued twice";
}

}  // namespace
}  // namespace vigil::agent::exporter
