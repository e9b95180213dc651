#include "collector/app/pipeline.h"

#include <chrono>
#include <string>

#include "collector/app/log.h"
#include "collector/engine/event_proto.h"
#include "vigil/v1/ingest.pb.h"

namespace vigil::collector::app {
namespace {

int64_t ToNs(const google::protobuf::Timestamp& t) {
  return t.seconds() * 1'000'000'000 + t.nanos();
}

metrics::LogType MetricsLog(const vigil::v1::Event& e) {
  switch (e.record_case()) {
    case vigil::v1::Event::kDns:
      return metrics::LogType::kDns;
    case vigil::v1::Event::kTls:
      return metrics::LogType::kSsl;
    case vigil::v1::Event::kHttp:
      return metrics::LogType::kHttp;
    default:
      return metrics::LogType::kConn;
  }
}

metrics::Protocol MetricsProtocol(vigil::v1::Transport t) {
  switch (t) {
    case vigil::v1::TRANSPORT_TCP:
      return metrics::Protocol::kTcp;
    case vigil::v1::TRANSPORT_UDP:
      return metrics::Protocol::kUdp;
    case vigil::v1::TRANSPORT_ICMP:
      return metrics::Protocol::kIcmp;
    default:
      return metrics::Protocol::kOther;
  }
}

// Quotes a log field value when it has spaces or quotes, so that the
// key=value line stays parseable.
std::string Quoted(std::string_view v) {
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') out += '\\';
    out += (c == '\n' || c == '\r') ? ' ' : c;
  }
  out += '"';
  return out;
}

}  // namespace

Pipeline::Pipeline(engine::Engine& engine, incidents::IncidentStore& store,
                   metrics::CollectorMetrics& metrics, PipelineOptions options)
    : engine_(engine), store_(store), metrics_(metrics), options_(options) {}

Pipeline::~Pipeline() { Stop(); }

void Pipeline::Start() {
  stopping_ = false;
  thread_ = std::thread([this] { Run(); });
}

void Pipeline::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

uint64_t Pipeline::HighWaterMark(const std::string& agent_id) {
  // Asked once per stream, after every batch of the agent's earlier streams
  // completed (BatchHandler contract): a failed agent's old stream is gone,
  // and the new one resends from the high-water mark read below.
  {
    std::lock_guard lock(mu_);
    failed_agents_.erase(agent_id);
  }
  auto hwm = store_.HighWaterMark(agent_id);
  if (!hwm) {
    // Reporting 0 would make the agent resend what we hold; the store's
    // duplicate filter still drops it, so this degrades, never double counts.
    LogError("incident store: cannot read high-water mark of " + agent_id + ": " +
             hwm.error().message);
    return 0;
  }
  return *hwm;
}

void Pipeline::Submit(const ingest::AgentInfo& agent,
                      std::shared_ptr<const vigil::v1::EventBatch> batch, int64_t received_ns,
                      std::function<void(bool ok)> done) {
  const auto events = static_cast<uint64_t>(batch->events_size());
  bool refused = false;
  {
    std::lock_guard lock(mu_);
    if (stopping_) {
      // Not durable: the agent keeps the batch and resends it after restart.
      refused = true;
    } else if (failed_agents_.contains(agent.agent_id)) {
      // An earlier batch of this agent failed: committing this one would
      // raise the high-water mark above it, and the agent would then drop
      // the failed batch from its spool as acknowledged.
      stats_.batches_refused.fetch_add(1, std::memory_order_relaxed);
      refused = true;
    } else {
      queue_.push_back(Item{agent, std::move(batch), received_ns, std::move(done), {}});
    }
  }
  if (refused) {
    // Outside mu_: done() may start a waiting stream's Welcome, which calls
    // HighWaterMark().
    done(false);
    return;
  }
  stats_.queue_events.fetch_add(events, std::memory_order_relaxed);
  stats_.queue_batches.fetch_add(1, std::memory_order_relaxed);
  cv_.notify_one();
}

