#pragma once
// Zeek's TCP connection semantics for one flow (internal to agent/flow):
// endpoint state machine (INACTIVE, SYN_SENT, SYN_ACK_SENT, PARTIAL,
// ESTABLISHED, CLOSED, RESET), history letters with their repeat rules,
// payload sizes from sequence numbers (32-bit wraps, retransmissions counted
// once, bytes acknowledged but never seen count and become content gaps),
// close detection with deferral while data is pending, and the in-order
// stream handed to analyzers. Re-implemented from Zeek's documented
// behaviour (TCPSessionAdapter, TCP_Endpoint, TCP_Reassembler) so that
// conn.log fields agree with Zeek on the same packets.
//
// Used by the FlowTable on the capture thread. Not thread-safe.

#include <cstdint>
#include <span>

#include "agent/decode/packet.h"
#include "agent/flow/flow.h"
#include "vigil/v1/records.pb.h"

namespace vigil::agent::flow {

/// What the tracker needs from its owner: the analyzers behind a flow.
class StreamEvents {
 public:
  virtual ~StreamEvents() = default;
  /// In-order payload of key side `side`.
  virtual void Deliver(Flow& flow, uint32_t index, int side, std::span<const uint8_t> data,
                       int64_t ts_ns) = 0;
  /// `len` bytes of key side `side` will never be delivered.
  virtual void Skipped(Flow& flow, uint32_t index, int side, uint64_t len) = 0;
  virtual void EndOfData(Flow& flow, uint32_t index, int side) = 0;
  /// True when out-of-order bytes must be kept for analyzers.
  virtual bool KeepsStreamData(const Flow& flow) const = 0;
  /// Out-of-order bytes dropped because the per-flow buffer was full.
  virtual void StreamBytesDropped(uint64_t len) = 0;
};

struct TcpLimits {
  /// Out-of-order payload kept for analyzers per flow (bytes above a hole).
  uint64_t max_ooo_bytes = 256 * 1024;
  /// Out-of-order segments tracked per direction (ranges, with or without data).
  uint32_t max_ooo_blocks = 64;
};

class TcpTracker {
 public:
  TcpTracker(StreamEvents& events, const TcpLimits& limits) : events_(events), limits_(limits) {}

  /// Processes one segment sent by key side `side` at `ts_ns`. Returns false
  /// when the segment was discarded (bad checksum) and must not be counted.
  bool Process(Flow& flow, uint32_t index, int side, const decode::Layer& layer, int64_t ts_ns);

  /// Zeek's IsReuse(): a SYN for an existing connection that starts a new one.
  static bool IsReuse(const Flow& flow, const decode::Layer& layer);

  /// Zeek's conn_state for a TCP flow.
  static vigil::v1::ConnState ConnState(const Flow& flow);
  /// Payload bytes of key side `side` from sequence numbers (Zeek's Size()).
  static uint64_t Size(const Flow& flow, int side);

  /// Swaps originator and responder (Zeek's FlipRoles): adds '^'.
  static void Flip(Flow& flow);

 private:
  struct Packet;
  void InitEndpoint(TcpEndpoint& e, uint8_t flags, uint32_t first_seg_seq, uint32_t last_seq);
  void UpdateHistory(Flow& flow, int side, uint8_t flags, uint64_t rel_seq, uint32_t len);
  int32_t UpdateLastSeq(Flow& flow, int side, uint32_t last_seq, uint8_t flags, uint32_t len);
  void UpdateStateMachine(Flow& flow, int side, const Packet& p, int32_t delta_last, bool* do_close,
                          bool* gen_event);
  void SetState(Flow& flow, int side, uint8_t state);
  void ConnectionClosed(Flow& flow, uint32_t index, int side, bool gen_event);
  bool DataPending(const Flow& flow, int side) const;
  bool HasUndeliveredData(const Flow& flow, int side) const;
  void CheckEof(Flow& flow, uint32_t index, int side);
  void AckReceived(Flow& flow, uint32_t index, int side, uint64_t rel_ack);
  void DataSent(Flow& flow, uint32_t index, int side, uint64_t seq, std::span<const uint8_t> data,
                int64_t ts_ns);
  void Undelivered(Flow& flow, uint32_t index, int side, uint64_t up_to);
  void Gap(Flow& flow, uint32_t index, int side, uint64_t len);
  void DeliverFrom(Flow& flow, uint32_t index, int side);
  /// Keeps flow_flags::OooFlag(side) equal to "FlowExt::ooo[side] is not empty".
  static void SyncOooFlag(Flow& flow, int side);

  StreamEvents& events_;
  TcpLimits limits_;
  int64_t now_ns_ = 0;  ///< time of the segment being processed
};

}  // namespace vigil::agent::flow
