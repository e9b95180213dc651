#include "collector/app/collector_app.h"

#include <fcntl.h>
#include <signal.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>

#include "collector/app/cli.h"
#include "collector/app/collector_config.h"
#include "collector/app/directory_watcher.h"
#include "collector/app/log.h"
#include "collector/app/metrics_wiring.h"
#include "collector/app/pipeline.h"
#include "collector/app/rule_reloader.h"
#include "collector/app/version.h"
#include "collector/engine/engine.h"
#include "collector/incidents/checkpoint_key.h"
#include "collector/incidents/incident_store.h"
#include "collector/ingest/ingest_server.h"
#include "collector/metrics/collector_metrics.h"
#include "collector/metrics/metrics_server.h"
#include "transport/tls_files.h"

#ifndef VIGIL_DEFAULT_RULES_DIR
#define VIGIL_DEFAULT_RULES_DIR "/usr/share/vigil/rules"
#endif

namespace vigil::collector::app {
namespace {

namespace fs = std::filesystem;

constexpr const char* kDefaultStateDir = "/var/lib/vigil-collector";

// Replaces the port of "host:port" (port 0 asked the kernel for one).
std::string WithPort(const std::string& listen, int port) {
  const auto colon = listen.rfind(':');
  std::string host = colon == std::string::npos ? listen : listen.substr(0, colon);
  if (host == "0.0.0.0" || host.empty()) host = "127.0.0.1";
  if (host == "[::]") host = "[::1]";
  return host + ":" + std::to_string(port);
}

bool WriteReadyFile(const std::string& path, const std::string& ingest,
                    const std::string& metrics) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    out << "{\"ingest\": \"" << ingest << "\", \"metrics\": \"" << metrics
        << "\", \"pid\": " << getpid() << "}\n";
    if (!out) return false;
  }
  // Rename so a reader polling for the file never sees it half written.
  return std::rename(tmp.c_str(), path.c_str()) == 0;
}

struct Loaded {
  CollectorConfig config;
  bool embedded = false;
};

std::optional<Loaded> LoadConfig(const CollectorOptions& opts) {
  const std::string state = opts.state_dir.empty() ? kDefaultStateDir : opts.state_dir;
  const std::string rules = opts.rules_dir.empty() ? VIGIL_DEFAULT_RULES_DIR : opts.rules_dir;
  CollectorConfig defaults = DefaultCollectorConfig(state, rules);
  // Before parsing, so a config without tls: is valid with the flag.
  defaults.insecure_plaintext = opts.insecure_plaintext;
  Loaded loaded;
  if (opts.config_path.empty()) {
    // Embedded defaults: everything under the state directory; any agent
    // certificate our CA signed is accepted (there is no identity map yet).
    loaded.embedded = true;
    const fs::path pki = fs::path(state) / "pki";
    defaults.tls = {(pki / "ca.crt").string(), (pki / "collector.crt").string(),
                    (pki / "collector.key").string(), ""};
    if (fs::exists(pki / "ca.crl")) defaults.tls.crl = (pki / "ca.crl").string();
    defaults.allow_unlisted_agents = true;
    const fs::path lists = fs::path(rules) / "lists";
    for (const char* name : {"bad_domains", "bad_addresses"}) {
      const fs::path f = lists / (std::string(name) + ".txt");
      if (fs::exists(f)) defaults.rules.lists[name] = f.string();
    }
    loaded.config = std::move(defaults);
  } else {
    auto c = LoadCollectorConfig(opts.config_path, std::move(defaults));
    if (!c) {
      for (const auto& d : c.error()) std::fprintf(stderr, "%s\n", d.ToString().c_str());
      std::fprintf(stderr, "vigil-collector: %zu configuration error(s); nothing started\n",
                   c.error().size());
      return std::nullopt;
    }
    loaded.config = std::move(*c);
  }
  if (!opts.listen.empty()) loaded.config.listen = opts.listen;
  if (!opts.metrics_listen.empty()) loaded.config.metrics.listen = opts.metrics_listen;
  if (!opts.log_level.empty()) loaded.config.log_level = opts.log_level;
  if (opts.insecure_plaintext) loaded.config.insecure_plaintext = true;
  return loaded;
}

