#include "agent/flow/tcp_tracker.h"

#include <algorithm>

#include "agent/flow/history.h"

namespace vigil::agent::flow {
namespace {

using decode::tcp_flags::kAck;
using decode::tcp_flags::kFin;
using decode::tcp_flags::kRst;
using decode::tcp_flags::kSyn;

// Sequence jumps larger than this in SYN/RST packets are not trusted (Zeek's
// TOO_LARGE_SEQ_DELTA).
constexpr int32_t kTooLargeSeqDelta = 1048576;
// Zeek's tcp_max_above_hole_without_any_acks and
// tcp_excessive_data_without_further_acks: beyond these, stop reassembling.
constexpr uint64_t kMaxAboveHoleWithoutAcks = 16384;
constexpr uint64_t kExcessiveDataWithoutAcks = 10 * 1024 * 1024;

// History masks (Zeek's TCP_Endpoint::HistoryMasks); responder masks are
// shifted left by 16.
constexpr uint32_t kHistSyn = 0x1;
constexpr uint32_t kHistFin = 0x2;
constexpr uint32_t kHistRst = 0x4;
constexpr uint32_t kHistFinRst = 0x8;
constexpr uint32_t kHistData = 0x10;
constexpr uint32_t kHistAck = 0x20;
constexpr uint32_t kHistMultiFlag = 0x40;

int32_t SeqDelta(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b); }
uint64_t Full(uint32_t seq, uint32_t wraps) { return (static_cast<uint64_t>(wraps) << 32) + seq; }
bool IsHandshake(uint8_t s) { return s == kTcpInactive || s == kTcpSynSent || s == kTcpSynAckSent; }
bool IsClean(const TcpEndpoint& e) {
  return e.state == kTcpEstablished || (e.state == kTcpClosed && e.prev_state == kTcpEstablished);
}
bool Has(const TcpEndpoint& e, uint8_t f) { return (e.flags & f) != 0; }
char Role(char upper, bool is_orig) {
  return is_orig ? upper : static_cast<char>(upper - 'A' + 'a');
}

uint64_t RelAck(const TcpEndpoint& e) { return Full(e.ack_seq, e.ack_wraps) - e.start_seq; }

bool NoDataAcked(const TcpEndpoint& e) {
  const uint64_t ack = Full(e.ack_seq, e.ack_wraps);
  return ack == e.start_seq || ack == static_cast<uint64_t>(e.start_seq) + 1;
}

// Expands a 32-bit relative sequence to the 64-bit value nearest `ref`.
uint64_t Expand(uint32_t low, uint64_t ref) {
  uint64_t cand = (ref & ~0xFFFFFFFFull) | low;
  if (cand > ref && cand - ref > 0x80000000ull && cand >= 0x100000000ull) {
    cand -= 0x100000000ull;
  } else if (cand < ref && ref - cand > 0x80000000ull) {
    cand += 0x100000000ull;
  }
  return cand;
}

// Zeek's get_relative_seq(): the position of `cur` relative to the
// endpoint's start, following 32-bit wraps relative to `last`.
uint64_t RelativeSeq(const TcpEndpoint& e, uint32_t cur, uint32_t last, uint32_t wraps,
                     bool* underflow) {
  const int32_t delta = SeqDelta(cur, last);
  if (delta < 0) {
    if (wraps && cur > last) --wraps;
  } else if (delta > 0) {
    if (cur < last) ++wraps;
  }
  if (wraps == 0) {
    const int32_t d = SeqDelta(cur, e.start_seq);
    if (underflow && d < 0) *underflow = true;
    // Zeek returns the signed delta through an unsigned 64-bit type.
    return static_cast<uint64_t>(static_cast<int64_t>(d));
  }
  return Full(cur, wraps) - e.start_seq;
}

void UpdateLast(TcpEndpoint& e, uint32_t seq) {
  if (seq < e.last_seq) ++e.seq_wraps;
  e.last_seq = seq;
}

void UpdateAck(TcpEndpoint& e, uint32_t ack) {
  const int32_t delta = SeqDelta(ack, e.ack_seq);
  if (ack == 0 && delta > kTooLargeSeqDelta) return;  // more likely a broken ack than a wrap
  if (delta > 0) {
    if (ack < e.ack_seq) ++e.ack_wraps;
    e.ack_seq = ack;
  }
}

}  // namespace

