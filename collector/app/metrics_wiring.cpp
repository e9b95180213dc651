#include "collector/app/metrics_wiring.h"

#include <algorithm>

#include "collector/incidents/syslog_forwarder.h"

namespace vigil::collector::app {

metrics::CollectorMetricsOptions MetricsOptionsFrom(const CollectorConfig& config,
                                                    const std::string& version) {
  metrics::CollectorMetricsOptions o;
  o.version = version;
  for (const auto& a : config.agents) o.agents.push_back({a.identity, a.agency, a.site});
  o.allow_unlisted_agents = config.allow_unlisted_agents;
  o.agent_silence_after = config.heartbeat_silence_after;
  o.top_talkers.top_k = static_cast<size_t>(config.metrics.top_talkers);
  return o;
}

void WireMetricsSources(metrics::CollectorMetrics& m, ingest::IngestServer& ingest,
                        engine::Engine& engine, incidents::IncidentStore& store, Pipeline& pipeline,
                        uint64_t queue_capacity_events) {
  // Certificate expiry is read again at every scrape: the ingest server
  // reloads a changed CA/CRL file while running, and a CRL replaced by one
  // that expires sooner must show its own nextUpdate before agents are refused.
  auto certificates = [&ingest] {
    std::vector<metrics::CertificateExpiry> certs;
    const auto tls = ingest.Tls();
    if (!tls.enabled) return certs;
    certs.push_back({"server", tls.server_cert_not_after_ns / 1'000'000'000});
    if (tls.crl_next_update_ns != 0)
      certs.push_back({"crl", tls.crl_next_update_ns / 1'000'000'000});
    return certs;
  };
  m.SetAgentStatusSource([&ingest] {
    std::vector<metrics::AgentStatus> out;
    for (const auto& a : ingest.Fleet()) {
      metrics::AgentStatus s;
      s.identity = a.info.agent_id;
      s.connected = a.connected;
      s.said_goodbye = a.stopped_gracefully;
      s.last_seen_unix_ns = a.last_seen_ns;
      s.lag_seconds = static_cast<double>(a.lag_ns) / 1e9;
      s.clock_offset_seconds =
          a.clock_offset_ns ? static_cast<double>(*a.clock_offset_ns) / 1e9 : 0;
      s.spool_bytes = a.spool_bytes_used;
      s.spool_capacity_bytes = a.spool_bytes_capacity;
      // Collector-side totals: monotonic across agent restarts.
      s.capture_packets = a.capture_total.packets_received;
      s.capture_kernel_drops = a.capture_total.kernel_drops;
      s.capture_interface_drops = a.capture_total.interface_drops;
      for (const auto& [reason, n] : a.agent_records_dropped_total) {
        s.records_dropped.push_back({reason, n});
      }
      s.certificate_not_after_unix = a.cert_not_after_ns / 1'000'000'000;
      out.push_back(std::move(s));
    }
    return out;
  });
  m.SetIngestStatusSource([&m, &ingest, &pipeline, queue_capacity_events, certificates] {
    // Sources run before the scrape takes the metric tables' lock.
    m.SetCertificates(certificates());
    const auto st = ingest.Stats();
    metrics::IngestStatus s;
    s.queue_events = pipeline.stats().queue_events.load(std::memory_order_relaxed);
    s.queue_capacity_events = queue_capacity_events;
    s.dropped_events = {
        {"duplicate", st.records_duplicate},
        {"malformed", st.records_malformed + pipeline.stats().records_unusable.load()},
        {"stream_replaced", st.records_discarded}};
    for (size_t i = 0; i < ingest::kStreamRejectionCount; ++i) {
      s.handshake_rejections.push_back(
          {ingest::StreamRejectionName(static_cast<ingest::StreamRejection>(i)),
           st.streams_rejected[i]});
    }
    return s;
  });
  m.SetEngineStatusSource([&engine] {
    metrics::EngineStatus s;
    const auto stats = engine.Stats();
    if (!stats) return s;
    for (const auto& r : stats->rules) {
      const uint64_t samples = r->eval_samples.Get();
      // Evaluation time is sampled; scale the sampled mean to every evaluation.
      const double mean_ns =
          samples == 0 ? 0.0 : static_cast<double>(r->eval_ns.Get()) / static_cast<double>(samples);
      s.rule_costs.push_back(
          {r->rule_id, mean_ns * static_cast<double>(r->evaluations.Get()) / 1e9});
    }
    return s;
  });
  m.SetStoreStatusSource([&store, &pipeline] {
    const auto& st = store.stats();
    metrics::StoreStatus s;
    s.alerts_dropped = pipeline.stats().alerts_dropped.load();
    for (const auto& n : st.alerts_stored_by_level) s.alerts_stored += n.load();
    s.alerts_stored += st.shadow_alerts_stored.load();
    s.write_errors =
        st.commit_errors_busy.load() + st.commit_errors_io.load() + st.commit_errors_other.load();
    for (size_t i = 0; i < metrics::kLevelCount; ++i) {
      s.open_incidents[i] =
          static_cast<uint64_t>(std::max<int64_t>(0, st.incidents_open_by_level[i].load()));
    }
    if (const auto* f = store.forwarder_stats(); f != nullptr) {
      s.forwarded = f->forwarded.load();
      s.forward_dropped = {{"buffer_full", f->dropped_buffer_full.load()},
                           {"send_failed", f->dropped_shutdown.load()}};
      s.forward_queue_alerts = f->buffered.load();
    }
    return s;
  });
  m.SetCertificates(certificates());
}

}  // namespace vigil::collector::app