void Pipeline::OnAgentEvent(const ingest::AgentInfo& agent, const ingest::AgentEvent& event) {
  incidents::CoverageEvent c;
  c.agent_id = agent.agent_id;
  c.agency = agent.agency;
  c.occurred_ns = event.received_ns;
  using Kind = ingest::AgentEvent::Kind;
  switch (event.kind) {
    case Kind::kHello:
      c.kind = incidents::CoverageKind::kConnected;
      if (event.restarted) c.detail = "agent restarted";
      break;
    case Kind::kDisconnected:
      c.kind = incidents::CoverageKind::kDisconnected;
      c.detail = event.reason;
      break;
    case Kind::kSilent:
      c.kind = incidents::CoverageKind::kSilent;
      break;
    case Kind::kGoodbye:
      c.kind = incidents::CoverageKind::kGoodbye;
      if (event.goodbye != nullptr) c.detail = event.goodbye->reason();
      break;
    case Kind::kLossReport: {
      if (event.loss_report == nullptr) return;
      const auto& r = *event.loss_report;
      c.kind = incidents::CoverageKind::kLossReport;
      c.first_sequence = r.first_sequence();
      c.last_sequence = r.last_sequence();
      c.batches = r.batches();
      c.records = r.records();
      c.window_start_ns = ToNs(r.window_start());
      c.window_end_ns = ToNs(r.window_end());
      c.detail = vigil::v1::LossReason_Name(r.reason());
      // The store records each (agent, report_id) once, also across
      // collector restarts (ingest only remembers ids while it runs).
      c.report_id = r.report_id();
      break;
    }
    case Kind::kHeartbeat: {
      if (event.heartbeat == nullptr) return;
      uint64_t packets = 0, drops = 0;
      for (const auto& cap : event.heartbeat->capture()) {
        packets += cap.packets_received();
        drops += cap.kernel_drops() + cap.interface_drops();
      }
      const double ratio = packets + drops == 0
                               ? 0.0
                               : static_cast<double>(drops) / static_cast<double>(packets + drops);
      double previous = 0;
      {
        std::lock_guard lock(health_mu_);
        auto [it, inserted] = drop_ratio_.try_emplace(agent.agent_id, ratio);
        previous = inserted ? -1 : it->second;
        it->second = ratio;
      }
      // Capture health is recorded when it changes, not on every heartbeat:
      // auditors need the periods of loss, not a heartbeat log.
      if (ratio == previous || (previous < 0 && ratio == 0)) return;
      c.kind = incidents::CoverageKind::kCaptureHealth;
      c.drop_ratio = ratio;
      c.window_end_ns = event.received_ns;
      break;
    }
    default:
      return;  // connected / replaced / rejected: logged by ingest, no audit record
  }
  {
    std::lock_guard lock(mu_);
    Item item;
    item.agent = agent;
    item.coverage = std::move(c);
    queue_.push_back(std::move(item));
  }
  cv_.notify_one();
}

double Pipeline::DropRatio(const std::string& agent_id) const {
  std::lock_guard lock(health_mu_);
  auto it = drop_ratio_.find(agent_id);
  return it == drop_ratio_.end() ? 0.0 : it->second;
}

std::map<std::string, uint64_t> Pipeline::UnusableByCode() const {
  std::lock_guard lock(unusable_mu_);
  return unusable_by_code_;
}

metrics::AgentHandle Pipeline::Handle(const std::string& agent_id) {
  auto it = handles_.find(agent_id);
  if (it != handles_.end()) return it->second;
  auto h = metrics_.Agent(agent_id);
  handles_.emplace(agent_id, h);
  return h;
}

