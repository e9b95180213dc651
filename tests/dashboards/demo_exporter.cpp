// vigil-metrics-demo: serves the collector's /metrics through the real
// CollectorMetrics API, fed with a scripted, realistic deployment in which
// everything the shipped alerts watch for is happening at once. It is the
// default target of the dashboards end-to-end test (every panel must show
// data, every alert must fire) and a way to look at the dashboards without a
// running fleet:
//
//   vigil-metrics-demo --listen 127.0.0.1:9100 [--top-talker-window 2]
//
// The fleet: agent-finance-hq (healthy, busy), agent-finance-annex (silent:
// killed without goodbye), agent-district-3 (3% capture loss, spool 90% full,
// clock 42 s ahead, 7 min delivery lag, certificate expiring in 3 days,
// dropping records), agent-education (connected, captures nothing),
// agent-planning (stopped on purpose), agent-health-lab (never connected).
// The collector: a critical rule firing, a failed rule reload, malformed
// events, revoked certificates knocking, incident-log write errors, SIEM
// forwarding drops, its own certificate expiring in 5 days and its CRL in 12 hours. Runs until
// SIGTERM or SIGINT.

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <random>
#include <string>
#include <thread>

#include "collector/metrics/collector_metrics.h"
#include "collector/metrics/metrics_server.h"

namespace {

using namespace vigil::collector::metrics;
using Clock = std::chrono::system_clock;

volatile std::sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }

int64_t UnixNs(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}
int64_t UnixS(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

// What the other collector modules would report; guarded by `mu`.
struct World {
  std::mutex mu;
  std::vector<AgentStatus> fleet;
  IngestStatus ingest;
  EngineStatus engine;
  StoreStatus store;
};

constexpr int64_t kDay = 86400;

}  // namespace

