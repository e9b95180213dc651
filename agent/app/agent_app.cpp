#include "agent/app/agent_app.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "agent/analyzers/anomaly_names.h"
#include "agent/analyzers/registry.h"
#include "agent/app/cli.h"
#include "agent/app/log.h"
#include "agent/app/pipeline.h"
#include "agent/capture/pcap_sources.h"
#include "agent/decode/anomaly.h"
#include "agent/export/collector_sink.h"
#include "agent/export/zeek_json.h"
#include "agent/metrics/agent_metrics.h"
#include "agent/metrics/metrics_server.h"

#ifndef VIGIL_VERSION
#define VIGIL_VERSION "0.0.0"
#endif

namespace vigil::agent::app {
namespace {

constexpr std::chrono::milliseconds kCollectorShutdownTimeout{5000};

// The write end of the signal pipe, for the signal handler.
std::atomic<int> g_signal_fd{-1};

// Serialises Emit/Tick when several capture threads share one sink.
class SharedSink final : public exporter::RecordSink {
 public:
  explicit SharedSink(exporter::RecordSink& inner) : inner_(inner) {}
  void Emit(vigil::v1::Event&& event) override {
    std::lock_guard lock(mu_);
    inner_.Emit(std::move(event));
  }
  void Tick(int64_t now_ns) override {
    std::lock_guard lock(mu_);
    inner_.Tick(now_ns);
  }
  bool Flush(int timeout_ms) override {
    std::lock_guard lock(mu_);
    return inner_.Flush(timeout_ms);
  }

 private:
  exporter::RecordSink& inner_;
  std::mutex mu_;
};

struct StepResult {
  enum class Kind { kContinue, kExit } kind = Kind::kContinue;
  int exit_code = 0;
  static StepResult Continue() { return {}; }
  static StepResult Exit(int code) { return {Kind::kExit, code}; }
};

struct Step {
  const char* name;
  std::function<StepResult()> run;
  std::function<void()> teardown;  // may be empty
};

flow::AnalyzerFactory MakeAnalyzerFactory(const AnalyzersConfig& enabled) {
  if (!enabled.dns && !enabled.tls && !enabled.http) return nullptr;
  return [enabled](const analyzers::FlowInfo& info, analyzers::AnalyzerContext& ctx) {
    auto list = analyzers::CreateCandidates(info, ctx);
    std::erase_if(list, [&](const std::unique_ptr<analyzers::Analyzer>& a) {
      const std::string_view s = a->Service();
      return (s == "dns" && !enabled.dns) || (s == "ssl" && !enabled.tls) ||
             (s == "http" && !enabled.http);
    });
    return list;
  };
}

flow::FlowTableOptions FlowOptions(const AgentConfig& cfg, uint64_t seed) {
  flow::FlowTableOptions o;
  o.max_flows = cfg.flow.max_flows;
  o.include_vlan_in_key = cfg.flow.include_vlan_in_key;
  const auto ns = [](std::chrono::milliseconds ms) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(ms).count();
  };
  const FlowTimeoutsConfig& t = cfg.flow.timeouts;
  o.timeouts.tcp_idle_ns = ns(t.tcp_idle);
  o.timeouts.tcp_handshake_ns = ns(t.tcp_handshake);
  o.timeouts.tcp_closed_ns = ns(t.tcp_closed);
  o.timeouts.udp_idle_ns = ns(t.udp_idle);
  o.timeouts.icmp_idle_ns = ns(t.icmp_idle);
  o.timeouts.other_idle_ns = ns(t.other_idle);
  o.timeouts.active_ns = ns(t.active);
  o.seed = seed;
  return o;
}

class AgentProgram {
 public:
  int Run(int argc, char** argv) {
    std::vector<Step> steps = {
        {"parse command line", [&] { return ParseCli(argc, argv); }, nullptr},
        {"load configuration", [&] { return LoadConfig(); }, nullptr},
        {"install signal handlers", [&] { return InstallSignals(); }, [&] { StopSignals(); }},
        {"open capture sources", [&] { return OpenSources(); }, nullptr},
        {"open record sink", [&] { return OpenSink(); }, [&] { CloseSink(); }},
        {"start metrics listener", [&] { return StartMetrics(); },
         [&] { metrics_server_.reset(); }},
        {"run pipelines", [&] { return RunPipelines(); }, nullptr},
    };
    int exit_code = 0;
    size_t ran = 0;
    for (; ran < steps.size(); ++ran) {
      LogDebug(std::string("step: ") + steps[ran].name);
      const StepResult r = steps[ran].run();
      if (r.kind == StepResult::Kind::kExit) {
        exit_code = r.exit_code;
        ++ran;
        break;
      }
    }
    for (size_t i = std::min(ran, steps.size()); i-- > 0;) {
      if (steps[i].teardown) steps[i].teardown();
    }
    return exit_code;
  }