struct TcpTracker::Packet {
  uint8_t flags;
  bool is_orig;
  uint32_t base_seq;
  uint32_t ack_seq;
  uint32_t len;
  int64_t ts_ns;
  bool Syn() const { return flags & kSyn; }
  bool Fin() const { return flags & kFin; }
  bool Rst() const { return flags & kRst; }
  bool Ack() const { return flags & kAck; }
};

void TcpTracker::SetState(Flow& flow, int side, uint8_t state) {
  TcpEndpoint& e = flow.tcp[side];
  if (state == e.state) return;
  // Zeek switches the connection from udp_inactivity_timeout to
  // tcp_inactivity_timeout when the handshake is over.
  if (!IsHandshake(state) && IsHandshake(e.state) && IsHandshake(flow.tcp[side ^ 1].state)) {
    flow.Set(flow_flags::kLeftHandshake);
  }
  e.prev_state = e.state;
  e.state = state;
}

void TcpTracker::InitEndpoint(TcpEndpoint& e, uint8_t flags, uint32_t first_seg_seq,
                              uint32_t last_seq) {
  const bool syn = flags & kSyn;
  switch (e.state) {
    case kTcpInactive:
      if (syn) {
        e.ack_seq = e.start_seq = first_seg_seq;
      } else {
        // Partial connection: number as if a SYN had been seen, and make sure
        // the first packet is not taken for a retransmission.
        e.ack_seq = e.start_seq = first_seg_seq - 1;
        last_seq = first_seg_seq;
      }
      e.last_seq = last_seq;
      break;
    case kTcpSynSent:
    case kTcpSynAckSent:
      if (syn && first_seg_seq != e.start_seq) {
        e.start_seq = e.ack_seq = first_seg_seq;
        e.last_seq = last_seq;
      }
      break;
    case kTcpEstablished:
    case kTcpPartial:
      if (syn) {
        // The connection apparently was not established; this SYN sets it up.
        e.start_seq = e.ack_seq = first_seg_seq;
        e.last_seq = last_seq;
      }
      break;
    case kTcpReset:
      if (syn && e.prev_state == kTcpInactive) {
        // The earlier RST initialised the numbers; a SYN is more trustworthy.
        e.start_seq = e.ack_seq = first_seg_seq;
        e.last_seq = last_seq;
      }
      break;
    default:
      break;
  }
}

void TcpTracker::UpdateHistory(Flow& flow, int side, uint8_t flags, uint64_t rel_seq,
                               uint32_t len) {
  TcpEndpoint& e = flow.tcp[side];
  const bool is_orig = side == flow.orig_side;
  const int shift = is_orig ? 0 : 16;
  auto check = [&](uint32_t mask, char code) {
    return CheckHistory(flow, mask << shift, Role(code, is_orig));
  };
  const bool syn = flags & kSyn, fin = flags & kFin, rst = flags & kRst, ack = flags & kAck;
  const int bits = syn + fin + rst;
  if (bits > 1) {
    if (fin && rst) {
      check(kHistFinRst, 'I');
    } else {
      check(kHistMultiFlag, 'Q');
    }
  } else if (bits == 1) {
    if (syn) {
      const char code = ack ? 'H' : 'S';
      const auto low = static_cast<uint16_t>(rel_seq);
      if (check(kHistSyn, code) && low != e.hist_last_syn) AddHistory(flow, Role(code, is_orig));
      e.hist_last_syn = low;
    }
    if (fin) {
      // A FIN's sequence number is at the end of the data it carries.
      const auto low = static_cast<uint16_t>(rel_seq + len);
      if (check(kHistFin, 'F') && low != e.hist_last_fin) AddHistory(flow, Role('F', is_orig));
      e.hist_last_fin = low;
    }
    if (rst) {
      const auto low = static_cast<uint16_t>(rel_seq);
      if (check(kHistRst, 'R') && low != e.hist_last_rst) AddHistory(flow, Role('R', is_orig));
      e.hist_last_rst = low;
    }
  } else if (len > 0) {
    check(kHistData, 'D');
  } else if (ack) {
    check(kHistAck, 'A');
  }
}