incidents::StoreConfig StoreConfigFrom(const CollectorConfig& c) {
  incidents::StoreConfig s;
  s.db_path = c.incidents.database;
  s.incident_window = std::chrono::duration_cast<std::chrono::seconds>(c.incidents.group_window);
  s.checkpoint_every_records = c.incidents.checkpoint_interval;
  s.signing_key_path = c.incidents.signing_key;
  s.retention = std::chrono::duration_cast<std::chrono::seconds>(c.incidents.retention);
  const auto& f = c.incidents.forward;
  if (!f.address.empty()) {
    s.forwarding.enabled = true;
    s.forwarding.host = f.host;  // validated by the config reader
    s.forwarding.port = f.port;
    s.forwarding.ca_file = f.ca;
    s.forwarding.client_cert_file = f.cert;
    s.forwarding.client_key_file = f.key;
    s.forwarding.buffer_capacity = f.buffer_max_alerts;
  }
  return s;
}

int CheckConfig(const CollectorConfig& config) {
  int errors = 0;
  if (!config.insecure_plaintext) {
    auto tls = transport::LoadTlsMaterial(
        {config.tls.ca, config.tls.cert, config.tls.key, config.tls.crl});
    if (!tls) {
      std::fprintf(stderr, "%s\n", transport::JoinErrors(tls.error()).c_str());
      errors += static_cast<int>(tls.error().size());
    }
  }
  for (const auto& p : incidents::ValidateStoreConfig(StoreConfigFrom(config))) {
    // The signing key is generated at first start, so its absence is fine here.
    if (p.field == "signing_key_path" && !std::filesystem::exists(config.incidents.signing_key)) {
      continue;
    }
    std::fprintf(stderr, "incidents.%s: error: %s\n", p.field.c_str(), p.message.c_str());
    ++errors;
  }
  auto rules = RuleReloader::Check(config.rules);
  for (const auto& d : rules.diagnostics) {
    if (d.severity != engine::Severity::kNote) std::fprintf(stderr, "%s\n", d.ToString().c_str());
  }
  if (!rules.rule_set) ++errors;
  if (errors > 0) {
    std::fprintf(stderr, "vigil-collector: configuration check failed\n");
    return 2;
  }
  std::printf("vigil-collector: configuration OK (%zu active rules, ruleset %s)\n",
              rules.counts.active, rules.ruleset_hash.substr(0, 12).c_str());
  return 0;
}

ingest::IngestOptions IngestOptionsFrom(const CollectorConfig& c) {
  ingest::IngestOptions o;
  o.listen = c.listen;
  o.tls = {c.tls.ca, c.tls.cert, c.tls.key, c.tls.crl};
  o.insecure_plaintext = c.insecure_plaintext;
  for (const auto& a : c.agents) o.agents.push_back({a.identity, a.agency, a.site});
  o.allow_unlisted_agents = c.allow_unlisted_agents;
  o.heartbeat_silence_after = c.heartbeat_silence_after;
  o.log = [](transport::LogLevel level, std::string_view msg) {
    Log::Write(static_cast<LogLevel>(static_cast<int>(level)), msg);
  };
  return o;
}

