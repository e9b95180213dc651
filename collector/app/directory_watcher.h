#pragma once
// Watches rule, filter and list folders (recursively) and calls back once a
// burst of changes has settled: an editor's save, an atomic `mv` into place
// or a package upgrade writing many files becomes one reload. Uses inotify;
// owns one thread. Start/Stop from one thread; the callback runs on the
// watcher's thread.

#include <atomic>
#include <chrono>
#include <expected>
#include <functional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace vigil::collector::app {

class DirectoryWatcher {
 public:
  using Callback = std::function<void()>;

  DirectoryWatcher(std::vector<std::string> paths, std::chrono::milliseconds debounce,
                   Callback on_change);
  ~DirectoryWatcher();
  DirectoryWatcher(const DirectoryWatcher&) = delete;
  DirectoryWatcher& operator=(const DirectoryWatcher&) = delete;

  /// Sets up the watches and starts the thread. Paths that do not exist are
  /// watched through their parent so that creating them later is noticed.
  std::expected<void, std::string> Start();
  void Stop();

 private:
  void Run();
  void AddTree(const std::string& dir);

  std::vector<std::string> paths_;
  std::chrono::milliseconds debounce_;
  Callback on_change_;
  int inotify_fd_ = -1;
  int stop_fd_ = -1;
  std::unordered_map<int, std::string> watches_;
  std::thread thread_;
};

}  // namespace vigil::collector::app
