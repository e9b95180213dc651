#pragma once
// Hands out batch sequence numbers that strictly increase across agent
// restarts, kill -9 and power loss, without an fsync per batch.
//
// The file keeps the last number used (written with every batch, not
// synced: it survives a killed process through the page cache) and a
// durable reservation (synced once per kReservationBlock numbers, and at
// start and clean shutdown). On start: after a clean shutdown, or a crash
// without reboot (same boot id), continue after the last number used;
// after an unclean reboot the unsynced value may be stale, so continue after
// the reservation and report the skipped range as possibly lost.
// Two alternating slots, each with a CRC, so a torn write of one slot leaves
// the other. Owned by CollectorSink's batcher thread; not thread-safe except
// last_assigned().

#include <atomic>
#include <cstdint>
#include <expected>
#include <memory>
#include <string>

namespace vigil::agent::exporter {

class SequenceStore {
 public:
  static constexpr uint64_t kReservationBlock = 1024;

  /// Opens `<dir>/sequence`. `highest_in_spool` is the largest sequence
  /// recovered from the spool (never reissued either). `boot_id_file` tells
  /// one boot from the next (tests point it elsewhere).
  static std::expected<std::unique_ptr<SequenceStore>, std::string> Open(
      const std::string& dir, uint64_t highest_in_spool,
      const std::string& boot_id_file = "/proc/sys/kernel/random/boot_id");
  ~SequenceStore();

  /// The next sequence (persisted before it is returned).
  uint64_t Next();
  uint64_t last_assigned() const { return last_.load(std::memory_order_relaxed); }
  /// Never hand out `sequence` or anything below it (the collector holds it:
  /// our state was older than the collector's, e.g. restored from backup).
  void RaiseFloor(uint64_t sequence);
  /// Graceful shutdown: sync with the clean flag set.
  void MarkClean();

  /// After an unclean reboot: sequences that may have been used by batches
  /// that are now gone ([first, last], first > last when none).
  uint64_t unknown_first() const { return unknown_first_; }
  uint64_t unknown_last() const { return unknown_last_; }

 private:
  SequenceStore() = default;
  bool Write(bool clean, bool sync);

  int fd_ = -1;
  std::string path_;
  std::atomic<uint64_t> last_{0};
  uint64_t reserved_ = 0;  // highest number covered by the durable reservation
  uint32_t counter_ = 0;   // write counter: picks the slot, newer wins
  uint8_t boot_id_[16] = {};
  uint64_t unknown_first_ = 1, unknown_last_ = 0;
};

}  // namespace vigil::agent::exporter
