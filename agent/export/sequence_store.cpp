#include "agent/export/sequence_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "agent/export/spool_frame.h"

namespace vigil::agent::exporter {

namespace {

constexpr uint32_t kMagic = 0x51455356;  // "VSEQ"
constexpr uint32_t kVersion = 1;
constexpr size_t kSlotBytes = 64;

// Layout of a slot: magic, version, counter, clean, boot_id[16], last,
// reserved, crc (over bytes 0..55), padding.
struct Slot {
  uint32_t counter = 0;
  bool clean = false;
  uint8_t boot_id[16] = {};
  uint64_t last = 0;
  uint64_t reserved = 0;
};

void ReadBootId(const std::string& file, uint8_t out[16]) {
  std::ifstream in(file);
  std::string text;
  std::getline(in, text);
  std::memset(out, 0, 16);
  size_t n = 0;
  for (size_t i = 0; i + 1 < text.size() && n < 16; ++i) {
    auto hex = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      return -1;
    };
    int hi = hex(text[i]), lo = hex(text[i + 1]);
    if (hi < 0 || lo < 0) continue;
    out[n++] = static_cast<uint8_t>(hi * 16 + lo);
    ++i;
  }
}

void Encode(const Slot& s, uint8_t out[kSlotBytes]) {
  std::memset(out, 0, kSlotBytes);
  auto put32 = [&](size_t at, uint32_t v) { std::memcpy(out + at, &v, 4); };
  auto put64 = [&](size_t at, uint64_t v) { std::memcpy(out + at, &v, 8); };
  put32(0, kMagic);
  put32(4, kVersion);
  put32(8, s.counter);
  put32(12, s.clean ? 1 : 0);
  std::memcpy(out + 16, s.boot_id, 16);
  put64(32, s.last);
  put64(40, s.reserved);
  put32(48, 0);
  put32(52, 0);
  put32(56, Crc32c(out, 56));
}

bool Decode(const uint8_t in[kSlotBytes], Slot* s) {
  uint32_t magic, version, counter, clean, crc;
  std::memcpy(&magic, in, 4);
  std::memcpy(&version, in + 4, 4);
  std::memcpy(&counter, in + 8, 4);
  std::memcpy(&clean, in + 12, 4);
  std::memcpy(&crc, in + 56, 4);
  if (magic != kMagic || version != kVersion || crc != Crc32c(in, 56)) return false;
  s->counter = counter;
  s->clean = clean != 0;
  std::memcpy(s->boot_id, in + 16, 16);
  std::memcpy(&s->last, in + 32, 8);
  std::memcpy(&s->reserved, in + 40, 8);
  return true;
}

}  // namespace

SequenceStore::~SequenceStore() {
  if (fd_ >= 0) ::close(fd_);
}

std::expected<std::unique_ptr<SequenceStore>, std::string> SequenceStore::Open(
    const std::string& dir, uint64_t highest_in_spool, const std::string& boot_id_file) {
  std::unique_ptr<SequenceStore> s(new SequenceStore());
  s->path_ = dir + "/sequence";
  s->fd_ = ::open(s->path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (s->fd_ < 0) return std::unexpected(s->path_ + ": cannot open: " + std::strerror(errno));
  ReadBootId(boot_id_file, s->boot_id_);
  uint8_t buf[2 * kSlotBytes] = {};
  ssize_t n = ::pread(s->fd_, buf, sizeof(buf), 0);
  Slot best;
  bool found = false;
  int valid = 0;
  for (int i = 0; i < 2 && n >= static_cast<ssize_t>((i + 1) * kSlotBytes); ++i) {
    Slot slot;
    if (!Decode(buf + i * kSlotBytes, &slot)) continue;
    ++valid;
    if (!found || slot.counter > best.counter) {
      best = slot;
      found = true;
    }
  }
  // Both slots are written at every start, so one bad slot means a torn
  // write; it may have been the newer one: trust only the reservation.
  bool torn = n > 0 && valid < 2;
  uint64_t last = highest_in_spool;
  if (found) {
    s->counter_ = best.counter;
    bool same_boot = std::memcmp(best.boot_id, s->boot_id_, 16) == 0;
    if ((best.clean || same_boot) && !torn) {
      last = std::max(last, best.last);
    } else {
      // Unclean reboot: `best.last` may be stale, the reservation is not.
      uint64_t known = std::max(last, best.last);
      last = std::max(known, best.reserved);
      if (last > known) {
        s->unknown_first_ = known + 1;
        s->unknown_last_ = last;
      }
    }
  }
  s->last_.store(last);
  s->reserved_ = last + kReservationBlock;
  if (!s->Write(/*clean=*/false, /*sync=*/false) || !s->Write(/*clean=*/false, /*sync=*/true)) {
    return std::unexpected(s->path_ + ": cannot write: " + std::strerror(errno));
  }
  return s;
}

bool SequenceStore::Write(bool clean, bool sync) {
  Slot slot;
  slot.counter = ++counter_;
  slot.clean = clean;
  std::memcpy(slot.boot_id, boot_id_, 16);
  slot.last = last_.load(std::memory_order_relaxed);
  slot.reserved = reserved_;
  uint8_t buf[kSlotBytes];
  Encode(slot, buf);
  off_t at = static_cast<off_t>((slot.counter % 2) * kSlotBytes);
  if (::pwrite(fd_, buf, kSlotBytes, at) != static_cast<ssize_t>(kSlotBytes)) return false;
  if (sync && ::fdatasync(fd_) != 0) return false;
  return true;
}

uint64_t SequenceStore::Next() {
  const uint64_t next = last_.load(std::memory_order_relaxed) + 1;
  if (next <= reserved_) {
    // Covered by the durable reservation: even if this unsynced write fails,
    // a restart continues after `last` (same boot) or after the reservation
    // (unclean reboot), and the collector's Welcome raises the floor.
    last_.store(next, std::memory_order_relaxed);
    (void)Write(false, false);
    return next;
  }
  // Past the reservation: extend it durably before handing out `next`. A
  // number beyond the last durable reservation could be issued again after
  // an unclean reboot (the restart trusts only the reservation).
  constexpr int kAttempts = 3;
  const uint64_t durable = reserved_;
  reserved_ = next + kReservationBlock;
  last_.store(next, std::memory_order_relaxed);
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    if (Write(false, true)) return next;
  }
  // Refused: nothing issued, the reservation stays what the disk holds. 0 is
  // never a batch sequence; the spool refuses it as a write error (this file
  // lives in the spool directory), so the batch is counted as lost and
  // reported. The next call tries again.
  reserved_ = durable;
  last_.store(next - 1, std::memory_order_relaxed);
  return 0;
}

void SequenceStore::RaiseFloor(uint64_t sequence) {
  if (sequence <= last_.load()) return;
  last_.store(sequence);
  reserved_ = std::max(reserved_, sequence + kReservationBlock);
  (void)Write(false, true);
}

void SequenceStore::MarkClean() { (void)Write(true, true); }

}  // namespace vigil::agent::exporter
