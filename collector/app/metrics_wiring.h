#pragma once
// Adapters between the collector's modules and its /metrics: the metrics
// module defines its own input structs (it depends on no other module), and
// these functions fill them from ingest, engine, incident store and
// pipeline stats at scrape time. Called once at startup.

#include <string>

#include "collector/app/collector_config.h"
#include "collector/app/pipeline.h"
#include "collector/engine/engine.h"
#include "collector/incidents/incident_store.h"
#include "collector/ingest/ingest_server.h"
#include "collector/metrics/collector_metrics.h"

namespace vigil::collector::app {

metrics::CollectorMetricsOptions MetricsOptionsFrom(const CollectorConfig& config,
                                                    const std::string& version);

/// Registers the snapshot sources. Every referenced object must outlive the
/// metrics server (the app stops the server before destroying them).
void WireMetricsSources(metrics::CollectorMetrics& metrics, ingest::IngestServer& ingest,
                        engine::Engine& engine, incidents::IncidentStore& store, Pipeline& pipeline,
                        uint64_t queue_capacity_events);

}  // namespace vigil::collector::app
