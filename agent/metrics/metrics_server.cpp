#include "agent/metrics/metrics_server.h"

#include <exception>

#include "prometheus/exposer.h"

namespace vigil::agent::metrics {

std::expected<std::unique_ptr<MetricsServer>, std::string> MetricsServer::Start(
    const std::string& listen, std::shared_ptr<prometheus::Collectable> collectable) {
  if (listen.empty()) return std::unexpected("metrics: empty listen address");
  std::unique_ptr<MetricsServer> server(new MetricsServer());
  server->collectable_ = std::move(collectable);
  try {
    // One worker: the agent is scraped by one Prometheus and must stay small.
    server->exposer_ = std::make_unique<prometheus::Exposer>(listen, 1);
    server->exposer_->RegisterCollectable(server->collectable_);
    const auto ports = server->exposer_->GetListeningPorts();
    if (ports.empty()) return std::unexpected("metrics: no listening port on " + listen);
    server->port_ = ports.front();
  } catch (const std::exception& e) {
    // civetweb throws CivetException (a std::runtime_error) when it cannot bind.
    return std::unexpected("metrics: cannot listen on " + listen + ": " + e.what());
  }
  return server;
}

MetricsServer::~MetricsServer() = default;

}  // namespace vigil::agent::metrics