int32_t TcpTracker::UpdateLastSeq(Flow& flow, int side, uint32_t last_seq, uint8_t flags,
                                  uint32_t len) {
  TcpEndpoint& e = flow.tcp[side];
  const int32_t delta = SeqDelta(last_seq, e.last_seq);
  const bool syn_or_rst = flags & (kSyn | kRst);
  if (syn_or_rst && (delta > kTooLargeSeqDelta || delta < -kTooLargeSeqDelta)) {
    // Implausible jump in a control packet: keep the old numbers.
  } else if ((flags & kFin) && e.last_seq == e.start_seq + 1) {
    // Only SYN and FIN seen (e.g. a >2 GB transfer captured without data):
    // trust the FIN even if it looks old.
    UpdateLast(e, last_seq);
  } else if (e.state == kTcpReset) {
    // Nothing after a RST is trusted.
  } else if (delta > 0) {
    UpdateLast(e, last_seq);
  } else if (len > 0) {
    ScaledHistory(flow, side, kScaledRxmit, Role('T', side == flow.orig_side));
  }
  return delta;
}

void TcpTracker::UpdateStateMachine(Flow& flow, int side, const Packet& p, int32_t delta_last,
                                    bool* do_close, bool* gen_event) {
  (void)delta_last;
  const int peer_side = side ^ 1;
  TcpEndpoint& e = flow.tcp[side];
  TcpEndpoint& peer = flow.tcp[peer_side];
  *do_close = *gen_event = false;
  switch (e.state) {
    case kTcpInactive: {
      if (p.Syn()) {
        if (p.is_orig) {
          SetState(flow, side, p.Ack() ? kTcpSynAckSent : kTcpSynSent);
          // Zeek's attempt timer: an unanswered SYN ends the connection.
          flow.Set(flow_flags::kAttemptTimer);
          flow.anchor_ns = p.ts_ns;
        } else {
          if (!p.Ack() && peer.state == kTcpSynAckSent && p.base_seq == e.start_seq) {
            // SYN and SYN-ACK seen in reverse order: swap the roles.
            flow.Clear(flow_flags::kPartial);
            Flip(flow);
            SetState(flow, peer_side, kTcpEstablished);
            flow.Set(flow_flags::kFirstSeenOrig);
          }
          if (peer.state == kTcpSynSent) SetState(flow, peer_side, kTcpEstablished);
          SetState(flow, side, kTcpEstablished);
        }
      }
      if (p.Fin()) {
        SetState(flow, side, kTcpClosed);
        *do_close = *gen_event = true;
      }
      if (p.Rst()) {
        SetState(flow, side, kTcpReset);
        const bool is_reject = p.is_orig
                                   ? peer.state == kTcpEstablished
                                   : (peer.state == kTcpSynSent || peer.state == kTcpSynAckSent);
        *do_close = true;
        *gen_event = !is_reject;
      }
      if (e.state == kTcpInactive) {
        const TcpEndpoint& orig = flow.tcp[flow.orig_side];
        if (!p.is_orig && p.len == 0 && orig.state == kTcpSynSent) {
          // Some stacks ACK a SYN before answering it; not a partial connection.
        } else if (p.Ack() && peer.state == kTcpEstablished) {
          // SYN-ACK seen, SYN missed, now the ACK: call it established.
          SetState(flow, side, kTcpEstablished);
          flow.Clear(flow_flags::kPartial);
          flow.Set(p.is_orig ? flow_flags::kFirstSeenOrig : flow_flags::kFirstSeenResp);
        } else {
          SetState(flow, side, kTcpPartial);
        }
      }
      break;
    }
    case kTcpSynSent:
    case kTcpSynAckSent:
      if (p.Fin()) {
        SetState(flow, side, kTcpClosed);
        *do_close = *gen_event = true;
      }
      if (p.Rst()) {
        SetState(flow, side, kTcpReset);
        *do_close = true;
      }
      break;
    case kTcpEstablished:
    case kTcpPartial:
      if (p.Syn() && e.state == kTcpPartial && peer.state == kTcpInactive && !p.Ack()) {
        SetState(flow, side, kTcpSynSent);
      }
      if (p.Fin() && !p.Rst()) {
        SetState(flow, side, kTcpClosed);
        // FIN after the peer's FIN+RST: that was a normal termination.
        if (peer.state == kTcpReset && peer.prev_state == kTcpClosed) {
          SetState(flow, peer_side, kTcpClosed);
        }
        *do_close = *gen_event = true;
      }
      if (p.Rst()) {
        SetState(flow, side, kTcpReset);
        *do_close = true;
      }
      break;
    case kTcpClosed:
      // After our FIN, a RST only matters if the peer has not closed too.
      if (p.Rst() && peer.state != kTcpClosed) {
        SetState(flow, side, kTcpReset);
        if (!Has(e, endpoint_flags::kDidClose)) *do_close = true;
      }
      break;
    default:  // kTcpReset: nothing changes after a reset
      break;
  }
}

