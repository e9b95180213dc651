// AgentMetrics: presence at 0 per interface, layer, anomaly and reason;
// snapshot values land in the right series; folding of unregistered names;
// a failing snapshot source; a real Exposer scraped over HTTP and linted by
// promtool.

#include "agent/metrics/agent_metrics.h"

#include <gtest/gtest.h>

#include <stdexcept>

#include "agent/metrics/metrics_server.h"
#include "tests/collector/metrics/support/child_process.h"
#include "tests/collector/metrics/support/exposition.h"
#include "tests/collector/metrics/support/loopback_http.h"

namespace vigil::agent::metrics {
namespace {

using testing::Exposition;
using testing::Find;
using testing::FindExact;

AgentMetricsOptions Options() {
  AgentMetricsOptions o;
  o.version = "0.1.0";
  o.interfaces = {"eth0", "eth1"};
  o.anomaly_names = {"truncated_ipv4_header", "bad_tcp_checksum", "dns_bad_label"};
  o.clock = [] { return std::chrono::system_clock::time_point(std::chrono::seconds(1700000000)); };
  return o;
}

Exposition Scrape(const AgentMetrics& m) {
  auto e = testing::ParseExposition(m.ScrapeText());
  if (!e) ADD_FAILURE() << e.error();
  return e ? *e : Exposition{};
}

double Value(const Exposition& e, std::string_view name,
             const std::map<std::string, std::string>& labels) {
  const auto* s = FindExact(e, name, labels);
  if (s == nullptr) {
    ADD_FAILURE() << "no series " << name;
    return -1;
  }
  return s->value;
}

TEST(AgentMetrics, EverySeriesIsPresentAtZeroBeforeTheFirstPacket) {
  AgentMetrics m(Options(), [] { return AgentSnapshot{}; });
  const auto e = Scrape(m);
  for (const char* itf : {"eth0", "eth1"}) {
    EXPECT_EQ(Value(e, "vigil_agent_capture_packets_total", {{"interface", itf}}), 0);
    EXPECT_EQ(Value(e, "vigil_agent_capture_bytes_total", {{"interface", itf}}), 0);
    for (const char* layer : {"kernel", "interface"}) {
      EXPECT_EQ(Value(e, "vigil_agent_capture_dropped_packets_total",
                      {{"interface", itf}, {"layer", layer}}),
                0);
    }
  }
  for (const char* a : {"truncated_ipv4_header", "bad_tcp_checksum", "dns_bad_label", "other"}) {
    EXPECT_EQ(Value(e, "vigil_agent_anomalies_total", {{"anomaly", a}}), 0);
  }
  for (const char* r : {"closed", "idle_timeout", "evicted", "shutdown", "other"}) {
    EXPECT_EQ(Value(e, "vigil_agent_flow_evictions_total", {{"reason", r}}), 0);
  }
  for (const char* r : {"queue_full", "spool_overflow", "spool_corrupt", "other"}) {
    EXPECT_EQ(Value(e, "vigil_agent_records_dropped_total", {{"reason", r}}), 0);
  }
  EXPECT_EQ(Value(e, "vigil_agent_build_info", {{"version", "0.1.0"}}), 1);
  EXPECT_EQ(Value(e, "vigil_agent_start_time_seconds", {}), 1700000000);
  // No interface was folded: no interface="other" series.
  EXPECT_TRUE(Find(e, "vigil_agent_capture_packets_total", {{"interface", "other"}}).empty());
  auto parsed = testing::ParseExposition(m.ScrapeText());
  ASSERT_TRUE(parsed);
  for (const auto& [family, type] : parsed->types) {
    EXPECT_TRUE(family.starts_with("vigil_agent_")) << family;
    EXPECT_EQ(type == "counter", family.ends_with("_total")) << family;
  }
}

TEST(AgentMetrics, SnapshotValuesLandInTheirSeriesAndStrangersAreFolded) {
  AgentSnapshot s;
  s.interfaces = {{"eth0", 1000, 640000, 7, 2}, {"eth1", 10, 600, 0, 0}, {"tun9", 5, 50, 1, 0}};
  s.anomalies = {{"bad_tcp_checksum", 4}, {"invented_anomaly", 3}};
  s.flows_active = 321;
  s.flow_evictions = {{"idle_timeout", 50}, {"evicted", 2}};
  s.records_produced = 900;
  s.records_acked = 850;
  s.records_pending = 40;
  s.records_dropped = {{"queue_full", 10}};
  s.spool_bytes = 4096;
  s.spool_capacity_bytes = 1 << 20;
  s.collector_connected = true;
  s.collector_connect_failures = 3;
  s.certificate_not_after_unix = 1800000000;
  AgentMetrics m(Options(), [&] { return s; });
  const auto e = Scrape(m);
  EXPECT_EQ(Value(e, "vigil_agent_capture_packets_total", {{"interface", "eth0"}}), 1000);
  EXPECT_EQ(Value(e, "vigil_agent_capture_bytes_total", {{"interface", "eth1"}}), 600);
  EXPECT_EQ(Value(e, "vigil_agent_capture_dropped_packets_total",
                  {{"interface", "eth0"}, {"layer", "kernel"}}),
            7);
  EXPECT_EQ(Value(e, "vigil_agent_capture_dropped_packets_total",
                  {{"interface", "eth0"}, {"layer", "interface"}}),
            2);
  EXPECT_EQ(Value(e, "vigil_agent_capture_packets_total", {{"interface", "other"}}), 5);
  EXPECT_TRUE(Find(e, "vigil_agent_capture_packets_total", {{"interface", "tun9"}}).empty());
  EXPECT_EQ(Value(e, "vigil_agent_anomalies_total", {{"anomaly", "bad_tcp_checksum"}}), 4);
  EXPECT_EQ(Value(e, "vigil_agent_anomalies_total", {{"anomaly", "other"}}), 3);
  EXPECT_EQ(Value(e, "vigil_agent_flows_active", {}), 321);
  EXPECT_EQ(Value(e, "vigil_agent_flow_evictions_total", {{"reason", "evicted"}}), 2);
  EXPECT_EQ(Value(e, "vigil_agent_records_dropped_total", {{"reason", "queue_full"}}), 10);
  EXPECT_EQ(Value(e, "vigil_agent_records_pending", {}), 40);
  EXPECT_EQ(Value(e, "vigil_agent_spool_capacity_bytes", {}), 1 << 20);
  EXPECT_EQ(Value(e, "vigil_agent_collector_connected", {}), 1);
  EXPECT_EQ(Value(e, "vigil_agent_collector_connect_failures_total", {}), 3);
  EXPECT_EQ(Value(e, "vigil_agent_certificate_expiry_timestamp_seconds", {}), 1800000000);
  EXPECT_EQ(Value(e, "vigil_agent_metrics_label_folds_total", {{"label", "interface"}}), 1);
  EXPECT_EQ(Value(e, "vigil_agent_metrics_label_folds_total", {{"label", "anomaly"}}), 1);
  // Values are cumulative: a second scrape folds nothing new.
  const auto again = Scrape(m);
  EXPECT_EQ(Value(again, "vigil_agent_metrics_label_folds_total", {{"label", "anomaly"}}), 1);
}

TEST(AgentMetrics, AFailingSourceServesTheLastGoodSnapshot) {
  bool fail = false;
  AgentMetrics m(Options(), [&] {
    if (fail) throw std::runtime_error("stats unavailable");
    AgentSnapshot s;
    s.flows_active = 77;
    return s;
  });
  EXPECT_EQ(Value(Scrape(m), "vigil_agent_flows_active", {}), 77);
  fail = true;
  const auto e = Scrape(m);
  EXPECT_EQ(Value(e, "vigil_agent_flows_active", {}), 77);
  EXPECT_EQ(Value(e, "vigil_agent_metrics_source_errors_total", {}), 1);
}

TEST(AgentMetrics, InterfaceNamesFromConfigAreCleaned) {
  EXPECT_EQ(CleanLabelValue("eth0"), "eth0");
  EXPECT_EQ(CleanLabelValue("bad\xff\nname"), "bad__name");
  EXPECT_EQ(CleanLabelValue(std::string(500, 'x')).size(), 128u);
}

TEST(AgentMetricsServer, ScrapedOverHttpAndPromtoolCheckMetricsIsClean) {
  AgentSnapshot s;
  s.interfaces = {{"eth0", 10, 1000, 1, 0}};
  auto m = std::make_shared<AgentMetrics>(Options(), [s] { return s; });
  auto server = MetricsServer::Start("127.0.0.1:0", m);
  ASSERT_TRUE(server) << server.error();
  const auto r = testing::HttpGet((*server)->Port(), "/metrics");
  ASSERT_TRUE(r) << r.error();
  ASSERT_EQ(r->status, 200);
  EXPECT_NE(r->body.find("vigil_agent_capture_packets_total{interface=\"eth0\"} 10"),
            std::string::npos);
  const auto lint = testing::RunProcess({"promtool", "check", "metrics"}, r->body);
  ASSERT_TRUE(lint) << lint.error() << " (promtool is installed by scripts/bootstrap)";
  EXPECT_EQ(lint->exit_code, 0) << lint->out << lint->err;
  EXPECT_EQ(lint->out + lint->err, "");

  const std::string taken = "127.0.0.1:" + std::to_string((*server)->Port());
  const auto second = MetricsServer::Start(taken, m);
  EXPECT_FALSE(second);
}

}  // namespace
}  // namespace vigil::agent::metrics
