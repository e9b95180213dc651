#pragma once
// SyslogForwarder: live forwarding of alerts to a SIEM as RFC 5424 messages
// over TLS with RFC 5425 octet-counting framing, using OpenSSL directly. The
// receiver's certificate is verified against a CA file and the configured
// server name; a client certificate is optional.
//
// Owned by the IncidentStore (or a test). Submit() is called from the
// pipeline thread and never blocks on the network: messages go to a bounded
// in-memory buffer that one sender thread drains, reconnecting with
// exponential backoff while the receiver is unreachable. When the buffer is
// full the oldest message is dropped and counted (the alert itself stays in
// the incident log and can be exported). Accounting closes:
//   submitted = forwarded + buffered + dropped_buffer_full + dropped_shutdown.
// Syslog over TLS has no application acknowledgement: a message written to a
// connection that the receiver then drops may be lost; the sender mitigates
// this by checking the connection for EOF before each write.
// Thread-safe.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <expected>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "collector/incidents/store_config.h"
#include "collector/incidents/store_error.h"

namespace vigil::collector::incidents {

struct ForwarderStats {
  std::atomic<uint64_t> submitted{0};
  std::atomic<uint64_t> forwarded{0};
  std::atomic<uint64_t> buffered{0};  ///< gauge: messages waiting
  std::atomic<uint64_t> dropped_buffer_full{0};
  std::atomic<uint64_t> dropped_shutdown{0};
  std::atomic<uint64_t> connect_failures{0};  ///< TCP connect failed or timed out
  std::atomic<uint64_t> tls_failures{0};      ///< handshake or certificate verification failed
  std::atomic<uint64_t> write_failures{0};    ///< connection lost while sending (message re-queued)
  std::atomic<uint64_t> connections{0};       ///< successful TLS sessions
  std::atomic<bool> connected{false};
};

class SyslogForwarder {
 public:
  /// Validates the TLS material (CA, optional client cert/key) and starts the
  /// sender thread. Does not wait for a connection.
  static std::expected<std::unique_ptr<SyslogForwarder>, StoreError> Start(
      const ForwardingConfig& config);
  ~SyslogForwarder();
  SyslogForwarder(const SyslogForwarder&) = delete;
  SyslogForwarder& operator=(const SyslogForwarder&) = delete;

  /// Queues one RFC 5424 message (without framing). Never blocks on I/O.
  void Submit(std::string message);
  /// Tries to deliver what is buffered for up to `drain`, then stops the
  /// sender; what is left is counted as dropped_shutdown. Idempotent.
  void Stop(std::chrono::milliseconds drain);
  const ForwarderStats& stats() const { return stats_; }

 private:
  struct Tls;
  explicit SyslogForwarder(const ForwardingConfig& config);
  void Run();

  ForwardingConfig config_;
  ForwarderStats stats_;
  std::unique_ptr<Tls> tls_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> buffer_;
  bool stopping_ = false;
  std::chrono::steady_clock::time_point drain_deadline_{};
  std::thread thread_;
};

}  // namespace vigil::collector::incidents
