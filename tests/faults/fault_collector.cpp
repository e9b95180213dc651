// A minimal collector for the fault tests: the real IngestServer (mutual
// TLS, real port) with a durable file-backed BatchHandler. Each batch is
// written to its own file (fsync, then atomic rename) before done(true), so
// the high-water mark is exactly "the highest batch file present" and a
// kill -9 at any moment leaves a consistent state.
//
//   vigil_fault_collector --dir D --ca F --cert F --key F [--crl F]
//       [--port N] [--stall] [--silence-after-ms N] [--max-inflight-records N]
//
// Prints "LISTENING <port>" once serving. Every 100 ms writes D/fleet
// ("connected N" then one line per agent) and D/stats (key value lines).
// Exits on SIGTERM/SIGINT.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>

#include "collector/ingest/ingest_server.h"

namespace fs = std::filesystem;
using namespace vigil::collector::ingest;

namespace {

std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop = true; }

std::map<std::string, std::string> ParseArgs(int argc, char** argv) {
  std::map<std::string, std::string> a;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    if (k.rfind("--", 0) != 0) continue;
    k = k.substr(2);
    if (i + 1 < argc && std::string(argv[i + 1]).rfind("--", 0) != 0) {
      a[k] = argv[++i];
    } else {
      a[k] = "1";
    }
  }
  return a;
}

void WriteAtomic(const fs::path& path, const std::string& data, bool sync) {
  fs::path tmp = path;
  tmp += ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return;
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
  if (sync) ::fsync(fd);
  ::close(fd);
  ::rename(tmp.c_str(), path.c_str());
}

