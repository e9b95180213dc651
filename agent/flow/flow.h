#pragma once
// Per-flow state of the flow table (internal to agent/flow). Kept compact:
// an idle TCP flow is one Flow (240 bytes) plus its slot in the hash index;
// everything rare (retransmission/gap counters, out-of-order ranges, long
// histories, tunnel parents, services, analyzers, interim baselines) lives
// in a FlowExt allocated on first need.
//
// Per-direction arrays are indexed by key side (0/1, the canonical order of
// FlowKey), not by role: flipping originator and responder is toggling
// `orig_side`, exactly like Zeek swapping its endpoint pointers.
//
// Owned by the FlowTable (capture thread). Not thread-safe.

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "agent/analyzers/analyzer.h"
#include "agent/flow/flow_key.h"

namespace vigil::agent::flow {

inline constexpr uint32_t kNil = 0xFFFFFFFFu;

/// Which expiry rule a flow is under; also the order of eviction preference
/// when the table is full (cheapest first).
enum class TimerClass : uint8_t {
  kAttempt,    ///< TCP SYN without answer (S0): tcp_handshake after the SYN
  kClosing,    ///< TCP closed (FIN/RST seen both ways or RST): tcp_closed after close
  kHandshake,  ///< TCP with no endpoint out of the handshake: tcp_handshake idle
  kOther,      ///< other IP protocols: other_idle
  kIcmp,       ///< icmp_idle
  kUdp,        ///< udp_idle
  kTcpIdle,    ///< established/partial TCP: tcp_idle
  kCount,
};
inline constexpr size_t kTimerClassCount = static_cast<size_t>(TimerClass::kCount);

/// Zeek's TCP endpoint states.
enum TcpState : uint8_t {
  kTcpInactive = 0,
  kTcpSynSent,
  kTcpSynAckSent,
  kTcpPartial,
  kTcpEstablished,
  kTcpClosed,
  kTcpReset,
};

namespace endpoint_flags {
inline constexpr uint8_t kFinSeen = 0x01;
inline constexpr uint8_t kRstSeen = 0x02;
inline constexpr uint8_t kDidClose = 0x04;
inline constexpr uint8_t kDidEof = 0x08;
inline constexpr uint8_t kSkipDeliveries = 0x10;
}  // namespace endpoint_flags

/// One side of a TCP connection. Sequence numbers relative to start_seq are
/// 64-bit as in Zeek; the FIN position keeps its low 32 bits only and is
/// re-expanded next to the acknowledgement it is compared with.
struct TcpEndpoint {
  uint32_t start_seq = 0;  ///< ISN, or first seq - 1 for a partial connection
  uint32_t last_seq = 0;   ///< one past the highest sequence sent
  uint32_t ack_seq = 0;    ///< highest acknowledgement the peer sent for our data
  uint16_t seq_wraps = 0, ack_wraps = 0;
  uint32_t fin_rel32 = 0;  ///< relative seq one past our FIN (low 32 bits)
  uint16_t hist_last_syn = 0, hist_last_fin = 0,
           hist_last_rst = 0;  ///< low bits, for history repeats
  uint8_t state = kTcpInactive, prev_state = kTcpInactive;
  uint8_t flags = 0;  ///< endpoint_flags
  uint8_t reserved[3] = {};
  uint64_t reassem = 1;  ///< relative seq up to which our stream was delivered or skipped
  uint64_t trim = 1;     ///< relative seq up to which the peer acknowledged it
};
static_assert(sizeof(TcpEndpoint) == 48);

struct DatagramState {
  uint64_t bytes[2] = {0, 0};  ///< payload bytes per key side (UDP: length field - 8)
};

namespace flow_flags {
inline constexpr uint16_t kPartial = 0x0001;        ///< Zeek's is_partial
inline constexpr uint16_t kFirstSeenOrig = 0x0002;  ///< first_packet_seen bits (by role)
inline constexpr uint16_t kFirstSeenResp = 0x0004;
inline constexpr uint16_t kCloseDeferred = 0x0008;
inline constexpr uint16_t kDeferredGenEvent = 0x0010;
inline constexpr uint16_t kLeftHandshake = 0x0020;  ///< an endpoint left the handshake states
inline constexpr uint16_t kCloseComplete = 0x0040;  ///< closed; removal scheduled
inline constexpr uint16_t kAttemptTimer = 0x0080;   ///< a SYN attempt timer is pending
inline constexpr uint16_t kActive0 = 0x0100;        ///< UDP/ICMP/other side 0 sent a good packet
inline constexpr uint16_t kActive1 = 0x0200;
inline constexpr uint16_t kAnalyzersChecked = 0x0400;  ///< candidate analyzers were asked for
inline constexpr uint16_t kIpv6 = 0x0800;
/// Analyzers were asked for and none is (still) reading the stream: the
/// payload path stops here without touching FlowExt (a cold cache line).
inline constexpr uint16_t kAnalyzersDone = 0x1000;
/// FlowExt::ooo[side] holds out-of-order blocks (by key side), so in-order
/// segments, the common case, need not look at FlowExt at all.
inline constexpr uint16_t kOoo0 = 0x2000;
inline constexpr uint16_t kOoo1 = 0x4000;
inline constexpr uint16_t OooFlag(int side) { return side == 0 ? kOoo0 : kOoo1; }
}  // namespace flow_flags

class FlowTable;

/// Where a flow's analyzers report; bound to one flow slot (Bind()) when
/// the flow's analyzers are created.
class FlowAnalyzerContext final : public analyzers::AnalyzerContext {
 public:
  void Bind(FlowTable* table, uint32_t index) {
    table_ = table;
    index_ = index;
  }
  void EmitRecord(vigil::v1::Event&& event) override;
  void Anomaly(std::string_view name) override;
  void AddService(std::string_view service) override;
  void FlipRoles() override;

