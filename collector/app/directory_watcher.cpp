#include "collector/app/directory_watcher.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace vigil::collector::app {
namespace {

constexpr uint32_t kMask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE |
                           IN_DELETE_SELF | IN_MOVE_SELF | IN_ATTRIB;

}  // namespace

DirectoryWatcher::DirectoryWatcher(std::vector<std::string> paths,
                                   std::chrono::milliseconds debounce, Callback on_change)
    : paths_(std::move(paths)), debounce_(debounce), on_change_(std::move(on_change)) {}

DirectoryWatcher::~DirectoryWatcher() { Stop(); }

void DirectoryWatcher::AddTree(const std::string& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return;
  const int wd = inotify_add_watch(inotify_fd_, dir.c_str(), kMask);
  if (wd >= 0) watches_[wd] = dir;
  for (auto it = std::filesystem::recursive_directory_iterator(
           dir, std::filesystem::directory_options::skip_permission_denied, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_directory(ec)) {
      const int sub = inotify_add_watch(inotify_fd_, it->path().c_str(), kMask);
      if (sub >= 0) watches_[sub] = it->path().string();
    }
  }
}

std::expected<void, std::string> DirectoryWatcher::Start() {
  inotify_fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (inotify_fd_ < 0) return std::unexpected(std::string("inotify: ") + std::strerror(errno));
  stop_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (stop_fd_ < 0) return std::unexpected(std::string("eventfd: ") + std::strerror(errno));
  for (const auto& p : paths_) {
    std::error_code ec;
    std::filesystem::path path(p);
    if (std::filesystem::is_directory(path, ec)) {
      AddTree(p);
    } else if (path.has_parent_path()) {
      // A list file, or a folder not created yet: watch where it will appear.
      const int wd = inotify_add_watch(inotify_fd_, path.parent_path().c_str(), kMask);
      if (wd >= 0) watches_[wd] = path.parent_path().string();
    }
  }
  thread_ = std::thread([this] { Run(); });
  return {};
}

void DirectoryWatcher::Stop() {
  if (thread_.joinable()) {
    const uint64_t one = 1;
    (void)!write(stop_fd_, &one, sizeof one);
    thread_.join();
  }
  if (inotify_fd_ >= 0) close(inotify_fd_);
  if (stop_fd_ >= 0) close(stop_fd_);
  inotify_fd_ = stop_fd_ = -1;
}

void DirectoryWatcher::Run() {
  bool pending = false;
  auto last_event = std::chrono::steady_clock::now();
  alignas(inotify_event) char buf[16 * 1024];
  for (;;) {
    pollfd fds[2] = {{inotify_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    int timeout = -1;
    if (pending) {
      const auto due = last_event + debounce_;
      const auto now = std::chrono::steady_clock::now();
      timeout =
          due <= now
              ? 0
              : static_cast<int>(
                    std::chrono::duration_cast<std::chrono::milliseconds>(due - now).count()) +
                    1;
    }
    const int n = poll(fds, 2, timeout);
    if (n < 0 && errno != EINTR) return;
    if (fds[1].revents & POLLIN) return;
    if (n > 0 && (fds[0].revents & POLLIN)) {
      for (;;) {
        const ssize_t len = read(inotify_fd_, buf, sizeof buf);
        if (len <= 0) break;
        for (char* p = buf; p < buf + len;) {
          auto* ev = reinterpret_cast<inotify_event*>(p);
          // A new sub-folder (a rule pack unpacked in place) gets its own watch.
          if ((ev->mask & IN_ISDIR) && (ev->mask & (IN_CREATE | IN_MOVED_TO)) && ev->len > 0) {
            auto it = watches_.find(ev->wd);
            if (it != watches_.end()) AddTree(it->second + "/" + ev->name);
          }
          if (ev->mask & IN_IGNORED) watches_.erase(ev->wd);
          p += sizeof(inotify_event) + ev->len;
        }
        pending = true;
        last_event = std::chrono::steady_clock::now();
      }
    }
    if (pending && std::chrono::steady_clock::now() >= last_event + debounce_) {
      pending = false;
      on_change_();
    }
  }
}

}  // namespace vigil::collector::app
