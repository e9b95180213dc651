#pragma once
// FlowTable: decoded packets -> connection records with Zeek's semantics.
//
// Bidirectional flows keyed by 5-tuple (and optionally VLANs); the
// originator is chosen as Zeek chooses it (the SYN sender; flipped for a
// SYN-ACK first or, without SYN, by likely server ports; '^' in history).
// TCP follows Zeek's endpoint state machine (conn_state, history, payload
// bytes from sequence numbers, missed bytes); UDP/ICMP/other protocols are
// flows with Zeek's port mapping for ICMP. Every flow has a Zeek-style uid and
// a Community ID v1. Analyzers (agent/analyzers) are created when a flow's
// first payload appears and fed UDP datagrams or reassembled TCP streams;
// their records get the flow's uid/ts/id. Tunnelled flows record the uid of
// the enclosing tunnel (tunnel_parents).
//
// Time is packet time: every Process() first runs the timers due at the
// packet's timestamp, and an idle live capture calls Advance() with the wall
// clock. Flows end on TCP close, idle timeouts, eviction (the table holds at
// most max_flows; the cheapest flow is evicted first: unanswered SYNs, then
// closed connections, then idle flows by protocol, oldest first, O(1)),
// reuse of a closed 5-tuple, or FlushAll() at shutdown. Long-lived flows emit
// interim records every `active` interval with deltas and cumulative totals.
//
// Owned by the capture thread, like its RecordSink calls. Not thread-safe;
// stats() is a plain struct the owner copies for other threads.

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agent/analyzers/analyzer.h"
#include "agent/analyzers/registry.h"
#include "agent/decode/packet.h"
#include "agent/export/record_sink.h"
#include "agent/flow/flow.h"
#include "agent/flow/table_memory.h"
#include "agent/flow/tcp_tracker.h"

namespace vigil::agent::flow {

struct FlowTimeouts {
  int64_t tcp_idle_ns = 300'000'000'000;     ///< Zeek tcp_inactivity_timeout
  int64_t tcp_handshake_ns = 5'000'000'000;  ///< unanswered SYN (Zeek tcp_attempt_delay)
  int64_t tcp_closed_ns = 5'000'000'000;     ///< after close (Zeek tcp_close_delay)
  int64_t udp_idle_ns = 60'000'000'000;
  int64_t icmp_idle_ns = 60'000'000'000;
  int64_t other_idle_ns = 60'000'000'000;
  int64_t active_ns = 1'800'000'000'000;  ///< interim record interval; 0 = none
};

struct FlowTableOptions {
  uint32_t max_flows = 500000;
  bool include_vlan_in_key = false;
  FlowTimeouts timeouts;
  /// Seeds uids (and the hash index). Production: random at start; tests: fixed.
  uint64_t seed = 0;
  uint16_t community_id_seed = 0;
  TcpLimits tcp;
};

/// Why a flow's final record was written.
enum class EndCause : uint8_t { kClosed = 0, kIdleTimeout, kEvicted, kShutdown, kCount };
inline constexpr size_t kEndCauseCount = static_cast<size_t>(EndCause::kCount);
std::string_view EndCauseName(EndCause cause);
/// Stable label for evictions from each timer class ("attempt", "udp", ...).
std::string_view EvictionReasonName(TimerClass cls);

struct FlowTableStats {
  uint64_t packets = 0;               ///< IP layers given to the table
  uint64_t packets_without_flow = 0;  ///< no usable transport header (counted by the decoder too)
  uint64_t packets_bad_checksum = 0;  ///< TCP/ICMP packets discarded by checksum verification
  uint64_t flows_created = 0;
  uint64_t flows_active = 0;       ///< gauge
  uint64_t flows_active_peak = 0;  ///< high-water mark of flows_active
  uint64_t flows_reused = 0;       ///< a new connection replaced a closed one (same 5-tuple)
  std::array<uint64_t, kEndCauseCount> flows_ended{};
  std::array<uint64_t, kTimerClassCount> evictions{};  ///< by the class of the evicted flow
  uint64_t records_emitted = 0;                        ///< conn records (final and interim)
  uint64_t interim_records = 0;
  uint64_t analyzer_records = 0;      ///< dns/ssl/http records from analyzers
  uint64_t stream_bytes_dropped = 0;  ///< out-of-order TCP bytes not kept for analyzers
  uint64_t tunnels_active = 0;
  /// Anomalies reported by analyzers, by name (a bounded set of literals).
  std::vector<std::pair<std::string, uint64_t>> analyzer_anomalies;

