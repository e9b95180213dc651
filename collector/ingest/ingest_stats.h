#pragma once
// Counters of the ingest service: every stream accepted or refused (by
// reason), every batch received, acknowledged or dropped (by reason), and
// the time the service held agents back because the pipeline was full.
// Owned by IngestServer; incremented from gRPC threads (relaxed atomics),
// read through IngestServer::Stats() as a plain snapshot that the metrics
// layer exports. Accounting: batches_received = batches_submitted +
// batches_duplicate + batches_malformed + batches_discarded;
// batches_submitted = batches_acked +
// batches_failed + batches_inflight + batches_abandoned.

#include <array>
#include <atomic>
#include <cstdint>

#include "transport/peer_verifier.h"

namespace vigil::collector::ingest {

/// Why a stream was refused before any batch was read. The first values
/// mirror transport::PeerRejection; the rest are ingest's own.
enum class StreamRejection : uint8_t {
  kNoClientCertificate,
  kUnknownCa,
  kBadSignature,
  kExpired,
  kNotYetValid,
  kRevoked,
  kWrongPurpose,
  kCrlUnusable,
  kBadCertificate,
  kUnknownIdentity,  ///< verified, but the CN is not in `agents:`
  kProtocolError,    ///< first message was not Hello
  kShuttingDown,     ///< the collector is stopping
};
inline constexpr size_t kStreamRejectionCount = 12;
const char* StreamRejectionName(StreamRejection reason);
StreamRejection FromPeerRejection(transport::PeerRejection reason);

struct IngestStatsSnapshot {
  uint64_t streams_accepted = 0;
  uint64_t streams_replaced = 0;  ///< ended because the same identity reconnected
  uint64_t streams_ended = 0;
  uint64_t streams_active = 0;  ///< gauge
  std::array<uint64_t, kStreamRejectionCount> streams_rejected{};

  uint64_t batches_received = 0;
  uint64_t records_received = 0;
  uint64_t batches_submitted = 0;
  uint64_t records_submitted = 0;
  uint64_t batches_acked = 0;
  uint64_t records_acked = 0;
  uint64_t batches_duplicate = 0;  ///< dropped: at or below the high-water mark
  uint64_t records_duplicate = 0;
  uint64_t batches_malformed = 0;  ///< dropped: sequence 0 / unusable
  uint64_t records_malformed = 0;
  uint64_t batches_failed = 0;     ///< the handler could not make them durable
  uint64_t batches_abandoned = 0;  ///< durable after their stream had ended (not acked on it)
  /// Read after their stream began ending (replaced, failed, shutdown): not
  /// handled, not acknowledged; the agent resends them on its next stream.
  uint64_t batches_discarded = 0;
  uint64_t records_discarded = 0;
  uint64_t batches_inflight = 0;  ///< gauge: submitted, not yet durable
  uint64_t records_inflight = 0;  ///< gauge
  uint64_t sequence_gaps = 0;     ///< batches missing between consecutive sequences
  uint64_t loss_reports = 0;
  uint64_t records_lost_reported = 0;  ///< sum of LossReport.records
  /// Loss reports received again with a report_id already counted: ignored.
  uint64_t loss_reports_resent = 0;

  uint64_t backpressure_stalls = 0;  ///< times a stream stopped reading (pipeline full)
  uint64_t backpressure_stall_ns = 0;
  uint64_t agents_silent = 0;  ///< gauge
};

/// The live counters behind the snapshot (internal to the ingest module).
struct IngestCounters {
  using C = std::atomic<uint64_t>;
  C streams_accepted{0}, streams_replaced{0}, streams_ended{0}, streams_active{0};
  std::array<C, kStreamRejectionCount> streams_rejected{};
  C batches_received{0}, records_received{0};
  C batches_submitted{0}, records_submitted{0}, batches_acked{0}, records_acked{0};
  C batches_duplicate{0}, records_duplicate{0}, batches_malformed{0}, records_malformed{0};
  C batches_failed{0}, batches_abandoned{0}, batches_inflight{0}, records_inflight{0};
  C batches_discarded{0}, records_discarded{0};
  C sequence_gaps{0}, loss_reports{0}, records_lost_reported{0}, loss_reports_resent{0};
  C backpressure_stalls{0}, backpressure_stall_ns{0};

  IngestStatsSnapshot Snapshot() const;
};

}  // namespace vigil::collector::ingest
