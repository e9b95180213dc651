#include "collector/metrics/collector_metrics.h"

#include <algorithm>
#include <cstdint>
#include <exception>
#include <limits>
#include <set>
#include <utility>

#include "collector/metrics/label_value.h"
#include "prometheus/text_serializer.h"

namespace vigil::collector::metrics {

namespace {

constexpr std::array<std::string_view, kLevelCount> kLevelNames = {"informational", "low", "medium",
                                                                   "high", "critical"};
constexpr std::array<std::string_view, kLogTypeCount> kLogTypeNames = {"conn", "dns", "ssl",
                                                                       "http"};
constexpr std::array<std::string_view, kProtocolCount> kProtocolNames = {"tcp", "udp", "icmp",
                                                                         "other"};
constexpr std::array<std::string_view, kRuleStateCount> kRuleStateNames = {"enforce", "shadow",
                                                                           "disabled"};
constexpr std::array<std::string_view, kAgentStateCount> kAgentStateNames = {
    "up", "silent", "stopped", "never_seen"};
constexpr std::array<std::string_view, 4> kFoldLabelNames = {"agent", "agency", "rule_id",
                                                             "reason"};
constexpr std::array<std::string_view, 4> kSourceNames = {"agents", "ingest", "engine", "store"};

// Agency of agents the identity map does not list (allow_unlisted_agents),
// as docs/configuration.md names it.
constexpr std::string_view kUnassignedAgency = "unassigned";
// The series values outside a bounded set are folded into.
constexpr std::string_view kOther = "other";
constexpr std::size_t kMaxRememberedReasons = 1024;

enum TrafficMetric : std::size_t { kBytes = 0, kPackets = 1, kFlows = 2, kTrafficMetricCount = 3 };

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
template <typename V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

double UnixSeconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

using Labels = std::vector<prometheus::ClientMetric::Label>;

// Builds one MetricFamily; the value goes to the field the type reads.
class Family {
 public:
  Family(std::string name, std::string help, prometheus::MetricType type) {
    family_.name = std::move(name);
    family_.help = std::move(help);
    family_.type = type;
  }

  void Add(Labels labels, double value) {
    prometheus::ClientMetric m;
    m.label = std::move(labels);
    switch (family_.type) {
      case prometheus::MetricType::Counter:
        m.counter.value = value;
        break;
      case prometheus::MetricType::Gauge:
        m.gauge.value = value;
        break;
      default:
        m.untyped.value = value;
        break;
    }
    family_.metric.push_back(std::move(m));
  }

  void AddHistogram(Labels labels, const HistogramSnapshot& h) {
    prometheus::ClientMetric m;
    m.label = std::move(labels);
    m.histogram.sample_count = h.count;
    m.histogram.sample_sum = h.sum;
    for (std::size_t i = 0; i < h.upper_bounds.size(); ++i) {
      m.histogram.bucket.push_back({h.cumulative_counts[i], h.upper_bounds[i]});
    }
    m.histogram.bucket.push_back(
        {h.cumulative_counts.back(), std::numeric_limits<double>::infinity()});
    family_.metric.push_back(std::move(m));
  }

  prometheus::MetricFamily Take() { return std::move(family_); }

 private:
  prometheus::MetricFamily family_;
};

prometheus::ClientMetric::Label L(std::string_view name, std::string_view value) {
  return {std::string(name), std::string(value)};
}

// Registered reason names plus `other`, sanitised once.
std::vector<std::string> ReasonSet(const std::vector<std::string>& names) {
  std::vector<std::string> out;
  for (const auto& n : names) {
    std::string clean = SanitizeLabelValue(n);
    if (clean != kOther && std::find(out.begin(), out.end(), clean) == out.end()) {
      out.push_back(std::move(clean));
    }
  }
  out.emplace_back(kOther);
  return out;
}

}  // namespace

std::string_view LevelName(Level level) { return kLevelNames[static_cast<std::size_t>(level)]; }
std::string_view LogTypeName(LogType type) { return kLogTypeNames[static_cast<std::size_t>(type)]; }
std::string_view ProtocolName(Protocol protocol) {
  return kProtocolNames[static_cast<std::size_t>(protocol)];
}
std::string_view RuleStateName(RuleState state) {
  return kRuleStateNames[static_cast<std::size_t>(state)];
}
std::string_view AgentStateName(AgentState state) {
  return kAgentStateNames[static_cast<std::size_t>(state)];
}

namespace detail {

struct AgencyCell {
  AgencyCell(uint32_t i, std::string raw, std::size_t service_count)
      : index(i),
        name(SanitizeLabelValue(raw)),
        services(service_count),
        traffic(std::make_unique<std::atomic<uint64_t>[]>(kTrafficMetricCount * kProtocolCount *
                                                          service_count)) {}

  std::atomic<uint64_t>& Traffic(std::size_t metric, std::size_t protocol,
                                 std::size_t service) const {
    return traffic[(metric * kProtocolCount + protocol) * services + service];
  }

  const uint32_t index;
  const std::string name;
  const std::size_t services;
  bool listed = false;            // guarded by tables_mu_
  std::atomic<bool> used{false};  // fold bucket that received data
  std::unique_ptr<std::atomic<uint64_t>[]> traffic;
};

struct AgentCell {
  explicit AgentCell(std::string raw) : raw_identity(std::move(raw)) {
    identity = SanitizeLabelValue(raw_identity);
  }

