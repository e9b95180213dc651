#include "collector/ingest/ingest_stats.h"

namespace vigil::collector::ingest {

const char* StreamRejectionName(StreamRejection reason) {
  switch (reason) {
    case StreamRejection::kNoClientCertificate:
    case StreamRejection::kUnknownCa:
    case StreamRejection::kBadSignature:
    case StreamRejection::kExpired:
    case StreamRejection::kNotYetValid:
    case StreamRejection::kRevoked:
    case StreamRejection::kWrongPurpose:
    case StreamRejection::kCrlUnusable:
    case StreamRejection::kBadCertificate:
      return transport::PeerRejectionName(static_cast<transport::PeerRejection>(reason));
    case StreamRejection::kUnknownIdentity:
      return "unknown_identity";
    case StreamRejection::kProtocolError:
      return "protocol_error";
    case StreamRejection::kShuttingDown:
      return "shutting_down";
  }
  return "protocol_error";
}

StreamRejection FromPeerRejection(transport::PeerRejection reason) {
  // The enums share their first values on purpose (static_asserts below).
  return static_cast<StreamRejection>(reason);
}
static_assert(static_cast<int>(StreamRejection::kBadCertificate) ==
              static_cast<int>(transport::PeerRejection::kBadCertificate));
static_assert(static_cast<int>(StreamRejection::kNoClientCertificate) ==
              static_cast<int>(transport::PeerRejection::kNoClientCertificate));
static_assert(transport::kPeerRejectionCount == 9);

IngestStatsSnapshot IngestCounters::Snapshot() const {
  auto r = [](const C& c) { return c.load(std::memory_order_relaxed); };
  IngestStatsSnapshot s;
  s.streams_accepted = r(streams_accepted);
  s.streams_replaced = r(streams_replaced);
  s.streams_ended = r(streams_ended);
  s.streams_active = r(streams_active);
  for (size_t i = 0; i < kStreamRejectionCount; ++i) s.streams_rejected[i] = r(streams_rejected[i]);
  s.batches_received = r(batches_received);
  s.records_received = r(records_received);
  s.batches_submitted = r(batches_submitted);
  s.records_submitted = r(records_submitted);
  s.batches_acked = r(batches_acked);
  s.records_acked = r(records_acked);
  s.batches_duplicate = r(batches_duplicate);
  s.records_duplicate = r(records_duplicate);
  s.batches_malformed = r(batches_malformed);
  s.records_malformed = r(records_malformed);
  s.batches_failed = r(batches_failed);
  s.batches_abandoned = r(batches_abandoned);
  s.batches_discarded = r(batches_discarded);
  s.records_discarded = r(records_discarded);
  s.batches_inflight = r(batches_inflight);
  s.records_inflight = r(records_inflight);
  s.sequence_gaps = r(sequence_gaps);
  s.loss_reports = r(loss_reports);
  s.records_lost_reported = r(records_lost_reported);
  s.loss_reports_resent = r(loss_reports_resent);
  s.backpressure_stalls = r(backpressure_stalls);
  s.backpressure_stall_ns = r(backpressure_stall_ns);
  return s;
}

}  // namespace vigil::collector::ingest
