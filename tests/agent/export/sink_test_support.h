// What the two CollectorSink test files share: a small flow event and the
// accounting identity every sink test checks.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "agent/export/collector_sink.h"
#include "vigil/v1/records.pb.h"

namespace vigil::agent::exporter::sink_test {

// Event i: a flow record whose orig_bytes is i (tests check order by it).
inline v1::Event MakeEvent(uint64_t i) {
  v1::Event e;
  e.set_uid("r" + std::to_string(i));
  e.mutable_ts()->set_seconds(1700000000 + static_cast<int64_t>(i / 1000));
  auto* f = e.mutable_flow();
  f->mutable_totals()->set_orig_bytes(i);
  f->set_history("ShADadFf");
  return e;
}

inline uint64_t Dropped(const CollectorSinkStats& s) {
  return s.records_dropped_queue_full + s.records_dropped_spool_overflow +
         s.records_dropped_spool_corrupt + s.records_dropped_spool_write_error +
         s.records_dropped_shutdown;
}

// Records produced = acknowledged + still spooled + counted drops.
inline void ExpectIdentity(const CollectorSinkStats& s) {
  EXPECT_EQ(s.records_emitted + s.records_recovered,
            s.records_acked + s.records_pending + Dropped(s))
      << "emitted=" << s.records_emitted << " recovered=" << s.records_recovered
      << " acked=" << s.records_acked << " pending=" << s.records_pending
      << " dropped=" << Dropped(s);
}

}  // namespace vigil::agent::exporter::sink_test