  const std::string raw_identity;
  std::string identity;
  std::string site;  // guarded by tables_mu_
  std::atomic<AgencyCell*> agency{nullptr};
  bool listed = false;    // in the identity map; guarded by tables_mu_
  bool unlisted = false;  // created for an unlisted agent
  bool overflow = false;  // the shared agent="other" cell
  std::atomic<bool> used{false};
  std::array<std::atomic<uint64_t>, kLogTypeCount> events{};
  std::shared_ptr<TopTalkerShard> talkers;  // null when top talkers are off
};

struct AlertCounters {
  std::array<std::atomic<uint64_t>, 3> by_outcome{};  // indexed by AlertOutcome
};

struct RuleCell {
  explicit RuleCell(std::string raw) : id(SanitizeLabelValue(raw)) {}
  const std::string id;
  RuleInfo info;        // guarded by tables_mu_
  bool loaded = false;  // in the current rule set; guarded by tables_mu_
  bool fold = false;    // the rule_id="other" cell
  std::atomic<bool> used{false};
  // Indexed by AgencyCell::index; grown (under the exclusive lock) whenever
  // an agency is created, so every agency always has a slot.
  std::vector<std::unique_ptr<AlertCounters>> by_agency;
};

}  // namespace detail

using detail::AgencyCell;
using detail::AgentCell;
using detail::AlertCounters;
using detail::RuleCell;

struct CollectorMetrics::Tables {
  StringMap<std::unique_ptr<AgencyCell>> agencies;
  std::vector<AgencyCell*> agency_by_index;
  AgencyCell* unassigned = nullptr;
  StringMap<std::unique_ptr<AgentCell>> agents;
  AgentCell* overflow_agent = nullptr;
  std::size_t unlisted_agents = 0;
  bool allow_unlisted = false;
  std::chrono::milliseconds silence_after{30000};

  StringMap<std::unique_ptr<RuleCell>> rules;
  std::unique_ptr<RuleCell> fold_rule;
  std::string ruleset_hash = "none";

  uint64_t reloads_success = 0;
  uint64_t reloads_failure = 0;
  bool last_reload_successful = false;
  double last_reload_time = 0;
  double last_success_time = 0;

