#include "tests/collector/ingest/memory_batch_handler.h"

namespace vigil::testing {

using collector::ingest::AgentEvent;

MemoryBatchHandler::MemoryBatchHandler(bool keep_uids) : keep_uids_(keep_uids) {
  worker_ = std::thread([this] { Worker(); });
}

MemoryBatchHandler::~MemoryBatchHandler() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    paused_ = false;
  }
  cv_.notify_all();
  worker_.join();
}

uint64_t MemoryBatchHandler::HighWaterMark(const std::string& agent_id) {
  std::lock_guard lock(mu_);
  return agents_[agent_id].high_water_mark;
}

void MemoryBatchHandler::Submit(const collector::ingest::AgentInfo& agent,
                                std::shared_ptr<const vigil::v1::EventBatch> batch, int64_t,
                                std::function<void(bool ok)> done) {
  {
    std::lock_guard lock(mu_);
    jobs_.push_back(Job{agent, std::move(batch), std::move(done)});
  }
  cv_.notify_all();
}

void MemoryBatchHandler::Worker() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stop_ || (!paused_ && !jobs_.empty()); });
    if (jobs_.empty() && stop_) return;
    Job job = std::move(jobs_.front());
    jobs_.pop_front();
    bool ok = true;
    if (fail_next_ > 0) {
      --fail_next_;
      ok = false;
    } else {
      AgentData& a = agents_[job.agent.agent_id];
      a.high_water_mark = job.batch->sequence();
      a.sequences.push_back(job.batch->sequence());
      a.records += static_cast<uint64_t>(job.batch->events_size());
      if (keep_uids_) {
        for (const auto& e : job.batch->events()) a.uids.push_back(e.uid());
      }
    }
    // done() outside the lock: it may call back into HighWaterMark().
    lock.unlock();
    job.done(ok);
    lock.lock();
    cv_.notify_all();
  }
}

void MemoryBatchHandler::OnAgentEvent(const collector::ingest::AgentInfo& agent,
                                      const AgentEvent& event) {
  std::lock_guard lock(mu_);
  events_.push_back(EventRecord{agent.agent_id, event.kind, event.reason, event.restarted,
                                event.clock_offset_ns});
  if (event.kind == AgentEvent::Kind::kLossReport && event.loss_report != nullptr) {
    agents_[agent.agent_id].loss_reports.push_back(*event.loss_report);
  }
  cv_.notify_all();
}

void MemoryBatchHandler::Pause() {
  std::lock_guard lock(mu_);
  paused_ = true;
}

void MemoryBatchHandler::Resume() {
  {
    std::lock_guard lock(mu_);
    paused_ = false;
  }
  cv_.notify_all();
}

void MemoryBatchHandler::FailNext(int n) {
  std::lock_guard lock(mu_);
  fail_next_ = n;
}

void MemoryBatchHandler::SetHighWaterMark(const std::string& agent_id, uint64_t sequence) {
  std::lock_guard lock(mu_);
  agents_[agent_id].high_water_mark = sequence;
}

MemoryBatchHandler::AgentData MemoryBatchHandler::Agent(const std::string& agent_id) const {
  std::lock_guard lock(mu_);
  auto it = agents_.find(agent_id);
  return it == agents_.end() ? AgentData{} : it->second;
}

std::vector<MemoryBatchHandler::EventRecord> MemoryBatchHandler::Events() const {
  std::lock_guard lock(mu_);
  return events_;
}

size_t MemoryBatchHandler::CountEvents(AgentEvent::Kind kind) const {
  std::lock_guard lock(mu_);
  size_t n = 0;
  for (const auto& e : events_) n += e.kind == kind ? 1 : 0;
  return n;
}

uint64_t MemoryBatchHandler::TotalRecords() const {
  std::lock_guard lock(mu_);
  uint64_t n = 0;
  for (const auto& [id, a] : agents_) n += a.records;
  return n;
}

bool MemoryBatchHandler::WaitFor(const std::function<bool()>& pred,
                                 std::chrono::milliseconds timeout) const {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

}  // namespace vigil::testing
