// vigilctl rules: check (lint) and test (offline evaluation, embedded
// examples) Sigma rules with the collector's own engine. CLI11 stays in this
// translation unit. Exit codes: 0 success, 1 the rules or a test failed,
// 2 usage or environment error.
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "collector/ctl/commands.h"
#include "collector/engine/alert_json.h"
#include "collector/engine/engine.h"
#include "collector/engine/event_json.h"
#include "collector/engine/loader/load.h"
#include "collector/engine/rule_tests.h"

extern char** environ;

namespace vigil::collector::ctl {
namespace {

namespace eng = vigil::collector::engine;

struct CommonOptions {
  std::vector<std::string> lists;
  std::string public_suffix = "/usr/share/publicsuffix/public_suffix_list.dat";
  bool include_deprecated = false;
  bool skip_rejected = false;
  std::string format = "text";
};

eng::LoadOptions MakeLoadOptions(const std::vector<std::string>& paths, const CommonOptions& c) {
  eng::LoadOptions o;
  o.paths = paths;
  for (const auto& l : c.lists) o.lists.push_back(eng::ParseListArgument(l));
  o.public_suffix_file = c.public_suffix;
  o.include_deprecated = c.include_deprecated;
  o.skip_rejected_rules = c.skip_rejected;
  return o;
}

void PrintDiagnostics(const std::vector<eng::Diagnostic>& diags, const std::string& format,
                      std::FILE* to) {
  for (const auto& d : diags) {
    const std::string line = format == "json" ? d.ToJson() : d.ToString();
    std::fprintf(to, "%s\n", line.c_str());
  }
}

void PrintSummary(const eng::LoadResult& r, std::FILE* to) {
  for (const auto& s : r.rules) {
    if (s.state == eng::RuleState::kActive) continue;
    std::fprintf(to, "%s:%d: note: %s '%s' is %s: %s\n", s.file.c_str(), s.line,
                 std::string(eng::DocKindName(s.kind)).c_str(), s.id.c_str(),
                 std::string(eng::RuleStateName(s.state)).c_str(), s.reason.c_str());
  }
  const auto& c = r.counts;
  std::fprintf(to,
               "%zu rules: %zu active (%zu shadow, %zu correlations), %zu inactive, %zu rejected; "
               "%zu filters, %zu overlays; %zu files; %zu errors, %zu warnings\n",
               c.active + c.inactive + c.rejected, c.active, c.shadow, c.correlations, c.inactive,
               c.rejected, c.filters, c.overlays, r.files.size(), r.errors(), r.warnings());
  std::fprintf(to, "ruleset sha256 %s\n", r.ruleset_hash.c_str());
}

int Check(const std::vector<std::string>& paths, const CommonOptions& common, bool strict) {
  eng::LoadResult r = eng::LoadRuleSet(MakeLoadOptions(paths, common));
  std::vector<eng::Diagnostic> diags = r.diagnostics;
  if (r.rule_set) {
    auto lint = eng::LintRuleSet(r.rule_set);
    diags.insert(diags.end(), lint.begin(), lint.end());
  }
  PrintDiagnostics(diags, common.format, stdout);
  if (common.format == "json") {
    std::printf(
        "{\"summary\":{\"active\":%zu,\"shadow\":%zu,\"inactive\":%zu,\"rejected\":%zu,"
        "\"filters\":%zu,\"errors\":%zu,\"warnings\":%zu,\"ruleset_sha256\":\"%s\"}}\n",
        r.counts.active, r.counts.shadow, r.counts.inactive, r.counts.rejected, r.counts.filters,
        eng::CountSeverity(diags, eng::Severity::kError),
        eng::CountSeverity(diags, eng::Severity::kWarning), r.ruleset_hash.c_str());
  } else {
    PrintSummary(r, stdout);
  }
  const size_t errors = eng::CountSeverity(diags, eng::Severity::kError);
  const size_t warnings = eng::CountSeverity(diags, eng::Severity::kWarning);
  if (errors > 0 || (strict && warnings > 0)) return 1;
  return 0;
}

std::optional<eng::LogType> LogFromFileName(const std::string& path) {
  const std::string name = std::filesystem::path(path).filename().string();
  for (eng::LogType log : eng::kAllLogTypes) {
    const std::string prefix(eng::LogTypeName(log));
    if (name.starts_with(prefix + ".") || name.starts_with(prefix + "_") ||
        name.starts_with(prefix + "-")) {
      return log;
    }
  }
  return std::nullopt;
}

// Feeds JSON lines to the engine and prints alerts; returns bad lines.
struct Replay {
  eng::Engine& engine;
  std::string origin_agent;
  size_t events = 0;
  size_t bad = 0;
  size_t alerts = 0;
  int64_t last_ns = 0;
  std::map<std::string, size_t> by_rule;