 private:
  StepResult ParseCli(int argc, char** argv) {
    CliResult r = ParseCommandLine(argc, argv);
    if (r.exit) return StepResult::Exit(r.exit_code == 0 ? 0 : 2);
    cli_ = std::move(r.options);
    if (cli_.version) {
      std::printf("vigil-agent %s\n", VIGIL_VERSION);
      return StepResult::Exit(0);
    }
    if (cli_.check_config && cli_.config_path.empty()) {
      LogError("--check-config needs --config FILE");
      return StepResult::Exit(2);
    }
    return StepResult::Continue();
  }

  StepResult LoadConfig() {
    if (!cli_.config_path.empty()) {
      auto loaded = LoadAgentConfig(cli_.config_path);
      if (!loaded) {
        for (const Diagnostic& d : loaded.error()) {
          std::fprintf(stderr, "%s\n", d.ToString().c_str());
        }
        std::fprintf(stderr, "%s: %zu error(s)\n", cli_.config_path.c_str(), loaded.error().size());
        return StepResult::Exit(2);
      }
      config_ = std::move(*loaded);
      SetLogLevel(config_.log.level);
    }
    if (cli_.check_config) {
      std::printf("%s: configuration is valid\n", cli_.config_path.c_str());
      return StepResult::Exit(0);
    }
    if (cli_.read_file.empty() && cli_.interfaces.empty() && config_.interfaces.empty()) {
      LogError(
          "nothing to capture: give --read FILE, --interface IF, or capture.interfaces in "
          "--config");
      return StepResult::Exit(2);
    }
    seed_ =
        cli_.seed ? *cli_.seed : std::random_device{}() * 0x100000001ull ^ std::random_device{}();
    return StepResult::Continue();
  }

  // Signals are turned into bytes on a pipe by an async-signal-safe handler
  // and acted on by a dedicated thread. A process-wide handler (rather than
  // only a blocked mask and sigwait) matters: third-party threads (the
  // metrics HTTP server's) may unblock signals, and the default action of
  // SIGTERM on such a thread would kill the agent without flushing.
  StepResult InstallSignals() {
    if (pipe2(signal_pipe_, O_CLOEXEC | O_NONBLOCK) != 0)
      return Fatal("cannot create the signal pipe");
    g_signal_fd.store(signal_pipe_[1]);
    struct sigaction sa {};
    sa.sa_handler = [](int sig) {
      const int fd = g_signal_fd.load();
      const auto byte = static_cast<char>(sig);
      if (fd >= 0) [[maybe_unused]]
        auto n = write(fd, &byte, 1);
    };
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaction(sig, &sa, nullptr);
    signal_thread_ = std::thread([this] { SignalLoop(); });
    return StepResult::Continue();
  }