bool TcpTracker::HasUndeliveredData(const Flow& flow, int side) const {
  const TcpEndpoint& e = flow.tcp[side];
  if (Has(e, endpoint_flags::kSkipDeliveries)) return false;
  if (e.reassem > e.trim) return true;  // delivered but not yet acknowledged
  return flow.Has(flow_flags::OooFlag(side));
}

void TcpTracker::SyncOooFlag(Flow& flow, int side) {
  if (flow.ext != nullptr && !flow.ext->ooo[side].empty()) {
    flow.Set(flow_flags::OooFlag(side));
  } else {
    flow.Clear(flow_flags::OooFlag(side));
  }
}

bool TcpTracker::DataPending(const Flow& flow, int side) const {
  const TcpEndpoint& e = flow.tcp[side];
  if (Has(e, endpoint_flags::kSkipDeliveries)) return false;
  const uint64_t delivered = static_cast<uint64_t>(e.start_seq) + e.reassem;
  const uint64_t last = Full(e.last_seq, e.seq_wraps);
  if (last < delivered) return false;
  // Everything is delivered up to the FIN (which takes one sequence number)
  // or up to the end (a RST takes none).
  if (delivered != last - 1 && delivered != last) return true;
  if (e.state != kTcpReset && HasUndeliveredData(flow, side ^ 1)) return true;
  return false;
}

void TcpTracker::ConnectionClosed(Flow& flow, uint32_t index, int side, bool gen_event) {
  if (DataPending(flow, side)) {
    // Close once the data in flight has been delivered (see CheckEof).
    flow.Set(flow_flags::kCloseDeferred);
    if (!flow.Has(flow_flags::kDeferredGenEvent) && gen_event) {
      flow.Set(flow_flags::kDeferredGenEvent);
    }
    return;
  }
  (void)index;
  flow.Clear(flow_flags::kCloseDeferred);
  TcpEndpoint& e = flow.tcp[side];
  const TcpEndpoint& peer = flow.tcp[side ^ 1];
  if (Has(e, endpoint_flags::kDidClose)) return;
  e.flags |= endpoint_flags::kDidClose;
  const bool complete =
      e.state == kTcpReset || Has(peer, endpoint_flags::kDidClose) || peer.state == kTcpInactive;
  if (complete) {
    flow.Clear(flow_flags::kDeferredGenEvent);
    // Removal tcp_closed after the connection's last activity.
    flow.Set(flow_flags::kCloseComplete);
    flow.anchor_ns = flow.last_ns;
  }
}

