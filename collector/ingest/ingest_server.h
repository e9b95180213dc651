#pragma once
// The collector's gRPC Ingest service: accepts one bidirectional stream per
// agent over mutual TLS, verifies the client certificate itself (named
// rejection reasons), maps the certificate CN to an agency, hands each batch
// to a BatchHandler and acknowledges it (cumulatively, in sequence order)
// once the handler reports it durable. Duplicates (at or below the agent's
// high-water mark) are dropped, counted and acknowledged again. When the
// pipeline is full the streams stop reading, and HTTP/2 flow control pushes
// back to the agents, which spool; nothing acknowledged is ever dropped.
//
// Built on gRPC's callback API: no thread per agent (a province has hundreds
// of them), parsing happens on gRPC's threads, flow control is "do not issue
// the next read", and acknowledgements are written from the handler's
// completion without a writer thread.
//
// Owned by the collector app. Thread-safe: Stats(), Fleet(), Tls(),
// UpdateAgents() may be called from any thread while it runs.

#include <chrono>
#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "collector/ingest/agent_registry.h"
#include "collector/ingest/batch_handler.h"
#include "collector/ingest/ingest_stats.h"
#include "transport/channel.h"
#include "transport/log_sink.h"
#include "transport/tls_files.h"

namespace vigil::collector::ingest {

/// `agents:` entry of the collector config.
struct AgentAssignment {
  std::string identity;  ///< certificate CN
  std::string agency;
  std::string site;
};

struct IngestOptions {
  std::string listen = "0.0.0.0:7443";  ///< host:port; port 0 = any (see port())
  transport::TlsFiles tls;              ///< ca, cert, key, crl (crl optional)
  /// Lab only: no TLS, identity taken from Hello.hostname (unverified).
  bool insecure_plaintext = false;
  std::vector<AgentAssignment> agents;
  bool allow_unlisted_agents = false;  ///< accept any CN our CA signed (agency "unassigned")
  std::chrono::milliseconds heartbeat_silence_after{30000};
  /// Bound of the ingest queue: records submitted to the handler and not yet
  /// durable, over all agents. Above it every stream stops reading.
  uint64_t max_inflight_records = 1000000;
  /// Per stream: batches submitted and not yet durable. Keeps one fast agent
  /// from taking the whole queue.
  uint32_t max_inflight_batches_per_stream = 64;
  transport::ServerSettings server;
  transport::LogSink log;  ///< default: stderr
  /// Tests only: called on the gRPC thread when a batch message was read,
  /// before the stream handles it (lets a test interleave a replacement).
  std::function<void(const std::string& agent_id, uint64_t sequence)> test_before_batch;
};

/// Certificate validity the metrics layer exports (seconds until expiry).
struct TlsStatus {
  bool enabled = false;
  std::string server_common_name;
  int64_t server_cert_not_after_ns = 0;
  int64_t ca_cert_not_after_ns = 0;  ///< earliest notAfter in tls.ca
  int64_t crl_next_update_ns = 0;    ///< 0 = no CRL configured
};

class IngestServer {
 public:
  /// Loads TLS material (all errors at once, each naming its file), binds
  /// and starts serving. `handler` must outlive the server.
  static std::expected<std::unique_ptr<IngestServer>, std::string> Start(IngestOptions options,
                                                                         BatchHandler& handler);
  ~IngestServer();

  /// The bound port (useful with port 0).
  int port() const;
  /// Stops accepting, ends every stream (agents reconnect later and resend
  /// what was not acknowledged). Idempotent.
  void Shutdown(std::chrono::milliseconds grace = std::chrono::milliseconds(2000));

  IngestStatsSnapshot Stats() const;
  std::vector<AgentStatus> Fleet() const;
  TlsStatus Tls() const;
  /// Replaces the identity -> agency map (config reload). Streams already
  /// accepted keep running; the next stream of a removed identity is refused.
  void UpdateAgents(std::vector<AgentAssignment> agents, bool allow_unlisted);

  struct Impl;

 private:
  explicit IngestServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace vigil::collector::ingest
