// Runs vigil-agent on every reference trace of VIGIL_SHARED_DATA/zeek and
// compares its records with the logs Zeek wrote for the same trace, field by
// field. Prints a per-field agreement table and fails when fewer than 99% of
// Zeek's conn rows are matched with identical conn_state, history, packet and
// byte counts (docs/accuracy.md explains every known disagreement).

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/accuracy/zeek_log.h"

namespace vigil::accuracy {
namespace {

namespace fs = std::filesystem;

struct ManifestRow {
  std::string trace, baseline_dir, command_line, scripts;
  bool bare = false;
  bool ignore_checksums = false;
  std::vector<std::string> baseline_files;
};

std::vector<std::string> SplitOn(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in(s);
  while (std::getline(in, cur, sep)) out.push_back(cur);
  return out;
}

std::vector<ManifestRow> ReadManifest(const fs::path& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  const std::vector<std::string> header = SplitOn(line, '\t');
  auto col = [&](const std::string& name) {
    return static_cast<size_t>(std::find(header.begin(), header.end(), name) - header.begin());
  };
  const size_t c_trace = col("trace_file"), c_dir = col("baseline_dir"),
               c_cmd = col("zeek_command_line"), c_scripts = col("non_default_scripts_or_options"),
               c_bare = col("bare_mode_b"), c_c = col("ignore_checksums_C"),
               c_files = col("baseline_files");
  std::vector<ManifestRow> rows;
  while (std::getline(in, line)) {
    const std::vector<std::string> v = SplitOn(line, '\t');
    if (v.size() < header.size()) continue;
    ManifestRow r;
    r.trace = v[c_trace];
    r.baseline_dir = v[c_dir];
    r.command_line = v[c_cmd];
    r.scripts = v[c_scripts];
    r.bare = v[c_bare] == "yes";
    r.ignore_checksums = v[c_c] == "yes";
    r.baseline_files = SplitOn(v[c_files], ',');
    rows.push_back(std::move(r));
  }
  return rows;
}

fs::path SharedData() {
  const char* env = std::getenv("VIGIL_SHARED_DATA");
  return fs::path(env != nullptr && *env != '\0' ? env : VIGIL_SHARED_DATA_DEFAULT);
}

fs::path AgentBinary() {
  const char* dir = std::getenv("VIGIL_BINARY_DIR");
  return fs::path(dir != nullptr && *dir != '\0' ? dir : VIGIL_BINARY_DIR_DEFAULT) / "bin" /
         "vigil-agent";
}

std::string RunAgent(const fs::path& trace, bool verify_checksums) {
  std::string cmd = "'" + AgentBinary().string() + "' --read '" + trace.string() +
                    "' --output json --seed 1" + (verify_checksums ? " --verify-checksums" : "") +
                    " 2>/dev/null";
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return out;
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

// Which of the services Vigil implements the Zeek run could name: all in
// default mode, only the @load-ed ones in bare mode.
std::set<std::string> LoadedServices(const ManifestRow& row) {
  static const std::set<std::string> kOurs = {"dns", "ssl", "http"};
  if (!row.bare) return kOurs;
  std::set<std::string> loaded;
  std::string word;
  for (char c : row.scripts + " " + row.command_line) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '_') {
      word.push_back(c);
    } else {
      if (kOurs.count(word)) loaded.insert(word);
      word.clear();
    }
  }
  return loaded;
}

std::string FilterServices(const std::string& value, const std::set<std::string>& keep) {
  std::set<std::string> s;
  for (const std::string& part : SplitOn(value == "-" ? "" : value, ',')) {
    if (keep.count(part)) s.insert(part);
  }
  std::string out;
  for (const std::string& p : s) out += (out.empty() ? "" : ",") + p;
  return out.empty() ? "-" : out;
}

bool DurationsAgree(const std::string& a, const std::string& b) {
  if (a == "-" || b == "-") return a == b;
  return std::fabs(std::stod(a) - std::stod(b)) <= 0.001;
}

struct Tally {
  uint64_t agree = 0, total = 0;
};

class Report {
 public:
  void Count(const std::string& field, bool agree) {
    Tally& t = fields_[field];
    ++t.total;
    if (agree) ++t.agree;
  }
  void Note(std::string s) { notes_.push_back(std::move(s)); }

  uint64_t conn_rows = 0, conn_matched = 0, conn_strict = 0;

