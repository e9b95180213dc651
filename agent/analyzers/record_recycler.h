#pragma once
// RecordRecycler<Record>: how analyzers hand records (DnsRecord, HttpRecord,
// TlsRecord) to their context without allocating in steady state.
//
// A record leaves through one event per thread and record type: it is
// swapped into the event (an O(1) pointer swap) and the context's sink
// copies or serializes it before EmitRecord() returns (RecordSink
// contract). The record the analyzer held is then cleared and kept as a
// spare: a cleared protobuf message keeps its string and repeated-field
// objects, so the next transaction that takes the spare fills capacity that
// already exists instead of allocating a dozen small strings and
// sub-messages per record. A sink that moves the event away simply leaves
// an empty one behind.
//
// Thread-safety: one instance per thread (Local()); not reentrant (an
// EmitRecord() never calls back into an analyzer of the same type).

#include <cstddef>
#include <utility>
#include <vector>

#include "agent/analyzers/analyzer.h"
#include "agent/analyzers/record_time.h"
#include "vigil/v1/records.pb.h"

namespace vigil::agent::analyzers {

template <typename Record>
class RecordRecycler {
 public:
  /// Spares kept per thread and type; beyond it emitted records are freed.
  static constexpr size_t kMaxSpare = 64;

  static RecordRecycler& Local() {
    thread_local RecordRecycler r;
    return r;
  }

  /// Gives `*record` (empty) a spare record's storage, when there is one.
  void Reuse(Record* record) {
    if (spare_.empty()) return;
    record->Swap(&spare_.back());
    spare_.pop_back();
  }

  /// Emits `*record` with timestamp `ts_ns` through the per-thread event;
  /// `mutable_record(event)` selects the event's record field. Leaves
  /// `*record` empty. The context fills uid and id.
  template <typename MutableRecord>
  void Emit(AnalyzerContext& ctx, int64_t ts_ns, Record* record, MutableRecord mutable_record) {
    vigil::v1::Event& event = event_;
    event.clear_uid();  // a context that does not fill them must not see stale ones
    if (event.has_id()) event.mutable_id()->Clear();
    SetTimestamp(event.mutable_ts(), ts_ns);
    mutable_record(event)->Swap(record);
    ctx.EmitRecord(std::move(event));
    // *record holds the previously emitted record now: keep it as a spare.
    record->Clear();
    if (spare_.size() < kMaxSpare) {
      if (spare_.capacity() == 0) spare_.reserve(kMaxSpare);
      spare_.emplace_back().Swap(record);
    }
  }

 private:
  vigil::v1::Event event_;
  std::vector<Record> spare_;
};

}  // namespace vigil::agent::analyzers
