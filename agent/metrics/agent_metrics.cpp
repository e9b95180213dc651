#include "agent/metrics/agent_metrics.h"

#include <algorithm>
#include <exception>
#include <limits>

#include "prometheus/text_serializer.h"

namespace vigil::agent::metrics {
namespace {

constexpr std::string_view kOther = "other";
constexpr std::size_t kMaxLabelValueBytes = 128;
constexpr std::size_t kMaxRememberedNames = 1024;

using prometheus::MetricType;
using Labels = std::vector<prometheus::ClientMetric::Label>;

double UnixSeconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

prometheus::ClientMetric::Label L(std::string_view name, std::string_view value) {
  return {std::string(name), std::string(value)};
}

class Family {
 public:
  Family(std::string name, std::string help, MetricType type) {
    f_.name = std::move(name);
    f_.help = std::move(help);
    f_.type = type;
  }
  void Add(Labels labels, double value) {
    prometheus::ClientMetric m;
    m.label = std::move(labels);
    if (f_.type == MetricType::Counter) {
      m.counter.value = value;
    } else {
      m.gauge.value = value;
    }
    f_.metric.push_back(std::move(m));
  }
  prometheus::MetricFamily Take() { return std::move(f_); }

 private:
  prometheus::MetricFamily f_;
};

// Registered names, cleaned and de-duplicated, then `other`.
std::vector<std::string> NameSet(const std::vector<std::string>& names) {
  std::vector<std::string> out;
  for (const auto& n : names) {
    std::string clean = CleanLabelValue(n);
    if (clean.empty() || clean == kOther) continue;
    if (std::find(out.begin(), out.end(), clean) == out.end()) out.push_back(std::move(clean));
  }
  out.emplace_back(kOther);
  return out;
}

}  // namespace

std::string CleanLabelValue(std::string_view raw) {
  std::string out;
  for (char c : raw.substr(0, kMaxLabelValueBytes)) {
    const auto u = static_cast<unsigned char>(c);
    out.push_back(u >= 0x20 && u < 0x7F ? c : '_');
  }
  return out;
}

AgentMetrics::AgentMetrics(AgentMetricsOptions options, std::function<AgentSnapshot()> source)
    : options_(std::move(options)), source_(std::move(source)) {
  if (!options_.clock) options_.clock = [] { return std::chrono::system_clock::now(); };
  start_time_ = options_.clock();
  options_.interfaces = NameSet(options_.interfaces);
  options_.anomaly_names = NameSet(options_.anomaly_names);
  options_.eviction_reasons = NameSet(options_.eviction_reasons);
  options_.drop_reasons = NameSet(options_.drop_reasons);
}

bool AgentMetrics::FirstFold(std::string_view label, std::string_view name) const {
  if (unknown_names_.size() >= kMaxRememberedNames) return false;
  std::string key(label);
  key.push_back('\0');
  key.append(name);
  return unknown_names_.insert(std::move(key)).second;
}

std::vector<uint64_t> AgentMetrics::Bucket(std::string_view label,
                                           const std::vector<std::string>& names,
                                           const std::vector<NamedCount>& values,
                                           uint64_t& folds) const {
  std::vector<uint64_t> sums(names.size(), 0);
  for (const auto& v : values) {
    auto it = std::find(names.begin(), names.end(), v.name);
    if (it == names.end()) {
      it = names.end() - 1;
      // Values are cumulative: count each unknown name once, not per scrape.
      if (FirstFold(label, v.name)) ++folds;
    }
    sums[static_cast<std::size_t>(it - names.begin())] += v.value;
  }
  return sums;
}

std::vector<prometheus::MetricFamily> AgentMetrics::Collect() const {
  std::lock_guard lock(mu_);
  if (source_) {
    try {
      last_ = source_();
    } catch (...) {
      // Serve the last good snapshot; a failing source must not blank /metrics.
      ++source_errors_;
    }
  }
  const AgentSnapshot& s = last_;
  std::vector<prometheus::MetricFamily> out;

  Family build("vigil_agent_build_info", "Agent build; always 1.", MetricType::Gauge);
  build.Add({L("version", options_.version.empty() ? "unknown" : options_.version)}, 1);
  out.push_back(build.Take());
  Family start("vigil_agent_start_time_seconds", "Agent start time, Unix seconds.",
               MetricType::Gauge);
  start.Add({}, UnixSeconds(start_time_));
  out.push_back(start.Take());

  // Interfaces: configured ones always; `other` only once something was
  // folded into it (an interface is not an anomaly bucket that must exist).
  {
    const auto& names = options_.interfaces;
    std::vector<InterfaceCounters> sums(names.size());
    for (std::size_t i = 0; i < names.size(); ++i) sums[i].name = names[i];
    for (const auto& c : s.interfaces) {
      auto it = std::find(names.begin(), names.end(), c.name);
      if (it == names.end()) {
        it = names.end() - 1;
        if (FirstFold("interface", c.name)) ++folds_.interface;
      }
      auto& t = sums[static_cast<std::size_t>(it - names.begin())];
      t.packets += c.packets;
      t.bytes += c.bytes;
      t.kernel_drops += c.kernel_drops;
      t.interface_drops += c.interface_drops;
    }
    Family packets("vigil_agent_capture_packets_total", "Packets captured, by interface.",
                   MetricType::Counter);
    Family bytes("vigil_agent_capture_bytes_total", "Wire bytes captured, by interface.",
                 MetricType::Counter);
    Family drops("vigil_agent_capture_dropped_packets_total",
                 "Packets lost before the agent saw them, by interface and layer "
                 "(kernel: capture buffer full; interface: NIC or driver).",
                 MetricType::Counter);
    for (std::size_t i = 0; i < sums.size(); ++i) {
      if (i + 1 == sums.size() && folds_.interface == 0) break;
      const auto& t = sums[i];
      packets.Add({L("interface", t.name)}, static_cast<double>(t.packets));
      bytes.Add({L("interface", t.name)}, static_cast<double>(t.bytes));
      drops.Add({L("interface", t.name), L("layer", "kernel")},
                static_cast<double>(t.kernel_drops));
      drops.Add({L("interface", t.name), L("layer", "interface")},
                static_cast<double>(t.interface_drops));
    }
    out.push_back(packets.Take());
    out.push_back(bytes.Take());
    out.push_back(drops.Take());
  }
  auto by_name = [&](const char* name, const char* help, const char* label,
                     const std::vector<std::string>& names, const std::vector<NamedCount>& values,
                     uint64_t& folds) {
    Family f(name, help, MetricType::Counter);
    const auto sums = Bucket(name, names, values, folds);
    for (std::size_t i = 0; i < names.size(); ++i) {
      f.Add({L(label, names[i])}, static_cast<double>(sums[i]));
    }
    out.push_back(f.Take());
  };
  by_name("vigil_agent_anomalies_total",
          "Malformed or unexpected input, by anomaly name (decoders and analyzers).", "anomaly",
          options_.anomaly_names, s.anomalies, folds_.anomaly);

  Family active("vigil_agent_flows_active", "Flows in the flow table.", MetricType::Gauge);
  active.Add({}, static_cast<double>(s.flows_active));
  out.push_back(active.Take());
  by_name("vigil_agent_flow_evictions_total", "Flows removed from the flow table, by reason.",
          "reason", options_.eviction_reasons, s.flow_evictions, folds_.reason);

  auto single = [&](const char* name, const char* help, MetricType type, double value) {
    Family f(name, help, type);
    f.Add({}, value);
    out.push_back(f.Take());
  };
  single("vigil_agent_records_produced_total", "Records produced (conn, dns, ssl, http).",
         MetricType::Counter, static_cast<double>(s.records_produced));
  single("vigil_agent_records_acked_total", "Records the collector acknowledged as durable.",
         MetricType::Counter, static_cast<double>(s.records_acked));
  single("vigil_agent_records_pending", "Records queued, batched or spooled, not yet acked.",
         MetricType::Gauge, static_cast<double>(s.records_pending));
  by_name("vigil_agent_records_dropped_total", "Records dropped before delivery, by reason.",
          "reason", options_.drop_reasons, s.records_dropped, folds_.reason);
  single("vigil_agent_batches_sealed_total", "Batches sealed for sending.", MetricType::Counter,
         static_cast<double>(s.batches_sealed));
  single("vigil_agent_batches_acked_total", "Batches the collector acknowledged.",
         MetricType::Counter, static_cast<double>(s.batches_acked));
  single("vigil_agent_spool_bytes", "Bytes in the on-disk spool.", MetricType::Gauge,
         static_cast<double>(s.spool_bytes));
  single("vigil_agent_spool_capacity_bytes", "Size limit of the on-disk spool.", MetricType::Gauge,
         static_cast<double>(s.spool_capacity_bytes));
  single("vigil_agent_collector_connected", "1 while a stream to the collector is open.",
         MetricType::Gauge, s.collector_connected ? 1 : 0);
  single("vigil_agent_collector_connects_total", "Streams opened to the collector.",
         MetricType::Counter, static_cast<double>(s.collector_connects));
  single("vigil_agent_collector_connect_failures_total",
         "Failed attempts to open a stream to the collector.", MetricType::Counter,
         static_cast<double>(s.collector_connect_failures));
  single("vigil_agent_certificate_expiry_timestamp_seconds",
         "notAfter of the agent's certificate, Unix seconds (0: unknown).", MetricType::Gauge,
         static_cast<double>(s.certificate_not_after_unix));

  Family folds("vigil_agent_metrics_label_folds_total",
               "Distinct names outside a registered label set, folded into \"other\".",
               MetricType::Counter);
  folds.Add({L("label", "interface")}, static_cast<double>(folds_.interface));
  folds.Add({L("label", "anomaly")}, static_cast<double>(folds_.anomaly));
  folds.Add({L("label", "reason")}, static_cast<double>(folds_.reason));
  out.push_back(folds.Take());
  single("vigil_agent_metrics_source_errors_total",
         "Snapshot callbacks that failed at scrape time (last good snapshot served).",
         MetricType::Counter, static_cast<double>(source_errors_));
  return out;
}

std::string AgentMetrics::ScrapeText() const {
  return prometheus::TextSerializer().Serialize(Collect());
}

}  // namespace vigil::agent::metrics
