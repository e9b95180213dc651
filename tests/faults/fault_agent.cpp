// A minimal agent for the fault tests: one or many CollectorSinks fed a
// deterministic numbered record stream (uid "r<N>", or "a<K>.r<N>" with
// several agents), over real gRPC with mutual TLS.
//
//   vigil_fault_agent --address HOST:PORT [--address ...] --ca F
//       (--cert F --key F --spool D | --agents K --certs DIR --spool D)
//       [--first N] [--count M] [--rate R/s] [--spool-max BYTES]
//       [--queue-max N] [--ack-timeout-ms N] [--stats FILE]
//       [--wait spooled|acked] [--hold] [--wait-timeout-ms N]
//
// Prints "EMITTED", then "SPOOLED" or "ACKED" when --wait is met (or
// "TIMEOUT"), then exits unless --hold (then runs until SIGTERM, which
// shuts down gracefully). --stats is rewritten every 50 ms with the
// CollectorSinkStats of each sink (key value, one sink after another), so
// a test can read the last state even after kill -9.
// With --probe-no-cert it instead opens one raw stream without a client
// certificate and prints "STATUS <code> <message>".

#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "agent/export/collector_sink.h"
#include "transport/tls_files.h"
#include "vigil/v1/ingest.grpc.pb.h"

using namespace vigil::agent::exporter;
using namespace std::chrono_literals;

namespace {

std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop = true; }

std::map<std::string, std::vector<std::string>> ParseArgs(int argc, char** argv) {
  std::map<std::string, std::vector<std::string>> a;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    if (k.rfind("--", 0) != 0) continue;
    k = k.substr(2);
    if (i + 1 < argc && std::string(argv[i + 1]).rfind("--", 0) != 0) {
      a[k].push_back(argv[++i]);
    } else {
      a[k].push_back("1");
    }
  }
  return a;
}

vigil::v1::Event MakeEvent(const std::string& uid, uint64_t i) {
  vigil::v1::Event e;
  e.set_uid(uid);
  e.mutable_ts()->set_seconds(1700000000 + static_cast<int64_t>(i / 1000));
  e.mutable_ts()->set_nanos(static_cast<int32_t>(i % 1000) * 1000000);
  auto* id = e.mutable_id();
  id->set_orig_addr(std::string("\x0a\x00\x00\x01", 4));
  id->set_resp_addr(std::string("\x0a\x00\x00\x02", 4));
  id->set_orig_port(static_cast<uint32_t>(1024 + i % 60000));
  id->set_resp_port(443);
  auto* f = e.mutable_flow();
  f->mutable_totals()->set_orig_bytes(i);
  f->mutable_totals()->set_resp_bytes(2 * i);
  f->set_history("ShADadFf");
  f->set_community_id("1:LQU9qZlK+B5F3KDmev6m5PMibrg=");
  return e;
}

std::string StatsText(const CollectorSinkStats& s) {
  std::ostringstream o;
  o << "records_emitted " << s.records_emitted << "\n"
    << "records_recovered " << s.records_recovered << "\n"
    << "records_acked " << s.records_acked << "\n"
    << "records_pending " << s.records_pending << "\n"
    << "records_dropped_queue_full " << s.records_dropped_queue_full << "\n"
    << "records_dropped_spool_overflow " << s.records_dropped_spool_overflow << "\n"
    << "records_dropped_spool_corrupt " << s.records_dropped_spool_corrupt << "\n"
    << "records_dropped_spool_write_error " << s.records_dropped_spool_write_error << "\n"
    << "records_dropped_shutdown " << s.records_dropped_shutdown << "\n"
    << "spool_bytes " << s.spool_bytes << "\n"
    << "spool_batches " << s.spool_batches << "\n"
    << "connects " << s.connects << "\n"
    << "connect_failures " << s.connect_failures << "\n"
    << "auth_rejections " << s.auth_rejections << "\n"
    << "loss_reports_sent " << s.loss_reports_sent << "\n"
    << "connected " << (s.connected ? 1 : 0) << "\n"
    << "last_sequence " << s.last_sequence << "\n";
  return o.str();
}

void WriteAtomic(const std::string& path, const std::string& data) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::trunc);
    f << data;
  }
  ::rename(tmp.c_str(), path.c_str());
}