void TcpTracker::CheckEof(Flow& flow, uint32_t index, int side) {
  TcpEndpoint& e = flow.tcp[side];
  if (Has(e, endpoint_flags::kDidEof)) return;
  const bool ending =
      Has(e, endpoint_flags::kFinSeen) || e.state == kTcpClosed || e.state == kTcpReset;
  if (!ending || DataPending(flow, side)) return;
  e.flags |= endpoint_flags::kDidEof;
  events_.EndOfData(flow, index, side);
  if (flow.Has(flow_flags::kCloseDeferred)) {
    ConnectionClosed(flow, index, side, flow.Has(flow_flags::kDeferredGenEvent));
    // As in Zeek, the deferral is over even if ConnectionClosed deferred again.
    flow.Clear(flow_flags::kCloseDeferred);
  }
}

void TcpTracker::Gap(Flow& flow, uint32_t index, int side, uint64_t len) {
  const TcpEndpoint& e = flow.tcp[side];
  // Gaps only count while both sides are cleanly established or closing;
  // otherwise they are artefacts of RST sequence numbers or partial views.
  if (IsClean(e) && IsClean(flow.tcp[side ^ 1])) {
    ScaledHistory(flow, side, kScaledGap, Role('G', side == flow.orig_side));
    flow.Ext().missed_bytes += len;
  }
  events_.Skipped(flow, index, side, len);
}

void TcpTracker::DeliverFrom(Flow& flow, uint32_t index, int side) {
  // In-order segments of a flow without holes: FlowExt is not touched.
  if (!flow.Has(flow_flags::OooFlag(side))) return;
  TcpEndpoint& e = flow.tcp[side];
  auto& blocks = flow.ext->ooo[side];
  size_t consumed = 0;
  while (consumed < blocks.size() && blocks[consumed].seq <= e.reassem) {
    OooBlock& b = blocks[consumed];
    if (b.upper > e.reassem) {
      const uint64_t skip = e.reassem - b.seq;
      if (b.has_data) {
        events_.Deliver(flow, index, side,
                        std::span<const uint8_t>(b.data).subspan(static_cast<size_t>(skip)),
                        now_ns_);
      } else {
        events_.Skipped(flow, index, side, b.upper - e.reassem);
      }
      e.reassem = b.upper;
    }
    if (b.has_data) flow.ext->ooo_bytes -= b.data.size();
    ++consumed;
  }
  if (consumed > 0) blocks.erase(blocks.begin(), blocks.begin() + static_cast<ptrdiff_t>(consumed));
  SyncOooFlag(flow, side);
}

void TcpTracker::Undelivered(Flow& flow, uint32_t index, int side, uint64_t up_to) {
  TcpEndpoint& e = flow.tcp[side];
  if (up_to <= 2 && flow.Has(flow_flags::kPartial)) {
    // A partial connection's first ack: its "missing" first byte is an
    // artefact of numbering as if a SYN had been seen (or a keep-alive).
    return;
  }
  if (!Has(e, endpoint_flags::kSkipDeliveries)) {
    while (flow.Has(flow_flags::OooFlag(side))) {
      const uint64_t next = flow.ext->ooo[side].front().seq;
      if (next >= up_to) break;
      Gap(flow, index, side, next - e.reassem);
      e.reassem = next;
      DeliverFrom(flow, index, side);
    }
    if (up_to > e.reassem) Gap(flow, index, side, up_to - e.reassem);
  }
  if (up_to > e.reassem) e.reassem = up_to;
}

void TcpTracker::AckReceived(Flow& flow, uint32_t index, int side, uint64_t rel_ack) {
  TcpEndpoint& e = flow.tcp[side];
  uint64_t seq = rel_ack;
  if (Has(e, endpoint_flags::kFinSeen)) {
    const uint64_t fin = Expand(e.fin_rel32, seq);
    if (seq >= fin) seq = fin - 1;  // the FIN's sequence number is not data
  }
  if (seq <= e.trim) return;
  if (seq > e.reassem) Undelivered(flow, index, side, seq);
  e.trim = seq;
  CheckEof(flow, index, side);
}

