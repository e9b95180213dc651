#pragma once
// Test helpers to run external programs: promtool (run to completion, with
// input on stdin) and long-running servers (Prometheus, a metrics exporter)
// that the test stops by pid when it is done. Not thread-safe per object.

#include <sys/types.h>

#include <chrono>
#include <expected>
#include <string>
#include <vector>

namespace vigil::testing {

struct ProcessResult {
  int exit_code = -1;  ///< -1 when killed by a signal or on timeout
  std::string out;
  std::string err;
};

/// Runs argv[0] (PATH lookup) with `input` on stdin, waits up to `timeout`.
std::expected<ProcessResult, std::string> RunProcess(
    const std::vector<std::string>& argv, const std::string& input = "",
    std::chrono::milliseconds timeout = std::chrono::milliseconds(60000));

/// A background process whose stdout and stderr go to `log_path`. Stopped
/// (SIGTERM, then SIGKILL after a grace period) by Stop() or the destructor.
class ChildProcess {
 public:
  static std::expected<ChildProcess, std::string> Start(const std::vector<std::string>& argv,
                                                        const std::string& log_path);
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ~ChildProcess();

  pid_t Pid() const { return pid_; }
  /// True while the process has not exited.
  bool Running();
  /// Exit status after it stopped (-1: killed by a signal).
  int Stop(std::chrono::milliseconds grace = std::chrono::milliseconds(5000));

 private:
  ChildProcess() = default;
  pid_t pid_ = -1;
  int status_ = -1;
};

/// Reads a whole file ("" if missing).
std::string ReadFile(const std::string& path);

/// A fresh directory under $TMPDIR (or /tmp), removed by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& Path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace vigil::testing
