#include "agent/export/spool.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "agent/export/spool_frame.h"

namespace vigil::agent::exporter {

namespace fs = std::filesystem;

namespace {

constexpr uint64_t kMinSegmentBytes = 64ull << 10;
constexpr uint64_t kMaxSegmentBytes = 64ull << 20;

struct FileHandle {
  explicit FileHandle(int f) : fd(f) {}
  ~FileHandle() {
    if (fd >= 0) ::close(fd);
  }
  int fd;
};

std::string SegmentName(uint64_t id) {
  char buf[40];
  std::snprintf(buf, sizeof(buf), "seg-%016llx.vsp", static_cast<unsigned long long>(id));
  return buf;
}

bool ParseSegmentName(const std::string& name, uint64_t* id) {
  if (name.size() != 24 || name.rfind("seg-", 0) != 0 || name.substr(20) != ".vsp") return false;
  char* end = nullptr;
  *id = std::strtoull(name.c_str() + 4, &end, 16);
  return end == name.c_str() + 20;
}

// The cache's eviction order outlives entries that left the cache
// (acknowledged, evicted with their segment): drop those from the front, and
// compact the whole queue once stale entries outnumber live ones, so its
// length stays proportional to the cache (amortised O(1) per removal).
void TrimCacheOrder(std::deque<uint64_t>& order,
                    const std::map<uint64_t, std::shared_ptr<const std::string>>& cache) {
  while (!order.empty() && !cache.contains(order.front())) order.pop_front();
  if (order.size() <= 2 * cache.size() + 64) return;
  std::deque<uint64_t> live;
  for (uint64_t seq : order) {
    if (cache.contains(seq)) live.push_back(seq);
  }
  order.swap(live);
}

}  // namespace

struct Spool::Segment {
  uint64_t id = 0;
  std::string path;
  std::shared_ptr<FileHandle> file;
  uint64_t size = 0;
  uint64_t live = 0;  // index entries that point here
  bool dirty = false;
};

Spool::Spool(SpoolOptions options) : options_(std::move(options)) {
  if (options_.segment_bytes == 0) {
    options_.segment_bytes =
        std::clamp(options_.max_bytes / 16, kMinSegmentBytes, kMaxSegmentBytes);
  }
}

Spool::~Spool() {
  Sync();
  if (acked_fd_ >= 0) ::close(acked_fd_);
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

void Spool::SaveAckedLocked() {
  uint8_t buf[12];
  std::memcpy(buf, &acked_, 8);
  uint32_t crc = Crc32c(buf, 8);
  std::memcpy(buf + 8, &crc, 4);
  if (::pwrite(acked_fd_, buf, sizeof(buf), 0) != static_cast<ssize_t>(sizeof(buf))) {
    // Not fatal: at worst acknowledged batches are offered again after a
    // restart and the collector drops them as duplicates.
  }
}

std::expected<std::unique_ptr<Spool>, std::string> Spool::Open(const SpoolOptions& options) {
  if (options.directory.empty()) return std::unexpected("spool directory is not configured");
  std::error_code ec;
  fs::create_directories(options.directory, ec);
  if (ec) return std::unexpected(options.directory + ": cannot create: " + ec.message());
  std::unique_ptr<Spool> spool(new Spool(options));
  std::string lock = options.directory + "/lock";
  spool->lock_fd_ = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (spool->lock_fd_ < 0) return std::unexpected(lock + ": cannot open: " + std::strerror(errno));
  // Two agents appending to one spool would interleave sequences and lose
  // data: refuse the second one.
  if (::flock(spool->lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    return std::unexpected(options.directory +
                           ": spool is in use by another process (one spool per agent)");
  }
  std::string acked = options.directory + "/acked";
  spool->acked_fd_ = ::open(acked.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (spool->acked_fd_ < 0) {
    return std::unexpected(acked + ": cannot open: " + std::strerror(errno));
  }
  uint8_t buf[12];
  if (::pread(spool->acked_fd_, buf, sizeof(buf), 0) == static_cast<ssize_t>(sizeof(buf))) {
    uint32_t crc;
    std::memcpy(&crc, buf + 8, 4);
    if (crc == Crc32c(buf, 8)) std::memcpy(&spool->acked_, buf, 8);
  }
  spool->recovery_.acked_sequence = spool->acked_;
  if (auto r = spool->Recover(); !r) return std::unexpected(r.error());
  std::lock_guard guard(spool->mu_);
  if (!spool->OpenNewSegmentLocked()) {
    return std::unexpected(options.directory +
                           ": cannot create a segment: " + std::strerror(errno));
  }
  return spool;
}

std::expected<void, std::string> Spool::Recover() {
  std::vector<std::pair<uint64_t, std::string>> files;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(options_.directory, ec)) {
    uint64_t id = 0;
    std::string name = entry.path().filename().string();
    if (ParseSegmentName(name, &id)) files.emplace_back(id, entry.path().string());
  }
  if (ec) return std::unexpected(options_.directory + ": cannot list: " + ec.message());
  std::sort(files.begin(), files.end());
  for (const auto& [id, path] : files) {
    next_segment_id_ = std::max(next_segment_id_, id + 1);
    int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) return std::unexpected(path + ": cannot open: " + std::strerror(errno));
    auto seg = std::make_unique<Segment>();
    seg->id = id;
    seg->path = path;
    seg->file = std::make_shared<FileHandle>(fd);
    struct stat st {};
    ::fstat(fd, &st);
    seg->size = static_cast<uint64_t>(st.st_size);
    SegmentScan scan;
    if (seg->size > 0) {
      void* map = ::mmap(nullptr, seg->size, PROT_READ, MAP_PRIVATE, fd, 0);
      if (map == MAP_FAILED) return std::unexpected(path + ": cannot map: " + std::strerror(errno));
      scan = ScanSegment(std::span<const uint8_t>(static_cast<const uint8_t*>(map), seg->size),
                         /*verify_payload=*/false);
      ::munmap(map, seg->size);
    }
    recovery_.corrupt_regions += scan.corrupt_regions;
    recovery_.corrupt_bytes += scan.corrupt_bytes;
    for (const auto& d : scan.damaged) {
      if (d.header.sequence <= acked_) continue;  // delivered: its damage costs nothing
      recovery_.damaged.push_back(SpooledBatch{d.header.sequence, d.header.records,
                                               d.header.first_event_ns, d.header.last_event_ns});
      recovery_.highest_sequence = std::max(recovery_.highest_sequence, d.header.sequence);
    }
    for (const auto& f : scan.frames) {
      const auto& h = f.header;
      recovery_.highest_sequence = std::max(recovery_.highest_sequence, h.sequence);
      if (h.sequence <= acked_) continue;           // delivered before the restart
      if (index_.count(h.sequence) != 0) continue;  // never written twice; be safe
      Entry e;
      e.batch = SpooledBatch{h.sequence, h.records, h.first_event_ns, h.last_event_ns};
      e.segment_id = id;
      e.offset = f.offset;
      e.payload_bytes = h.payload_bytes;
      e.payload_crc = h.payload_crc;
      index_.emplace(h.sequence, e);
      index_records_ += h.records;
      ++seg->live;
      ++recovery_.batches;
      recovery_.records += h.records;
    }
    ++recovery_.segments;
    if (seg->live == 0) {
      ::unlink(path.c_str());
      continue;
    }
    bytes_used_ += seg->size;
    segments_.emplace(id, std::move(seg));
  }
  return {};
}

bool Spool::OpenNewSegmentLocked() {
  uint64_t id = next_segment_id_++;
  std::string path = options_.directory + "/" + SegmentName(id);
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  uint8_t header[kSegmentHeaderBytes];
  EncodeSegmentHeader(header);
  if (::pwrite(fd, header, sizeof(header), 0) != static_cast<ssize_t>(sizeof(header))) {
    ::close(fd);
    ::unlink(path.c_str());
    return false;
  }
  auto seg = std::make_unique<Segment>();
  seg->id = id;
  seg->path = path;
  seg->file = std::make_shared<FileHandle>(fd);
  seg->size = kSegmentHeaderBytes;
  seg->dirty = true;
  bytes_used_ += seg->size;
  active_ = seg.get();
  segments_.emplace(id, std::move(seg));
  return true;
}

void Spool::DeleteSegmentLocked(uint64_t id) {
  auto it = segments_.find(id);
  if (it == segments_.end()) return;
  ::unlink(it->second->path.c_str());
  bytes_used_ -= it->second->size;
  if (active_ == it->second.get()) active_ = nullptr;
  segments_.erase(it);
}

void Spool::DeleteEmptySegmentsLocked() {
  for (auto it = segments_.begin(); it != segments_.end();) {
    Segment* s = it->second.get();
    ++it;
    if (s->live == 0 && s != active_) DeleteSegmentLocked(s->id);
  }
}

void Spool::CachePutLocked(uint64_t sequence, std::shared_ptr<const std::string> payload) {
  if (payload->size() > options_.cache_bytes) return;
  const uint64_t size = payload->size();
  if (!cache_.emplace(sequence, std::move(payload)).second) return;  // already cached
  cache_bytes_ += size;
  cache_order_.push_back(sequence);
  while (cache_bytes_ > options_.cache_bytes && !cache_order_.empty()) {
    auto it = cache_.find(cache_order_.front());
    cache_order_.pop_front();
    if (it == cache_.end()) continue;
    cache_bytes_ -= it->second->size();
    cache_.erase(it);
  }
}

Spool::AppendResult Spool::Append(const SpooledBatch& meta,
                                  std::shared_ptr<const std::string> payload) {
  AppendResult result;
  const uint64_t frame = kFrameHeaderBytes + payload->size();
  if (meta.sequence == 0) {
    // Not a batch sequence (frames with 0 do not survive recovery): the
    // sequence store hands out 0 when it cannot make its reservation durable
    // (its file is in this directory: the disk refused a write). Refused as a
    // write error, so the caller counts and reports the records as lost.
    result.write_error = true;
    return result;
  }
  std::lock_guard lock(mu_);
  if (frame + kSegmentHeaderBytes > options_.max_bytes || payload->size() > kMaxFramePayload) {
    return result;  // can never fit: refused, counted by the caller
  }
  auto evict_oldest = [&]() {
    Segment* oldest = segments_.begin()->second.get();
    uint64_t id = oldest->id;
    for (auto it = index_.begin(); it != index_.end();) {
      if (it->second.segment_id == id) {
        result.evicted.push_back(it->second.batch);
        index_records_ -= it->second.batch.records;
        auto c = cache_.find(it->first);
        if (c != cache_.end()) {
          cache_bytes_ -= c->second->size();
          cache_.erase(c);
        }
        it = index_.erase(it);
      } else {
        ++it;
      }
    }
    DeleteSegmentLocked(id);
    TrimCacheOrder(cache_order_, cache_);
  };
  for (;;) {
    bool roll = active_ == nullptr || (active_->size + frame > options_.segment_bytes &&
                                       active_->size > kSegmentHeaderBytes);
    uint64_t need = frame + (roll ? kSegmentHeaderBytes : 0);
    if (bytes_used_ + need <= options_.max_bytes) {
      if (roll && !OpenNewSegmentLocked()) return result;
      break;
    }
    if (options_.overflow == SpoolOverflow::kDropNewest || segments_.empty()) return result;
    evict_oldest();
  }
  uint8_t header[kFrameHeaderBytes];
  FrameHeader h;
  h.sequence = meta.sequence;
  h.records = meta.records;
  h.payload_bytes = static_cast<uint32_t>(payload->size());
  h.first_event_ns = meta.first_event_ns;
  h.last_event_ns = meta.last_event_ns;
  h.payload_crc = Crc32c(payload->data(), payload->size());
  EncodeFrameHeader(h, header);
  iovec iov[2] = {{header, sizeof(header)}, {const_cast<char*>(payload->data()), payload->size()}};
  uint64_t at = active_->size;
  ssize_t n = ::pwritev(active_->file->fd, iov, 2, static_cast<off_t>(at));
  if (n != static_cast<ssize_t>(frame)) {
    // Disk full or I/O error: cut the partial frame off so the segment stays
    // clean, and refuse the batch.
    if (::ftruncate(active_->file->fd, static_cast<off_t>(at)) != 0) {
      // The torn frame stays; recovery will skip it by CRC.
    }
    result.write_error = true;
    return result;
  }
  active_->size += frame;
  active_->live += 1;
  active_->dirty = true;
  bytes_used_ += frame;
  Entry e;
  e.batch = meta;
  e.segment_id = active_->id;
  e.offset = at;
  e.payload_bytes = h.payload_bytes;
  e.payload_crc = h.payload_crc;
  index_[meta.sequence] = e;
  index_records_ += meta.records;
  CachePutLocked(meta.sequence, std::move(payload));
  result.stored = true;
  return result;
}

Spool::ReadResult Spool::ReadAfter(uint64_t after) {
  ReadResult r;
  std::lock_guard lock(mu_);
  for (auto it = index_.upper_bound(after); it != index_.end();) {
    const Entry& e = it->second;
    auto c = cache_.find(it->first);
    if (c != cache_.end()) {
      r.batch = e.batch;
      r.payload = c->second;
      return r;
    }
    auto seg = segments_.find(e.segment_id);
    auto buf = std::make_shared<std::string>(e.payload_bytes, '\0');
    bool ok = seg != segments_.end() &&
              ::pread(seg->second->file->fd, buf->data(), e.payload_bytes,
                      static_cast<off_t>(e.offset + kFrameHeaderBytes)) ==
                  static_cast<ssize_t>(e.payload_bytes) &&
              Crc32c(buf->data(), buf->size()) == e.payload_crc;
    if (ok) {
      r.batch = e.batch;
      r.payload = buf;
      CachePutLocked(it->first, buf);
      return r;
    }
    r.corrupt.push_back(e.batch);
    index_records_ -= e.batch.records;
    if (seg != segments_.end()) --seg->second->live;
    it = index_.erase(it);
  }
  DeleteEmptySegmentsLocked();
  return r;
}

std::vector<SpooledBatch> Spool::Acknowledge(uint64_t sequence) {
  std::vector<SpooledBatch> removed;
  std::lock_guard lock(mu_);
  for (auto it = index_.begin(); it != index_.end() && it->first <= sequence;) {
    removed.push_back(it->second.batch);
    index_records_ -= it->second.batch.records;
    auto seg = segments_.find(it->second.segment_id);
    if (seg != segments_.end()) --seg->second->live;
    auto c = cache_.find(it->first);
    if (c != cache_.end()) {
      cache_bytes_ -= c->second->size();
      cache_.erase(c);
    }
    it = index_.erase(it);
  }
  TrimCacheOrder(cache_order_, cache_);
  if (sequence > acked_) {
    acked_ = sequence;
    SaveAckedLocked();
  }
  DeleteEmptySegmentsLocked();
  return removed;
}

void Spool::Sync() {
  std::vector<std::shared_ptr<FileHandle>> dirty;
  {
    std::lock_guard lock(mu_);
    for (auto& [id, s] : segments_) {
      if (s->dirty) {
        dirty.push_back(s->file);
        s->dirty = false;
      }
    }
  }
  // Outside the lock: an fdatasync of a busy segment can take a while and
  // must not stall the sender or the batcher.
  for (auto& f : dirty) ::fdatasync(f->fd);
}

SpoolUsage Spool::Usage() const {
  std::lock_guard lock(mu_);
  SpoolUsage u;
  u.bytes_used = bytes_used_;
  u.bytes_capacity = options_.max_bytes;
  u.batches = index_.size();
  u.records = index_records_;
  if (!index_.empty()) {
    u.first_sequence = index_.begin()->first;
    u.last_sequence = index_.rbegin()->first;
  }
  u.segments = segments_.size();
  u.cached_batches = cache_.size();
  u.cache_order_entries = cache_order_.size();
  return u;
}

}  // namespace vigil::agent::exporter