void Pipeline::Run() {
  std::vector<Item> group, refused;
  auto last_checkpoint = std::chrono::steady_clock::now();
  auto last_event = std::chrono::steady_clock::now();
  for (;;) {
    group.clear();
    refused.clear();
    {
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, options_.idle_tick, [&] { return stopping_ || !queue_.empty(); });
      size_t batches = 0;
      while (!queue_.empty() && batches < options_.max_batches_per_commit) {
        Item& front = queue_.front();
        if (front.batch && failed_agents_.contains(front.agent.agent_id)) {
          // Queued behind a failed batch of the same agent (see Submit).
          refused.push_back(std::move(front));
        } else {
          if (front.batch) ++batches;
          group.push_back(std::move(front));
        }
        queue_.pop_front();
      }
      if (group.empty() && refused.empty() && stopping_) break;
    }
    for (auto& item : refused) {
      stats_.batches_refused.fetch_add(1, std::memory_order_relaxed);
      stats_.queue_events.fetch_sub(static_cast<uint64_t>(item.batch->events_size()),
                                    std::memory_order_relaxed);
      stats_.queue_batches.fetch_sub(1, std::memory_order_relaxed);
      item.done(false);
    }
    if (!group.empty()) {
      ProcessGroup(group);
      last_event = std::chrono::steady_clock::now();
    } else {
      // Idle: let event time follow the wall clock so that windows close.
      const auto now = std::chrono::steady_clock::now();
      if (watermark_ns_ != 0) {
        watermark_ns_ +=
            std::chrono::duration_cast<std::chrono::nanoseconds>(now - last_event).count();
      }
      last_event = now;
      std::vector<engine::Alert> alerts;
      engine_.AdvanceTime(watermark_ns_, alerts);
      if (!alerts.empty()) {
        HandleAlerts(alerts);
        Carry(alerts);
      }
      if (!carry_.empty()) CommitCarried();
    }
    if (std::chrono::steady_clock::now() - last_checkpoint > options_.checkpoint_poll) {
      last_checkpoint = std::chrono::steady_clock::now();
      if (auto cp = store_.MaybeCheckpoint(); !cp) {
        LogError("incident store: checkpoint failed: " + cp.error().message);
      }
    }
  }
  if (!carry_.empty()) CommitCarried();
  if (!carry_.empty()) {
    stats_.alerts_dropped.fetch_add(carry_.size(), std::memory_order_relaxed);
    LogError("incident store: " + std::to_string(carry_.size()) +
             " timer alerts could not be stored before stopping; dropped");
    carry_.clear();
  }
}

void Pipeline::Carry(std::vector<engine::Alert>& alerts) {
  carry_.insert(carry_.end(), std::make_move_iterator(alerts.begin()),
                std::make_move_iterator(alerts.end()));
  alerts.clear();
  if (carry_.size() > options_.max_carried_alerts) {
    const size_t excess = carry_.size() - options_.max_carried_alerts;
    stats_.alerts_dropped.fetch_add(excess, std::memory_order_relaxed);
    LogError("incident store: " + std::to_string(excess) +
             " timer alerts dropped: the store has refused writes for too long");
    carry_.erase(carry_.begin(), carry_.begin() + static_cast<std::ptrdiff_t>(excess));
  }
}

uint64_t Pipeline::DurableHighWaterMark(const std::string& agent_id) {
  auto it = durable_hwm_.find(agent_id);
  if (it != durable_hwm_.end()) return it->second;
  auto hwm = store_.HighWaterMark(agent_id);
  if (!hwm) {
    // Not cached: asked again with the next batch. Meanwhile the store's own
    // duplicate check still keeps anything from being stored twice.
    LogError("incident store: cannot read high-water mark of " + agent_id + ": " +
             hwm.error().message);
    return 0;
  }
  durable_hwm_.emplace(agent_id, *hwm);
  return *hwm;
}