  uint64_t EvictionsTotal() const {
    uint64_t n = 0;
    for (uint64_t e : evictions) n += e;
    return n;
  }
};

/// One IP layer's place in the table, computed ahead of processing by
/// FlowTable::Prepare() so a batch of packets can have their flows fetched
/// from memory while earlier packets are processed.
struct FlowLookup {
  FlowKey key;
  uint64_t hash = 0;
  const decode::Layer* layer = nullptr;
  uint16_t vlan[2] = {0, 0};  ///< the packet's tags (logged even when not in the key)
  uint8_t side = 0;           ///< key side of the packet's source
  bool valid = false;         ///< false: the layer has no flow (no usable transport header)
};

/// Creates the analyzers that may parse a flow (agent/analyzers' CreateCandidates).
using AnalyzerFactory = std::function<std::vector<std::unique_ptr<analyzers::Analyzer>>(
    const analyzers::FlowInfo&, analyzers::AnalyzerContext&)>;

class TunnelTable;

class FlowTable final : private StreamEvents {
 public:
  FlowTable(const FlowTableOptions& options, exporter::RecordSink& sink,
            AnalyzerFactory analyzers = nullptr);
  ~FlowTable() override;
  FlowTable(const FlowTable&) = delete;
  FlowTable& operator=(const FlowTable&) = delete;

  /// Processes every IP layer of a decoded packet (outer tunnel layers first).
  /// `innermost`, from Prepare() on the same packet, saves recomputing its key.
  void Process(const decode::DecodedPacket& packet, const FlowLookup* innermost = nullptr);

  /// Batch processing, in this order for each packet of a batch: Prepare()
  /// (computes the innermost layer's key and starts loading its index slot),
  /// PrefetchFlow() a few packets ahead (starts loading the flow the slot
  /// names), then Process(packet, &lookup). Prefetches are hints: results do
  /// not depend on them, only how long the flow and slot take to reach the
  /// cache (misses on a table far larger than the cache dominate otherwise).
  void Prepare(const decode::DecodedPacket& packet, FlowLookup* lookup) const;
  void PrefetchFlow(const FlowLookup& lookup) const;
  /// Runs the timers due at `now_ns` (never moves time backwards).
  void Advance(int64_t now_ns);
  /// Ends every flow with `cause` (end of input or shutdown).
  void FlushAll(EndCause cause = EndCause::kShutdown);

  const FlowTableStats& stats() const { return stats_; }
  size_t active_flows() const { return active_; }
  int64_t now_ns() const { return now_ns_; }
  /// Memory the table accounts per flow: the Flow record and its index slots.
  size_t BytesPerFlowSlot() const;
  /// Table memory in use outside the heap: the index and the flow slots up
  /// to the highest ever used, in whole pages of their mappings.
  size_t MappedBytesInUse() const;

 private:
  friend class FlowAnalyzerContext;

  /// The tunnel an inner layer came through: a UDP flow (by key and start,
  /// so no pointer can dangle if that flow is evicted) or an IP tunnel uid.
  struct TunnelParent {
    uint64_t id = 0;
    FlowKey key;
    int64_t start_ns = 0;
    const std::string* uid = nullptr;  ///< set for IP tunnels
  };
  void LookupFor(const decode::DecodedPacket& packet, const decode::Layer& layer,
                 FlowLookup* out) const;
  /// Starts loading flow `index` (all its cache lines) into the cache.
  void PrefetchSlot(uint32_t index) const;
  /// After a flow of timer class `cls` ended: starts loading what the next
  /// flows in that class's list will need when they end.
  void PrefetchExpiring(size_t cls) const;
  uint32_t ProcessLayer(const decode::DecodedPacket& packet, const FlowLookup& lookup,
                        const TunnelParent* parent);
  uint32_t Find(const FlowKey& key, uint64_t hash) const;
  uint32_t Create(const FlowKey& key, uint64_t hash, const decode::Layer& layer, int side,
                  int64_t ts_ns);
  void End(uint32_t index, EndCause cause);
  void EvictOne();
  void IndexInsert(uint32_t index, uint64_t hash);
  void IndexErase(uint32_t index);
  void Link(uint32_t index, TimerClass cls);
  void Unlink(uint32_t index);
  void Touch(uint32_t index, int64_t previous_last_ns);
  int64_t Deadline(const Flow& flow) const;
  TimerClass ClassOf(const Flow& flow) const;