 private:
  FlowTable* table_ = nullptr;
  uint32_t index_ = kNil;
};

/// A block of out-of-order TCP data above a hole, by relative sequence.
struct OooBlock {
  uint64_t seq = 0, upper = 0;
  std::vector<uint8_t> data;  ///< kept only when analyzers read the stream
  bool has_data = false;
};

struct Counters {
  uint64_t bytes[2] = {0, 0};
  uint64_t pkts[2] = {0, 0};
  uint64_t ip_bytes[2] = {0, 0};
  uint64_t missed = 0;
};

/// Analyzers one flow can hold at once (the registry has three protocols).
inline constexpr size_t kMaxAnalyzersPerFlow = 4;

/// Per-flow state only some flows need. Recycled: Acquire() hands out a
/// reset object from a per-thread free list, keeping the capacity its
/// vectors and strings grew to (bounded by Reset()), so analysed flows do not
/// allocate in steady state.
struct FlowExt {
  // Read on every delivery and when the flow ends: first, inline (no
  // separate allocation to chase on a cold flow).
  /// Created when the first payload appears; a slot is emptied (and its
  /// analyzer freed) when the analyzer gives up: by the Analyzer contract it
  /// has emitted everything by then.
  std::array<std::unique_ptr<analyzers::Analyzer>, kMaxAnalyzersPerFlow> analyzers;
  uint8_t analyzer_count = 0;  ///< slots filled at creation (some may be empty since)
  uint64_t ooo_bytes = 0;
  std::vector<OooBlock> ooo[2];  ///< by key side, sorted, disjoint
  uint32_t scaled[2][4] = {};    ///< by key side: checksum, retransmit, zero window, gap counts
  uint64_t missed_bytes = 0;
  std::string history_more;  ///< history letters beyond Flow::history
  std::vector<std::string> tunnel_parents;
  uint64_t last_parent_id = 0;  ///< identity of the tunnel seen last (skips re-checking)
  std::vector<std::string> services;
  FlowAnalyzerContext context;
  // Counts already reported in interim records (by key side).
  bool has_interim = false;
  Counters reported;

  /// A fresh extension (recycled when possible).
  static FlowExt* Acquire();
  /// Destroys the analyzers and recycles `ext`.
  static void Release(FlowExt* ext);

 private:
  void Reset();
};

/// Scaled history counters (Zeek's logarithmic letters).
enum ScaledCounter : uint8_t { kScaledChecksum = 0, kScaledRxmit, kScaledWin0, kScaledGap };

// Member order matters: it keeps the struct free of padding (240 bytes).
struct Flow {
  FlowKey key;
  uint32_t hist_seen = 0;
  uint32_t prev = kNil, next = kNil;  ///< timer-class list
  int64_t start_ns = 0;
  int64_t last_ns = 0;    ///< Zeek's last_time (what duration and idleness use)
  int64_t anchor_ns = 0;  ///< start of the current timer class for entry-anchored classes
  uint64_t pkts[2] = {0, 0};
  uint64_t ip_bytes[2] = {0, 0};
  uint16_t interims = 0;
  uint8_t timer_class = static_cast<uint8_t>(TimerClass::kCount);
  uint8_t orig_side = 0;
  uint8_t history_len = 0;
  char history[11] = {};  ///< first letters; the rest in FlowExt::history_more
  /// VLAN tags (outer, inner) of the first packet, as Zeek's vlan-logging
  /// reports them; part of the key only with include_vlan_in_key.
  uint16_t vlan[2] = {0, 0};
  uint16_t flags = 0;
  FlowExt* ext = nullptr;
  union {
    TcpEndpoint tcp[2];
    DatagramState dgram;
  };

  Flow() : tcp{} {}
  bool Has(uint16_t f) const { return (flags & f) != 0; }
  void Set(uint16_t f) { flags |= f; }
  void Clear(uint16_t f) { flags &= static_cast<uint16_t>(~f); }
  FlowExt& Ext() {
    if (ext == nullptr) ext = FlowExt::Acquire();
    return *ext;
  }
};
static_assert(sizeof(Flow) == 240, "an idle TCP flow must stay within the 256-byte budget");

}  // namespace vigil::agent::flow