void TcpTracker::DataSent(Flow& flow, uint32_t index, int side, uint64_t seq,
                          std::span<const uint8_t> data, int64_t ts_ns) {
  TcpEndpoint& e = flow.tcp[side];
  if (Has(e, endpoint_flags::kSkipDeliveries)) return;
  const uint64_t ack = RelAck(e);
  uint64_t upper = seq + data.size();
  if (seq < ack) {
    if (upper <= ack) return;  // already delivered and acknowledged
    data = data.subspan(static_cast<size_t>(ack - seq));
    seq = ack;
  }
  if (upper <= e.trim) return;
  if (seq < e.trim) {
    data = data.subspan(static_cast<size_t>(e.trim - seq));
    seq = e.trim;
  }
  if (seq <= e.reassem) {
    if (upper > e.reassem) {
      events_.Deliver(flow, index, side, data.subspan(static_cast<size_t>(e.reassem - seq)), ts_ns);
      e.reassem = upper;
      DeliverFrom(flow, index, side);
    }
  } else {
    // Above a hole: keep the parts no earlier segment covered (first wins).
    FlowExt& ext = flow.Ext();
    auto& blocks = ext.ooo[side];
    const bool keep = events_.KeepsStreamData(flow);
    uint64_t cursor = seq;
    size_t i = 0;
    while (cursor < upper) {
      while (i < blocks.size() && blocks[i].upper <= cursor) ++i;
      uint64_t piece_end = upper;
      if (i < blocks.size() && blocks[i].seq <= cursor) {
        cursor = blocks[i].upper;  // covered already
        continue;
      }
      if (i < blocks.size()) piece_end = std::min(upper, blocks[i].seq);
      if (blocks.size() >= limits_.max_ooo_blocks) {
        events_.StreamBytesDropped(piece_end - cursor);
        break;
      }
      OooBlock b;
      b.seq = cursor;
      b.upper = piece_end;
      const uint64_t n = piece_end - cursor;
      if (keep && ext.ooo_bytes + n <= limits_.max_ooo_bytes) {
        const auto off = static_cast<size_t>(cursor - seq);
        b.data.assign(data.begin() + static_cast<ptrdiff_t>(off),
                      data.begin() + static_cast<ptrdiff_t>(off + n));
        b.has_data = true;
        ext.ooo_bytes += n;
      } else if (keep) {
        events_.StreamBytesDropped(n);
      }
      blocks.insert(blocks.begin() + static_cast<ptrdiff_t>(i), std::move(b));
      ++i;
      cursor = piece_end;
    }
    SyncOooFlag(flow, side);
  }

  // Zeek's safety valves for one-sided or ack-less captures.
  uint64_t ooo_upper = e.reassem;
  uint64_t ooo_size = 0;
  const bool has_ooo = flow.Has(flow_flags::OooFlag(side));
  if (has_ooo) {
    for (const OooBlock& b : flow.ext->ooo[side]) {
      ooo_upper = std::max(ooo_upper, b.upper);
      ooo_size += b.upper - b.seq;
    }
  }
  const bool above_hole = NoDataAcked(e) && ooo_upper - e.reassem > kMaxAboveHoleWithoutAcks;
  const bool excessive = (e.reassem - e.trim) + ooo_size > kExcessiveDataWithoutAcks;
  if (above_hole || excessive) {
    if (has_ooo) {
      for (const OooBlock& b : flow.ext->ooo[side]) {
        if (b.has_data) flow.ext->ooo_bytes -= b.data.size();
      }
      flow.ext->ooo[side].clear();
      SyncOooFlag(flow, side);
    }
    e.flags |= endpoint_flags::kSkipDeliveries;
  }
}

