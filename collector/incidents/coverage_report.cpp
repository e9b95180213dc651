#include "collector/incidents/coverage_report.h"

#include <algorithm>
#include <iterator>
#include <map>

namespace vigil::collector::incidents {
namespace {

constexpr int64_t kLedgerBucketNs = int64_t{3600} * 1'000'000'000;

bool Selected(const std::optional<std::string>& agency, const std::optional<std::string>& agent_id,
              const std::string& row_agency, const std::string& row_agent) {
  if (row_agent.empty()) return true;  // collector-wide events concern every agency
  if (agency && *agency != row_agency) return false;
  if (agent_id && *agent_id != row_agent) return false;
  return true;
}

// Adds the inclusive range [first, last] (first >= 1) to a set of disjoint
// ranges (start -> end) and returns how many of its sequences were not in
// the set yet.
uint64_t AddRange(std::map<uint64_t, uint64_t>& set, uint64_t first, uint64_t last) {
  uint64_t already = 0;
  uint64_t lo = first, hi = last;
  auto it = set.upper_bound(first);
  if (it != set.begin()) {
    auto prev = std::prev(it);
    if (prev->second >= first - 1) it = prev;  // overlaps or touches
  }
  while (it != set.end() && it->first - 1 <= hi) {
    const uint64_t from = std::max(it->first, first), to = std::min(it->second, last);
    if (from <= to) already += to - from + 1;
    lo = std::min(lo, it->first);
    hi = std::max(hi, it->second);
    it = set.erase(it);
  }
  set.emplace(lo, hi);
  return last - first + 1 - already;
}

}  // namespace

std::expected<CoverageReport, StoreError> ComputeCoverage(
    Connection& db, int64_t since_ns, int64_t until_ns, double drop_threshold,
    const std::optional<std::string>& agency, const std::optional<std::string>& agent_id) {
  CoverageReport report;
  report.since_ns = since_ns;
  report.until_ns = until_ns;
  report.drop_threshold = drop_threshold;
  std::map<std::string, AgentCoverage> agents;

  // Connectivity state has to be replayed from before the window: an agent
  // that disconnected yesterday and never came back is a gap today.
  auto s = db.Prepare(
      "SELECT seq, agent_id, agency, event, occurred_ns, window_start_ns, window_end_ns, "
      "first_sequence, last_sequence, batches, records, drop_ratio, detail FROM coverage "
      "WHERE occurred_ns < ? ORDER BY occurred_ns, seq");
  if (!s) return std::unexpected(s.error());
  s->Bind(1, until_ns);

  struct Down {
    std::string kind, detail;
    int64_t since = 0;
    uint64_t seq = 0;
    std::string agency;
  };
  std::map<std::string, Down> down;  // agent -> why and since when
  // Per agent, the batch sequences already counted as lost: a sequenced loss
  // the agent reports (overflow, corrupt frame, unclean reboot) is also a
  // sequence gap for the store, and a loss report may be resent; each lost
  // batch counts once, whichever record came first.
  std::map<std::string, std::map<uint64_t, uint64_t>> counted_lost;
  // ... and the sequences loss reports covered (their records are counted once).
  std::map<std::string, std::map<uint64_t, uint64_t>> reported_lost;
  std::optional<Down> collector_down;

  auto clip_emit = [&](CoverageGap gap) {
    if (gap.end_ns != 0 && gap.end_ns <= since_ns) return;
    if (gap.start_ns >= until_ns) return;
    gap.start_ns = std::max(gap.start_ns, since_ns);
    gap.end_ns = gap.end_ns == 0 ? until_ns : std::min(gap.end_ns, until_ns);
    report.gaps.push_back(std::move(gap));
  };

  for (;;) {
    auto row = s->Step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    const auto seq = static_cast<uint64_t>(s->ColumnInt(0));
    const std::string agent = s->ColumnText(1);
    const std::string row_agency = s->ColumnText(2);
    const std::string event = s->ColumnText(3);
    const int64_t occurred = s->ColumnInt(4);
    const int64_t wstart = s->ColumnInt(5), wend = s->ColumnInt(6);
    if (!Selected(agency, agent_id, row_agency, agent)) continue;
    if (!agent.empty()) {
      auto& a = agents[agent];
      a.agent_id = agent;
      a.agency = row_agency;
    }

    if (event == "connected") {
      if (auto it = down.find(agent); it != down.end()) {
        clip_emit(CoverageGap{it->second.kind, agent, it->second.agency, it->second.since, occurred,
                              0, 0, 0, 0, 0, it->second.detail, it->second.seq});
        down.erase(it);
      }
    } else if (event == "disconnected" || event == "silent" || event == "goodbye") {
      if (!down.contains(agent)) {
        const std::string kind = event == "disconnected" ? "agent_disconnected"
                                 : event == "silent"     ? "agent_silent"
                                                         : "agent_stopped";
        down[agent] = Down{kind, s->ColumnText(12), occurred, seq, row_agency};
      }
    } else if (event == "collector_stopped") {
      collector_down = Down{"collector_down", "collector shut down", occurred, seq, ""};
    } else if (event == "collector_started") {
      if (collector_down) {
        clip_emit(CoverageGap{"collector_down", "", "", collector_down->since, occurred, 0, 0, 0, 0,
                              0, collector_down->detail, collector_down->seq});
        collector_down.reset();
      } else if (wstart > 0) {
        // Unclean stop: the last record before the restart bounds the outage.
        clip_emit(CoverageGap{"collector_down", "", "", wstart, occurred, 0, 0, 0, 0, 0,
                              s->ColumnText(12), seq});
      }
    } else if (event == "loss_report" || event == "sequence_gap") {
      const int64_t start = wstart != 0 ? wstart : occurred;
      const int64_t end = wend != 0 ? wend : occurred;
      if (end < since_ns || start >= until_ns) continue;
      CoverageGap gap{event,
                      agent,
                      row_agency,
                      start,
                      end,
                      static_cast<uint64_t>(s->ColumnInt(7)),
                      static_cast<uint64_t>(s->ColumnInt(8)),
                      static_cast<uint64_t>(s->ColumnInt(9)),
                      static_cast<uint64_t>(s->ColumnInt(10)),
                      0,
                      s->ColumnText(12),
                      seq};
      auto& a = agents[agent];
      if (gap.first_sequence == 0) {
        // Unsequenced (e.g. records dropped before a batch was sealed).
        a.batches_lost += gap.batches;
        a.records_lost += gap.records;
      } else {
        const uint64_t last = std::max(gap.first_sequence, gap.last_sequence);
        a.batches_lost += AddRange(counted_lost[agent], gap.first_sequence, last);
        if (event == "loss_report" &&
            AddRange(reported_lost[agent], gap.first_sequence, last) > 0) {
          a.records_lost += gap.records;
        } else if (event != "loss_report") {
          a.records_lost += gap.records;
        }
      }
      gap.start_ns = std::max(gap.start_ns, since_ns);
      gap.end_ns = std::min(std::max(gap.end_ns, gap.start_ns), until_ns);
      report.gaps.push_back(std::move(gap));
    } else if (event == "capture_health") {
      const int64_t start = wstart != 0 ? wstart : occurred;
      const int64_t end = wend != 0 ? wend : occurred;
      if (end < since_ns || start >= until_ns) continue;
      const double ratio = s->ColumnReal(11);
      auto& a = agents[agent];
      a.max_drop_ratio = std::max(a.max_drop_ratio, ratio);
      if (ratio > drop_threshold) {
        CoverageGap gap{"capture_drop",
                        agent,
                        row_agency,
                        std::max(start, since_ns),
                        std::min(std::max(end, start), until_ns),
                        0,
                        0,
                        0,
                        0,
                        ratio,
                        s->ColumnText(12),
                        seq};
        report.gaps.push_back(std::move(gap));
      }
    }
  }
  // Still down at the end of the window.
  for (const auto& [agent, d] : down) {
    clip_emit(CoverageGap{d.kind, agent, d.agency, d.since, 0, 0, 0, 0, 0, 0,
                          d.detail + " (not back by the end of the window)", d.seq});
  }
  if (collector_down) {
    clip_emit(CoverageGap{"collector_down", "", "", collector_down->since, 0, 0, 0, 0, 0, 0,
                          collector_down->detail, collector_down->seq});
  }

  auto l = db.Prepare(
      "SELECT l.agent_id, coalesce(g.agency, ''), sum(l.batches), sum(l.events) FROM ledger l "
      "LEFT JOIN agents g ON g.agent_id = l.agent_id WHERE l.hour_ns >= ? AND l.hour_ns < ? "
      "GROUP BY l.agent_id");
  if (!l) return std::unexpected(l.error());
  l->Bind(1, since_ns - ((since_ns % kLedgerBucketNs) + kLedgerBucketNs) % kLedgerBucketNs);
  l->Bind(2, until_ns);
  for (;;) {
    auto row = l->Step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    const std::string agent = l->ColumnText(0);
    const std::string row_agency = l->ColumnText(1);
    if (!Selected(agency, agent_id, row_agency, agent) || agent.empty()) continue;
    auto& a = agents[agent];
    a.agent_id = agent;
    a.agency = row_agency;
    a.batches_received = static_cast<uint64_t>(l->ColumnInt(2));
    a.events_received = static_cast<uint64_t>(l->ColumnInt(3));
  }
  for (auto& [id, a] : agents) report.agents.push_back(std::move(a));
  std::stable_sort(
      report.gaps.begin(), report.gaps.end(),
      [](const CoverageGap& x, const CoverageGap& y) { return x.start_ns < y.start_ns; });
  return report;
}

}  // namespace vigil::collector::incidents