  void SignalLoop() {
    for (;;) {
      pollfd p{signal_pipe_[0], POLLIN, 0};
      if (poll(&p, 1, -1) <= 0) continue;
      char sig = 0;
      while (read(signal_pipe_[0], &sig, 1) == 1) {
        if (sig == 0) return;  // StopSignals()
        if (sig == SIGHUP) {
          Reload();
          continue;
        }
        LogInfo(std::string("received ") + (sig == SIGINT ? "SIGINT" : "SIGTERM") +
                ": stopping capture, flushing flows");
        stopping_ = true;
        std::lock_guard lock(pipelines_mu_);
        for (auto& pl : pipelines_) pl->Interrupt();
      }
    }
  }

  void Reload() {
    if (cli_.config_path.empty()) {
      LogInfo("SIGHUP: no configuration file to reload");
      return;
    }
    auto loaded = LoadAgentConfig(cli_.config_path);
    if (!loaded) {
      for (const Diagnostic& d : loaded.error()) LogError("SIGHUP: " + d.ToString());
      LogError("SIGHUP: configuration rejected, keeping the running one");
      return;
    }
    SetLogLevel(loaded->log.level);
    LogInfo(
        "SIGHUP: configuration reloaded; log level applied, capture, flow, analyzer and "
        "collector settings take effect at the next restart");
  }

  void StopSignals() {
    if (signal_thread_.joinable()) {
      const char stop = 0;
      [[maybe_unused]] auto n = write(signal_pipe_[1], &stop, 1);
      signal_thread_.join();
    }
    struct sigaction sa {};
    sa.sa_handler = SIG_DFL;
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaction(sig, &sa, nullptr);
    g_signal_fd.store(-1);
    for (int fd : signal_pipe_) {
      if (fd >= 0) close(fd);
    }
  }

  StepResult OpenSources() {
    if (!cli_.read_file.empty()) {
      capture::FileSourceOptions o;
      o.path = cli_.read_file;
      if (cli_.filter) o.bpf_filter = *cli_.filter;
      auto source = capture::OpenFileSource(o);
      if (!source) return Fatal("cannot read " + cli_.read_file + ": " + source.error());
      offline_ = true;
      AddInterfaceInfo(**source, o.bpf_filter, 0, false);
      sources_.push_back(std::move(*source));
      return StepResult::Continue();
    }
    std::vector<InterfaceConfig> interfaces = config_.interfaces;
    if (!cli_.interfaces.empty()) {
      interfaces.clear();
      for (const std::string& name : cli_.interfaces) {
        InterfaceConfig ic;
        ic.name = name;
        for (const InterfaceConfig& c : config_.interfaces) {
          if (c.name == name) ic = c;  // keep its configured settings
        }
        interfaces.push_back(ic);
      }
    }
    for (const InterfaceConfig& ic : interfaces) {
      capture::LiveSourceOptions o;
      o.interface = ic.name;
      o.bpf_filter = cli_.filter ? *cli_.filter : ic.bpf_filter;
      o.snaplen = static_cast<int>(ic.snaplen);
      o.buffer_size = ic.buffer_size;
      o.promiscuous = ic.promiscuous;
      auto source = capture::OpenLiveSource(o);
      if (!source) return Fatal("cannot capture on " + ic.name + ": " + source.error());
      AddInterfaceInfo(**source, o.bpf_filter, ic.snaplen, ic.promiscuous);
      LogInfo("capturing on " + ic.name +
              (o.bpf_filter.empty() ? "" : " filter \"" + o.bpf_filter + "\""));
      sources_.push_back(std::move(*source));
    }
    return StepResult::Continue();
  }

  void AddInterfaceInfo(const capture::PacketSource& s, const std::string& filter, uint32_t snaplen,
                        bool promiscuous) {
    vigil::v1::CaptureInterface ci;
    ci.set_name(s.Name());
    ci.set_bpf_filter(filter);
    ci.set_snaplen(snaplen);
    ci.set_promiscuous(promiscuous);
    ci.set_link_type(s.LinkType());
    ci.set_offline(s.Offline());
    interfaces_.push_back(std::move(ci));
    if (!decode::Decoder::SupportsLinkType(s.LinkType())) {
      LogWarning(s.Name() + ": link type " + std::to_string(s.LinkType()) +
                 " is not decoded; its packets will count as unsupported_link_type");
    }
  }