bool TcpTracker::Process(Flow& flow, uint32_t index, int side, const decode::Layer& layer,
                         int64_t ts_ns) {
  const int peer_side = side ^ 1;
  TcpEndpoint& e = flow.tcp[side];
  TcpEndpoint& peer = flow.tcp[peer_side];
  const bool is_orig = side == flow.orig_side;
  now_ns_ = ts_ns;
  if (layer.l4_checksum == decode::ChecksumState::kBad) {
    ScaledHistory(flow, side, kScaledChecksum, Role('C', is_orig));
    return false;
  }
  Packet p{layer.tcp_flags, is_orig, layer.tcp_seq, layer.tcp_ack, layer.payload_len, ts_ns};

  // Zeek's SetPartialStatus().
  if (is_orig) {
    if (!flow.Has(flow_flags::kFirstSeenOrig)) {
      if (!p.Syn() || p.Ack()) {
        flow.Set(flow_flags::kPartial);
      } else {
        flow.Clear(flow_flags::kPartial);
      }
    }
  } else if (!flow.Has(flow_flags::kFirstSeenResp) && !flow.Has(flow_flags::kPartial) && !p.Syn()) {
    flow.Set(flow_flags::kPartial);
  }

  // SYN and FIN take one sequence number each; a RST's payload is not stream data.
  uint32_t seg_len = p.len + (p.Syn() ? 1 : 0) + (p.Fin() ? 1 : 0);
  if (p.Rst()) seg_len -= p.len;
  const uint32_t seq_one_past = p.base_seq + seg_len;

  InitEndpoint(e, p.flags, p.base_seq, seq_one_past);
  bool seq_underflow = false;
  const uint64_t rel_seq = RelativeSeq(e, p.base_seq, e.last_seq, e.seq_wraps, &seq_underflow);

  UpdateHistory(flow, side, p.flags, rel_seq, p.len);
  if (layer.tcp_window == 0 && !p.Rst() && peer.state != kTcpClosed && e.state != kTcpReset) {
    ScaledHistory(flow, side, kScaledWin0, Role('W', is_orig));
  }
  // Duration stops at the packet that completes the close.
  if (!Has(e, endpoint_flags::kDidClose) || !Has(peer, endpoint_flags::kDidClose)) {
    flow.last_ns = ts_ns;
  }
  if (p.Fin()) {
    e.flags |= endpoint_flags::kFinSeen;
    e.fin_rel32 = static_cast<uint32_t>(rel_seq + seg_len);
  }
  if (p.Rst()) e.flags |= endpoint_flags::kRstSeen;

  uint64_t rel_ack = 0;
  if (p.Ack()) {
    if (peer.state == kTcpInactive) {
      // Number the silent peer as if its SYN had been seen.
      rel_ack = 1;
      peer.start_seq = peer.ack_seq = peer.last_seq = p.ack_seq - 1;
    } else {
      bool ack_underflow = false;
      rel_ack = RelativeSeq(peer, p.ack_seq, peer.ack_seq, peer.ack_wraps, &ack_underflow);
      if (ack_underflow) {
        rel_ack = 0;
      } else if (!p.Rst()) {
        UpdateAck(peer, p.ack_seq);  // acks in RSTs are not trusted
      }
    }
  }

  const int32_t delta_last = UpdateLastSeq(flow, side, seq_one_past, p.flags, p.len);
  bool do_close = false, gen_event = false;
  UpdateStateMachine(flow, side, p, delta_last, &do_close, &gen_event);

  // After the state update, so a gap revealed by a final FIN/RST ack can be
  // judged against the closing state.
  if (p.Ack()) AckReceived(flow, index, peer_side, rel_ack);

  const uint64_t rel_data_seq = p.Syn() ? rel_seq + 1 : rel_seq;
  if (p.len > 0 && !p.Rst() && !seq_underflow && layer.payload.size() >= p.len) {
    DataSent(flow, index, side, rel_data_seq, layer.payload.first(p.len), ts_ns);
  }
  CheckEof(flow, index, side);
  if (do_close) ConnectionClosed(flow, index, side, gen_event);

  flow.Set(is_orig ? flow_flags::kFirstSeenOrig : flow_flags::kFirstSeenResp);
  return true;
}

bool TcpTracker::IsReuse(const Flow& flow, const decode::Layer& layer) {
  if (!(layer.tcp_flags & kSyn)) return false;
  const TcpEndpoint& orig = flow.tcp[flow.orig_side];
  const TcpEndpoint& resp = flow.tcp[flow.orig_side ^ 1];
  const TcpEndpoint* conn_orig = &orig;
  if (layer.tcp_flags & kAck) {
    if (orig.state != kTcpInactive) return false;  // not a half connection
    conn_orig = &resp;
  }
  const bool closed = Has(orig, endpoint_flags::kDidClose) || Has(resp, endpoint_flags::kDidClose);
  if (!closed) {
    if (layer.tcp_seq == conn_orig->start_seq) return false;
    if (!(layer.tcp_flags & kAck) && conn_orig->state == kTcpSynAckSent &&
        resp.state == kTcpInactive && layer.tcp_seq == resp.start_seq) {
      return false;  // SYN and SYN-ACK seen in reverse order, not a new connection
    }
  }
  return true;
}

