#pragma once
// The agent's optional /metrics listener (`metrics.listen`): a prometheus-cpp
// Exposer serving AgentMetrics. Owned by the agent app; construction and
// destruction from one thread, Port() from any.

#include <expected>
#include <memory>
#include <string>

#include "prometheus/collectable.h"

namespace prometheus {
class Exposer;
}

namespace vigil::agent::metrics {

class MetricsServer {
 public:
  /// Listens on `listen` ("127.0.0.1:9101"; port 0 picks a free port) and
  /// serves GET /metrics. Fails, never throws, when it cannot bind.
  static std::expected<std::unique_ptr<MetricsServer>, std::string> Start(
      const std::string& listen, std::shared_ptr<prometheus::Collectable> collectable);

  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  int Port() const { return port_; }

 private:
  MetricsServer() = default;
  std::shared_ptr<prometheus::Collectable> collectable_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  int port_ = 0;
};

}  // namespace vigil::agent::metrics