  void Print(std::vector<eng::Alert>& out) {
    for (const auto& a : out) {
      std::printf("%s\n", eng::AlertToJson(a).c_str());
      ++alerts;
      ++by_rule[a.rule_id];
    }
    out.clear();
  }

  void Line(const std::string& source, size_t line_no, const std::string& line,
            std::optional<eng::LogType> default_log) {
    if (line.empty() || line.find_first_not_of(" \t\r") == std::string::npos) return;
    eng::EventOrigin origin;
    origin.agent_id = origin_agent;
    auto e = eng::EventFromJson(line, origin, default_log);
    if (!e) {
      ++bad;
      std::fprintf(stderr, "%s:%zu: error: bad event at byte %zu: %s [%s]\n", source.c_str(),
                   line_no, e.error().offset + 1, e.error().message.c_str(),
                   e.error().code.c_str());
      return;
    }
    ++events;
    last_ns = std::max(last_ns, e->time_ns());
    std::vector<eng::Alert> out;
    engine.Evaluate(*e, out);
    Print(out);
  }

  void Finish(const eng::RuleSet& rs) {
    int64_t span = 0;
    for (const auto& c : rs.correlations) span = std::max(span, c.timespan_ns);
    for (const auto& d : rs.detections) {
      if (d.throttle) span = std::max(span, d.throttle->window_ns);
    }
    std::vector<eng::Alert> out;
    engine.AdvanceTime(last_ns + span + 1'000'000'000, out);
    Print(out);
    std::fprintf(stderr, "%zu events, %zu alerts, %zu bad lines\n", events, alerts, bad);
    for (const auto& [rule, n] : by_rule) std::fprintf(stderr, "  %6zu  %s\n", n, rule.c_str());
  }
};

std::string FindAgent(const std::string& explicit_path) {
  if (!explicit_path.empty()) return explicit_path;
  if (const char* env = std::getenv("VIGIL_AGENT"); env && *env) return env;
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const auto dir = self.parent_path();
    for (const auto& candidate :
         {dir / "vigil-agent", dir / ".." / ".." / "agent" / "vigil-agent"}) {
      if (std::filesystem::exists(candidate, ec)) return candidate.lexically_normal().string();
    }
  }
  return {};
}

// Runs `vigil-agent --read FILE --output json` and replays its stdout.
int ReplayPcap(const std::string& agent, const std::string& pcap, Replay& replay) {
  int pipefd[2];
  if (pipe(pipefd) != 0) {
    std::perror("vigilctl: pipe");
    return 2;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipefd[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, pipefd[0]);
  posix_spawn_file_actions_addclose(&actions, pipefd[1]);
  std::vector<std::string> args = {agent, "--read", pcap, "--output", "json"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, agent.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(pipefd[1]);
  if (rc != 0) {
    close(pipefd[0]);
    std::fprintf(stderr, "vigilctl: cannot run %s: %s\n", agent.c_str(), std::strerror(rc));
    return 2;
  }
  std::FILE* in = fdopen(pipefd[0], "r");
  std::string line;
  size_t line_no = 0;
  char buf[65536];
  while (std::fgets(buf, sizeof buf, in)) {
    line += buf;
    if (!line.empty() && line.back() == '\n') {
      line.pop_back();
      replay.Line(pcap + " (via vigil-agent)", ++line_no, line, std::nullopt);
      line.clear();
    }
  }
  if (!line.empty()) replay.Line(pcap + " (via vigil-agent)", ++line_no, line, std::nullopt);
  std::fclose(in);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "vigilctl: %s exited with status %d reading %s\n", agent.c_str(),
                 WIFEXITED(status) ? WEXITSTATUS(status) : -1, pcap.c_str());
    return 2;
  }
  return 0;
}

int RunExamples(const eng::LoadResult& r, bool require_tests, const std::string& format) {
  const auto outcomes = eng::RunRuleTests(r.rule_set);
  size_t failed = 0;
  std::map<std::string, std::pair<size_t, size_t>> per_rule;  // positive, negative
  for (const auto& o : outcomes) {
    if (o.expect_match)
      ++per_rule[o.rule_id].first;
    else
      ++per_rule[o.rule_id].second;
    const bool pass = o.passed();
    if (!pass) ++failed;
    if (format == "json") {
      std::string line = "{\"rule_id\":";
      eng::AppendJsonString(line, o.rule_id);
      line += ",\"test\":";
      eng::AppendJsonString(line, o.test_name);
      line += ",\"file\":";
      eng::AppendJsonString(line, o.file);
      line += ",\"line\":" + std::to_string(o.line) + ",\"expect\":\"" +
              (o.expect_match ? "match" : "no_match") +
              "\",\"matched\":" + (o.matched ? "true" : "false") +
              ",\"passed\":" + (pass ? "true" : "false") + "}";
      std::printf("%s\n", line.c_str());
    } else if (!pass) {
      std::printf("%s:%d: FAIL %s: '%s' expected %s, got %s%s\n", o.file.c_str(), o.line,
                  o.rule_id.c_str(), o.test_name.c_str(), o.expect_match ? "match" : "no_match",
                  o.error.empty() ? (o.matched ? "match" : "no_match") : "an error",
                  o.error.empty() ? "" : (": " + o.error).c_str());
    } else {
      std::printf("%s:%d: pass %s: '%s'\n", o.file.c_str(), o.line, o.rule_id.c_str(),
                  o.test_name.c_str());
    }
  }
  size_t missing = 0;
  if (require_tests) {
    for (const auto& s : r.rules) {
      if (s.state != eng::RuleState::kActive ||
          (s.kind != eng::DocKind::kDetection && s.kind != eng::DocKind::kCorrelation)) {
        continue;
      }
      const auto counts = per_rule[s.id];
      if (counts.first == 0 || counts.second == 0) {
        ++missing;
        std::printf(
            "%s:%d: FAIL %s: needs at least one 'expect: match' and one 'expect: no_match' test\n",
            s.file.c_str(), s.line, s.id.c_str());
      }
    }
  }
  std::fprintf(stderr, "%zu tests, %zu failed%s\n", outcomes.size(), failed,
               require_tests
                   ? (", " + std::to_string(missing) + " rules without both kinds of test").c_str()
                   : "");
  return failed > 0 || missing > 0 ? 1 : 0;
}

int Test(const std::vector<std::string>& rule_paths, const std::vector<std::string>& event_files,
         const std::string& pcap, const std::string& agent_path, const std::string& agent_id,
         bool require_tests, const CommonOptions& common) {
  eng::LoadResult r = eng::LoadRuleSet(MakeLoadOptions(rule_paths, common));
  if (!r.ok()) {
    PrintDiagnostics(r.diagnostics, common.format, stderr);
    std::fprintf(stderr, "vigilctl: rules did not load (%zu errors)\n", r.errors());
    return 1;
  }
  if (event_files.empty() && pcap.empty()) return RunExamples(r, require_tests, common.format);

  eng::EngineOptions eo;
  eo.timing_sample = 0;
  eng::Engine engine(eo);
  engine.Swap(r.rule_set);
  Replay replay{engine, agent_id, 0, 0, 0, 0, {}};
  for (const auto& file : event_files) {
    std::ifstream in(file);
    if (!in) {
      std::fprintf(stderr, "vigilctl: cannot read %s\n", file.c_str());
      return 2;
    }
    const auto default_log = LogFromFileName(file);
    std::string line;
    size_t n = 0;
    while (std::getline(in, line)) replay.Line(file, ++n, line, default_log);
  }
  if (!pcap.empty()) {
    const std::string agent = FindAgent(agent_path);
    if (agent.empty()) {
      std::fprintf(stderr,
                   "vigilctl: vigil-agent not found next to vigilctl; pass --agent PATH or set "
                   "VIGIL_AGENT\n");
      return 2;
    }
    if (int rc = ReplayPcap(agent, pcap, replay); rc != 0) return rc;
  }
  replay.Finish(*r.rule_set);
  return replay.bad > 0 ? 1 : 0;
}

// The field names a rule may use per log (native, derived, aliases).
int Fields(const std::string& log_name) {
  const auto& catalog = eng::FieldCatalog::Instance();
  for (eng::LogType log : eng::kAllLogTypes) {
    if (!log_name.empty() && eng::LogTypeName(log) != log_name) continue;
    std::printf("%s:\n", std::string(eng::LogTypeName(log)).c_str());
    for (const auto& name : catalog.AcceptedNames(log)) {
      const auto r = catalog.Resolve(log, name);
      if (r.event_name == name) {
        std::printf("  %s\n", name.c_str());
      } else {
        std::printf("  %s -> %s\n", name.c_str(), r.event_name.c_str());
      }
    }
  }
  if (!log_name.empty() && !eng::ParseLogType(log_name)) {
    std::fprintf(stderr, "vigilctl rules fields: no log '%s' (conn, dns, ssl, http)\n",
                 log_name.c_str());
    return 2;
  }
  return 0;
}

}  // namespace

int RunRulesCommand(int argc, char** argv) {
  CLI::App app{"Check and test Sigma rules offline with the collector's rule engine",
               "vigilctl rules"};
  app.require_subcommand(1);
  CommonOptions common;
  auto add_common = [&](CLI::App* sub) {
    sub->add_option("--lists", common.lists,
                    "placeholder list as NAME=FILE or FILE (name = file stem); repeatable");
    sub->add_option("--public-suffix", common.public_suffix,
                    "public suffix list (registered_domain)");
    sub->add_flag("--include-deprecated", common.include_deprecated,
                  "load status deprecated/unsupported rules as active");
    sub->add_flag("--skip-rejected", common.skip_rejected,
                  "load the other rules when some have errors (errors are still reported)");
    sub->add_option("--format", common.format, "text or json")
        ->check(CLI::IsMember({"text", "json"}));
  };

  std::vector<std::string> check_paths;
  bool strict = false;
  CLI::App* check = app.add_subcommand(
      "check", "Lint rules: every error and warning with file:line:column; exit 1 on errors");
  check->add_option("paths", check_paths, "rule files or directories")->required();
  check->add_flag("--strict", strict, "treat warnings as errors");
  add_common(check);

  std::vector<std::string> test_rules, test_events;
  std::string pcap, agent, agent_id = "offline";
  bool require_tests = false;
  CLI::App* test = app.add_subcommand("test",
                                      "Evaluate rules offline and print alerts as JSON lines; "
                                      "without --events/--pcap, run the rules' "
                                      "own example tests and exit 1 on any mismatch");
  test->add_option("--rules", test_rules, "rule files or directories")->required();
  test->add_option("--events", test_events,
                   "Zeek-style JSON lines (one record per line); repeatable");
  test->add_option("--pcap", pcap, "a capture, decoded by vigil-agent --read FILE --output json");
  test->add_option("--agent", agent,
                   "vigil-agent binary (default: next to vigilctl, or $VIGIL_AGENT)");
  test->add_option("--agent-id", agent_id, "agent identity to attach to offline events");
  test->add_flag("--require-tests", require_tests,
                 "fail unless every active rule has a positive and a negative example");
  add_common(test);

  std::string fields_log;
  CLI::App* fields = app.add_subcommand(
      "fields", "List the field names rules may use, per log (aliases -> field)");
  fields->add_option("log", fields_log, "conn, dns, ssl or http (default: all)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (check->parsed()) return Check(check_paths, common, strict);
  if (fields->parsed()) return Fields(fields_log);
  if (!test_events.empty() && !pcap.empty()) {
    std::fprintf(stderr, "vigilctl rules test: use --events or --pcap, not both\n");
    return 2;
  }
  return Test(test_rules, test_events, pcap, agent, agent_id, require_tests, common);
}

}  // namespace vigil::collector::ctl