uint64_t TcpTracker::Size(const Flow& flow, int side) {
  const TcpEndpoint& e = flow.tcp[side];
  const TcpEndpoint& peer = flow.tcp[side ^ 1];
  if (e.prev_state == kTcpSynSent && e.state == kTcpReset && peer.state == kTcpInactive &&
      !NoDataAcked(e)) {
    return 0;  // a half-open connection found and aborted: its numbers mean nothing
  }
  const uint64_t last = Full(e.last_seq, e.seq_wraps);
  const uint64_t ack = Full(e.ack_seq, e.ack_wraps);
  uint64_t size = (last > ack ? last : ack) - e.start_seq;
  if (size != 0) --size;                                      // the SYN
  if (Has(e, endpoint_flags::kFinSeen) && size != 0) --size;  // the FIN
  return size;
}

void TcpTracker::Flip(Flow& flow) {
  flow.orig_side ^= 1;
  const bool seen_orig = flow.Has(flow_flags::kFirstSeenOrig);
  const bool seen_resp = flow.Has(flow_flags::kFirstSeenResp);
  flow.Clear(flow_flags::kFirstSeenOrig | flow_flags::kFirstSeenResp | flow_flags::kPartial);
  if (seen_orig) flow.Set(flow_flags::kFirstSeenResp);
  if (seen_resp) flow.Set(flow_flags::kFirstSeenOrig);
  AddHistory(flow, '^');
}

vigil::v1::ConnState TcpTracker::ConnState(const Flow& flow) {
  const int o = flow.orig_side, r = flow.orig_side ^ 1;
  const uint8_t os = flow.tcp[o].state, rs = flow.tcp[r].state;
  const bool o_inactive = os == kTcpInactive || os == kTcpPartial;
  const bool r_inactive = rs == kTcpInactive || rs == kTcpPartial;
  if (rs == kTcpReset) {
    if (os == kTcpSynSent || os == kTcpSynAckSent ||
        (os == kTcpReset && Size(flow, o) == 0 && Size(flow, r) == 0)) {
      return vigil::v1::CONN_STATE_REJ;
    }
    return o_inactive ? vigil::v1::CONN_STATE_RSTRH : vigil::v1::CONN_STATE_RSTR;
  }
  if (os == kTcpReset) {
    if (r_inactive) {
      // Zeek: /^\^?S[^HAFGIQ]*R.*/ over the history.
      const std::string h = HistoryString(flow);
      size_t i = (!h.empty() && h[0] == '^') ? 1 : 0;
      if (i < h.size() && h[i] == 'S') {
        for (++i; i < h.size(); ++i) {
          const char c = h[i];
          if (c == 'R') return vigil::v1::CONN_STATE_RSTOS0;
          if (c == 'H' || c == 'A' || c == 'F' || c == 'G' || c == 'I' || c == 'Q') break;
        }
      }
      return vigil::v1::CONN_STATE_OTH;
    }
    return vigil::v1::CONN_STATE_RSTO;
  }
  if (rs == kTcpClosed && os == kTcpClosed) return vigil::v1::CONN_STATE_SF;
  if (os == kTcpClosed) return r_inactive ? vigil::v1::CONN_STATE_SH : vigil::v1::CONN_STATE_S2;
  if (rs == kTcpClosed) return o_inactive ? vigil::v1::CONN_STATE_SHR : vigil::v1::CONN_STATE_S3;
  if (os == kTcpSynSent && rs == kTcpInactive) return vigil::v1::CONN_STATE_S0;
  if (os == kTcpEstablished && rs == kTcpEstablished) return vigil::v1::CONN_STATE_S1;
  return vigil::v1::CONN_STATE_OTH;
}

}  // namespace vigil::agent::flow