  StepResult OpenSink() {
    OutputMode mode = cli_.output;
    if (mode == OutputMode::kDefault) {
      mode = config_.collector ? OutputMode::kCollector : OutputMode::kJson;
    }
    if (mode == OutputMode::kJson) {
      static char buffer[1 << 16];
      std::setvbuf(stdout, buffer, _IOFBF, sizeof(buffer));
      json_sink_ = std::make_unique<exporter::ZeekJsonSink>(stdout);
      sink_ = json_sink_.get();
    } else {
      if (!config_.collector) {
        LogError("--output collector needs a configuration with a collector: section");
        return StepResult::Exit(2);
      }
      const CollectorConfig& c = *config_.collector;
      exporter::CollectorSinkOptions o;
      o.addresses = c.addresses;
      o.server_name = c.server_name;
      o.ca_file = c.ca;
      o.cert_file = c.cert;
      o.key_file = c.key;
      o.insecure_plaintext = c.insecure_plaintext;
      o.batch_max_events = c.batch_max_events;
      o.batch_max_delay = c.batch_max_delay;
      o.heartbeat_interval = c.heartbeat_interval;
      o.reconnect_initial_backoff = c.reconnect_initial_backoff;
      o.reconnect_max_backoff = c.reconnect_max_backoff;
      o.queue_max_records = c.queue_max_records;
      o.spool_directory = config_.spool.directory;
      o.spool_max_bytes = config_.spool.max_size;
      o.spool_overflow = config_.spool.overflow == SpoolOverflowPolicy::kDropNewest
                             ? exporter::SpoolOverflow::kDropNewest
                             : exporter::SpoolOverflow::kDropOldest;
      o.agent_version = VIGIL_VERSION;
      o.interfaces = interfaces_;
      if (c.insecure_plaintext) {
        LogWarning(
            "collector.insecure_plaintext is set: records are sent unencrypted and the "
            "collector is not authenticated (lab use only)");
      }
      auto sink = exporter::CollectorSink::Create(
          o, [this](vigil::v1::Heartbeat& hb) { FillHeartbeat(hb); });
      if (!sink) return Fatal("cannot start the collector connection: " + sink.error());
      collector_sink_ = std::move(*sink);
      sink_ = collector_sink_.get();
      LogInfo("sending records to " + c.addresses.front() +
              (c.addresses.size() > 1 ? " (+" + std::to_string(c.addresses.size() - 1) + " more)"
                                      : ""));
    }
    if (sources_.size() > 1) {
      shared_sink_ = std::make_unique<SharedSink>(*sink_);
      sink_ = shared_sink_.get();
    }
    return StepResult::Continue();
  }

  void CloseSink() {
    if (collector_sink_) {
      collector_sink_->Shutdown(kCollectorShutdownTimeout);
      const exporter::CollectorSinkStats s = collector_sink_->Stats();
      LogInfo("collector: " + std::to_string(s.records_acked) + " records acknowledged, " +
              std::to_string(s.records_pending) + " kept in the spool");
    } else if (json_sink_) {
      if (!json_sink_->Flush(0)) LogError("writing JSON to stdout failed");
      if (json_sink_->stats().write_errors > 0) {
        LogError(std::to_string(json_sink_->stats().write_errors) +
                 " records could not be written to stdout");
      }
    }
  }

