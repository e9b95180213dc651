// Child process for the crash-safety test: opens the incident log in
// collector mode (synchronous=FULL) and commits batches with alerts as fast as
// it can, printing "committed <sequence>" on stdout after each CommitBatches
// returns. The parent kills it with SIGKILL at a random point.
// Usage: vigil_incidents_crash_writer DB KEY FIRST_SEQUENCE
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "collector/incidents/incident_store.h"

int main(int argc, char** argv) {
  namespace inc = vigil::collector::incidents;
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s DB KEY FIRST_SEQUENCE\n", argv[0]);
    return 2;
  }
  inc::StoreConfig config;
  config.db_path = argv[1];
  config.signing_key_path = argv[2];
  config.durability = inc::Durability::kFull;
  config.checkpoint_every_records = 200;
  auto store = inc::IncidentStore::Open(config, inc::OpenMode::kCollector);
  if (!store) {
    std::fprintf(stderr, "open: %s\n", store.error().message.c_str());
    return 1;
  }
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  for (uint64_t seq = std::strtoull(argv[3], nullptr, 10);; ++seq) {
    std::vector<vigil::collector::engine::Alert> alerts(3);
    for (size_t i = 0; i < alerts.size(); ++i) {
      alerts[i].rule_id = "crash.rule" + std::to_string(i);
      alerts[i].rule_title = "crash test";
      alerts[i].group_key = "g" + std::to_string(seq % 5);
      alerts[i].event_time_ns = inc::SystemClockNs();
      alerts[i].message = "batch " + std::to_string(seq);
    }
    inc::BatchCommit batch;
    batch.agent_id = "agent-crash";
    batch.agency = "agency-crash";
    batch.sequence = seq;
    batch.events = 1000;
    batch.received_ns = inc::SystemClockNs();
    batch.alerts = alerts;
    auto result = (*store)->CommitBatches(std::span<const inc::BatchCommit>(&batch, 1));
    if (!result) {
      std::fprintf(stderr, "commit: %s\n", result.error().message.c_str());
      return 1;
    }
    std::printf("committed %llu\n", static_cast<unsigned long long>(seq));
  }
}
