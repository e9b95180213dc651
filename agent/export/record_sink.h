#pragma once
// Where the agent's records go: Zeek-style JSON lines on stdout, the gRPC
// stream to the collector, or (in tests) a recording vector. Emit() is called
// from the capture thread and must never block on I/O to the network; a sink
// that cannot keep up drops and counts (see each implementation's stats).

#include "vigil/v1/records.pb.h"

namespace vigil::agent::exporter {

class RecordSink {
 public:
  virtual ~RecordSink() = default;
  /// Takes one finished record. The caller may reuse the object once Emit
  /// returns (the flow table recycles its records to avoid an allocation
  /// per record): a sink must move, copy or serialize it before returning,
  /// never keep a pointer to it.
  virtual void Emit(vigil::v1::Event&& event) = 0;
  /// Called by the capture thread when it is idle or at end of input, so
  /// time-based batching can seal a partial batch. `now_ns` is capture time.
  virtual void Tick(int64_t now_ns) { (void)now_ns; }
  /// No more records: flush what is buffered. Blocks until flushed or
  /// `timeout_ms` elapses; returns true when everything was handed over.
  virtual bool Flush(int timeout_ms) {
    (void)timeout_ms;
    return true;
  }
};

}  // namespace vigil::agent::exporter