// SIGHUP re-reads the config file. The identity map, rule folders, lists and
// log level apply at once; listen addresses, TLS files and the incident
// store need a restart (said in the log). A bad file changes nothing.
void ReloadConfig(const CollectorOptions& opts, CollectorConfig& running,
                  ingest::IngestServer& ingest, metrics::CollectorMetrics& metrics,
                  RuleReloader& reloader) {
  auto fresh = LoadConfig(opts);
  if (!fresh) {
    LogError("config reload: " + opts.config_path +
             " has errors (printed above); keeping the running configuration");
    return;
  }
  const CollectorConfig& c = fresh->config;
  if (c.listen != running.listen || c.tls.ca != running.tls.ca || c.tls.cert != running.tls.cert ||
      c.tls.key != running.tls.key || c.tls.crl != running.tls.crl ||
      c.incidents.database != running.incidents.database ||
      c.metrics.listen != running.metrics.listen ||
      c.insecure_plaintext != running.insecure_plaintext) {
    LogWarning(
        "config reload: listen, tls, metrics and incidents settings take effect after a "
        "restart");
  }
  std::vector<ingest::AgentAssignment> agents;
  std::vector<metrics::AgentIdentity> identities;
  for (const auto& a : c.agents) {
    agents.push_back({a.identity, a.agency, a.site});
    identities.push_back({a.identity, a.agency, a.site});
  }
  ingest.UpdateAgents(std::move(agents), c.allow_unlisted_agents);
  metrics.SetAgents(std::move(identities), c.allow_unlisted_agents);
  metrics.SetAgentSilenceAfter(c.heartbeat_silence_after);
  Log::SetLevel(c.log_level);
  reloader.SetConfig(c.rules);
  running.agents = c.agents;
  running.allow_unlisted_agents = c.allow_unlisted_agents;
  running.rules = c.rules;
  running.log_level = c.log_level;
  LogInfo("config reload: " + std::to_string(c.agents.size()) + " agent identities");
}

}  // namespace

