#pragma once
// IPv4 and IPv6 fragment reassembly with bounded memory.
//
// Datagrams are keyed by (version, source, destination, identification, and
// for IPv4 the protocol). Overlap policy: first wins, as in Zeek and BSD
// stacks: bytes already received are kept and later overlapping bytes are
// ignored; every fragment that overlaps is counted (fragment_overlap).
// Limits: DecoderOptions::max_fragment_datagrams datagrams at once,
// max_fragment_bytes bytes held, 64 distinct pieces per datagram, 65535 bytes
// per datagram; incomplete datagrams expire fragment_timeout_ns after their
// first fragment (packet time). Every drop is a counted anomaly.
//
// Owned by the Decoder (capture thread). Not thread-safe.

#include <cstdint>
#include <span>
#include <vector>

#include "agent/decode/decoder.h"
#include "agent/decode/packet.h"

namespace vigil::agent::decode {

class FragmentReassembler {
 public:
  FragmentReassembler(const DecoderOptions& options, DecodeStats& stats);

  enum class Outcome : uint8_t { kPending, kComplete, kDropped };

  /// An IPv4 fragment; `packet` is the whole fragment (header + data, trimmed
  /// to its total length). On kComplete, the reassembled datagram (IPv4
  /// header with total length and fragment fields rewritten) is written to
  /// `output` (the packet's own buffer) and `*out` spans it.
  Outcome AddIpv4(int64_t ts_ns, std::span<const uint8_t> packet, std::vector<uint8_t>& output,
                  std::span<const uint8_t>* out);

  /// An IPv6 fragment: `unfragmentable_len` bytes of IPv6 header and
  /// extension headers precede the fragment header; `next_header_offset` is
  /// the byte that holds 44 (fragment) and is rewritten to the fragment's
  /// next header. On kComplete, `*out` is header + unfragmentable part +
  /// reassembled payload, without the fragment header.
  Outcome AddIpv6(int64_t ts_ns, std::span<const uint8_t> packet, size_t unfragmentable_len,
                  size_t next_header_offset, std::vector<uint8_t>& output,
                  std::span<const uint8_t>* out);

  void Expire(int64_t now_ns);
  uint64_t bytes_held() const { return bytes_held_; }
  uint32_t datagrams() const { return active_; }

 private:
  struct Range {
    uint32_t begin, end;
  };
  static constexpr int kMaxRanges = 64;
  static constexpr uint32_t kMaxDatagram = 65535;

  struct Key {
    IpAddr src, dst;
    uint32_t id = 0;
    uint8_t version = 0;
    uint8_t proto = 0;  // IPv4 only (IPv6 keys on src, dst, id)
    bool operator==(const Key&) const = default;
  };

  struct Datagram {
    Key key;
    bool used = false;
    bool have_first = false;
    bool have_last = false;
    uint8_t next_header = 0;  // IPv6: the fragment header's next header
    uint16_t nh_offset = 0;   // IPv6: byte in `header` to rewrite
    uint32_t total = 0;       // payload length, known once the last piece arrived
    uint32_t charged = 0;     // bytes counted against max_fragment_bytes
    int64_t first_ts_ns = 0;
    int32_t older = -1, newer = -1;  // FIFO by first fragment time
    uint8_t range_count = 0;
    Range ranges[kMaxRanges];
    std::vector<uint8_t> header;  // first fragment's header (IPv6: unfragmentable part)
    std::vector<uint8_t> data;
  };

  struct Piece {
    const Key* key;
    uint32_t offset;
    std::span<const uint8_t> bytes;
    bool more;
    std::span<const uint8_t> header;  // non-empty for the first piece
    uint8_t next_header;
    uint16_t nh_offset;
  };

  Outcome Add(int64_t ts_ns, const Piece& piece, std::vector<uint8_t>& output,
              std::span<const uint8_t>* out);
  int32_t Find(const Key& key) const;
  int32_t Allocate(const Key& key, int64_t ts_ns);
  void Release(int32_t index);
  bool Insert(Datagram& d, uint32_t begin, std::span<const uint8_t> bytes, bool* overlapped);
  size_t Slot(const Key& key) const;

  const DecoderOptions& options_;
  DecodeStats& stats_;
  std::vector<Datagram> datagrams_;
  std::vector<int32_t> index_;  // open addressing: datagram index or -1
  std::vector<int32_t> free_;
  int32_t oldest_ = -1, newest_ = -1;
  uint32_t active_ = 0;
  uint64_t bytes_held_ = 0;
};

}  // namespace vigil::agent::decode
