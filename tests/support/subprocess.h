#pragma once
// Starts real programs for end-to-end tests: argv, optional environment
// additions, stdout/stderr redirected to files, wait with a deadline, signal.
// The destructor kills (SIGKILL) and reaps a child that is still running, so
// a failing test never leaves processes behind. Not thread-safe.

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace vigil::testing {

class Subprocess {
 public:
  Subprocess() = default;
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;
  Subprocess(Subprocess&& other) noexcept;
  ~Subprocess();

  /// Starts `argv[0]` (a path) with stdout and stderr appended to the given
  /// files ("" = inherit). Returns false when fork/exec fails.
  bool Start(const std::vector<std::string>& argv, const std::string& stdout_path = "",
             const std::string& stderr_path = "", const std::vector<std::string>& extra_env = {});
  /// Waits for exit; returns the exit status (128+signal when killed), or
  /// nullopt on timeout (the child keeps running).
  std::optional<int> Wait(std::chrono::milliseconds timeout);
  /// Non-blocking: true while the child runs.
  bool Running();
  void Signal(int sig);
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
};

/// Reads a whole file ("" if missing).
std::string ReadFile(const std::string& path);
/// Polls `predicate` until it holds or `timeout` passes.
bool WaitUntil(const std::function<bool()>& predicate, std::chrono::milliseconds timeout,
               std::chrono::milliseconds every = std::chrono::milliseconds(50));
/// A fresh folder under $TMPDIR (or /tmp), removed by the caller.
std::string MakeTempDir(const std::string& prefix);
/// Runs a program to completion, capturing stdout; returns the exit status.
int RunCapture(const std::vector<std::string>& argv, std::string& out,
               std::chrono::milliseconds timeout = std::chrono::seconds(120));

}  // namespace vigil::testing
