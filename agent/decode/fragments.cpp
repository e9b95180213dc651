#include "agent/decode/fragments.h"

#include <algorithm>
#include <cstring>

#include "agent/decode/bytes.h"

namespace vigil::agent::decode {
namespace {

size_t NextPow2(size_t n) {
  size_t p = 1;
  while (p < n) p <<= 1;
  return p;
}

uint64_t HashKeyBytes(const uint8_t* p, size_t n, uint64_t h) {
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ull;  // FNV-1a
  return h;
}

}  // namespace

FragmentReassembler::FragmentReassembler(const DecoderOptions& options, DecodeStats& stats)
    : options_(options), stats_(stats) {
  const size_t cap = std::max<uint32_t>(options.max_fragment_datagrams, 1);
  datagrams_.resize(cap);
  index_.assign(NextPow2(cap * 2), -1);
  free_.reserve(cap);
  for (size_t i = cap; i-- > 0;) free_.push_back(static_cast<int32_t>(i));
}

size_t FragmentReassembler::Slot(const Key& key) const {
  uint64_t h = 0xcbf29ce484222325ull;
  h = HashKeyBytes(key.src.bytes.data(), 16, h);
  h = HashKeyBytes(key.dst.bytes.data(), 16, h);
  uint8_t tail[6] = {static_cast<uint8_t>(key.id),
                     static_cast<uint8_t>(key.id >> 8),
                     static_cast<uint8_t>(key.id >> 16),
                     static_cast<uint8_t>(key.id >> 24),
                     key.version,
                     key.proto};
  h = HashKeyBytes(tail, sizeof(tail), h);
  return static_cast<size_t>(h) & (index_.size() - 1);
}

int32_t FragmentReassembler::Find(const Key& key) const {
  const size_t mask = index_.size() - 1;
  for (size_t s = Slot(key);; s = (s + 1) & mask) {
    const int32_t i = index_[s];
    if (i < 0) return -1;
    if (datagrams_[i].key == key) return i;
  }
}

int32_t FragmentReassembler::Allocate(const Key& key, int64_t ts_ns) {
  if (free_.empty()) return -1;
  const int32_t i = free_.back();
  free_.pop_back();
  Datagram& d = datagrams_[i];
  d.key = key;
  d.used = true;
  d.have_first = d.have_last = false;
  d.total = 0;
  d.charged = 0;
  d.range_count = 0;
  d.first_ts_ns = ts_ns;
  d.header.clear();
  d.data.clear();
  // Append to the FIFO (packet time only moves forward, so it stays ordered).
  d.older = newest_;
  d.newer = -1;
  if (newest_ >= 0) datagrams_[newest_].newer = i;
  newest_ = i;
  if (oldest_ < 0) oldest_ = i;
  const size_t mask = index_.size() - 1;
  size_t s = Slot(key);
  while (index_[s] >= 0) s = (s + 1) & mask;
  index_[s] = i;
  ++active_;
  return i;
}

void FragmentReassembler::Release(int32_t i) {
  Datagram& d = datagrams_[i];
  // Remove from the index with backward-shift deletion (no tombstones).
  const size_t mask = index_.size() - 1;
  size_t s = Slot(d.key);
  while (index_[s] != i) s = (s + 1) & mask;
  size_t hole = s;
  for (size_t j = (hole + 1) & mask; index_[j] >= 0; j = (j + 1) & mask) {
    const size_t home = Slot(datagrams_[index_[j]].key);
    // Move j into the hole if its home slot is not cyclically in (hole, j].
    const bool in_range = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
    if (!in_range) {
      index_[hole] = index_[j];
      hole = j;
    }
  }
  index_[hole] = -1;
  if (d.older >= 0) datagrams_[d.older].newer = d.newer;
  if (d.newer >= 0) datagrams_[d.newer].older = d.older;
  if (oldest_ == i) oldest_ = d.newer;
  if (newest_ == i) newest_ = d.older;
  bytes_held_ -= d.charged;
  stats_.fragment_bytes_held = bytes_held_;
  d.used = false;
  d.charged = 0;
  // Keep small buffers for reuse; give large ones back so idle entries do not
  // pin memory beyond max_fragment_bytes.
  constexpr size_t kKeepCapacity = 4096;
  if (d.data.capacity() > kKeepCapacity) std::vector<uint8_t>().swap(d.data);
  free_.push_back(i);
  --active_;
}

void FragmentReassembler::Expire(int64_t now_ns) {
  while (oldest_ >= 0 && datagrams_[oldest_].first_ts_ns + options_.fragment_timeout_ns <= now_ns) {
    ++stats_.anomalies[static_cast<size_t>(Anomaly::kFragmentTimeout)];
    Release(oldest_);
  }
}

bool FragmentReassembler::Insert(Datagram& d, uint32_t begin, std::span<const uint8_t> bytes,
                                 bool* overlapped) {
  const uint32_t end = begin + static_cast<uint32_t>(bytes.size());
  if (end > d.data.size()) {
    const uint32_t grow = end - static_cast<uint32_t>(d.data.size());
    if (bytes_held_ + grow > options_.max_fragment_bytes) return false;
    d.data.resize(end);
    d.charged += grow;
    bytes_held_ += grow;
    stats_.fragment_bytes_held = bytes_held_;
  }
  // First wins: copy only the sub-ranges no earlier fragment covered.
  uint32_t cursor = begin;
  for (int r = 0; r < d.range_count && cursor < end; ++r) {
    const Range& have = d.ranges[r];
    if (have.end <= cursor) continue;
    if (have.begin >= end) break;
    if (have.begin > cursor) {
      std::memcpy(d.data.data() + cursor, bytes.data() + (cursor - begin), have.begin - cursor);
    }
    *overlapped = true;
    cursor = std::max(cursor, have.end);
  }
  if (cursor < end)
    std::memcpy(d.data.data() + cursor, bytes.data() + (cursor - begin), end - cursor);

  // Merge [begin, end) into the sorted, disjoint range list.
  Range merged{begin, end};
  Range out[kMaxRanges + 1];
  int n = 0;
  bool placed = false;
  for (int r = 0; r < d.range_count; ++r) {
    const Range& have = d.ranges[r];
    if (have.end < merged.begin) {
      out[n++] = have;
    } else if (have.begin > merged.end) {
      if (!placed) {
        out[n++] = merged;
        placed = true;
      }
      out[n++] = have;
    } else {
      merged.begin = std::min(merged.begin, have.begin);
      merged.end = std::max(merged.end, have.end);
    }
  }
  if (!placed) out[n++] = merged;
  if (n > kMaxRanges) return false;
  std::copy(out, out + n, d.ranges);
  d.range_count = static_cast<uint8_t>(n);
  return true;
}

FragmentReassembler::Outcome FragmentReassembler::Add(int64_t ts_ns, const Piece& piece,
                                                      std::vector<uint8_t>& output,
                                                      std::span<const uint8_t>* out) {
  ++stats_.fragments;
  Expire(ts_ns);
  const uint32_t end = piece.offset + static_cast<uint32_t>(piece.bytes.size());
  int32_t i = Find(*piece.key);
  auto drop = [&](Anomaly a) {
    ++stats_.anomalies[static_cast<size_t>(a)];
    if (i >= 0) Release(i);
    return Outcome::kDropped;
  };
  if (piece.more && piece.bytes.size() % 8 != 0) return drop(Anomaly::kFragmentBadLength);
  if (end > kMaxDatagram) return drop(Anomaly::kFragmentTooLarge);
  if (i < 0) {
    i = Allocate(*piece.key, ts_ns);
    if (i < 0) {
      ++stats_.anomalies[static_cast<size_t>(Anomaly::kFragmentTableFull)];
      return Outcome::kDropped;
    }
  }
  Datagram& d = datagrams_[i];
  if (!piece.more) {
    if (d.have_last && d.total != end) return drop(Anomaly::kFragmentOverlap);
    d.have_last = true;
    d.total = end;
  }
  if (d.have_last && end > d.total) return drop(Anomaly::kFragmentOverlap);
  if (!piece.header.empty() && !d.have_first) {
    d.have_first = true;
    d.header.assign(piece.header.begin(), piece.header.end());
    d.next_header = piece.next_header;
    d.nh_offset = piece.nh_offset;
  }
  bool overlapped = false;
  if (!Insert(d, piece.offset, piece.bytes, &overlapped)) {
    return drop(d.range_count >= kMaxRanges ? Anomaly::kFragmentTooManyPieces
                                            : Anomaly::kFragmentTableFull);
  }
  if (overlapped) ++stats_.anomalies[static_cast<size_t>(Anomaly::kFragmentOverlap)];

  const bool complete = d.have_first && d.have_last && d.range_count == 1 &&
                        d.ranges[0].begin == 0 && d.ranges[0].end == d.total;
  if (!complete) return Outcome::kPending;

  const size_t hlen = d.header.size();
  // The length field of the reassembled header must hold header + payload
  // (IPv6: extension headers + payload): a datagram over 64 KiB cannot be
  // written back and is dropped, as Zeek drops excessively large fragments.
  const size_t length_field = d.key.version == 4 ? hlen + d.total : hlen - 40 + d.total;
  if (length_field > 0xffff) return drop(Anomaly::kFragmentTooLarge);
  std::vector<uint8_t>& buf = output;
  buf.resize(hlen + d.total);
  std::memcpy(buf.data(), d.header.data(), hlen);
  std::memcpy(buf.data() + hlen, d.data.data(), d.total);
  if (d.key.version == 4) {
    StoreBe16(buf.data() + 2, static_cast<uint16_t>(hlen + d.total));
    StoreBe16(buf.data() + 6, LoadBe16(buf.data() + 6) & 0x4000);  // keep DF only
  } else {
    StoreBe16(buf.data() + 4, static_cast<uint16_t>(hlen - 40 + d.total));
    buf[d.nh_offset] = d.next_header;
  }
  ++stats_.datagrams_reassembled;
  Release(i);
  *out = std::span<const uint8_t>(buf.data(), buf.size());
  return Outcome::kComplete;
}

FragmentReassembler::Outcome FragmentReassembler::AddIpv4(int64_t ts_ns,
                                                          std::span<const uint8_t> packet,
                                                          std::vector<uint8_t>& output,
                                                          std::span<const uint8_t>* out) {
  const size_t ihl = static_cast<size_t>(packet[0] & 0x0F) * 4;
  Key key;
  key.src = IpAddr::FromV4(packet.data() + 12);
  key.dst = IpAddr::FromV4(packet.data() + 16);
  key.id = LoadBe16(packet.data() + 4);
  key.version = 4;
  key.proto = packet[9];
  const uint16_t frag = LoadBe16(packet.data() + 6);
  Piece piece;
  piece.key = &key;
  piece.offset = static_cast<uint32_t>(frag & 0x1FFF) * 8;
  piece.more = (frag & 0x2000) != 0;
  piece.bytes = packet.subspan(ihl);
  if (piece.offset == 0) piece.header = packet.first(ihl);
  piece.next_header = 0;
  piece.nh_offset = 0;
  return Add(ts_ns, piece, output, out);
}

FragmentReassembler::Outcome FragmentReassembler::AddIpv6(
    int64_t ts_ns, std::span<const uint8_t> packet, size_t unfragmentable_len,
    size_t next_header_offset, std::vector<uint8_t>& output, std::span<const uint8_t>* out) {
  const uint8_t* fh = packet.data() + unfragmentable_len;  // 8-byte fragment header
  Key key;
  key.src = IpAddr::FromV6(packet.data() + 8);
  key.dst = IpAddr::FromV6(packet.data() + 24);
  key.id = LoadBe32(fh + 4);
  key.version = 6;
  const uint16_t frag = LoadBe16(fh + 2);
  Piece piece;
  piece.key = &key;
  piece.offset = frag & 0xFFF8;
  piece.more = (frag & 0x0001) != 0;
  piece.bytes = packet.subspan(unfragmentable_len + 8);
  if (piece.offset == 0) piece.header = packet.first(unfragmentable_len);
  piece.next_header = fh[0];
  piece.nh_offset = static_cast<uint16_t>(next_header_offset);
  return Add(ts_ns, piece, output, out);
}

}  // namespace vigil::agent::decode