class DurableHandler : public BatchHandler {
 public:
  DurableHandler(fs::path dir, bool stall) : dir_(std::move(dir)), stall_(stall) {
    fs::create_directories(dir_ / "agents");
    // Recover the high-water marks from what is on disk.
    for (const auto& a : fs::directory_iterator(dir_ / "agents")) {
      uint64_t hwm = 0;
      for (const auto& f : fs::directory_iterator(a.path())) {
        std::string n = f.path().filename().string();
        if (n.rfind("batch-", 0) == 0 && n.find(".tmp") == std::string::npos) {
          hwm = std::max<uint64_t>(hwm, std::stoull(n.substr(6)));
        }
      }
      hwm_[a.path().filename().string()] = hwm;
    }
    worker_ = std::thread([this] { Work(); });
  }
  ~DurableHandler() override {
    {
      std::lock_guard l(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    worker_.join();
  }

  uint64_t HighWaterMark(const std::string& agent_id) override {
    std::lock_guard l(mu_);
    return hwm_[agent_id];
  }
  void Submit(const AgentInfo& agent, std::shared_ptr<const vigil::v1::EventBatch> batch, int64_t,
              std::function<void(bool)> done) override {
    std::lock_guard l(mu_);
    // A stalled pipeline: batches are accepted and never become durable.
    if (stall_) {
      stalled_.push_back(std::move(done));
      return;
    }
    jobs_.push_back({agent.agent_id, std::move(batch), std::move(done)});
    cv_.notify_all();
  }
  void OnAgentEvent(const AgentInfo& agent, const AgentEvent& ev) override {
    std::lock_guard l(mu_);
    std::ofstream log(dir_ / "events.log", std::ios::app);
    log << AgentEventKindName(ev.kind) << ' ' << agent.agent_id << ' ' << ev.reason << '\n';
    if (ev.kind == AgentEvent::Kind::kLossReport && ev.loss_report) {
      fs::create_directories(dir_ / "agents" / agent.agent_id);
      std::ofstream loss(dir_ / "agents" / agent.agent_id / "losses.log", std::ios::app);
      const auto& r = *ev.loss_report;
      loss << vigil::v1::LossReason_Name(r.reason()) << ' ' << r.first_sequence() << ' '
           << r.last_sequence() << ' ' << r.records() << '\n';
      loss.flush();
    }
  }

 private:
  struct Job {
    std::string agent;
    std::shared_ptr<const vigil::v1::EventBatch> batch;
    std::function<void(bool)> done;
  };
  void Work() {
    std::unique_lock l(mu_);
    for (;;) {
      cv_.wait(l, [&] { return stop_ || !jobs_.empty(); });
      if (jobs_.empty()) return;
      Job j = std::move(jobs_.front());
      jobs_.pop_front();
      l.unlock();
      fs::path adir = dir_ / "agents" / j.agent;
      fs::create_directories(adir);
      std::string body;
      for (const auto& e : j.batch->events()) {
        body += e.uid();
        body += '\n';
      }
      char name[40];
      std::snprintf(name, sizeof(name), "batch-%020llu",
                    static_cast<unsigned long long>(j.batch->sequence()));
      WriteAtomic(adir / name, body, /*sync=*/true);
      {
        std::ofstream order(adir / "order.log", std::ios::app);
        order << j.batch->sequence() << '\n';
      }
      l.lock();
      hwm_[j.agent] = std::max(hwm_[j.agent], j.batch->sequence());
      l.unlock();
      j.done(true);
      l.lock();
    }
  }

  fs::path dir_;
  bool stall_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> jobs_;
  std::vector<std::function<void(bool)>> stalled_;
  std::map<std::string, uint64_t> hwm_;
  bool stop_ = false;
  std::thread worker_;
};

}  // namespace

int main(int argc, char** argv) {
  auto args = ParseArgs(argc, argv);
  fs::path dir = args["dir"];
  std::signal(SIGTERM, OnSignal);
  std::signal(SIGINT, OnSignal);
  std::signal(SIGPIPE, SIG_IGN);
  DurableHandler handler(dir, args.count("stall") != 0);
  IngestOptions o;
  o.listen = "127.0.0.1:" + (args.count("port") ? args["port"] : std::string("0"));
  o.tls = {args["ca"], args["cert"], args["key"], args["crl"]};
  o.allow_unlisted_agents = true;
  if (args.count("silence-after-ms")) {
    o.heartbeat_silence_after = std::chrono::milliseconds(std::stoll(args["silence-after-ms"]));
  }
  if (args.count("max-inflight-records")) {
    o.max_inflight_records = std::stoull(args["max-inflight-records"]);
  }
  auto server = IngestServer::Start(o, handler);
  if (!server) {
    std::fprintf(stderr, "fault_collector: %s\n", server.error().c_str());
    return 3;
  }
  std::printf("LISTENING %d\n", (*server)->port());
  std::fflush(stdout);
  while (!g_stop) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    std::ostringstream fleet;
    auto agents = (*server)->Fleet();
    int connected = 0;
    for (const auto& a : agents) connected += a.connected ? 1 : 0;
    fleet << "connected " << connected << "\n";
    for (const auto& a : agents) {
      fleet << a.info.agent_id << " connected=" << a.connected << " silent=" << a.silent
            << " goodbye=" << a.stopped_gracefully << " restarts=" << a.restarts
            << " acked=" << a.acked_sequence << "\n";
    }
    WriteAtomic(dir / "fleet", fleet.str(), false);
    auto s = (*server)->Stats();
    std::ostringstream st;
    st << "streams_accepted " << s.streams_accepted << "\n";
    for (size_t i = 0; i < kStreamRejectionCount; ++i) {
      st << "rejected_" << StreamRejectionName(static_cast<StreamRejection>(i)) << ' '
         << s.streams_rejected[i] << "\n";
    }
    st << "batches_duplicate " << s.batches_duplicate << "\n";
    st << "records_duplicate " << s.records_duplicate << "\n";
    st << "batches_acked " << s.batches_acked << "\n";
    st << "loss_reports " << s.loss_reports << "\n";
    st << "records_lost_reported " << s.records_lost_reported << "\n";
    st << "backpressure_stalls " << s.backpressure_stalls << "\n";
    WriteAtomic(dir / "stats", st.str(), false);
  }
  (*server)->Shutdown(std::chrono::milliseconds(1000));
  return 0;
}