  void FillHeartbeat(vigil::v1::Heartbeat& hb) {
    std::lock_guard lock(pipelines_mu_);
    uint64_t active = 0, evicted = 0;
    for (const auto& p : pipelines_) {
      const PipelineSnapshot s = p->Snapshot();
      vigil::v1::CaptureCounters* c = hb.add_capture();
      c->set_interface(s.name);
      c->set_packets_received(s.capture.packets_received);
      c->set_bytes_received(s.capture.bytes_received);
      c->set_kernel_drops(s.capture.kernel_drops);
      c->set_interface_drops(s.capture.interface_drops);
      c->set_decode_anomalies(s.decode.AnomalyTotal());
      active += s.flow.flows_active;
      evicted += s.flow.EvictionsTotal();
    }
    hb.mutable_pipeline()->set_active_flows(active);
    hb.mutable_pipeline()->set_flows_evicted(evicted);
  }

  metrics::AgentSnapshot MetricsSnapshot() {
    metrics::AgentSnapshot snap;
    std::vector<uint64_t> anomalies(decode::kAnomalyCount, 0);
    std::vector<metrics::NamedCount> analyzer_anomalies;
    uint64_t ended[flow::kEndCauseCount] = {};
    uint64_t evicted[flow::kTimerClassCount] = {};
    {
      std::lock_guard lock(pipelines_mu_);
      for (const auto& p : pipelines_) {
        const PipelineSnapshot s = p->Snapshot();
        snap.interfaces.push_back({s.name, s.capture.packets_received, s.capture.bytes_received,
                                   s.capture.kernel_drops, s.capture.interface_drops});
        for (size_t i = 0; i < decode::kAnomalyCount; ++i) anomalies[i] += s.decode.anomalies[i];
        for (const auto& [name, n] : s.flow.analyzer_anomalies)
          analyzer_anomalies.push_back({name, n});
        snap.flows_active += s.flow.flows_active;
        for (size_t i = 0; i < flow::kEndCauseCount; ++i) ended[i] += s.flow.flows_ended[i];
        for (size_t c = 0; c < flow::kTimerClassCount; ++c) evicted[c] += s.flow.evictions[c];
        snap.records_produced += s.flow.records_emitted + s.flow.analyzer_records;
      }
    }
    for (size_t i = 0; i < decode::kAnomalyCount; ++i) {
      snap.anomalies.push_back({std::string(decode::kAnomalyNames[i]), anomalies[i]});
    }
    for (auto& a : analyzer_anomalies) snap.anomalies.push_back(std::move(a));
    // Removals by reason; evictions split by the class of flow evicted.
    for (size_t i = 0; i < flow::kEndCauseCount; ++i) {
      if (static_cast<flow::EndCause>(i) == flow::EndCause::kEvicted) continue;
      snap.flow_evictions.push_back(
          {std::string(flow::EndCauseName(static_cast<flow::EndCause>(i))), ended[i]});
    }
    for (size_t c = 0; c < flow::kTimerClassCount; ++c) {
      snap.flow_evictions.push_back(
          {"evicted_" + std::string(flow::EvictionReasonName(static_cast<flow::TimerClass>(c))),
           evicted[c]});
    }
    if (collector_sink_) {
      const exporter::CollectorSinkStats s = collector_sink_->Stats();
      snap.records_acked = s.records_acked;
      snap.records_pending = s.records_pending;
      snap.records_dropped = {{"queue_full", s.records_dropped_queue_full},
                              {"spool_overflow", s.records_dropped_spool_overflow},
                              {"spool_corrupt", s.records_dropped_spool_corrupt}};
      snap.batches_sealed = s.batches_sealed;
      snap.batches_acked = s.batches_acked;
      snap.spool_bytes = s.spool_bytes;
      snap.spool_capacity_bytes = s.spool_capacity_bytes;
      snap.collector_connected = s.connected;
      snap.collector_connects = s.connects;
      snap.collector_connect_failures = s.connect_failures;
    }
    return snap;
  }