  std::vector<CertificateExpiry> certificates;
};

struct CollectorMetrics::Sources {
  std::function<std::vector<AgentStatus>()> agents;
  std::function<IngestStatus()> ingest;
  std::function<EngineStatus()> engine;
  std::function<StoreStatus()> store;
  std::vector<AgentStatus> last_agents;
  IngestStatus last_ingest;
  EngineStatus last_engine;
  StoreStatus last_store;
  std::array<uint64_t, kSourceCount> errors{};
  std::set<std::string, std::less<>> unknown_reasons;  // folded names seen so far
};

CollectorMetrics::CollectorMetrics(CollectorMetricsOptions options)
    : options_(std::move(options)),
      tables_(std::make_unique<Tables>()),
      rule_evaluation_(options_.rule_evaluation_buckets),
      store_write_(options_.store_write_buckets),
      sources_(std::make_unique<Sources>()) {
  if (!options_.clock) options_.clock = [] { return std::chrono::system_clock::now(); };
  start_time_ = Now();
  for (const auto& s : options_.services) {
    std::string clean = SanitizeLabelValue(s);
    if (clean.empty() || clean == kOther || clean == "none") continue;
    if (std::find(service_names_.begin(), service_names_.end(), clean) == service_names_.end()) {
      service_names_.push_back(std::move(clean));
    }
  }
  // Two ids are reserved for other and none; ServiceId is one byte.
  if (service_names_.size() > 253) service_names_.resize(253);
  service_names_.emplace_back(kOther);
  service_names_.emplace_back("none");
  options_.ingest_drop_reasons = ReasonSet(options_.ingest_drop_reasons);
  options_.tls_rejection_reasons = ReasonSet(options_.tls_rejection_reasons);
  options_.forward_drop_reasons = ReasonSet(options_.forward_drop_reasons);
  options_.agent_drop_reasons = ReasonSet(options_.agent_drop_reasons);
  if (options_.top_talkers.top_k > 0) {
    top_talkers_ = std::make_unique<TopTalkers>(options_.top_talkers);
  }

  std::unique_lock lock(tables_mu_);
  tables_->fold_rule = std::make_unique<RuleCell>(std::string(kOther));
  tables_->fold_rule->fold = true;
  tables_->unassigned = AgencyLocked(kUnassignedAgency);
  auto overflow = std::make_unique<AgentCell>(std::string(kOther));
  overflow->overflow = true;
  overflow->agency.store(tables_->unassigned);
  if (top_talkers_) overflow->talkers = top_talkers_->NewShard();
  tables_->overflow_agent = overflow.get();
  // Keyed by a name no certificate CN can produce (CNs cannot be empty here:
  // the ingest module rejects them), so a real agent "other" stays distinct.
  tables_->agents.emplace(std::string(), std::move(overflow));
  lock.unlock();

  SetAgentSilenceAfter(options_.agent_silence_after);
  SetAgents(options_.agents, options_.allow_unlisted_agents);
}

CollectorMetrics::~CollectorMetrics() = default;

std::chrono::system_clock::time_point CollectorMetrics::Now() const { return options_.clock(); }

AgencyCell* CollectorMetrics::AgencyLocked(std::string_view name) {
  auto& t = *tables_;
  if (auto it = t.agencies.find(name); it != t.agencies.end()) return it->second.get();
  const auto index = static_cast<uint32_t>(t.agency_by_index.size());
  auto cell = std::make_unique<AgencyCell>(index, std::string(name), service_names_.size());
  AgencyCell* raw = cell.get();
  t.agencies.emplace(std::string(name), std::move(cell));
  t.agency_by_index.push_back(raw);
  for (auto& [id, rule] : t.rules) rule->by_agency.push_back(std::make_unique<AlertCounters>());
  t.fold_rule->by_agency.push_back(std::make_unique<AlertCounters>());
  return raw;
}

void CollectorMetrics::SetAgents(std::vector<AgentIdentity> agents, bool allow_unlisted_agents) {
  std::unique_lock lock(tables_mu_);
  auto& t = *tables_;
  t.allow_unlisted = allow_unlisted_agents;
  for (auto& [name, cell] : t.agents) cell->listed = false;
  for (auto& [name, cell] : t.agencies) cell->listed = false;
  for (const auto& a : agents) {
    if (a.identity.empty()) continue;  // the config loader rejects these
    auto it = t.agents.find(a.identity);
    if (it == t.agents.end()) {
      auto cell = std::make_unique<AgentCell>(a.identity);
      if (top_talkers_) cell->talkers = top_talkers_->NewShard();
      it = t.agents.emplace(a.identity, std::move(cell)).first;
    }
    AgentCell& cell = *it->second;
    AgencyCell* agency = AgencyLocked(a.agency);
    agency->listed = true;
    cell.listed = true;
    cell.unlisted = false;
    cell.site = SanitizeLabelValue(a.site);
    cell.agency.store(agency, std::memory_order_release);
  }
  // Agents that were unlisted and are now neither listed nor allowed stop
  // being shown; they count against the budget no more.
  std::size_t unlisted = 0;
  for (auto& [name, cell] : t.agents) {
    if (cell->unlisted && !cell->listed) {
      ++unlisted;
      cell->agency.store(t.unassigned, std::memory_order_release);
    }
  }
  t.unlisted_agents = unlisted;
}

void CollectorMetrics::SetAgentSilenceAfter(std::chrono::milliseconds silence_after) {
  std::unique_lock lock(tables_mu_);
  tables_->silence_after = silence_after;
}

AgentHandle CollectorMetrics::Agent(std::string_view identity) {
  {
    std::shared_lock lock(tables_mu_);
    auto& t = *tables_;
    if (!identity.empty()) {
      if (auto it = t.agents.find(identity); it != t.agents.end()) {
        AgentCell* cell = it->second.get();
        if (cell->listed || (cell->unlisted && t.allow_unlisted)) return AgentHandle(cell);
      }
    }
  }
  std::unique_lock lock(tables_mu_);
  auto& t = *tables_;
  if (!identity.empty()) {
    if (auto it = t.agents.find(identity); it != t.agents.end()) {
      AgentCell* cell = it->second.get();
      if (cell->listed || (cell->unlisted && t.allow_unlisted)) return AgentHandle(cell);
    }
    if (t.allow_unlisted && t.unlisted_agents < options_.max_unlisted_agents) {
      auto it = t.agents.find(identity);
      if (it == t.agents.end()) {
        auto cell = std::make_unique<AgentCell>(std::string(identity));
        if (top_talkers_) cell->talkers = top_talkers_->NewShard();
        it = t.agents.emplace(std::string(identity), std::move(cell)).first;
      }
      AgentCell* cell = it->second.get();
      cell->unlisted = true;
      cell->agency.store(t.unassigned, std::memory_order_release);
      ++t.unlisted_agents;
      return AgentHandle(cell);
    }
  }
  Fold(FoldLabel::kAgent);
  t.overflow_agent->used.store(true, std::memory_order_relaxed);
  t.unassigned->used.store(true, std::memory_order_relaxed);
  return AgentHandle(t.overflow_agent);
}

void CollectorMetrics::SetRuleset(std::string_view ruleset_hash, std::vector<RuleInfo> rules) {
  std::unique_lock lock(tables_mu_);
  auto& t = *tables_;
  t.ruleset_hash = ruleset_hash.empty() ? "none" : SanitizeLabelValue(ruleset_hash);
  for (auto& [id, cell] : t.rules) cell->loaded = false;
  for (auto& r : rules) {
    if (r.id.empty()) continue;
    auto it = t.rules.find(r.id);
    if (it == t.rules.end()) {
      auto cell = std::make_unique<RuleCell>(r.id);
      for (std::size_t i = 0; i < t.agency_by_index.size(); ++i) {
        cell->by_agency.push_back(std::make_unique<AlertCounters>());
      }
      it = t.rules.emplace(r.id, std::move(cell)).first;
    }
    RuleCell& cell = *it->second;
    // A rule whose level changed is a new label set: its counts start again
    // at 0 rather than carrying the old level's history into the new series.
    if (cell.info.level != r.level) {
      for (auto& c : cell.by_agency) {
        for (auto& v : c->by_outcome) v.store(0, std::memory_order_relaxed);
      }
    }
    cell.info = std::move(r);
    cell.info.status = SanitizeLabelValue(cell.info.status);
    cell.loaded = true;
  }
}

void CollectorMetrics::RecordRulesReload(bool success) {
  const double now = UnixSeconds(Now());
  std::unique_lock lock(tables_mu_);
  auto& t = *tables_;
  (success ? t.reloads_success : t.reloads_failure)++;
  t.last_reload_successful = success;
  t.last_reload_time = now;
  if (success) t.last_success_time = now;
}

void CollectorMetrics::SetCertificates(std::vector<CertificateExpiry> certificates) {
  for (auto& c : certificates) c.name = SanitizeLabelValue(c.name);
  std::unique_lock lock(tables_mu_);
  tables_->certificates = std::move(certificates);
}

void CollectorMetrics::SetAgentStatusSource(std::function<std::vector<AgentStatus>()> source) {
  std::lock_guard lock(scrape_mu_);
  sources_->agents = std::move(source);
}
void CollectorMetrics::SetIngestStatusSource(std::function<IngestStatus()> source) {
  std::lock_guard lock(scrape_mu_);
  sources_->ingest = std::move(source);
}
void CollectorMetrics::SetEngineStatusSource(std::function<EngineStatus()> source) {
  std::lock_guard lock(scrape_mu_);
  sources_->engine = std::move(source);
}
void CollectorMetrics::SetStoreStatusSource(std::function<StoreStatus()> source) {
  std::lock_guard lock(scrape_mu_);
  sources_->store = std::move(source);
}

ServiceId CollectorMetrics::ResolveService(std::span<const std::string> services) const {
  const auto other = static_cast<ServiceId>(service_names_.size() - 2);
  if (services.empty()) return static_cast<ServiceId>(service_names_.size() - 1);
  for (const auto& s : services) {
    for (std::size_t i = 0; i + 2 < service_names_.size(); ++i) {
      if (service_names_[i] == s) return static_cast<ServiceId>(i);
    }
  }
  return other;
}

ServiceId CollectorMetrics::ResolveService(std::string_view comma_joined) const {
  const auto other = static_cast<ServiceId>(service_names_.size() - 2);
  if (comma_joined.empty()) return static_cast<ServiceId>(service_names_.size() - 1);
  while (!comma_joined.empty()) {
    const auto comma = comma_joined.find(',');
    const std::string_view one = comma_joined.substr(0, comma);
    for (std::size_t i = 0; i + 2 < service_names_.size(); ++i) {
      if (service_names_[i] == one) return static_cast<ServiceId>(i);
    }
    if (comma == std::string_view::npos) break;
    comma_joined.remove_prefix(comma + 1);
  }
  return other;
}

void CollectorMetrics::Fold(FoldLabel label) const noexcept {
  folds_[static_cast<std::size_t>(label)].fetch_add(1, std::memory_order_relaxed);
}

void CollectorMetrics::OnEvents(AgentHandle agent, LogType type, uint64_t count) noexcept {
  if (!agent.cell_) return;
  const auto i = static_cast<std::size_t>(type);
  if (i >= kLogTypeCount) return;
  agent.cell_->events[i].fetch_add(count, std::memory_order_relaxed);
}

void CollectorMetrics::OnFlow(AgentHandle agent, const FlowSample& flow) noexcept {
  if (!agent.cell_) return;
  AgencyCell* agency = agent.cell_->agency.load(std::memory_order_acquire);
  if (agency == nullptr) return;
  const auto protocol =
      std::min<std::size_t>(static_cast<std::size_t>(flow.protocol), kProtocolCount - 1);
  std::size_t service = flow.service;
  if (service >= service_names_.size()) service = service_names_.size() - 2;  // other
  agency->Traffic(kBytes, protocol, service).fetch_add(flow.bytes, std::memory_order_relaxed);
  agency->Traffic(kPackets, protocol, service).fetch_add(flow.packets, std::memory_order_relaxed);
  if (flow.flow_ended) {
    agency->Traffic(kFlows, protocol, service).fetch_add(1, std::memory_order_relaxed);
  }
  if (agent.cell_->talkers && flow.bytes > 0) {
    // A host's traffic is what it sent and received: each endpoint is
    // credited with the flow's bytes (docs/metrics.md).
    const int64_t epoch = top_talkers_->EpochAt(Now());
    agent.cell_->talkers->Add(epoch, agency->index, flow.orig_address, flow.bytes);
    agent.cell_->talkers->Add(epoch, agency->index, flow.resp_address, flow.bytes);
  }
}

void CollectorMetrics::OnAlert(std::string_view rule_id, std::string_view agency,
                               AlertOutcome outcome, uint64_t count) noexcept {
  const auto o = static_cast<std::size_t>(outcome);
  if (o >= 3) return;
  std::shared_lock lock(tables_mu_);
  auto& t = *tables_;
  RuleCell* rule = nullptr;
  if (auto it = t.rules.find(rule_id); it != t.rules.end() && it->second->loaded) {
    rule = it->second.get();
  } else {
    // An alert of a rule the last SetRuleset did not list: the app reloaded
    // the engine before telling us, or passed a wrong id. Counted, not lost.
    Fold(FoldLabel::kRuleId);
    rule = t.fold_rule.get();
    rule->used.store(true, std::memory_order_relaxed);
  }
  AgencyCell* cell = nullptr;
  if (auto it = t.agencies.find(agency); it != t.agencies.end() && it->second->listed) {
    cell = it->second.get();
  } else {
    if (agency != kUnassignedAgency) Fold(FoldLabel::kAgency);
    cell = t.unassigned;
    cell->used.store(true, std::memory_order_relaxed);
  }
  rule->by_agency[cell->index]->by_outcome[o].fetch_add(count, std::memory_order_relaxed);
}

void CollectorMetrics::ObserveRuleEvaluation(double seconds) noexcept {
  rule_evaluation_.Observe(seconds);
}

void CollectorMetrics::ObserveStoreWrite(double seconds) noexcept { store_write_.Observe(seconds); }

std::vector<prometheus::MetricFamily> CollectorMetrics::Collect() const {
  using prometheus::MetricType;
  const auto now = Now();
  std::vector<prometheus::MetricFamily> out;

  std::lock_guard scrape_lock(scrape_mu_);
  Sources& src = *sources_;
  // Each source runs on this scrape thread. A throwing source must not take
  // the whole /metrics down: count it and keep its last good snapshot.
  auto refresh = [&](Source which, auto& fn, auto& last) {
    if (!fn) return;
    try {
      last = fn();
    } catch (...) {
      ++src.errors[static_cast<std::size_t>(which)];
    }
  };
  refresh(Source::kAgents, src.agents, src.last_agents);
  refresh(Source::kIngest, src.ingest, src.last_ingest);
  refresh(Source::kEngine, src.engine, src.last_engine);
  refresh(Source::kStore, src.store, src.last_store);

  std::shared_lock lock(tables_mu_);
  const Tables& t = *tables_;

  auto agency_exposed = [&](const AgencyCell& a) {
    return a.listed ||
           (&a == t.unassigned && (t.allow_unlisted || a.used.load(std::memory_order_relaxed)));
  };
  auto agent_exposed = [&](const AgentCell& a) {
    if (a.overflow) return a.used.load(std::memory_order_relaxed);
    return a.listed || (a.unlisted && t.allow_unlisted);
  };

  std::vector<const AgencyCell*> agencies;
  for (const AgencyCell* a : t.agency_by_index) {
    if (agency_exposed(*a)) agencies.push_back(a);
  }
  std::sort(agencies.begin(), agencies.end(),
            [](const AgencyCell* a, const AgencyCell* b) { return a->name < b->name; });
  std::vector<const AgentCell*> agents;
  for (const auto& [name, a] : t.agents) {
    if (agent_exposed(*a)) agents.push_back(a.get());
  }
  std::sort(agents.begin(), agents.end(),
            [](const AgentCell* a, const AgentCell* b) { return a->identity < b->identity; });
  std::vector<const RuleCell*> rules;
  for (const auto& [id, r] : t.rules) {
    if (r->loaded) rules.push_back(r.get());
  }
  std::sort(rules.begin(), rules.end(),
            [](const RuleCell* a, const RuleCell* b) { return a->id < b->id; });
  const bool fold_rule_shown = t.fold_rule->used.load(std::memory_order_relaxed);

  // --- The collector itself --------------------------------------------------
  {
    Family f("vigil_collector_build_info", "Collector build; always 1.", MetricType::Gauge);
    f.Add({L("version", options_.version.empty() ? "unknown" : options_.version)}, 1);
    out.push_back(f.Take());
  }
  {
    Family f("vigil_collector_start_time_seconds", "Collector start time, Unix seconds.",
             MetricType::Gauge);
    f.Add({}, UnixSeconds(start_time_));
    out.push_back(f.Take());
  }
  {
    Family f("vigil_collector_certificate_expiry_timestamp_seconds",
             "notAfter of the collector's own certificates, Unix seconds.", MetricType::Gauge);
    for (const auto& c : t.certificates) {
      f.Add({L("certificate", c.name)}, static_cast<double>(c.not_after_unix));
    }
    out.push_back(f.Take());
  }

  // --- Ingest -----------------------------------------------------------------
  {
    Family f("vigil_ingest_events_total", "Events received from agents, by log type.",
             MetricType::Counter);
    for (const AgentCell* a : agents) {
      const AgencyCell* agency = a->agency.load(std::memory_order_acquire);
      for (std::size_t i = 0; i < kLogTypeCount; ++i) {
        f.Add({L("agent", a->identity), L("agency", agency->name), L("log_type", kLogTypeNames[i])},
              static_cast<double>(a->events[i].load(std::memory_order_relaxed)));
      }
    }
    out.push_back(f.Take());
  }
  {
    Family q("vigil_ingest_queue_events", "Events waiting for the rule engine.", MetricType::Gauge);
    q.Add({}, static_cast<double>(src.last_ingest.queue_events));
    out.push_back(q.Take());
    Family c("vigil_ingest_queue_capacity_events", "Capacity of the ingest queue, in events.",
             MetricType::Gauge);
    c.Add({}, static_cast<double>(src.last_ingest.queue_capacity_events));
    out.push_back(c.Take());
  }
  // Cumulative counts by reason from a snapshot: registered names + other.
  auto SumByReason = [&](const std::vector<std::string>& reasons,
                         const std::vector<NamedCount>& values) {
    std::vector<uint64_t> sums(reasons.size(), 0);
    for (const auto& v : values) {
      auto it = std::find(reasons.begin(), reasons.end(), v.name);
      if (it == reasons.end()) {
        it = reasons.end() - 1;  // other
        // Counted once per distinct name (the values are cumulative), and the
        // set of names remembered is bounded like everything else here.
        // Keyed by the reason set too: the same unknown name in two
        // families is two folds.
        std::string key = std::to_string(reinterpret_cast<std::uintptr_t>(&reasons));
        key.push_back('\0');
        key.append(v.name);
        if (src.unknown_reasons.size() < kMaxRememberedReasons &&
            src.unknown_reasons.insert(std::move(key)).second) {
          Fold(FoldLabel::kReason);
        }
      }
      sums[static_cast<std::size_t>(it - reasons.begin())] += v.value;
    }
    return sums;
  };
  auto by_reason = [&](Family& f, const std::vector<std::string>& reasons,
                       const std::vector<NamedCount>& values) {
    const std::vector<uint64_t> sums = SumByReason(reasons, values);
    for (std::size_t i = 0; i < reasons.size(); ++i) {
      f.Add({L("reason", reasons[i])}, static_cast<double>(sums[i]));
    }
  };
  {
    Family f("vigil_ingest_dropped_events_total", "Events the collector dropped, by reason.",
             MetricType::Counter);
    by_reason(f, options_.ingest_drop_reasons, src.last_ingest.dropped_events);
    out.push_back(f.Take());
  }
  {
    Family f("vigil_tls_handshake_rejections_total",
             "Agent connections rejected during the TLS handshake or identity check, by reason.",
             MetricType::Counter);
    by_reason(f, options_.tls_rejection_reasons, src.last_ingest.handshake_rejections);
    out.push_back(f.Take());
  }

  // --- Fleet --------------------------------------------------------------------
  {
    std::unordered_map<std::string_view, const AgentStatus*> status_of;
    for (const auto& s : src.last_agents) status_of[s.identity] = &s;
    const auto silence_ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(t.silence_after).count();
    const int64_t now_ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();
    std::size_t matched = 0;

    Family info("vigil_fleet_agent_info", "Known agents and their agency and site; always 1.",
                MetricType::Gauge);
    Family state("vigil_fleet_agent_state",
                 "Agent state: 1 for the current state (up, silent, stopped, never_seen).",
                 MetricType::Gauge);
    Family connected("vigil_fleet_agent_connected", "1 while the agent has a stream open.",
                     MetricType::Gauge);
    Family last_seen("vigil_fleet_agent_last_seen_timestamp_seconds",
                     "Last message from the agent, Unix seconds (0: never).", MetricType::Gauge);
    Family lag("vigil_fleet_agent_lag_seconds",
               "Collector receive time minus creation time of the agent's last batch.",
               MetricType::Gauge);
    Family offset("vigil_fleet_agent_clock_offset_seconds",
                  "Agent clock minus collector clock (positive: agent ahead).", MetricType::Gauge);
    Family spool("vigil_fleet_agent_spool_bytes", "Bytes in the agent's on-disk spool.",
                 MetricType::Gauge);
    Family spool_cap("vigil_fleet_agent_spool_capacity_bytes", "Size limit of the agent's spool.",
                     MetricType::Gauge);
    Family packets("vigil_fleet_agent_capture_packets_total",
                   "Packets the agent captured (all interfaces), from its heartbeats.",
                   MetricType::Counter);
    Family drops("vigil_fleet_agent_capture_dropped_packets_total",
                 "Packets lost before the agent saw them, by layer (kernel, interface).",
                 MetricType::Counter);
    Family lost("vigil_fleet_agent_dropped_records_total",
                "Records the agent produced and dropped before delivery, by reason.",
                MetricType::Counter);
    Family cert("vigil_fleet_agent_certificate_expiry_timestamp_seconds",
                "notAfter of the agent's verified certificate, Unix seconds (0: not seen yet).",
                MetricType::Gauge);
    const AgentStatus empty;
    for (const AgentCell* a : agents) {
      const AgencyCell* agency = a->agency.load(std::memory_order_acquire);
      const auto it = status_of.find(a->raw_identity);
      const AgentStatus* s = it == status_of.end() ? nullptr : it->second;
      if (s != nullptr) ++matched;
      const AgentStatus& v = s != nullptr ? *s : empty;
      AgentState st = AgentState::kUp;
      if (v.last_seen_unix_ns == 0) {
        st = AgentState::kNeverSeen;
      } else if (!v.connected && v.said_goodbye) {
        st = AgentState::kStopped;
      } else if (now_ns - v.last_seen_unix_ns > silence_ns) {
        st = AgentState::kSilent;
      }
      const auto id = [&]() { return Labels{L("agent", a->identity), L("agency", agency->name)}; };
      info.Add({L("agent", a->identity), L("agency", agency->name), L("site", a->site)}, 1);
      for (std::size_t i = 0; i < kAgentStateCount; ++i) {
        Labels l = id();
        l.push_back(L("state", kAgentStateNames[i]));
        state.Add(std::move(l), static_cast<std::size_t>(st) == i ? 1 : 0);
      }
      connected.Add(id(), v.connected ? 1 : 0);
      last_seen.Add(id(), static_cast<double>(v.last_seen_unix_ns) / 1e9);
      lag.Add(id(), v.lag_seconds);
      offset.Add(id(), v.clock_offset_seconds);
      spool.Add(id(), static_cast<double>(v.spool_bytes));
      spool_cap.Add(id(), static_cast<double>(v.spool_capacity_bytes));
      packets.Add(id(), static_cast<double>(v.capture_packets));
      for (auto [layer, value] : {std::pair{"kernel", v.capture_kernel_drops},
                                  std::pair{"interface", v.capture_interface_drops}}) {
        Labels l = id();
        l.push_back(L("layer", layer));
        drops.Add(std::move(l), static_cast<double>(value));
      }
      const auto& reasons = options_.agent_drop_reasons;
      const std::vector<uint64_t> sums = SumByReason(reasons, v.records_dropped);
      for (std::size_t i = 0; i < reasons.size(); ++i) {
        Labels l = id();
        l.push_back(L("reason", reasons[i]));
        lost.Add(std::move(l), static_cast<double>(sums[i]));
      }
      cert.Add(id(), static_cast<double>(v.certificate_not_after_unix));
    }
    for (Family* f : {&info, &state, &connected, &last_seen, &lag, &offset, &spool, &spool_cap,
                      &packets, &drops, &lost, &cert}) {
      out.push_back(f->Take());
    }
    Family unmatched("vigil_metrics_unmatched_agent_statuses",
                     "Agent statuses in the last snapshot for identities with no series "
                     "(not in the identity map and unlisted agents not allowed).",
                     MetricType::Gauge);
    unmatched.Add({}, static_cast<double>(src.last_agents.size() -
                                          std::min(matched, src.last_agents.size())));
    out.push_back(unmatched.Take());
  }

  // --- Detection ----------------------------------------------------------------
  {
    Family raised("vigil_alerts_total", "Alerts raised, by rule, level and agency.",
                  MetricType::Counter);
    Family shadow("vigil_shadow_alerts_total",
                  "Alerts of rules in shadow mode (recorded, not raised).", MetricType::Counter);
    Family suppressed("vigil_suppressed_alerts_total",
                      "Alerts folded by throttling into a suppression summary.",
                      MetricType::Counter);
    Family* by_outcome[3] = {&raised, &shadow, &suppressed};
    auto emit_rule = [&](const RuleCell& r, std::string_view level) {
      for (const AgencyCell* a : agencies) {
        const AlertCounters& c = *r.by_agency[a->index];
        for (std::size_t o = 0; o < 3; ++o) {
          by_outcome[o]->Add({L("rule_id", r.id), L("level", level), L("agency", a->name)},
                             static_cast<double>(c.by_outcome[o].load(std::memory_order_relaxed)));
        }
      }
    };
    for (const RuleCell* r : rules) emit_rule(*r, LevelName(r->info.level));
    if (fold_rule_shown) emit_rule(*t.fold_rule, kOther);
    out.push_back(raised.Take());
    out.push_back(shadow.Take());
    out.push_back(suppressed.Take());
  }
  {
    std::array<uint64_t, kRuleStateCount> counts{};
    Family info("vigil_rule_info", "Loaded rules with their level, state and Sigma status; 1.",
                MetricType::Gauge);
    for (const RuleCell* r : rules) {
      counts[static_cast<std::size_t>(r->info.state)]++;
      info.Add({L("rule_id", r->id), L("level", LevelName(r->info.level)),
                L("state", RuleStateName(r->info.state)),
                L("status", r->info.status.empty() ? "unknown" : r->info.status)},
               1);
    }
    Family loaded("vigil_rules_loaded", "Rules in the active rule set, by state.",
                  MetricType::Gauge);
    for (std::size_t i = 0; i < kRuleStateCount; ++i) {
      loaded.Add({L("state", kRuleStateNames[i])}, static_cast<double>(counts[i]));
    }
    out.push_back(loaded.Take());
    out.push_back(info.Take());
  }
  {
    Family f("vigil_ruleset_info", "Hash of the active rule set; always 1.", MetricType::Gauge);
    f.Add({L("ruleset_hash", t.ruleset_hash)}, 1);
    out.push_back(f.Take());
    Family reloads("vigil_rules_reloads_total", "Rule (re)load attempts, by result.",
                   MetricType::Counter);
    reloads.Add({L("result", "success")}, static_cast<double>(t.reloads_success));
    reloads.Add({L("result", "failure")}, static_cast<double>(t.reloads_failure));
    out.push_back(reloads.Take());
    Family ok("vigil_rules_last_reload_successful",
              "1 if the last rule (re)load succeeded, 0 if it failed or none happened yet.",
              MetricType::Gauge);
    ok.Add({}, t.last_reload_successful ? 1 : 0);
    out.push_back(ok.Take());
    Family when("vigil_rules_last_reload_timestamp_seconds",
                "Time of the last rule (re)load attempt, Unix seconds.", MetricType::Gauge);
    when.Add({}, t.last_reload_time);
    out.push_back(when.Take());
    Family when_ok("vigil_rules_last_successful_reload_timestamp_seconds",
                   "Time of the last successful rule (re)load, Unix seconds.", MetricType::Gauge);
    when_ok.Add({}, t.last_success_time);
    out.push_back(when_ok.Take());
  }
  {
    Family f("vigil_rules_evaluation_duration_seconds",
             "Time to evaluate one event against the whole rule set.", MetricType::Histogram);
    f.AddHistogram({}, rule_evaluation_.Snapshot());
    out.push_back(f.Take());
  }
  if (src.engine) {
    std::unordered_map<std::string_view, double> cost;
    for (const auto& c : src.last_engine.rule_costs) cost[c.rule_id] += c.seconds;
    Family f("vigil_rule_evaluation_seconds_total",
             "Time spent evaluating each rule (rule profiling).", MetricType::Counter);
    for (const auto& [raw_id, r] : t.rules) {
      if (!r->loaded) continue;
      const auto it = cost.find(raw_id);
      f.Add({L("rule_id", r->id), L("level", LevelName(r->info.level))},
            it == cost.end() ? 0 : it->second);
    }
    out.push_back(f.Take());
  }

  // --- Incident store -------------------------------------------------------------
  {
    const StoreStatus& s = src.last_store;
    Family open("vigil_incidents_open", "Open incidents, by level.", MetricType::Gauge);
    for (std::size_t i = 0; i < kLevelCount; ++i) {
      open.Add({L("level", kLevelNames[i])}, static_cast<double>(s.open_incidents[i]));
    }
    out.push_back(open.Take());
    Family stored("vigil_incidents_alerts_stored_total", "Alerts committed to the incident log.",
                  MetricType::Counter);
    stored.Add({}, static_cast<double>(s.alerts_stored));
    out.push_back(stored.Take());
    Family errors("vigil_incidents_write_errors_total", "Failed incident-log writes.",
                  MetricType::Counter);
    errors.Add({}, static_cast<double>(s.write_errors));
    out.push_back(errors.Take());
    Family alerts_dropped("vigil_incidents_alerts_dropped_total",
                          "Alerts raised but never stored (timer alerts over the carry cap "
                          "while the store failed, or unstored at shutdown).",
                          MetricType::Counter);
    alerts_dropped.Add({}, static_cast<double>(s.alerts_dropped));
    out.push_back(alerts_dropped.Take());
    Family latency("vigil_incidents_write_duration_seconds",
                   "Time for one incident-log write (commit).", MetricType::Histogram);
    latency.AddHistogram({}, store_write_.Snapshot());
    out.push_back(latency.Take());
    Family fwd("vigil_incidents_forwarded_total", "Alerts forwarded to the SIEM.",
               MetricType::Counter);
    fwd.Add({}, static_cast<double>(s.forwarded));
    out.push_back(fwd.Take());
    Family fwd_drop("vigil_incidents_forward_dropped_total",
                    "Alerts the SIEM forwarder dropped, by reason.", MetricType::Counter);
    by_reason(fwd_drop, options_.forward_drop_reasons, s.forward_dropped);
    out.push_back(fwd_drop.Take());
    Family fwd_q("vigil_incidents_forward_queue_alerts", "Alerts waiting to be forwarded.",
                 MetricType::Gauge);
    fwd_q.Add({}, static_cast<double>(s.forward_queue_alerts));
    out.push_back(fwd_q.Take());
  }

  // --- Traffic ----------------------------------------------------------------------
  {
    Family bytes("vigil_traffic_bytes_total", "IP bytes seen by agents, both directions.",
                 MetricType::Counter);
    Family pkts("vigil_traffic_packets_total", "Packets seen by agents, both directions.",
                MetricType::Counter);
    Family flows("vigil_traffic_flows_total", "Flows that ended.", MetricType::Counter);
    Family* fams[kTrafficMetricCount] = {&bytes, &pkts, &flows};
    for (const AgencyCell* a : agencies) {
      for (std::size_t p = 0; p < kProtocolCount; ++p) {
        for (std::size_t s = 0; s < service_names_.size(); ++s) {
          for (std::size_t m = 0; m < kTrafficMetricCount; ++m) {
            fams[m]->Add({L("agency", a->name), L("protocol", kProtocolNames[p]),
                          L("service", service_names_[s])},
                         static_cast<double>(a->Traffic(m, p, s).load(std::memory_order_relaxed)));
          }
        }
      }
    }
    out.push_back(bytes.Take());
    out.push_back(pkts.Take());
    out.push_back(flows.Take());
  }
  if (top_talkers_) {
    const TopTalkerPublication pub = top_talkers_->Publish(now);
    Family f("vigil_traffic_top_talker_bytes",
             "Bytes sent and received by the busiest hosts in the last completed window; "
             "address=\"other\" holds every other host of the agency.",
             MetricType::Gauge);
    for (const TopTalker& tt : pub.top) {
      const AgencyCell* a = t.agency_by_index[tt.agency];
      if (!agency_exposed(*a)) continue;
      f.Add({L("agency", a->name), L("address", tt.address)}, static_cast<double>(tt.bytes));
    }
    for (const AgencyCell* a : agencies) {
      const auto it = pub.other_bytes.find(a->index);
      f.Add({L("agency", a->name), L("address", kOther)},
            it == pub.other_bytes.end() ? 0 : static_cast<double>(it->second));
    }
    out.push_back(f.Take());
    Family w("vigil_traffic_top_talker_window_seconds", "Length of the top-talker window.",
             MetricType::Gauge);
    w.Add({}, std::chrono::duration<double>(top_talkers_->Options().window).count());
    out.push_back(w.Take());
    Family folded("vigil_traffic_top_talkers_folded_bytes_total",
                  "Bytes credited to address=\"other\" over all published windows.",
                  MetricType::Counter);
    folded.Add({}, static_cast<double>(top_talkers_->FoldedBytesTotal()));
    out.push_back(folded.Take());
    Family ev("vigil_traffic_top_talkers_evictions_total",
              "Hosts pushed out of a full top-talker summary by another host.",
              MetricType::Counter);
    ev.Add({}, static_cast<double>(top_talkers_->EvictionsTotal()));
    out.push_back(ev.Take());
  }

  // --- Metrics about the metrics -------------------------------------------------------
  {
    Family f("vigil_metrics_label_folds_total",
             "Values outside a bounded label set, folded into \"other\", by label.",
             MetricType::Counter);
    for (std::size_t i = 0; i < kFoldLabelCount; ++i) {
      f.Add({L("label", kFoldLabelNames[i])},
            static_cast<double>(folds_[i].load(std::memory_order_relaxed)));
    }
    out.push_back(f.Take());
    Family e("vigil_metrics_source_errors_total",
             "Snapshot callbacks that failed at scrape time (last good snapshot used).",
             MetricType::Counter);
    for (std::size_t i = 0; i < kSourceCount; ++i) {
      e.Add({L("source", kSourceNames[i])}, static_cast<double>(src.errors[i]));
    }
    out.push_back(e.Take());
  }
  return out;
}

std::string CollectorMetrics::ScrapeText() const {
  return prometheus::TextSerializer().Serialize(Collect());
}

}  // namespace vigil::collector::metrics
