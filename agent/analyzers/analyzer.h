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
  kGiveUp,      ///< not my protocol, or hopelessly malformed: stop feeding me
};

/// The flow an analyzer is attached to, and where its output goes.
class AnalyzerContext {
 public:
  virtual ~AnalyzerContext() = default;
  /// A finished record. The context fills uid, ts and id from the flow.
  virtual void EmitRecord(vigil::v1::Event&& event) = 0;
  /// A named anomaly (snake_case, stable: it becomes a metric label).
  virtual void Anomaly(std::string_view name) = 0;
};

class Analyzer {
 public:
  virtual ~Analyzer() = default;
  /// Protocol name as it appears in conn.log `service` ("dns", "ssl", "http").
  virtual std::string_view Service() const = 0;
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