  StepResult StartMetrics() {
    if (config_.metrics.listen.empty()) return StepResult::Continue();
    metrics::AgentMetricsOptions o;
    o.version = VIGIL_VERSION;
    for (const auto& ci : interfaces_) o.interfaces.push_back(ci.name());
    for (std::string_view n : decode::kAnomalyNames) o.anomaly_names.emplace_back(n);
    for (std::string_view n : analyzers::kAnomalyNames) o.anomaly_names.emplace_back(n);
    o.eviction_reasons = {"closed", "idle_timeout", "shutdown"};
    for (size_t c = 0; c < flow::kTimerClassCount; ++c) {
      o.eviction_reasons.push_back(
          "evicted_" + std::string(flow::EvictionReasonName(static_cast<flow::TimerClass>(c))));
    }
    auto collectable =
        std::make_shared<metrics::AgentMetrics>(o, [this] { return MetricsSnapshot(); });
    auto server = metrics::MetricsServer::Start(config_.metrics.listen, collectable);
    if (!server) return Fatal("metrics.listen " + config_.metrics.listen + ": " + server.error());
    metrics_server_ = std::move(*server);
    LogInfo("serving /metrics on port " + std::to_string(metrics_server_->Port()));
    return StepResult::Continue();
  }

  StepResult RunPipelines() {
    decode::DecoderOptions dopt;
    dopt.verify_checksums = cli_.verify_checksums;
    const flow::FlowTableOptions fopt = FlowOptions(config_, seed_);
    {
      std::lock_guard lock(pipelines_mu_);
      for (auto& source : sources_) {
        PipelineOptions popt;
        popt.replay_speed = cli_.replay_speed;
        pipelines_.push_back(std::make_unique<Pipeline>(
            std::move(source), dopt, fopt, *sink_, MakeAnalyzerFactory(config_.analyzers), popt));
      }
      sources_.clear();
    }
    if (stopping_) {
      for (auto& p : pipelines_) p->Interrupt();
    }
    std::vector<std::thread> threads;
    std::vector<std::string> errors(pipelines_.size());
    for (size_t i = 0; i < pipelines_.size(); ++i) {
      threads.emplace_back([this, i, &errors] {
        auto r = pipelines_[i]->Run();
        if (!r) errors[i] = r.error();
      });
    }
    for (auto& t : threads) t.join();
    int code = 0;
    for (size_t i = 0; i < pipelines_.size(); ++i) {
      const PipelineSnapshot s = pipelines_[i]->Snapshot();
      LogInfo(s.name + ": " + std::to_string(s.capture.packets_received) + " packets, " +
              std::to_string(s.flow.flows_created) + " flows, " +
              std::to_string(s.flow.records_emitted + s.flow.analyzer_records) + " records, " +
              std::to_string(s.decode.AnomalyTotal()) + " decode anomalies, " +
              std::to_string(s.capture.kernel_drops) + " kernel drops, " +
              std::to_string(s.flow.EvictionsTotal()) + " evictions");
      if (!errors[i].empty()) {
        LogError(errors[i]);
        code = 1;
      }
    }
    return code == 0 ? StepResult::Continue() : StepResult::Exit(code);
  }

  StepResult Fatal(const std::string& message) {
    LogError(message);
    return StepResult::Exit(1);
  }

  CliOptions cli_;
  AgentConfig config_;
  uint64_t seed_ = 0;
  bool offline_ = false;
  int signal_pipe_[2] = {-1, -1};
  std::thread signal_thread_;
  std::atomic<bool> stopping_{false};
  std::vector<std::unique_ptr<capture::PacketSource>> sources_;
  std::vector<vigil::v1::CaptureInterface> interfaces_;
  std::unique_ptr<exporter::ZeekJsonSink> json_sink_;
  std::unique_ptr<exporter::CollectorSink> collector_sink_;
  std::unique_ptr<SharedSink> shared_sink_;
  exporter::RecordSink* sink_ = nullptr;
  std::unique_ptr<metrics::MetricsServer> metrics_server_;
  std::mutex pipelines_mu_;
  std::vector<std::unique_ptr<Pipeline>> pipelines_;
};

}  // namespace

int RunAgent(int argc, char** argv) {
  AgentProgram program;
  return program.Run(argc, argv);
}

}  // namespace vigil::agent::app
