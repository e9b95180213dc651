#pragma once
// DnsAnalyzer: DNS over UDP (one message per datagram) and TCP (RFC 1035
// 4.2.2 two-byte length framing, any number of messages per stream, split
// anywhere). Produces one DnsRecord per query/response pair, matched per flow
// by transaction id as Zeek's dns.log does: a response pairs with the oldest
// pending query of the same id; a query or response without its counterpart
// is logged when the flow ends (or when too many are pending). Messages to a
// multicast responder (mDNS, LLMNR) are each logged on their own.
//
// Owned by the flow table (one per flow that carries DNS); memory grows only
// with pending unmatched messages (bounded) and a partial TCP message.
// Not thread-safe: every call for one flow comes from the capture thread.

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "agent/analyzers/analyzer.h"
#include "agent/analyzers/dns/dns_message.h"
#include "agent/analyzers/pooled_allocation.h"
#include "agent/analyzers/registry.h"
#include "vigil/v1/records.pb.h"

namespace vigil::agent::analyzers::dns {

/// Ports Zeek attaches its DNS analyzer to (scripts/base/protocols/dns).
bool IsDnsPort(vigil::v1::Transport transport, uint16_t port);

/// Registry factory: a DnsAnalyzer for flows on a DNS port, else nullptr.
std::unique_ptr<Analyzer> MaybeCreate(const FlowInfo& flow, AnalyzerContext& ctx);

// Pooled: one is created per flow that may speak the protocol.
class DnsAnalyzer final : public Analyzer, public PooledAllocation<DnsAnalyzer> {
 public:
  /// At most this many queries (and as many responses) wait for their
  /// counterpart; beyond it the oldest is logged unmatched (anomaly
  /// `dns_unmatched_msg_quantity`), as Zeek's max_pending_msgs does.
  static constexpr size_t kMaxPending = 64;

  DnsAnalyzer(const FlowInfo& flow, AnalyzerContext& ctx);

  // vigil::agent::analyzers::Analyzer
  std::string_view Service() const override { return "dns"; }
  Verdict OnData(Direction dir, std::span<const uint8_t> data, int64_t ts_ns) override;
  void OnGap(Direction dir, uint64_t len) override;
  void OnEndOfData(Direction dir) override;
  void OnFlowEnd(int64_t ts_ns) override;

 private:
  struct Pending {
    uint16_t id = 0;
    int64_t ts_ns = 0;
    bool saw_query = false;
    bool saw_reply = false;
    vigil::v1::DnsRecord record;
  };
  // Messages waiting for their counterpart, oldest first. Nearly always none
  // or one (each lookup is usually its own flow), so the first waits inline
  // and only further ones go to a vector: no allocation per DNS flow, and
  // records are filled and emitted in place rather than moved around.
  class PendingQueue {
   public:
    size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }
    Pending& operator[](size_t i) { return i == 0 ? first_ : more_[i - 1]; }
    /// A slot at the back for a new entry (its record emptied by Emit()).
    Pending& PushBack();
    /// Removes entry `i`, keeping the order of the others.
    void Erase(size_t i);

   private:
    size_t size_ = 0;
    Pending first_;
    std::vector<Pending> more_;
  };
  // Per-direction TCP framing state. `partial` only holds bytes while a
  // message straddles deliveries.
  struct TcpSide {
    std::vector<uint8_t> partial;
    bool dead = false;  // a gap broke the framing: stop parsing this side
  };

  Verdict FeedTcp(Direction dir, std::span<const uint8_t> data, int64_t ts_ns);
  // Parses and accounts one message sent from `dir`; false if it was not
  // valid DNS.
  bool HandleMessage(Direction dir, std::span<const uint8_t> bytes, int64_t ts_ns);
  void InitPending(Pending& p, uint16_t id, int64_t ts_ns);
  void ApplyMessage(Pending& p, const Message& msg, int64_t ts_ns);
  /// Emits `p`'s record, leaving it empty.
  void Emit(Pending& p);
  /// A new entry at the back of `queue`, after logging the oldest unmatched
  /// one when the queue is full.
  Pending& EnqueueBounded(PendingQueue& queue);
  Verdict Status();

  AnalyzerContext& ctx_;
  vigil::v1::Transport transport_;
  bool netbios_;
  bool multicast_;
  bool recognized_ = false;
  bool reported_recognized_ = false;
  bool gave_up_ = false;
  bool first_message_ = true;       // no message with a full header seen yet
  PendingQueue queries_;            // waiting for a response, oldest first
  PendingQueue replies_;            // responses that arrived before any query
  std::unique_ptr<TcpSide[]> tcp_;  // allocated only for TCP flows
};

}  // namespace vigil::agent::analyzers::dns
