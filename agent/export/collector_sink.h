#pragma once
// Streams records to the collector over gRPC with mutual TLS, reliably:
// records are batched (size or delay), each sealed batch gets the next
// per-agent sequence number and is written to the on-disk spool, a sender
// thread streams batches to the collector and deletes them from the spool
// when the collector acknowledges them. The capture thread only ever appends
// to a bounded in-memory queue (Emit never blocks on the network or the disk;
// a full queue is a counted drop). Thread-safe: Emit/Tick from the capture
// thread, Stats() from any thread.

#include <chrono>
#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "agent/export/record_sink.h"
#include "transport/log_sink.h"
#include "vigil/v1/ingest.pb.h"

namespace vigil::agent::exporter {

enum class SpoolOverflow : uint8_t { kDropOldest, kDropNewest };

struct CollectorSinkOptions {
  std::vector<std::string> addresses;  ///< host:port, tried in order, re-resolved each attempt
  std::string server_name;             ///< expected certificate name ("" = host of address)
  std::string ca_file, cert_file, key_file;
  bool insecure_plaintext = false;
  uint32_t batch_max_events = 1000;
  std::chrono::milliseconds batch_max_delay{1000};
  std::chrono::milliseconds heartbeat_interval{10000};
  std::chrono::milliseconds reconnect_initial_backoff{500};
  std::chrono::milliseconds reconnect_max_backoff{30000};
  uint64_t queue_max_records = 200000;
  std::string spool_directory;  ///< required: where batches wait for their ack
  uint64_t spool_max_bytes = 1ull << 30;
  SpoolOverflow spool_overflow = SpoolOverflow::kDropOldest;
  std::string agent_version;
  std::vector<vigil::v1::CaptureInterface> interfaces;  ///< for Hello

  // Additive (transport); defaults are what a deployment wants.
  uint64_t batch_max_bytes = 4u << 20;  ///< seal early when a batch reaches this size
  uint32_t max_inflight_batches = 32;   ///< sent and not yet acknowledged
  uint64_t max_inflight_bytes = 32u << 20;
  /// Batches in flight and no acknowledgement for this long: the collector
  /// is stalled; drop the stream and reconnect (they stay spooled).
  std::chrono::milliseconds ack_timeout{120000};
  /// Connect + TLS + Welcome must complete within this.
  std::chrono::milliseconds connect_timeout{10000};
  std::chrono::milliseconds keepalive_time{20000};
  /// fdatasync of the spool at most this often (0 = after every batch).
  std::chrono::milliseconds spool_fsync_interval{1000};
  std::string hostname;           ///< "" = gethostname(); informational only
  vigil::transport::LogSink log;  ///< default: stderr
};

/// Cumulative counters of this process; the accounting identity the tests
/// check, exact in every snapshot:
///   records_emitted + records_recovered ==
///     records_acked + records_pending + sum(records_dropped_*)
struct CollectorSinkStats {
  uint64_t records_emitted = 0;
  uint64_t records_acked = 0;
  uint64_t records_pending = 0;  ///< in queue, in an open batch, or spooled unacked
  uint64_t records_dropped_queue_full = 0;
  uint64_t records_dropped_spool_overflow = 0;
  uint64_t records_dropped_spool_corrupt = 0;
  uint64_t batches_sealed = 0;
  uint64_t batches_acked = 0;
  uint64_t spool_bytes = 0;
  uint64_t spool_capacity_bytes = 0;
  uint64_t spool_batches = 0;
  uint64_t connects = 0;
  uint64_t connect_failures = 0;
  bool connected = false;
  uint64_t last_acked_sequence = 0;

  // Additive (transport).
  uint64_t records_recovered = 0;                  ///< found in the spool at start (earlier runs)
  uint64_t records_dropped_spool_write_error = 0;  ///< disk write failed (disk full?)
  uint64_t records_dropped_shutdown = 0;           ///< Emit() after Shutdown()
  uint64_t records_queued = 0;                     ///< part of pending: not yet sealed
  uint64_t spool_corrupt_regions = 0;              ///< damaged stretches of unknown content
  uint64_t batches_dropped_spool_overflow = 0;
  uint64_t batches_dropped_spool_corrupt = 0;
  uint64_t batches_inflight = 0;
  uint64_t loss_reports_sent = 0;
  uint64_t loss_reports_pending = 0;  ///< not yet confirmed by the collector (persisted)
  uint64_t auth_rejections = 0;       ///< the collector refused our certificate/identity
  uint64_t ack_timeouts = 0;          ///< streams dropped because acks stopped
  uint64_t last_sequence = 0;         ///< highest sequence sealed
  int64_t cert_not_after_ns = 0;      ///< our client certificate (0 in plaintext mode)
  /// Spooled batches given new sequence numbers because the collector held
  /// higher ones than our sequence state (state directory restored or wiped).
  uint64_t batches_renumbered = 0;
  uint64_t spool_syncs = 0;           ///< fdatasyncs of the spool
  uint64_t last_synced_sequence = 0;  ///< every batch sealed up to here has been synced
};

class CollectorSink : public RecordSink {
 public:
  /// Capture-side counters for heartbeats, polled by the sender thread.
  using HeartbeatSource = std::function<void(vigil::v1::Heartbeat&)>;

  /// Opens (or recovers) the spool and starts the sender thread.
  static std::expected<std::unique_ptr<CollectorSink>, std::string> Create(
      const CollectorSinkOptions& options, HeartbeatSource heartbeat_source);

  ~CollectorSink() override = default;
  virtual CollectorSinkStats Stats() const = 0;
  /// Graceful stop: seal the open batch, try to deliver until `timeout`,
  /// send Goodbye, keep whatever is unacknowledged in the spool.
  virtual void Shutdown(std::chrono::milliseconds timeout) = 0;
  /// Additive: blocks until every record emitted so far is sealed into the
  /// spool (or counted dropped), or `timeout`. True when it is.
  virtual bool WaitSpooled(std::chrono::milliseconds timeout) = 0;
};

}  // namespace vigil::agent::exporter
