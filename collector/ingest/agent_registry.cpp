#include "collector/ingest/agent_registry.h"

#include <algorithm>

namespace vigil::collector::ingest {
namespace {

// Increase of a cumulative counter since its last value; a smaller value
// means the counter restarted (the agent restarted), so all of it is new.
uint64_t Increase(uint64_t last, uint64_t now) { return now >= last ? now - last : now; }

}  // namespace

namespace {
int64_t ToNs(const google::protobuf::Timestamp& t) { return t.seconds() * 1000000000 + t.nanos(); }
}  // namespace

AgentRegistry::Slot& AgentRegistry::SlotFor(const std::string& agent_id) {
  auto [it, inserted] = slots_.try_emplace(agent_id);
  if (inserted) it->second.status.info.agent_id = agent_id;
  return it->second;
}

AgentRegistry::Attached AgentRegistry::Attach(const AgentInfo& info, const std::string& peer,
                                              int64_t cert_not_after_ns, int64_t now_ns,
                                              Kick kick) {
  std::lock_guard lock(mu_);
  Slot& s = SlotFor(info.agent_id);
  Attached out;
  if (s.status.connected && s.kick) out.previous = std::move(s.kick);
  s.kick = std::move(kick);
  s.generation = next_generation_++;
  out.generation = s.generation;
  auto& st = s.status;
  st.info = info;
  st.connected = true;
  st.silent = false;
  st.stopped_gracefully = false;
  st.peer = peer;
  st.connected_since_ns = now_ns;
  if (st.first_seen_ns == 0) st.first_seen_ns = now_ns;
  st.last_seen_ns = now_ns;
  st.cert_not_after_ns = cert_not_after_ns;
  ++st.sessions;
  return out;
}

bool AgentRegistry::Detach(const std::string& agent_id, uint64_t generation,
                           const std::string& reason, int64_t now_ns) {
  std::lock_guard lock(mu_);
  Slot& s = SlotFor(agent_id);
  if (s.generation != generation) return false;
  s.status.connected = false;
  s.status.last_disconnect_reason = reason;
  s.status.last_seen_ns = std::max(s.status.last_seen_ns, now_ns);
  s.kick = nullptr;
  return true;
}

void AgentRegistry::WhenDrained(const std::string& agent_id, std::function<void()> fn) {
  {
    std::lock_guard lock(mu_);
    Slot& s = SlotFor(agent_id);
    if (s.inflight > 0) {
      s.drain_waiters.push_back(std::move(fn));
      return;
    }
  }
  fn();
}

void AgentRegistry::BatchSubmitted(const std::string& agent_id) {
  std::lock_guard lock(mu_);
  ++SlotFor(agent_id).inflight;
}

void AgentRegistry::BatchCompleted(const std::string& agent_id) {
  std::vector<std::function<void()>> ready;
  {
    std::lock_guard lock(mu_);
    Slot& s = SlotFor(agent_id);
    if (s.inflight > 0) --s.inflight;
    if (s.inflight == 0) ready.swap(s.drain_waiters);
  }
  for (auto& fn : ready) fn();
}

bool AgentRegistry::OnHello(const std::string& agent_id, const vigil::v1::Hello& hello,
                            int64_t now_ns) {
  std::lock_guard lock(mu_);
  Slot& s = SlotFor(agent_id);
  auto& st = s.status;
  bool restarted = st.instance_id != 0 && hello.instance_id() != st.instance_id;
  if (restarted) ++st.restarts;
  // A restarted agent may come back with a corrected clock: old samples
  // would pin the estimate to the previous offset.
  if (restarted) {
    s.offset.Reset();
    s.last_capture.clear();  // the new process counts from 0
    s.last_dropped.clear();
  }
  st.instance_id = hello.instance_id();
  st.hostname = hello.hostname();
  st.agent_version = hello.agent_version();
  st.last_seen_ns = now_ns;
  st.silent = false;
  if (hello.has_sent_at()) s.offset.AddSample(ToNs(hello.sent_at()), now_ns);
  st.clock_offset_ns = s.offset.Estimate();
  return restarted;
}

void AgentRegistry::OnHeartbeat(const std::string& agent_id, const vigil::v1::Heartbeat& hb,
                                int64_t now_ns) {
  std::lock_guard lock(mu_);
  Slot& s = SlotFor(agent_id);
  auto& st = s.status;
  st.last_seen_ns = now_ns;
  st.silent = false;
  if (hb.has_sent_at()) s.offset.AddSample(ToNs(hb.sent_at()), now_ns);
  st.clock_offset_ns = s.offset.Estimate();
  if (hb.has_spool()) {
    st.spool_bytes_used = hb.spool().bytes_used();
    st.spool_bytes_capacity = hb.spool().bytes_capacity();
    st.spool_batches = hb.spool().batches();
  }
  if (hb.has_pipeline()) {
    st.records_produced = hb.pipeline().records_produced();
    st.agent_records_acked = hb.pipeline().records_acked();
    st.agent_records_dropped.clear();
    for (const auto& [reason, n] : hb.pipeline().records_dropped()) {
      st.agent_records_dropped[reason] = n;
      uint64_t& last = s.last_dropped[reason];
      st.agent_records_dropped_total[reason] += Increase(last, n);
      last = n;
    }
  }
  st.capture.clear();
  for (const auto& c : hb.capture()) {
    CaptureStatus now{c.interface(),    c.packets_received(), c.bytes_received(),
                      c.kernel_drops(), c.interface_drops(),  c.decode_anomalies()};
    CaptureStatus& last = s.last_capture[now.interface];
    auto& total = st.capture_total;
    total.interface = "all";
    total.packets_received += Increase(last.packets_received, now.packets_received);
    total.bytes_received += Increase(last.bytes_received, now.bytes_received);
    total.kernel_drops += Increase(last.kernel_drops, now.kernel_drops);
    total.interface_drops += Increase(last.interface_drops, now.interface_drops);
    total.decode_anomalies += Increase(last.decode_anomalies, now.decode_anomalies);
    last = now;
    st.capture.push_back(std::move(now));
  }
}

void AgentRegistry::OnBatch(const std::string& agent_id, uint64_t sequence, uint64_t records,
                            int64_t created_ns, int64_t now_ns, bool duplicate) {
  std::lock_guard lock(mu_);
  Slot& s = SlotFor(agent_id);
  auto& st = s.status;
  st.last_seen_ns = now_ns;
  st.silent = false;
  if (duplicate) {
    ++st.batches_duplicate;
    return;
  }
  ++st.batches_received;
  st.records_received += records;
  st.last_sequence_received = std::max(st.last_sequence_received, sequence);
  if (created_ns > 0) {
    // created_at is on the agent's clock: bring it to ours before subtracting.
    int64_t offset = s.offset.Estimate().value_or(0);
    st.lag_ns = now_ns - (created_ns - offset);
  }
}

void AgentRegistry::OnAcked(const std::string& agent_id, uint64_t sequence) {
  std::lock_guard lock(mu_);
  auto& st = SlotFor(agent_id).status;
  st.acked_sequence = std::max(st.acked_sequence, sequence);
}

bool AgentRegistry::OnLossReport(const std::string& agent_id, const vigil::v1::LossReport& report,
                                 int64_t now_ns) {
  std::lock_guard lock(mu_);
  Slot& s = SlotFor(agent_id);
  auto& st = s.status;
  st.last_seen_ns = now_ns;
  if (!report.report_id().empty()) {
    if (!s.loss_report_id_set.insert(report.report_id()).second) return false;
    s.loss_report_ids.push_back(report.report_id());
    if (s.loss_report_ids.size() > kLossReportIdsKept) {
      s.loss_report_id_set.erase(s.loss_report_ids.front());
      s.loss_report_ids.pop_front();
    }
  }
  ++st.loss_reports;
  st.records_lost_reported += report.records();
  return true;
}

void AgentRegistry::OnGoodbye(const std::string& agent_id, int64_t now_ns) {
  std::lock_guard lock(mu_);
  auto& st = SlotFor(agent_id).status;
  st.last_seen_ns = now_ns;
  st.stopped_gracefully = true;
}

void AgentRegistry::Touch(const std::string& agent_id, int64_t now_ns) {
  std::lock_guard lock(mu_);
  auto& st = SlotFor(agent_id).status;
  st.last_seen_ns = std::max(st.last_seen_ns, now_ns);
}

std::optional<int64_t> AgentRegistry::ClockOffset(const std::string& agent_id) const {
  std::lock_guard lock(mu_);
  auto it = slots_.find(agent_id);
  if (it == slots_.end()) return std::nullopt;
  return it->second.offset.Estimate();
}

std::vector<AgentInfo> AgentRegistry::Sweep(int64_t now_ns) {
  std::vector<AgentInfo> newly;
  std::lock_guard lock(mu_);
  for (auto& [id, s] : slots_) {
    auto& st = s.status;
    // An agent that said Goodbye stopped on purpose: a planned stop must not
    // page anyone (it becomes silent only if it stays away and was expected).
    if (st.silent || (st.stopped_gracefully && !st.connected)) continue;
    if (now_ns - st.last_seen_ns >= silence_after_.count()) {
      st.silent = true;
      newly.push_back(st.info);
    }
  }
  return newly;
}

std::vector<AgentStatus> AgentRegistry::Snapshot() const {
  std::lock_guard lock(mu_);
  std::vector<AgentStatus> out;
  out.reserve(slots_.size());
  for (const auto& [id, s] : slots_) out.push_back(s.status);
  return out;
}

uint64_t AgentRegistry::SilentCount() const {
  std::lock_guard lock(mu_);
  uint64_t n = 0;
  for (const auto& [id, s] : slots_) n += s.status.silent ? 1 : 0;
  return n;
}

}  // namespace vigil::collector::ingest
