#pragma once
// The collector's /metrics listener: a prometheus-cpp Exposer (civetweb) on
// `metrics.listen`, serving the collectables it is given. Owned by the
// collector app for the life of the process; construction and destruction
// from one thread, Port() from any.

#include <expected>
#include <memory>
#include <string>
#include <vector>

#include "prometheus/collectable.h"

namespace prometheus {
class Exposer;
}

namespace vigil::collector::metrics {

class MetricsServer {
 public:
  /// Listens on `listen` ("127.0.0.1:9100", "[::1]:9100"; port 0 picks a
  /// free one) and serves GET /metrics. Keeps the collectables alive. Fails
  /// (never throws) when the address cannot be bound.
  static std::expected<std::unique_ptr<MetricsServer>, std::string> Start(
      const std::string& listen,
      std::vector<std::shared_ptr<prometheus::Collectable>> collectables);

  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  /// The bound port (the real one when `listen` asked for port 0).
  int Port() const { return port_; }

 private:
  MetricsServer() = default;
  std::vector<std::shared_ptr<prometheus::Collectable>> collectables_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  int port_ = 0;
};

}  // namespace vigil::collector::metrics