int ProbeNoCert(const std::string& address, const std::string& ca) {
  grpc::SslCredentialsOptions o;
  o.pem_root_certs = vigil::transport::ReadSmallFile(ca).value_or("");
  auto channel = grpc::CreateChannel(address, grpc::SslCredentials(o));
  auto stub = vigil::v1::IngestService::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 10s);
  auto stream = stub->Ingest(&ctx);
  vigil::v1::AgentMessage hello;
  hello.mutable_hello()->set_agent_version("probe");
  stream->Write(hello);
  vigil::v1::CollectorMessage m;
  while (stream->Read(&m)) {
  }
  grpc::Status st = stream->Finish();
  std::printf("STATUS %d %s\n", static_cast<int>(st.error_code()), st.error_message().c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  auto args = ParseArgs(argc, argv);
  auto one = [&](const std::string& k, const std::string& def = "") {
    return args.count(k) ? args[k].back() : def;
  };
  std::signal(SIGTERM, OnSignal);
  std::signal(SIGINT, OnSignal);
  std::signal(SIGPIPE, SIG_IGN);
  if (args.count("probe-no-cert")) return ProbeNoCert(one("address"), one("ca"));

  const int agents = std::stoi(one("agents", "1"));
  const uint64_t first = std::stoull(one("first", "0"));
  const uint64_t count = std::stoull(one("count", "0"));
  const double rate = std::stod(one("rate", "0"));
  const std::string wait = one("wait");
  const auto wait_timeout = std::chrono::milliseconds(std::stoll(one("wait-timeout-ms", "60000")));
  const std::string stats_file = one("stats");

  std::vector<std::unique_ptr<CollectorSink>> sinks;
  for (int k = 0; k < agents; ++k) {
    CollectorSinkOptions o;
    o.addresses = args["address"];
    o.ca_file = one("ca");
    if (agents == 1 && args.count("cert")) {
      o.cert_file = one("cert");
      o.key_file = one("key");
      o.spool_directory = one("spool");
    } else {
      o.cert_file = one("certs") + "/agent-" + std::to_string(k) + ".crt";
      o.key_file = one("certs") + "/agent-" + std::to_string(k) + ".key";
      o.spool_directory = one("spool") + "/agent-" + std::to_string(k);
    }
    o.batch_max_delay = 50ms;
    o.heartbeat_interval = 1000ms;
    o.reconnect_initial_backoff = 100ms;
    o.reconnect_max_backoff = 1000ms;
    o.connect_timeout = 3000ms;
    o.agent_version = "fault-test";
    if (args.count("spool-max")) o.spool_max_bytes = std::stoull(one("spool-max"));
    if (args.count("queue-max")) o.queue_max_records = std::stoull(one("queue-max"));
    if (args.count("ack-timeout-ms")) {
      o.ack_timeout = std::chrono::milliseconds(std::stoll(one("ack-timeout-ms")));
    }
    auto sink = CollectorSink::Create(o, nullptr);
    if (!sink) {
      std::fprintf(stderr, "fault_agent: %s\n", sink.error().c_str());
      return 3;
    }
    sinks.push_back(std::move(*sink));
  }

  std::atomic<bool> stats_stop{false};
  std::thread stats_thread([&] {
    while (!stats_stop) {
      if (!stats_file.empty()) {
        std::string all;
        for (auto& s : sinks) all += StatsText(s->Stats()) + "--\n";
        WriteAtomic(stats_file, all);
      }
      std::this_thread::sleep_for(50ms);
    }
  });

  auto start = std::chrono::steady_clock::now();
  for (uint64_t i = first; i < first + count && !g_stop; ++i) {
    for (int k = 0; k < agents; ++k) {
      std::string uid = agents == 1 ? "r" + std::to_string(i)
                                    : "a" + std::to_string(k) + ".r" + std::to_string(i);
      sinks[static_cast<size_t>(k)]->Emit(MakeEvent(uid, i));
    }
    if (rate > 0) {
      auto due = start + std::chrono::duration<double>(static_cast<double>(i - first + 1) / rate);
      std::this_thread::sleep_until(due);
    }
  }
  std::printf("EMITTED\n");
  std::fflush(stdout);

  if (!wait.empty()) {
    auto deadline = std::chrono::steady_clock::now() + wait_timeout;
    bool ok = true;
    for (auto& s : sinks) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) left = 1ms;
      ok = ok &&
           (wait == "spooled" ? s->WaitSpooled(left) : s->Flush(static_cast<int>(left.count())));
    }
    std::printf("%s\n", ok ? (wait == "spooled" ? "SPOOLED" : "ACKED") : "TIMEOUT");
    std::fflush(stdout);
  }
  if (args.count("hold")) {
    while (!g_stop) std::this_thread::sleep_for(20ms);
  }
  for (auto& s : sinks) s->Shutdown(2000ms);
  stats_stop = true;
  stats_thread.join();
  if (!stats_file.empty()) {
    std::string all;
    for (auto& s : sinks) all += StatsText(s->Stats()) + "--\n";
    WriteAtomic(stats_file, all);
  }
  std::printf("DONE\n");
  std::fflush(stdout);
  return 0;
}
