#pragma once
// Application-layer analyzers (DNS, TLS, HTTP). The flow table owns one
// Analyzer per recognised protocol per flow and feeds it payload in order:
// UDP datagrams as they arrive, TCP bytes after reassembly. An analyzer never
// throws and never trusts its input; malformed input becomes a named anomaly
// through AnalyzerContext::Anomaly() and the analyzer gives up on the flow
// (returns kGiveUp) rather than guessing.
//
// Not thread-safe: every call for one flow comes from the capture thread.

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string_view>

#include "vigil/v1/records.pb.h"

namespace vigil::agent::analyzers {

enum class Direction : uint8_t { kOrig = 0, kResp = 1 };

/// What an analyzer reports after each call.
enum class Verdict : uint8_t {
  kContinue,    ///< keep feeding me
  kRecognized,  ///< the flow speaks my protocol; add my service name to the flow
  /// Stop feeding me: not my protocol, hopelessly malformed, or (after an
  /// earlier kRecognized) finished, e.g. a TLS handshake that is established.
  /// A recognised service stays on the flow. Before answering kGiveUp an
  /// analyzer has emitted every record it still held, so dropping it without
  /// OnFlowEnd() loses nothing.
  kGiveUp,
};

/// The flow an analyzer is attached to, and where its output goes.
class AnalyzerContext {
 public:
  virtual ~AnalyzerContext() = default;
  /// A finished record. The context fills uid and id from the flow, and ts
  /// when the analyzer left it unset (analyzers set ts to when their
  /// transaction began, as Zeek's dns/http/ssl logs do).
  virtual void EmitRecord(vigil::v1::Event&& event) = 0;
  /// A named anomaly (snake_case, stable: it becomes a metric label).
  virtual void Anomaly(std::string_view name) = 0;
  /// A protocol recognised *inside* this flow by a nested analyzer (e.g. TLS
  /// through an HTTP CONNECT proxy, as Zeek reports `http,ssl`): add it to
  /// the flow's services. Contexts that do not track nesting may ignore it.
  virtual void AddService(std::string_view service) { (void)service; }
  /// The protocol shows that the port heuristics chose the wrong originator
  /// (e.g. the first DNS message is a response sent by the originator, where
  /// Zeek's DNS analyzer flips the connection): swap originator and
  /// responder, as Zeek's Connection::FlipRoles(). Directions of later calls
  /// follow the new roles; records emitted afterwards carry the new id.
  /// Contexts that do not own a connection may ignore it.
  virtual void FlipRoles() {}
};

class Analyzer {
 public:
  virtual ~Analyzer() = default;
  /// Protocol name as it appears in conn.log `service` ("dns", "ssl", "http").
  virtual std::string_view Service() const = 0;
  /// True for protocols Zeek does not analyse on a "partial" TCP connection
  /// (one whose handshake start was not seen: capture began mid-stream, or
  /// the responder's first packet was no SYN). Zeek's HTTP and SSL
  /// analyzers return from DeliverStream while TCP()->IsPartial(); the flow
  /// then gets no record and no service from them. Asked at every delivery:
  /// a role flip can make a connection whole again.
  virtual bool SkipsPartialTcp() const { return false; }
  /// In-order payload from one side. `ts_ns` is the packet's capture time.
  virtual Verdict OnData(Direction dir, std::span<const uint8_t> data, int64_t ts_ns) = 0;
  /// The reassembler skipped `len` bytes on `dir` (capture loss).
  virtual void OnGap(Direction dir, uint64_t len) { (void)dir, (void)len; }
  /// One side closed (FIN) or reset.
  virtual void OnEndOfData(Direction dir) { (void)dir; }
  /// The flow is being removed: emit whatever is pending (e.g. a DNS query
  /// without a response, an HTTP request without a reply).
  virtual void OnFlowEnd(int64_t ts_ns) = 0;
};

}  // namespace vigil::agent::analyzers
