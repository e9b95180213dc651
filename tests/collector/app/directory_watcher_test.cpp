#include "collector/app/directory_watcher.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>

namespace vigil::collector::app {
namespace {

namespace fs = std::filesystem;

class WatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("vigil-watch-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "rules");
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Waits until `n` callbacks happened or the deadline passes.
  bool WaitFor(int n, std::chrono::seconds deadline = std::chrono::seconds(10)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, deadline, [&] { return calls_ >= n; });
  }
  DirectoryWatcher::Callback Counter() {
    return [this] {
      std::lock_guard lock(mu_);
      ++calls_;
      cv_.notify_all();
    };
  }
  int calls() {
    std::lock_guard lock(mu_);
    return calls_;
  }

  fs::path dir_;
  std::mutex mu_;
  std::condition_variable cv_;
  int calls_ = 0;
};

void WriteFile(const fs::path& p, const std::string& text) {
  std::ofstream out(p);
  out << text;
}

TEST_F(WatcherTest, ManyWritesInABurstBecomeOneCallback) {
  DirectoryWatcher w({(dir_ / "rules").string()}, std::chrono::milliseconds(300), Counter());
  ASSERT_TRUE(w.Start().has_value());
  for (int i = 0; i < 20; ++i) WriteFile(dir_ / "rules" / ("r" + std::to_string(i) + ".yml"), "x");
  ASSERT_TRUE(WaitFor(1));
  // Nothing else changed: no second callback arrives after the debounce.
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  EXPECT_EQ(calls(), 1);
}

TEST_F(WatcherTest, AtomicRenameIntoPlaceIsNoticed) {
  WriteFile(dir_ / "staged.yml", "x");
  DirectoryWatcher w({(dir_ / "rules").string()}, std::chrono::milliseconds(100), Counter());
  ASSERT_TRUE(w.Start().has_value());
  fs::rename(dir_ / "staged.yml", dir_ / "rules" / "new.yml");
  EXPECT_TRUE(WaitFor(1));
}

TEST_F(WatcherTest, FilesInNewSubfoldersAreWatched) {
  DirectoryWatcher w({(dir_ / "rules").string()}, std::chrono::milliseconds(100), Counter());
  ASSERT_TRUE(w.Start().has_value());
  fs::create_directories(dir_ / "rules" / "pack");
  ASSERT_TRUE(WaitFor(1));
  WriteFile(dir_ / "rules" / "pack" / "r.yml", "x");
  EXPECT_TRUE(WaitFor(2));
}

TEST_F(WatcherTest, ListFileEditIsNoticed) {
  WriteFile(dir_ / "bad.txt", "a.example\n");
  DirectoryWatcher w({(dir_ / "bad.txt").string()}, std::chrono::milliseconds(100), Counter());
  ASSERT_TRUE(w.Start().has_value());
  WriteFile(dir_ / "bad.txt", "b.example\n");
  EXPECT_TRUE(WaitFor(1));
}

}  // namespace
}  // namespace vigil::collector::app
