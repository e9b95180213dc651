#pragma once
// The seam between the ingest service and the rest of the collector. The
// collector app implements BatchHandler (rule engine + incident store); the
// tests implement it in memory. The ingest service calls it from gRPC
// threads, concurrently for different agents, so an implementation must be
// thread-safe. Calls for one agent are ordered: Submit() is called in
// strictly increasing sequence order, never twice for the same sequence
// within one collector process while an earlier Submit of it is pending.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "vigil/v1/ingest.pb.h"

namespace vigil::collector::ingest {

/// Who sent a batch: the verified certificate CN, mapped by config.
struct AgentInfo {
  std::string agent_id;  ///< certificate CN (never a name the agent claims)
  std::string agency;    ///< from config `agents:`; "unassigned" if unlisted
  std::string site;
};

/// Something that happened to an agent's session. Pointers are valid only
/// during the OnAgentEvent call.
struct AgentEvent {
  enum class Kind : uint8_t {
    kConnected,     ///< stream accepted (certificate verified, identity known)
    kHello,         ///< Hello received; `restarted` when instance_id changed
    kHeartbeat,     ///< Heartbeat received
    kLossReport,    ///< the agent reports batches it will never deliver
    kGoodbye,       ///< graceful shutdown announced
    kDisconnected,  ///< the stream ended (`reason` says how)
    kSilent,        ///< nothing heard for heartbeat_silence_after
    kReplaced,      ///< a newer stream from the same identity took over
    kRejected,      ///< stream refused: `reason` is the rejection name
  };
  Kind kind = Kind::kConnected;
  int64_t received_ns = 0;  ///< collector wall clock, ns since epoch
  const vigil::v1::Hello* hello = nullptr;
  const vigil::v1::Heartbeat* heartbeat = nullptr;
  const vigil::v1::LossReport* loss_report = nullptr;
  const vigil::v1::Goodbye* goodbye = nullptr;
  /// Agent clock minus collector clock (see docs/transport.md), when known.
  std::optional<int64_t> clock_offset_ns;
  bool restarted = false;
  std::string peer;    ///< remote address as gRPC reports it
  std::string reason;  ///< kRejected / kDisconnected / kReplaced detail
};

/// Stable snake_case name of a kind ("connected", "loss_report", ...).
const char* AgentEventKindName(AgentEvent::Kind kind);

class BatchHandler {
 public:
  virtual ~BatchHandler() = default;

  /// Highest sequence of this agent that is durable (0 if none). Sent to the
  /// agent in Welcome, and the floor of the duplicate filter. Called once per
  /// stream, after every earlier batch of this agent has completed.
  virtual uint64_t HighWaterMark(const std::string& agent_id) = 0;

  /// Takes one batch. `done(true)` once it is durable (its alerts and the
  /// new high-water mark committed together), `done(false)` if it cannot be
  /// made durable; exactly once, from any thread (also from inside Submit).
  /// Batches of one agent must become durable in submission order, and after
  /// a failure no later batch of that stream may raise the persisted
  /// high-water mark: the session ends on the first failure and the agent
  /// resends from its spool. Call `done` without holding a lock that
  /// HighWaterMark() or Submit() take: completing a batch may start the
  /// Welcome of a waiting stream, which calls HighWaterMark().
  virtual void Submit(const AgentInfo& agent, std::shared_ptr<const vigil::v1::EventBatch> batch,
                      int64_t received_ns, std::function<void(bool ok)> done) = 0;

  virtual void OnAgentEvent(const AgentInfo& agent, const AgentEvent& event) = 0;
};

}  // namespace vigil::collector::ingest