  std::string Table() const {
    std::ostringstream o;
    char line[160];
    std::snprintf(line, sizeof(line), "%-24s %10s %8s\n", "field", "agree/all", "%");
    o << line;
    for (const auto& [name, t] : fields_) {
      std::snprintf(
          line, sizeof(line), "%-24s %5llu/%-5llu %7.1f\n", name.c_str(),
          static_cast<unsigned long long>(t.agree), static_cast<unsigned long long>(t.total),
          t.total ? 100.0 * static_cast<double>(t.agree) / static_cast<double>(t.total) : 100.0);
      o << line;
    }
    std::snprintf(line, sizeof(line),
                  "conn rows: %llu in Zeek's logs, %llu matched, %llu with identical conn_state, "
                  "history, packets and bytes (%.1f%%)\n",
                  static_cast<unsigned long long>(conn_rows),
                  static_cast<unsigned long long>(conn_matched),
                  static_cast<unsigned long long>(conn_strict), StrictPercent());
    o << line;
    return o.str();
  }
  double StrictPercent() const {
    return conn_rows ? 100.0 * static_cast<double>(conn_strict) / static_cast<double>(conn_rows)
                     : 100.0;
  }
  const std::vector<std::string>& notes() const { return notes_; }

 private:
  std::map<std::string, Tally> fields_;
  std::vector<std::string> notes_;
};

std::string Tuple(const Row& r) {
  return Get(r, "id.orig_h") + ":" + Get(r, "id.orig_p") + " > " + Get(r, "id.resp_h") + ":" +
         Get(r, "id.resp_p");
}

bool SameTuple(const Row& z, const Row& a) {
  for (const char* f : {"id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p"}) {
    if (Get(z, f) != Get(a, f)) return false;
  }
  return !z.count("proto") || Get(z, "proto") == Get(a, "proto");
}

using FieldCheck = std::function<bool(const Row& zeek, const Row& agent)>;

// Matches every Zeek row to the unused agent row with the same tuple that
// agrees on most fields, then counts agreement per field.
void Compare(const std::string& log, const std::vector<Row>& zeek, const std::vector<Row>& agent,
             const std::vector<std::pair<std::string, FieldCheck>>& checks,
             const std::function<bool(const Row&, const Row&)>& key, const std::string& trace,
             Report& report, const std::vector<std::string>& strict_fields = {}) {
  std::vector<bool> used(agent.size(), false);
  for (const Row& z : zeek) {
    int best = -1, best_score = -1;
    for (size_t i = 0; i < agent.size(); ++i) {
      if (used[i] || !key(z, agent[i])) continue;
      int score = 0;
      for (const auto& [field, check] : checks) {
        if (z.count(field) && check(z, agent[i])) ++score;
      }
      if (score > best_score) {
        best_score = score;
        best = static_cast<int>(i);
      }
    }
    if (log == "conn") ++report.conn_rows;
    report.Count(log + ".matched", best >= 0);
    if (best < 0) {
      report.Note(trace + ": " + log + " " + Tuple(z) + ": no agent record");
      continue;
    }
    used[best] = true;
    const Row& a = agent[best];
    bool strict = true;
    for (const auto& [field, check] : checks) {
      if (!z.count(field)) continue;
      const bool ok = check(z, a);
      report.Count(log + "." + field, ok);
      if (!ok) {
        report.Note(trace + ": " + log + " " + Tuple(z) + " " + field + ": zeek=" + Get(z, field) +
                    " agent=" + Get(a, field));
        if (std::find(strict_fields.begin(), strict_fields.end(), field) != strict_fields.end()) {
          strict = false;
        }
      }
    }
    if (log == "conn") {
      ++report.conn_matched;
      if (strict) ++report.conn_strict;
    }
  }
}

FieldCheck Equal(const std::string& field) {
  return [field](const Row& z, const Row& a) { return Get(z, field) == Get(a, field); };
}

void CompareConn(const std::vector<Row>& zeek, const std::vector<Row>& agent,
                 const std::set<std::string>& services, const std::string& trace, Report& report) {
  std::vector<std::pair<std::string, FieldCheck>> checks;
  for (const char* f :
       {"conn_state", "history", "orig_pkts", "orig_ip_bytes", "resp_pkts", "resp_ip_bytes",
        "orig_bytes", "resp_bytes", "missed_bytes", "local_orig", "local_resp"}) {
    checks.emplace_back(f, Equal(f));
  }
  checks.emplace_back("duration", [](const Row& z, const Row& a) {
    return DurationsAgree(Get(z, "duration"), Get(a, "duration"));
  });
  checks.emplace_back("service", [services](const Row& z, const Row& a) {
    return FilterServices(Get(z, "service"), services) ==
           FilterServices(Get(a, "service"), services);
  });
  Compare("conn", zeek, agent, checks, SameTuple, trace, report,
          {"conn_state", "history", "orig_pkts", "orig_ip_bytes", "resp_pkts", "resp_ip_bytes",
           "orig_bytes", "resp_bytes"});
}

TEST(Accuracy, AgentAgreesWithZeekOnReferenceTraces) {
  const fs::path data = SharedData() / "zeek";
  if (!fs::exists(data / "MANIFEST.tsv")) {
    GTEST_SKIP() << "reference data not found at " << data
                 << " (set VIGIL_SHARED_DATA): accuracy NOT measured";
  }
  ASSERT_TRUE(fs::exists(AgentBinary())) << "vigil-agent not built at " << AgentBinary();
  const std::vector<ManifestRow> manifest = ReadManifest(data / "MANIFEST.tsv");
  ASSERT_FALSE(manifest.empty());

  Report report;
  std::map<std::string, int> out_line;  // baseline dir -> next line of its "out" file
  for (const ManifestRow& row : manifest) {
    const std::string trace = fs::path(row.trace).filename().string();
    const auto agent = ParseAgentJson(RunAgent(data / row.trace, !row.ignore_checksums));
    EXPECT_EQ(agent.count("invalid"), 0u) << trace << ": agent wrote invalid JSON";
    const auto rows = [&](const std::string& path) {
      auto it = agent.find(path);
      return it == agent.end() ? std::vector<Row>{} : it->second;
    };
    for (const std::string& file : row.baseline_files) {
      const fs::path log = data / row.baseline_dir / file;
      if (file.rfind("conn", 0) == 0) {
        CompareConn(ReadZeekLog(log.string()), rows("conn"), LoadedServices(row), trace, report);
      } else if (file == "out") {
        // One "history, conn_state" line per trace, in manifest order.
        std::ifstream in(log);
        std::vector<std::string> lines;
        for (std::string l; std::getline(in, l);) {
          if (!l.empty() && l[0] != '#') lines.push_back(l);
        }
        const int n = out_line[row.baseline_dir]++;
        ASSERT_LT(static_cast<size_t>(n), lines.size()) << log;
        const auto comma = lines[n].find(", ");
        Row z{{"history", lines[n].substr(0, comma)}, {"conn_state", lines[n].substr(comma + 2)}};
        const std::vector<Row> conns = rows("conn");
        std::vector<Row> agent_one(conns.begin(),
                                   conns.begin() + std::min<size_t>(conns.size(), 1));
        Compare("conn", {z}, agent_one,
                {{"conn_state", Equal("conn_state")}, {"history", Equal("history")}},
                [](const Row&, const Row&) { return true; }, trace, report,
                {"conn_state", "history"});
      } else if (file == "dns.log") {
        Compare(
            "dns", ReadZeekLog(log.string()), rows("dns"),
            {{"query", Equal("query")},
             {"qtype", Equal("qtype")},
             {"rcode", Equal("rcode")},
             {"answers", Equal("answers")}},
            [](const Row& z, const Row& a) {
              return SameTuple(z, a) && Get(z, "trans_id") == Get(a, "trans_id");
            },
            trace, report);
      } else if (file == "ssl.log") {
        Compare("ssl", ReadZeekLog(log.string()), rows("ssl"),
                {{"server_name", Equal("server_name")}, {"version", Equal("version")}}, SameTuple,
                trace, report);
      } else if (file == "http.log") {
        Compare(
            "http", ReadZeekLog(log.string()), rows("http"),
            {{"method", Equal("method")},
             {"host", Equal("host")},
             {"uri", Equal("uri")},
             {"status_code", Equal("status_code")}},
            [](const Row& z, const Row& a) {
              return SameTuple(z, a) && Get(z, "trans_depth") == Get(a, "trans_depth");
            },
            trace, report);
      }
    }
  }

  std::string text = report.Table() + "\ndisagreements:\n";
  for (const std::string& n : report.notes()) text += "  " + n + "\n";
  std::printf("%s", text.c_str());
  std::ofstream(AgentBinary().parent_path().parent_path() / "accuracy_report.txt") << text;
  EXPECT_GE(report.StrictPercent(), 99.0) << "conn agreement below target";
}

}  // namespace
}  // namespace vigil::accuracy
