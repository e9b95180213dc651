// The collector's /metrics as Prometheus sees it: a real prometheus-cpp
// Exposer on 127.0.0.1:0, scraped over HTTP, linted by `promtool check
// metrics` (must be clean: exit 0, no complaint).

#include "tests/collector/metrics/support/exposition.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "collector/metrics/certificate_expiry.h"
#include "collector/metrics/collector_metrics.h"
#include "collector/metrics/metrics_server.h"
#include "tests/collector/metrics/support/child_process.h"
#include "tests/collector/metrics/support/loopback_http.h"

namespace vigil::collector::metrics {
namespace {

std::shared_ptr<CollectorMetrics> Populated() {
  CollectorMetricsOptions o;
  o.version = "0.1.0";
  o.agents = {{"agent-fin-1", "Department of Finance", "HQ"},
              {"agent-d3", "District 3 People's Committee", "District 3"}};
  o.allow_unlisted_agents = true;
  auto m = std::make_shared<CollectorMetrics>(o);
  m->SetRuleset("5f2c", {{"dns.long_txt", Level::kMedium, RuleState::kEnforce, "stable"},
                         {"tls.self_signed", Level::kHigh, RuleState::kShadow, "test"}});
  m->RecordRulesReload(true);
  m->SetCertificates({{"server", 1900000000}, {"ca", 2100000000}});
  const AgentHandle a = m->Agent("agent-fin-1");
  m->OnEvents(a, LogType::kDns, 10);
  m->OnAlert("dns.long_txt", "Department of Finance", AlertOutcome::kRaised);
  m->OnAlert("unknown.rule", "Department of Finance", AlertOutcome::kRaised);  // fold series
  m->ObserveRuleEvaluation(0.00002);
  m->ObserveStoreWrite(0.004);
  const uint8_t x[4] = {10, 0, 0, 1}, y[4] = {10, 0, 0, 2};
  FlowSample f;
  f.protocol = Protocol::kUdp;
  f.service = m->ResolveService("dns");
  f.bytes = 120;
  f.packets = 2;
  f.flow_ended = true;
  f.orig_address = x;
  f.resp_address = y;
  m->OnFlow(a, f);
  m->SetAgentStatusSource([] {
    AgentStatus s;
    s.identity = "agent-fin-1";
    s.connected = true;
    s.last_seen_unix_ns = 1;
    return std::vector<AgentStatus>{s};
  });
  m->SetEngineStatusSource([] { return EngineStatus{{{"dns.long_txt", 0.25}}}; });
  m->SetStoreStatusSource([] {
    StoreStatus s;
    s.alerts_stored = 1;
    s.open_incidents[4] = 1;
    return s;
  });
  m->SetIngestStatusSource([] { return IngestStatus{5, 1000, {{"duplicate", 3}}, {}}; });
  return m;
}

TEST(CollectorExposition, ScrapedOverHttpAndPromtoolCheckMetricsIsClean) {
  auto metrics = Populated();
  auto server = MetricsServer::Start("127.0.0.1:0", {metrics});
  ASSERT_TRUE(server) << server.error();
  ASSERT_GT((*server)->Port(), 0);
  const auto response = testing::HttpGet((*server)->Port(), "/metrics");
  ASSERT_TRUE(response) << response.error();
  ASSERT_EQ(response->status, 200);
  ASSERT_NE(response->body.find("vigil_alerts_total{"), std::string::npos);

  const auto lint = testing::RunProcess({"promtool", "check", "metrics"}, response->body);
  ASSERT_TRUE(lint) << lint.error() << " (promtool is installed by scripts/bootstrap)";
  EXPECT_EQ(lint->exit_code, 0) << lint->out << lint->err;
  EXPECT_EQ(lint->out + lint->err, "") << "promtool complained";

  auto parsed = testing::ParseExposition(response->body);
  ASSERT_TRUE(parsed) << parsed.error();
}

TEST(CollectorExposition, AnAddressInUseIsAnErrorNotAnException) {
  auto metrics = Populated();
  auto first = MetricsServer::Start("127.0.0.1:0", {metrics});
  ASSERT_TRUE(first) << first.error();
  const std::string taken = "127.0.0.1:" + std::to_string((*first)->Port());
  auto second = MetricsServer::Start(taken, {metrics});
  ASSERT_FALSE(second);
  EXPECT_NE(second.error().find(taken), std::string::npos) << second.error();
  EXPECT_FALSE(MetricsServer::Start("", {metrics}));
}

TEST(CertificateExpiry, ReadsNotAfterOfAGeneratedCertificate) {
  testing::TempDir dir;
  const std::string key = dir.Path() + "/k.pem", cert = dir.Path() + "/c.pem";
  const auto made = testing::RunProcess({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                                         "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
                                         "-out", cert, "-days", "10", "-subj", "/CN=vigil-test"});
  ASSERT_TRUE(made && made->exit_code == 0) << (made ? made->err : made.error());
  const auto not_after = CertificateNotAfter(cert);
  ASSERT_TRUE(not_after) << not_after.error();
  const int64_t now = std::time(nullptr);
  EXPECT_NEAR(static_cast<double>(*not_after - now), 10 * 86400.0, 120.0);

  EXPECT_FALSE(CertificateNotAfter(dir.Path() + "/missing.pem"));
  EXPECT_FALSE(CertificateNotAfterFromPem("-----BEGIN CERTIFICATE-----\nAAAA\n"));
}

}  // namespace
}  // namespace vigil::collector::metrics
