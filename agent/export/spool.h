#pragma once
// The agent's bounded on-disk spool: every sealed batch is appended here
// before it is sent, and stays until the collector acknowledges it, so a
// collector outage, an agent restart or kill -9 loses nothing that was
// sealed. Append-only segment files (spool_frame.h); a segment is deleted
// when every batch in it is acknowledged or evicted.
//
// Bounded: when a new batch does not fit in `max_bytes`, drop_oldest
// evicts whole segments from the front (the evicted batches are returned so
// the caller counts and reports them), drop_newest refuses the new batch.
//
// Durability: each frame goes to the file with one writev() (a killed
// process loses nothing written); Sync() (fdatasync) runs every
// `fsync_interval` and at shutdown, so a power loss costs at most that much
// of the newest data, which recovery detects by CRC. Recovery on Open scans
// every segment, keeps every intact frame, and reports damaged ones.
//
// A per-batch index (48 bytes each) is kept in memory; payloads of recent
// batches are cached (bounded) so the sender rarely reads the disk.
// Owned by CollectorSink. Thread-safe (one mutex): the batcher appends, the
// sender reads and acknowledges.

#include <chrono>
#include <cstdint>
#include <deque>
#include <expected>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/export/collector_sink.h"

namespace vigil::agent::exporter {

struct SpoolOptions {
  std::string directory;
  uint64_t max_bytes = 1ull << 30;
  /// 0 = max_bytes / 16, clamped to [64 KiB, 64 MiB].
  uint64_t segment_bytes = 0;
  SpoolOverflow overflow = SpoolOverflow::kDropOldest;
  uint64_t cache_bytes = 32ull << 20;
};

/// One batch as the index knows it.
struct SpooledBatch {
  uint64_t sequence = 0;
  uint32_t records = 0;
  int64_t first_event_ns = 0;
  int64_t last_event_ns = 0;
};

struct SpoolUsage {
  uint64_t bytes_used = 0;  ///< sum of segment file sizes
  uint64_t bytes_capacity = 0;
  uint64_t batches = 0;  ///< unacknowledged batches held
  uint64_t records = 0;
  uint64_t first_sequence = 0, last_sequence = 0;  ///< 0 when empty
  uint64_t segments = 0;
  uint64_t cached_batches = 0;  ///< payloads held in memory for the sender
  /// Sequences the cache tracks for eviction order: at most a small multiple
  /// of cached_batches (acknowledged and evicted batches leave it too).
  uint64_t cache_order_entries = 0;
};

/// What Open found on disk.
struct SpoolRecovery {
  uint64_t batches = 0, records = 0;
  uint64_t highest_sequence = 0;
  uint64_t acked_sequence = 0;  ///< acknowledged before the restart (skipped)
  /// Frames with an intact header but a lost payload (torn write).
  std::vector<SpooledBatch> damaged;
  uint64_t corrupt_regions = 0;  ///< unidentifiable damaged stretches
  uint64_t corrupt_bytes = 0;
  uint64_t segments = 0;
};

class Spool {
 public:
  static std::expected<std::unique_ptr<Spool>, std::string> Open(const SpoolOptions& options);
  ~Spool();

  const SpoolRecovery& recovery() const { return recovery_; }

  struct AppendResult {
    bool stored = false;
    bool write_error = false;           ///< refused because the disk write failed (full disk?)
    std::vector<SpooledBatch> evicted;  ///< drop_oldest: batches removed to make room
  };
  /// Appends one sealed batch (payload = serialized EventBatch). On a write
  /// error the batch is not stored (stored=false; the caller counts it).
  AppendResult Append(const SpooledBatch& meta, std::shared_ptr<const std::string> payload);

  struct ReadResult {
    std::optional<SpooledBatch> batch;
    std::shared_ptr<const std::string> payload;
    /// Batches skipped because their payload failed its CRC on read (removed).
    std::vector<SpooledBatch> corrupt;
  };
  /// The first held batch with sequence > `after`.
  ReadResult ReadAfter(uint64_t after);

  /// Drops every batch with sequence <= `sequence` from the index (the
  /// collector holds them) and deletes segments that became empty. Returns
  /// the batches removed.
  std::vector<SpooledBatch> Acknowledge(uint64_t sequence);

  /// fdatasync the segment being written.
  void Sync();
  SpoolUsage Usage() const;

 private:
  struct Segment;
  explicit Spool(SpoolOptions options);
  std::expected<void, std::string> Recover();
  bool OpenNewSegmentLocked();
  void DeleteSegmentLocked(uint64_t id);
  void DeleteEmptySegmentsLocked();
  void CachePutLocked(uint64_t sequence, std::shared_ptr<const std::string> payload);

  void SaveAckedLocked();

  SpoolOptions options_;
  int lock_fd_ = -1;
  // `<dir>/acked`: highest acknowledged sequence, so a restart does not
  // resurrect batches of a partly acknowledged segment. Written without
  // fsync: losing it only means the collector drops a few duplicates.
  int acked_fd_ = -1;
  uint64_t acked_ = 0;
  SpoolRecovery recovery_;
  mutable std::mutex mu_;
  std::map<uint64_t, std::unique_ptr<Segment>> segments_;  // by id, oldest first
  uint64_t next_segment_id_ = 1;
  Segment* active_ = nullptr;
  uint64_t bytes_used_ = 0;
  struct Entry {
    SpooledBatch batch;
    uint64_t segment_id = 0;
    uint64_t offset = 0;  // of the frame header
    uint32_t payload_bytes = 0;
    uint32_t payload_crc = 0;
  };
  std::map<uint64_t, Entry> index_;  // by sequence
  uint64_t index_records_ = 0;
  std::map<uint64_t, std::shared_ptr<const std::string>> cache_;
  std::deque<uint64_t> cache_order_;
  uint64_t cache_bytes_ = 0;
};

}  // namespace vigil::agent::exporter