  void ProcessUdp(Flow& flow, uint32_t index, int side, const decode::Layer& layer, int64_t ts);
  void ProcessIcmp(Flow& flow, int side, const decode::Layer& layer, int64_t ts);
  void CheckInterim(Flow& flow, int64_t ts);
  void EmitConn(Flow& flow, bool interim, EndCause cause);
  void FillHeader(const Flow& flow, vigil::v1::Event& event) const;
  /// Writes the flow's uid to `out` (kMaxUidLength bytes); returns its length.
  size_t UidTo(const Flow& flow, char* out) const;
  void CountersOf(const Flow& flow, Counters* out) const;

  // Analyzers.
  void EnsureAnalyzers(Flow& flow, uint32_t index, int side, std::span<const uint8_t> payload);
  void Feed(Flow& flow, int side, std::span<const uint8_t> data, int64_t ts);
  void EmitFromAnalyzer(uint32_t index, vigil::v1::Event&& event);
  void AddService(Flow& flow, std::string_view service);
  void FlipRoles(Flow& flow);
  void AnalyzerAnomaly(std::string_view name);

  // StreamEvents (TCP stream for analyzers).
  void Deliver(Flow& flow, uint32_t index, int side, std::span<const uint8_t> data,
               int64_t ts_ns) override;
  void Skipped(Flow& flow, uint32_t index, int side, uint64_t len) override;
  void EndOfData(Flow& flow, uint32_t index, int side) override;
  bool KeepsStreamData(const Flow& flow) const override;
  void StreamBytesDropped(uint64_t len) override;

  FlowTableOptions options_;
  exporter::RecordSink& sink_;
  AnalyzerFactory analyzer_factory_;
  TcpTracker tcp_;
  std::unique_ptr<TunnelTable> tunnels_;
  FlowTableStats stats_;
  // The conn record under construction, reused (see EmitConn()).
  vigil::v1::Event conn_event_;
  std::unique_ptr<google::protobuf::Duration> spare_duration_;
  std::unique_ptr<vigil::v1::FlowCounters> spare_delta_;

  // Flows live in fixed-size chunks so their addresses never change. A
  // chunk is 2^17 flows, exactly 15 huge pages of 240-byte flows
  // (TableMemory), so huge pages waste nothing; a table capped below that
  // has one chunk of its cap. Slots are handed out lowest first, so only the
  // pages flows have reached are resident.
  static constexpr uint32_t kChunkBits = 17;
  static constexpr uint32_t kChunkSize = 1u << kChunkBits;
  static_assert(sizeof(Flow) * kChunkSize % TableMemory::kHugePage == 0);
  std::vector<TableMemory> chunk_memory_;
  std::vector<Flow*> chunks_;
  uint32_t free_head_ = kNil;  ///< ended flows, chained through Flow::next
  uint32_t allocated_ = 0;
  size_t active_ = 0;
  Flow& At(uint32_t index) { return chunks_[index >> kChunkBits][index & (kChunkSize - 1)]; }
  const Flow& At(uint32_t index) const {
    return chunks_[index >> kChunkBits][index & (kChunkSize - 1)];
  }

  // Open-addressing index of flow numbers (kNil = empty), power-of-two sized.
  TableMemory index_memory_;
  uint32_t* index_ = nullptr;
  size_t index_size_ = 0;
  uint64_t index_mask_ = 0;

  struct ClassList {
    uint32_t head = kNil, tail = kNil;
  };
  std::array<ClassList, kTimerClassCount> classes_{};
  int64_t now_ns_ = 0;
  /// A lower bound of the earliest deadline in any class, so Advance() costs
  /// one comparison for most packets. Lowered by Link(), recomputed when
  /// Advance() does the full pass.
  int64_t next_deadline_ = 0;
};

}  // namespace vigil::agent::flow