void Pipeline::EvaluateBatch(const Item& item, std::vector<engine::Alert>& alerts) {
  const auto& batch = *item.batch;
  engine::EventOrigin origin;
  origin.agent_id = item.agent.agent_id;
  origin.agency = item.agent.agency;
  origin.sequence = batch.sequence();
  origin.received_ns = item.received_ns;
  origin.capture_drop_ratio = DropRatio(item.agent.agent_id);
  const auto handle = Handle(item.agent.agent_id);
  for (const auto& record : batch.events()) {
    metrics_.OnEvents(handle, MetricsLog(record));
    if (record.has_flow()) {
      const auto& f = record.flow();
      const auto& counters = f.has_delta() ? f.delta() : f.totals();
      metrics::FlowSample s;
      s.protocol = MetricsProtocol(record.id().transport());
      // The first service is the analyzer that recognised the flow first.
      s.service = metrics_.ResolveService(f.services_size() == 0 ? std::string_view()
                                                                 : std::string_view(f.services(0)));
      s.bytes = counters.orig_ip_bytes() + counters.resp_ip_bytes();
      s.packets = counters.orig_pkts() + counters.resp_pkts();
      s.flow_ended = !f.interim();
      const auto& o = record.id().orig_addr();
      const auto& r = record.id().resp_addr();
      s.orig_address = std::span(reinterpret_cast<const uint8_t*>(o.data()), o.size());
      s.resp_address = std::span(reinterpret_cast<const uint8_t*>(r.data()), r.size());
      metrics_.OnFlow(handle, s);
    }
    auto event = engine::EventFromProto(record, origin);
    if (!event) {
      stats_.records_unusable.fetch_add(1, std::memory_order_relaxed);
      std::lock_guard lock(unusable_mu_);
      ++unusable_by_code_[event.error().code];
      continue;
    }
    const auto t0 = std::chrono::steady_clock::now();
    engine_.Evaluate(*event, alerts);
    metrics_.ObserveRuleEvaluation(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    stats_.events_evaluated.fetch_add(1, std::memory_order_relaxed);
    if (event->time_ns() > watermark_ns_) watermark_ns_ = event->time_ns();
  }
  engine_.AdvanceTime(watermark_ns_, alerts);
}

void Pipeline::HandleAlerts(std::vector<engine::Alert>& alerts) {
  for (const auto& a : alerts) {
    const std::string agent = a.events.empty() ? "" : a.events.back().origin.agent_id;
    const std::string agency = a.events.empty() ? "" : a.events.back().origin.agency;
    if (a.kind == engine::AlertKind::kSuppressed) {
      stats_.alerts_suppressed.fetch_add(a.suppressed_count, std::memory_order_relaxed);
      metrics_.OnAlert(a.rule_id, agency, metrics::AlertOutcome::kSuppressed, a.suppressed_count);
      LogInfo("throttled rule=" + a.rule_id + " suppressed=" + std::to_string(a.suppressed_count) +
              " " + Quoted(a.message));
      continue;
    }
    if (a.shadow) {
      stats_.alerts_shadow.fetch_add(1, std::memory_order_relaxed);
      metrics_.OnAlert(a.rule_id, agency, metrics::AlertOutcome::kShadow);
      LogDebug("shadow alert rule=" + a.rule_id + " " + Quoted(a.message));
      continue;
    }
    stats_.alerts_raised.fetch_add(1, std::memory_order_relaxed);
    metrics_.OnAlert(a.rule_id, agency, metrics::AlertOutcome::kRaised);
    if (options_.log_alerts) {
      std::string line = "ALERT level=" + std::string(engine::LevelName(a.level)) +
                         " rule=" + a.rule_id + " title=" + Quoted(a.rule_title);
      if (!agent.empty()) line += " agent=" + agent + " agency=" + Quoted(agency);
      if (!a.group_key.empty()) line += " group=" + Quoted(a.group_key);
      if (!a.message.empty()) line += " msg=" + Quoted(a.message);
      LogWarning(line);
    }
  }
}

// Alerts raised while no batch arrives (windows closing, throttle summaries)
// are committed on their own, attributed to the agent of their last event.
void Pipeline::AppendCarried(std::vector<incidents::BatchCommit>& commits) const {
  for (const auto& alert : carry_) {
    incidents::BatchCommit c;
    if (!alert.events.empty()) {
      const auto& origin = alert.events.back().origin;
      c.agent_id = origin.agent_id;
      c.agency = origin.agency;
      c.sequence = origin.sequence;
      c.received_ns = origin.received_ns;
    }
    c.alerts = std::span<const engine::Alert>(&alert, 1);
    c.alerts_only = true;
    commits.push_back(c);
  }
}

void Pipeline::CommitCarried() {
  std::vector<incidents::BatchCommit> commits;
  commits.reserve(carry_.size());
  AppendCarried(commits);
  auto result = store_.CommitBatches(commits);
  if (!result) {
    // Kept for the next attempt: these alerts exist nowhere else.
    LogError("incident store: could not store " + std::to_string(carry_.size()) +
             " timer alerts, retrying: " + result.error().message);
    return;
  }
  carry_.clear();
}

void Pipeline::ProcessGroup(std::vector<Item>& items) {
  // Alerts per batch, kept alive until the commit returns (BatchCommit holds views).
  std::vector<std::vector<engine::Alert>> alerts(items.size());
  std::vector<incidents::BatchCommit> commits;
  commits.reserve(items.size() + carry_.size());
  // A batch at or below the agent's durable high-water mark (a redelivery)
  // is neither evaluated nor committed: evaluating it again would count its
  // events twice in correlation windows. It is durable already.
  std::vector<bool> redelivered(items.size(), false);
  // Highest sequence per agent once this group is committed.
  std::unordered_map<std::string, uint64_t> group_hwm;
  uint64_t queued_events = 0, queued_batches = 0;
  for (size_t i = 0; i < items.size(); ++i) {
    Item& item = items[i];
    if (!item.batch) {
      stats_.coverage_events.fetch_add(1, std::memory_order_relaxed);
      if (auto r = store_.RecordCoverage(item.coverage); !r) {
        stats_.coverage_errors.fetch_add(1, std::memory_order_relaxed);
        LogError("incident store: coverage event not recorded: " + r.error().message);
      }
      continue;
    }
    ++queued_batches;
    queued_events += static_cast<uint64_t>(item.batch->events_size());
    const uint64_t sequence = item.batch->sequence();
    const uint64_t durable = DurableHighWaterMark(item.agent.agent_id);
    uint64_t& floor = group_hwm.try_emplace(item.agent.agent_id, durable).first->second;
    if (sequence <= floor) {
      stats_.batches_duplicate.fetch_add(1, std::memory_order_relaxed);
      redelivered[i] = sequence <= durable;
      if (!redelivered[i]) {
        // A resend of a batch of this very group: as durable as that one.
        LogWarning("pipeline: batch " + std::to_string(sequence) + " of agent " +
                   item.agent.agent_id + " arrived twice in one group; evaluated once");
      }
      continue;
    }
    floor = sequence;
    EvaluateBatch(item, alerts[i]);
    HandleAlerts(alerts[i]);
    incidents::BatchCommit c;
    c.agent_id = item.agent.agent_id;
    c.agency = item.agent.agency;
    c.sequence = sequence;
    c.events = static_cast<uint64_t>(item.batch->events_size());
    c.received_ns = item.received_ns;
    c.alerts = alerts[i];
    commits.push_back(c);
  }
  stats_.queue_events.fetch_sub(queued_events, std::memory_order_relaxed);
  stats_.queue_batches.fetch_sub(queued_batches, std::memory_order_relaxed);
  const size_t batch_commits = commits.size();
  // Timer alerts from idle periods ride with this transaction as entries of
  // their own (alerts_only): they do not depend on any batch being stored.
  AppendCarried(commits);

  bool ok = true;
  if (!commits.empty()) {
    const auto t0 = std::chrono::steady_clock::now();
    auto result = store_.CommitBatches(commits);
    metrics_.ObserveStoreWrite(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    ok = result.has_value();
    if (!ok) {
      LogError("incident store: commit of " + std::to_string(batch_commits) + " batches and " +
               std::to_string(commits.size() - batch_commits) +
               " timer alerts failed, not acknowledged (agents will resend; timer alerts are "
               "retried): " +
               result.error().message);
      stats_.batches_failed.fetch_add(batch_commits, std::memory_order_relaxed);
    } else {
      stats_.batches_committed.fetch_add(batch_commits, std::memory_order_relaxed);
      carry_.clear();
    }
  }
  if (ok) {
    for (const auto& [agent_id, hwm] : group_hwm) durable_hwm_[agent_id] = hwm;
  } else {
    // Until each affected agent's stream has ended and a new one asked for
    // the high-water mark, none of its later batches may be committed: they
    // would raise the mark above the failed ones.
    std::lock_guard lock(mu_);
    for (size_t i = 0; i < items.size(); ++i) {
      if (!items[i].batch || redelivered[i]) continue;
      failed_agents_.insert(items[i].agent.agent_id);
      durable_hwm_.erase(items[i].agent.agent_id);  // read again from the store
    }
  }
  for (size_t i = 0; i < items.size(); ++i) {
    if (items[i].batch) items[i].done(ok || redelivered[i]);
  }
}

}  // namespace vigil::collector::app
