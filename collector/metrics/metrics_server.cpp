#include "collector/metrics/metrics_server.h"

#include <exception>

#include "prometheus/exposer.h"

namespace vigil::collector::metrics {

std::expected<std::unique_ptr<MetricsServer>, std::string> MetricsServer::Start(
    const std::string& listen, std::vector<std::shared_ptr<prometheus::Collectable>> collectables) {
  if (listen.empty()) return std::unexpected("metrics: empty listen address");
  std::unique_ptr<MetricsServer> server(new MetricsServer());
  server->collectables_ = std::move(collectables);
  try {
    // Two worker threads: Prometheus scrapes one at a time; the second
    // keeps a slow client from blocking the next scrape.
    server->exposer_ = std::make_unique<prometheus::Exposer>(listen, 2);
    for (const auto& c : server->collectables_) server->exposer_->RegisterCollectable(c);
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

}  // namespace vigil::collector::metrics