int Main(int argc, char** argv) {
  int exit_code = 0;
  auto opts = ParseCollectorArgs(argc, argv, exit_code);
  if (!opts) return exit_code;
  auto loaded = LoadConfig(*opts);
  if (!loaded) return 2;
  CollectorConfig& config = loaded->config;
  if (opts->check_config) return CheckConfig(config);
  Log::SetLevel(config.log_level);

  // Signals are taken synchronously by the main thread; every thread started
  // below inherits the blocked mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  // A SIEM receiver that resets its connection mid-write must cost one
  // forwarding attempt (EPIPE, counted and retried), not the collector.
  signal(SIGPIPE, SIG_IGN);

  LogInfo("vigil-collector " + std::string(kVersion) + " starting" +
          (loaded->embedded ? " with embedded defaults" : " with " + opts->config_path));
  if (config.insecure_plaintext) {
    LogWarning(
        "insecure_plaintext is set: agents are NOT authenticated and traffic is NOT "
        "encrypted; agent identities are unverified claims. Lab use only.");
  }
  if (loaded->embedded) {
    LogWarning("no --config: accepting any agent certificate signed by " + config.tls.ca +
               " (agency \"unassigned\")");
  }

  // Step: incident store (creates the database; generates the signing key
  // on first start so a fresh install has signed checkpoints from day one).
  std::error_code ec;
  fs::create_directories(fs::path(config.incidents.database).parent_path(), ec);
  if (!fs::exists(config.incidents.signing_key)) {
    const fs::path pub = config.incidents.signing_key + ".pub";
    auto key = incidents::GenerateSigningKey(config.incidents.signing_key, pub);
    if (!key) {
      LogError("cannot create the checkpoint signing key: " + key.error().message);
      return 1;
    }
    LogInfo("generated checkpoint signing key " + *key + "; give auditors " + pub.string());
  }
  auto store =
      incidents::IncidentStore::Open(StoreConfigFrom(config), incidents::OpenMode::kCollector);
  if (!store) {
    LogError("incident store: " + store.error().message);
    return 1;
  }

  // Step: rules. A startup with rule errors does not start: there is no
  // previous good set to keep.
  engine::Engine engine;
  auto metrics = std::make_shared<metrics::CollectorMetrics>(
      MetricsOptionsFrom(config, std::string(kVersion)));
  RuleReloader reloader(config.rules, engine, metrics.get());
  if (!reloader.Reload("startup").ok) {
    LogError("rules did not load; fix the errors above (vigilctl rules check) and start again");
    return 2;
  }

  // Step: pipeline, ingest, metrics.
  Pipeline pipeline(engine, **store, *metrics);
  pipeline.Start();
  auto ingest = ingest::IngestServer::Start(IngestOptionsFrom(config), pipeline);
  if (!ingest) {
    LogError("ingest: " + ingest.error());
    pipeline.Stop();
    return 1;
  }
  WireMetricsSources(*metrics, **ingest, engine, **store, pipeline,
                     IngestOptionsFrom(config).max_inflight_records);
  auto metrics_server = metrics::MetricsServer::Start(config.metrics.listen, {metrics});
  if (!metrics_server) {
    LogError("metrics: " + metrics_server.error());
    (*ingest)->Shutdown();
    pipeline.Stop();
    return 1;
  }
  const std::string ingest_addr = WithPort(config.listen, (*ingest)->port());
  const std::string metrics_addr = WithPort(config.metrics.listen, (*metrics_server)->Port());
  LogInfo("listening for agents on " + ingest_addr +
          (config.insecure_plaintext ? "" : " (mutual TLS)") + ", metrics on http://" +
          metrics_addr + "/metrics");

  // Step: folder watcher (reload on change, debounced).
  std::unique_ptr<DirectoryWatcher> watcher;
  if (config.rules.watch) {
    std::vector<std::string> paths = config.rules.directories;
    paths.insert(paths.end(), config.rules.filters.begin(), config.rules.filters.end());
    for (const auto& [name, file] : config.rules.lists) paths.push_back(file);
    watcher = std::make_unique<DirectoryWatcher>(paths, std::chrono::milliseconds(500), [&] {
      sd_notify(0, "RELOADING=1");
      reloader.Reload("rules folder changed");
      sd_notify(0, "READY=1");
    });
    if (auto w = watcher->Start(); !w) {
      LogWarning("rule folders are not watched (" + w.error() + "); reload with SIGHUP");
      watcher.reset();
    }
  }

  if (!opts->ready_file.empty() && !WriteReadyFile(opts->ready_file, ingest_addr, metrics_addr)) {
    LogWarning("cannot write ready file " + opts->ready_file);
  }
  sd_notify(0, "READY=1");

  // Run until told to stop. Retention runs hourly from here.
  auto last_prune = std::chrono::steady_clock::now() - std::chrono::hours(1);
  for (;;) {
    timespec timeout{1, 0};
    siginfo_t info{};
    const int sig = sigtimedwait(&signals, &info, &timeout);
    if (sig == SIGHUP) {
      sd_notify(0, "RELOADING=1");
      if (!opts->config_path.empty()) ReloadConfig(*opts, config, **ingest, *metrics, reloader);
      reloader.Reload("SIGHUP");
      sd_notify(0, "READY=1");
    } else if (sig == SIGINT || sig == SIGTERM) {
      LogInfo(std::string("received ") + (sig == SIGINT ? "SIGINT" : "SIGTERM") + ", stopping");
      break;
    }
    if (std::chrono::steady_clock::now() - last_prune > std::chrono::hours(1)) {
      last_prune = std::chrono::steady_clock::now();
      if (auto p = (*store)->PruneExpired(); !p) {
        LogError("retention: prune failed: " + p.error().message);
      } else if (p->records_removed > 0) {
        LogInfo("retention: pruned " + std::to_string(p->records_removed) + " records");
      }
    }
  }

  // Teardown, in reverse.
  sd_notify(0, "STOPPING=1");
  if (watcher) watcher->Stop();
  (*ingest)->Shutdown();
  pipeline.Stop();
  if (auto c = (*store)->Close(); !c) LogError("incident store close: " + c.error().message);
  metrics_server->reset();
  LogInfo("stopped");
  return 0;
}

}  // namespace vigil::collector::app