int main(int argc, char** argv) {
  std::string listen;
  long window_s = 2;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--listen" && i + 1 < argc) {
      listen = argv[++i];
    } else if (a == "--top-talker-window" && i + 1 < argc) {
      window_s = std::strtol(argv[++i], nullptr, 10);
    } else {
      std::fprintf(stderr, "usage: %s --listen HOST:PORT [--top-talker-window SECONDS]\n", argv[0]);
      return 2;
    }
  }
  if (listen.empty() || window_s <= 0) {
    std::fprintf(stderr, "vigil-metrics-demo: --listen HOST:PORT is required\n");
    return 2;
  }
  std::signal(SIGTERM, OnSignal);
  std::signal(SIGINT, OnSignal);

  const auto start = Clock::now();
  CollectorMetricsOptions o;
  o.version = "demo";
  o.agents = {{"agent-finance-hq", "Department of Finance", "Headquarters"},
              {"agent-finance-annex", "Department of Finance", "Annex"},
              {"agent-district-3", "District 3 People's Committee", "District 3"},
              {"agent-education", "Department of Education", "Headquarters"},
              {"agent-planning", "Department of Planning", "Headquarters"},
              {"agent-health-lab", "Department of Health", "Central Laboratory"}};
  o.agent_silence_after = std::chrono::seconds(30);
  o.top_talkers.top_k = 20;
  o.top_talkers.window = std::chrono::seconds(window_s);
  auto metrics = std::make_shared<CollectorMetrics>(o);

  const std::vector<RuleInfo> rules = {
      {"vigil.http.webshell_upload", Level::kCritical, RuleState::kEnforce, "stable"},
      {"vigil.scan.tcp_port_sweep", Level::kHigh, RuleState::kEnforce, "stable"},
      {"vigil.dns.long_txt_answer", Level::kMedium, RuleState::kEnforce, "test"},
      {"vigil.tls.self_signed_cert", Level::kHigh, RuleState::kShadow, "experimental"},
      {"sigma.zeek.dns_susp_zbit", Level::kLow, RuleState::kEnforce, "test"},
      {"vigil.http.old_user_agent", Level::kInformational, RuleState::kDisabled, "deprecated"}};
  metrics->SetRuleset("9c1f4e0b7a52d3e8", rules);
  metrics->RecordRulesReload(true);
  metrics->SetCertificates({{"server", UnixS(start) + 5 * kDay},
                            {"ca", UnixS(start) + 3650 * kDay},
                            {"crl", UnixS(start) + 12 * 3600}});  // the weekly CRL was not reissued

  World world;
  {
    std::lock_guard lock(world.mu);
    world.fleet.resize(5);
    auto& hq = world.fleet[0];
    hq.identity = "agent-finance-hq";
    hq.connected = true;
    hq.clock_offset_seconds = 0.004;
    hq.lag_seconds = 1.2;
    hq.spool_capacity_bytes = 1ull << 30;
    hq.certificate_not_after_unix = UnixS(start) + 200 * kDay;
    auto& annex = world.fleet[1];
    annex.identity = "agent-finance-annex";
    annex.connected = false;  // killed: no goodbye
    annex.last_seen_unix_ns = UnixNs(start - std::chrono::minutes(10));
    annex.spool_capacity_bytes = 1ull << 30;
    annex.capture_packets = 5000000;
    annex.certificate_not_after_unix = UnixS(start) + 90 * kDay;
    auto& d3 = world.fleet[2];
    d3.identity = "agent-district-3";
    d3.connected = true;
    d3.clock_offset_seconds = 42.0;
    d3.lag_seconds = 420;
    d3.spool_capacity_bytes = 256ull << 20;
    d3.spool_bytes = 230ull << 20;
    d3.certificate_not_after_unix = UnixS(start) + 3 * kDay;
    auto& edu = world.fleet[3];
    edu.identity = "agent-education";
    edu.connected = true;
    edu.capture_packets = 123456;  // and it never moves again
    edu.spool_capacity_bytes = 1ull << 30;
    edu.certificate_not_after_unix = UnixS(start) + 300 * kDay;
    auto& plan = world.fleet[4];
    plan.identity = "agent-planning";
    plan.connected = false;
    plan.said_goodbye = true;
    plan.last_seen_unix_ns = UnixNs(start - std::chrono::hours(2));
    plan.spool_capacity_bytes = 1ull << 30;
    plan.certificate_not_after_unix = UnixS(start) + 120 * kDay;
    world.ingest.queue_capacity_events = 1000000;
    world.ingest.dropped_events = {{"duplicate", 0}, {"malformed", 0}, {"stream_replaced", 0}};
    world.ingest.handshake_rejections = {{"revoked", 0}, {"unknown_identity", 0}};
    world.store.forward_dropped = {{"buffer_full", 0}};
    for (const auto& r : rules) world.engine.rule_costs.push_back({r.id, 0});
  }
  metrics->SetAgentStatusSource([&] {
    std::lock_guard lock(world.mu);
    return world.fleet;
  });
  metrics->SetIngestStatusSource([&] {
    std::lock_guard lock(world.mu);
    return world.ingest;
  });
  metrics->SetEngineStatusSource([&] {
    std::lock_guard lock(world.mu);
    return world.engine;
  });
  metrics->SetStoreStatusSource([&] {
    std::lock_guard lock(world.mu);
    return world.store;
  });

  auto server = MetricsServer::Start(listen, {metrics});
  if (!server) {
    std::fprintf(stderr, "vigil-metrics-demo: %s\n", server.error().c_str());
    return 1;
  }
  std::printf("vigil-metrics-demo: serving /metrics on port %d\n", (*server)->Port());
  std::fflush(stdout);

  const AgentHandle hq = metrics->Agent("agent-finance-hq");
  const AgentHandle d3 = metrics->Agent("agent-district-3");
  std::mt19937_64 rng(42);
  std::exponential_distribution<double> eval_time(1.0 / 0.00005);
  std::exponential_distribution<double> write_time(1.0 / 0.002);
  const ServiceId services[] = {metrics->ResolveService("dns"), metrics->ResolveService("ssl"),
                                metrics->ResolveService("http"), metrics->ResolveService("smb"),
                                metrics->ResolveService("")};
  const uint8_t web_server[4] = {10, 20, 0, 80}, resolver[4] = {10, 20, 0, 53},
                scanner[4] = {203, 0, 113, 66};
  uint64_t tick = 0;
  uint64_t alerts = 0;

  while (!g_stop) {
    ++tick;
    const auto now = Clock::now();
    // Traffic: steady service mix plus a scan of random addresses (the
    // top-talker summary must fold it, not grow with it).
    for (int i = 0; i < 40; ++i) {
      const uint8_t client[4] = {10, 20, static_cast<uint8_t>(1 + rng() % 4),
                                 static_cast<uint8_t>(1 + rng() % 200)};
      FlowSample f;
      const int kind = static_cast<int>(rng() % 5);
      f.protocol = kind == 0 ? Protocol::kUdp : Protocol::kTcp;
      f.service = services[kind];
      f.bytes = 200 + rng() % 40000;
      f.packets = 2 + rng() % 60;
      f.flow_ended = true;
      f.orig_address = client;
      f.resp_address = kind == 0 ? resolver : web_server;
      metrics->OnFlow(i % 3 == 0 ? d3 : hq, f);
    }
    for (int i = 0; i < 600; ++i) {
      const uint32_t r = static_cast<uint32_t>(rng());
      uint8_t target[4];
      std::memcpy(target, &r, 4);
      FlowSample f;
      f.protocol = Protocol::kTcp;
      f.service = services[4];
      f.bytes = 44;
      f.packets = 1;
      f.flow_ended = true;
      f.orig_address = scanner;
      f.resp_address = target;
      metrics->OnFlow(hq, f);
    }
    metrics->OnEvents(hq, LogType::kConn, 640);
    metrics->OnEvents(hq, LogType::kDns, 25);
    metrics->OnEvents(hq, LogType::kSsl, 12);
    metrics->OnEvents(hq, LogType::kHttp, 6);
    metrics->OnEvents(d3, LogType::kConn, 14);
    metrics->OnEvents(d3, LogType::kDns, 9);
    for (int i = 0; i < 50; ++i) metrics->ObserveRuleEvaluation(eval_time(rng));

    // Detections.
    auto alert = [&](const char* rule, const char* agency, AlertOutcome outcome,
                     uint64_t count = 1) {
      metrics->OnAlert(rule, agency, outcome, count);
      if (outcome == AlertOutcome::kRaised) {
        alerts += count;
        metrics->ObserveStoreWrite(write_time(rng));
      }
    };
    if (tick % 10 == 0) {
      alert("vigil.http.webshell_upload", "Department of Finance", AlertOutcome::kRaised);
    }
    if (tick % 5 == 0) {
      alert("vigil.scan.tcp_port_sweep", "Department of Finance", AlertOutcome::kRaised);
    }
    alert("vigil.dns.long_txt_answer", "District 3 People's Committee", AlertOutcome::kRaised);
    if (tick % 3 == 0) {
      alert("sigma.zeek.dns_susp_zbit", "Department of Finance", AlertOutcome::kRaised);
    }
    alert("vigil.tls.self_signed_cert", "Department of Finance", AlertOutcome::kShadow, 2);
    if (tick % 20 == 0) {
      alert("vigil.dns.long_txt_answer", "District 3 People's Committee", AlertOutcome::kSuppressed,
            25);
    }
    if (tick == 30) metrics->RecordRulesReload(false);  // a bad rule file: old rules stay

    {
      std::lock_guard lock(world.mu);
      const int64_t now_ns = UnixNs(now);
      auto& hq_s = world.fleet[0];
      hq_s.last_seen_unix_ns = now_ns;
      hq_s.capture_packets += 25000;
      hq_s.spool_bytes = (rng() % 64) << 20;
      auto& d3_s = world.fleet[2];
      d3_s.last_seen_unix_ns = now_ns;
      d3_s.capture_packets += 970;
      d3_s.capture_kernel_drops += 25;
      d3_s.capture_interface_drops += 5;
      if (tick % 10 == 0) {
        d3_s.records_dropped = {{"queue_full", tick / 10 * 40}};
      }
      auto& edu_s = world.fleet[3];
      edu_s.last_seen_unix_ns = now_ns;  // heartbeats, but no packets

      world.ingest.queue_events = rng() % 5000;
      world.ingest.dropped_events[0].value += rng() % 3;  // duplicate redeliveries
      if (tick % 15 == 0) world.ingest.dropped_events[1].value += 2;
      if (tick % 20 == 0) world.ingest.handshake_rejections[0].value += 1;
      if (tick % 50 == 0) world.ingest.handshake_rejections[1].value += 1;
      for (auto& c : world.engine.rule_costs) c.seconds += 0.0005 * (1 + (rng() % 8));
      world.store.alerts_stored = alerts;
      world.store.open_incidents = {0, 3, 7, 2, 1};
      world.store.forwarded = alerts;
      if (tick % 25 == 0) world.store.write_errors += 1;
      if (tick % 40 == 0) world.store.alerts_dropped += 1;
      if (tick % 30 == 0) world.store.forward_dropped[0].value += 10;
      world.store.forward_queue_alerts = rng() % 100;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return 0;
}
