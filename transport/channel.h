#pragma once
// Channel and server settings shared by both ends of the Ingest stream:
// keepalive (so a NAT or load balancer that silently drops an idle stream is
// noticed within seconds, not hours), message-size limits, and a fresh
// subchannel per channel so every reconnect attempt re-resolves the address.
// Free functions, reentrant.

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

namespace grpc {
class Channel;
class ChannelCredentials;
class ServerBuilder;
}  // namespace grpc

namespace vigil::transport {

/// Largest message either end accepts. A batch is sealed well below this
/// (CollectorSinkOptions::batch_max_bytes).
inline constexpr size_t kMaxMessageBytes = 64u << 20;

struct ChannelSettings {
  /// Expected name in the collector's certificate; "" = the host of the
  /// address (gRPC's default check).
  std::string server_name;
  std::chrono::milliseconds keepalive_time{20000};
  std::chrono::milliseconds keepalive_timeout{10000};
  /// Applies to the TCP+TLS connect of this channel; our own reconnect loop
  /// does the backoff, so gRPC's is kept short.
  std::chrono::milliseconds connect_timeout{10000};
  std::string user_agent = "vigil-agent";
};

/// A new channel to `address` ("host:port", "dns:///host:port",
/// "ipv4:1.2.3.4:5"). Each call creates its own subchannel pool, so the name
/// is resolved again and no connection of a previous attempt is reused.
std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address,
                                           std::shared_ptr<grpc::ChannelCredentials> creds,
                                           const ChannelSettings& settings);

struct ServerSettings {
  /// The server pings an idle connection this often to detect dead agents.
  std::chrono::milliseconds keepalive_time{60000};
  std::chrono::milliseconds keepalive_timeout{20000};
  /// Clients may ping this often without data (must be <= agent keepalive).
  std::chrono::milliseconds min_client_ping_interval{10000};
};

void ApplyServerSettings(grpc::ServerBuilder& builder, const ServerSettings& settings);

}  // namespace vigil::transport
