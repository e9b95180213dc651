// vigilctl incidents: the auditor's and analyst's view of the incident log.
// list/show/ack/close/reopen for analysts; verify, export, verify-export for
// auditors; prune, checkpoint, keygen, pubkey for the operator.
// Exit codes: 0 ok, 1 the checked thing failed (chain broken, export does
// not match its manifest, invalid lifecycle change), 2 usage error,
// 3 operational error (log or key cannot be opened).
#include <pwd.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>

#include "collector/ctl/commands.h"
#include "collector/incidents/chain_verifier.h"
#include "collector/incidents/checkpoint_key.h"
#include "collector/incidents/export_format.h"
#include "collector/incidents/export_manifest.h"
#include "collector/incidents/incident_store.h"
#include "collector/incidents/time_text.h"

namespace vigil::collector::ctl {
namespace {

namespace inc = vigil::collector::incidents;

constexpr int kOk = 0;
constexpr int kCheckFailed = 1;
constexpr int kUsage = 2;
constexpr int kOperational = 3;

std::string DefaultDb() {
  const char* env = std::getenv("VIGIL_INCIDENTS_DB");
  return env != nullptr ? env : "/var/lib/vigil/incidents.db";
}

/// The OS user, and who ran sudo when relevant: lifecycle records name a person.
std::string OsUser() {
  std::string user = "uid " + std::to_string(getuid());
  if (const passwd* pw = getpwuid(getuid()); pw != nullptr) user = pw->pw_name;
  const char* sudo = std::getenv("SUDO_USER");
  if (sudo != nullptr && user != sudo) user = std::string(sudo) + " (via sudo as " + user + ")";
  return user;
}

int Fail(const inc::StoreError& error) {
  std::fprintf(stderr, "vigilctl incidents: %s\n", error.message.c_str());
  switch (error.code) {
    case inc::ErrorCode::kInvalidArgument:
      return kUsage;
    case inc::ErrorCode::kNotFound:
    case inc::ErrorCode::kInvalidTransition:
      return kCheckFailed;
    default:
      return kOperational;
  }
}

std::expected<std::unique_ptr<inc::IncidentStore>, inc::StoreError> OpenOperator(
    const std::string& db, const std::string& key = {}) {
  inc::StoreConfig config;
  config.db_path = db;
  config.signing_key_path = key;
  return inc::IncidentStore::Open(config, inc::OpenMode::kOperator);
}

std::string Level(const std::string& level) { return level; }

void PrintSummaryJson(const inc::IncidentSummary& s, const inc::DisplayZone& zone) {
  std::printf(
      "{\"id\":%lld,\"status\":%s,\"level\":%s,\"rule_id\":%s,\"rule_title\":%s,\"agency\":%s,"
      "\"group_key\":%s,\"shadow\":%s,\"alert_count\":%llu,\"suppressed_count\":%llu,"
      "\"first_seen\":%s,\"last_seen\":%s,\"status_changed\":%s,\"status_by\":%s,"
      "\"status_note\":%s}\n",
      static_cast<long long>(s.id), inc::JsonQuote(s.status).c_str(),
      inc::JsonQuote(s.level).c_str(), inc::JsonQuote(s.rule_id).c_str(),
      inc::JsonQuote(s.rule_title).c_str(), inc::JsonQuote(s.agency).c_str(),
      inc::JsonQuote(s.group_key).c_str(), s.shadow ? "true" : "false",
      static_cast<unsigned long long>(s.alert_count),
      static_cast<unsigned long long>(s.suppressed_count),
      inc::JsonQuote(zone.Format(s.first_seen_ns)).c_str(),
      inc::JsonQuote(zone.Format(s.last_seen_ns)).c_str(),
      inc::JsonQuote(zone.Format(s.status_changed_ns)).c_str(), inc::JsonQuote(s.status_by).c_str(),
      inc::JsonQuote(s.status_note).c_str());
}

std::optional<std::string> Opt(const std::string& v) {
  return v.empty() ? std::nullopt : std::optional<std::string>(v);
}

}  // namespace

int RunIncidentsCommand(int argc, char** argv) {
  CLI::App app{"Incident log: list, acknowledge, close, verify and export incidents",
               "vigilctl incidents"};
  app.require_subcommand(1);
  std::string db = DefaultDb();
  app.add_option("--db", db,
                 "incident log (default $VIGIL_INCIDENTS_DB or /var/lib/vigil/incidents.db)");
  std::string tz = "UTC";

  // list
  auto* list = app.add_subcommand("list", "list incidents, most recent first");
  std::string l_status, l_agency, l_rule, l_level, l_since, l_until;
  size_t l_limit = 100;
  bool l_shadow = false, l_json = false;
  list->add_option("--status", l_status, "open | acknowledged | closed");
  list->add_option("--agency", l_agency);
  list->add_option("--rule", l_rule, "rule id");
  list->add_option("--level", l_level, "this level or higher");
  list->add_option("--since", l_since, "last seen at or after (RFC 3339)");
  list->add_option("--until", l_until, "first seen before (RFC 3339)");
  list->add_option("--limit", l_limit)->check(CLI::Range(1, 1000000));
  list->add_flag("--shadow", l_shadow, "include shadow-mode incidents");
  list->add_flag("--json", l_json, "one JSON object per line");
  list->add_option("--tz", tz, "display time zone (tz database name)");

  // show
  auto* show = app.add_subcommand("show", "one incident with its history and alerts");
  int64_t s_id = 0;
  size_t s_alerts = 20;
  show->add_option("id", s_id)->required();
  show->add_option("--alerts", s_alerts, "alerts to show")->check(CLI::Range(0, 100000));
  show->add_option("--tz", tz);

  // ack / close / reopen
  int64_t c_id = 0;
  std::string c_by, c_note;
  auto add_change = [&](const char* name, const char* help) {
    auto* sub = app.add_subcommand(name, help);
    sub->add_option("id", c_id)->required();
    sub->add_option("--by", c_by, "who (default: the OS user)");
    sub->add_option("--note", c_note, "why");
    return sub;
  };
  auto* ack = add_change("ack", "acknowledge an open incident");
  auto* close = add_change("close", "close an open or acknowledged incident");
  auto* reopen = add_change("reopen", "reopen a closed incident (wrongly closed, new evidence)");

  // verify
  auto* verify = app.add_subcommand("verify", "verify the hash chain and signed checkpoints");
  std::vector<std::string> v_pubkeys;
  std::string v_head;
  bool v_json = false;
  verify->add_option("--pubkey", v_pubkeys, "collector public key (PEM); repeat for rotated keys");
  verify->add_option("--expect-head", v_head, "SEQ:SHA256 kept from an earlier verify or manifest");
  verify->add_flag("--json", v_json);
  uint64_t v_cp_records = inc::VerifyOptions{}.checkpoint_every_records;
  std::string v_cp_every;
  verify
      ->add_option(
          "--checkpoint-every-records", v_cp_records,
          "records between the collector's checkpoints (its incidents.checkpoint_interval; "
          "default 10000)")
      ->check(CLI::Range(uint64_t{1}, UINT64_MAX));
  verify->add_option("--checkpoint-every", v_cp_every,
                     "time between the collector's checkpoints while it commits (default 5m)");

  // export
  auto* exp = app.add_subcommand("export", "export alerts of a period with a manifest");
  std::string e_since, e_until, e_agency, e_agent, e_rule, e_level, e_status, e_format = "jsonl",
                                                                              e_output, e_manifest;
  double e_threshold = 0.01;
  bool e_no_shadow = false;
  exp->add_option("--since", e_since, "event time from (RFC 3339, inclusive)")->required();
  exp->add_option("--until", e_until, "event time to (RFC 3339, exclusive)")->required();
  exp->add_option("--agency", e_agency);
  exp->add_option("--agent", e_agent);
  exp->add_option("--rule", e_rule);
  exp->add_option("--level", e_level, "this level or higher");
  exp->add_option("--status", e_status, "incident status");
  exp->add_option("--format", e_format, "csv | jsonl | cef | syslog");
  exp->add_option("--tz", tz, "display time zone, e.g. Asia/Ho_Chi_Minh (default UTC)");
  exp->add_option("--output", e_output, "export file")->required();
  exp->add_option("--manifest", e_manifest, "manifest file (default OUTPUT.manifest.json)");
  exp->add_option("--drop-threshold", e_threshold, "capture drop ratio reported as a gap")
      ->check(CLI::Range(0.0, 1.0));
  exp->add_flag("--no-shadow", e_no_shadow, "leave shadow-mode alerts out");

  // verify-export
  auto* vexp = app.add_subcommand("verify-export", "check an export file against its manifest");
  std::string ve_file, ve_manifest;
  vexp->add_option("file", ve_file)->required();
  vexp->add_option("manifest", ve_manifest)->required();

  // prune
  auto* prune = app.add_subcommand("prune", "remove records older than a retention period");
  std::string p_older, p_key, p_by;
  prune->add_option("--older-than", p_older, "e.g. 90d")->required();
  prune->add_option("--key", p_key, "collector signing key (prune writes a signed checkpoint)")
      ->required();
  prune->add_option("--by", p_by);

  // checkpoint
  auto* checkpoint = app.add_subcommand("checkpoint", "write a signed checkpoint now");
  std::string k_key;
  checkpoint->add_option("--key", k_key, "collector signing key")->required();

  // keygen / pubkey
  auto* keygen = app.add_subcommand("keygen", "create the collector's Ed25519 signing key");
  std::string g_key, g_pub;
  keygen->add_option("--key", g_key, "private key file to create (mode 0600)")->required();
  keygen->add_option("--pub", g_pub, "public key file for auditors (default KEY.pub)");
  auto* pubkey = app.add_subcommand("pubkey", "print the public key of a signing key");
  std::string q_key;
  pubkey->add_option("--key", q_key)->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? kOk : kUsage;
  }

  auto zone = inc::DisplayZone::Load(tz);
  if (!zone) return Fail(zone.error());

  if (*list) {
    auto store = OpenOperator(db);
    if (!store) return Fail(store.error());
    inc::IncidentFilter filter;
    filter.status = Opt(l_status);
    filter.agency = Opt(l_agency);
    filter.rule_id = Opt(l_rule);
    filter.min_level = Opt(l_level);
    filter.include_shadow = l_shadow;
    filter.limit = l_limit;
    if (!l_since.empty()) {
      auto t = inc::ParseRfc3339(l_since);
      if (!t) return Fail(t.error());
      filter.since_ns = *t;
    }
    if (!l_until.empty()) {
      auto t = inc::ParseRfc3339(l_until);
      if (!t) return Fail(t.error());
      filter.until_ns = *t;
    }
    auto rows = (*store)->ListIncidents(filter);
    if (!rows) return Fail(rows.error());
    if (l_json) {
      for (const auto& s : *rows) PrintSummaryJson(s, *zone);
      return kOk;
    }
    std::printf("%-8s %-13s %-13s %-7s %-20s %-28s %s\n", "ID", "STATUS", "LEVEL", "ALERTS",
                "AGENCY", "LAST SEEN", "RULE / TITLE");
    for (const auto& s : *rows) {
      std::printf("%-8lld %-13s %-13s %-7llu %-20s %-28s %s%s / %s\n", static_cast<long long>(s.id),
                  s.status.c_str(), Level(s.level).c_str(),
                  static_cast<unsigned long long>(s.alert_count), s.agency.c_str(),
                  zone->Format(s.last_seen_ns).c_str(), s.shadow ? "[shadow] " : "",
                  s.rule_id.c_str(), s.rule_title.c_str());
    }
    return kOk;
  }

  if (*show) {
    auto store = OpenOperator(db);
    if (!store) return Fail(store.error());
    auto detail = (*store)->GetIncident(s_id, s_alerts);
    if (!detail) return Fail(detail.error());
    const auto& s = detail->summary;
    std::printf("incident %lld: %s%s\n", static_cast<long long>(s.id), s.rule_title.c_str(),
                s.shadow ? " [shadow: recorded, not raised]" : "");
    std::printf("  rule:        %s (level %s)\n", s.rule_id.c_str(), s.level.c_str());
    std::printf("  agency:      %s\n  group key:   %s\n", s.agency.c_str(), s.group_key.c_str());
    std::printf("  status:      %s (by %s at %s)%s%s\n", s.status.c_str(), s.status_by.c_str(),
                zone->Format(s.status_changed_ns).c_str(), s.status_note.empty() ? "" : ": ",
                s.status_note.c_str());
    std::printf("  alerts:      %llu (+%llu suppressed)\n",
                static_cast<unsigned long long>(s.alert_count),
                static_cast<unsigned long long>(s.suppressed_count));
    std::printf("  first seen:  %s\n  last seen:   %s\n", zone->Format(s.first_seen_ns).c_str(),
                zone->Format(s.last_seen_ns).c_str());
    if (!detail->history.empty()) std::printf("history:\n");
    for (const auto& h : detail->history) {
      std::printf("  #%llu %s %s: %s -> %s by %s%s%s\n", static_cast<unsigned long long>(h.seq),
                  zone->Format(h.recorded_ns).c_str(), h.action.c_str(), h.from_status.c_str(),
                  h.to_status.c_str(), h.by.c_str(), h.note.empty() ? "" : ": ", h.note.c_str());
    }
    if (!detail->alerts.empty()) std::printf("alerts (oldest first):\n");
    for (const auto& a : detail->alerts) {
      std::printf("  #%llu %s %s agent=%s batch=%llu drop=%.4f %s\n",
                  static_cast<unsigned long long>(a.seq), zone->Format(a.event_time_ns).c_str(),
                  a.alert_kind.c_str(), a.agent_id.c_str(),
                  static_cast<unsigned long long>(a.batch_sequence), a.capture_drop_ratio,
                  a.message.c_str());
      std::printf("      matched: %s\n", a.matched_fields_json.c_str());
    }
    return kOk;
  }

  if (*ack || *close || *reopen) {
    const auto action = *ack     ? inc::IncidentAction::kAcknowledge
                        : *close ? inc::IncidentAction::kClose
                                 : inc::IncidentAction::kReopen;
    auto store = OpenOperator(db);
    if (!store) return Fail(store.error());
    auto change = (*store)->ChangeIncident(c_id, action, c_by.empty() ? OsUser() : c_by, c_note);
    if (!change) return Fail(change.error());
    std::printf("incident %lld: %s -> %s (record %llu)\n", static_cast<long long>(c_id),
                change->from_status.c_str(), change->to_status.c_str(),
                static_cast<unsigned long long>(change->seq));
    return kOk;
  }

  if (*verify) {
    inc::VerifyOptions options;
    options.checkpoint_every_records = v_cp_records;
    if (!v_cp_every.empty()) {
      auto every = inc::ParseDuration(v_cp_every);
      if (!every) {
        std::fprintf(stderr, "vigilctl incidents verify: --checkpoint-every: %s\n",
                     every.error().message.c_str());
        return kUsage;
      }
      options.checkpoint_every = *every;
    }
    for (const auto& path : v_pubkeys) {
      auto key = inc::VerifyKey::Load(path);
      if (!key) return Fail(key.error());
      options.keys.push_back(std::move(*key));
    }
    if (!v_head.empty()) {
      const auto colon = v_head.find(':');
      inc::Hash hash{};
      if (colon == std::string::npos ||
          !inc::HashFromHex(std::string_view(v_head).substr(colon + 1), hash)) {
        std::fprintf(stderr, "vigilctl incidents verify: --expect-head wants SEQ:SHA256HEX\n");
        return kUsage;
      }
      options.expected_head_seq = std::strtoull(v_head.substr(0, colon).c_str(), nullptr, 10);
      options.expected_head_hash = hash;
    }
    auto report = inc::VerifyChain(db, options);
    if (!report) return Fail(report.error());
    const auto& r = *report;
    if (v_json) {
      std::printf(
          "{\"ok\":%s,\"store_id\":%s,\"records\":%llu,\"first_seq\":%llu,"
          "\"head_seq\":%llu,\"head_hash\":\"%s\",\"checkpoints\":%llu,"
          "\"checkpoints_verified\":%llu,\"last_signed_seq\":%llu,"
          "\"signatures_checked\":%s,\"problems\":[",
          r.ok ? "true" : "false", inc::JsonQuote(r.store_id).c_str(),
          static_cast<unsigned long long>(r.records), static_cast<unsigned long long>(r.first_seq),
          static_cast<unsigned long long>(r.head_seq), inc::ToHex(r.head_hash).c_str(),
          static_cast<unsigned long long>(r.checkpoints),
          static_cast<unsigned long long>(r.checkpoints_verified),
          static_cast<unsigned long long>(r.last_signed_seq),
          r.signatures_checked ? "true" : "false");
      for (size_t i = 0; i < r.problems.size(); ++i) {
        std::printf("%s{\"seq\":%llu,\"kind\":%s,\"message\":%s}", i ? "," : "",
                    static_cast<unsigned long long>(r.problems[i].seq),
                    inc::JsonQuote(r.problems[i].kind).c_str(),
                    inc::JsonQuote(r.problems[i].message).c_str());
      }
      std::printf("]}\n");
      return r.ok ? kOk : kCheckFailed;
    }
    if (r.ok) {
      std::printf("OK: incident log verified\n");
    } else {
      const auto& first = r.problems.front();
      std::printf("BROKEN: first problem at record %llu: %s\n",
                  static_cast<unsigned long long>(first.seq), first.message.c_str());
    }
    std::printf("  store:        %s\n", r.store_id.c_str());
    std::printf(
        "  records:      %llu (seq %llu..%llu)\n", static_cast<unsigned long long>(r.records),
        static_cast<unsigned long long>(r.first_seq), static_cast<unsigned long long>(r.head_seq));
    std::printf("  chain head:   %llu:%s\n", static_cast<unsigned long long>(r.head_seq),
                inc::ToHex(r.head_hash).c_str());
    std::printf("  checkpoints:  %llu (%llu signatures verified); last signed record %llu\n",
                static_cast<unsigned long long>(r.checkpoints),
                static_cast<unsigned long long>(r.checkpoints_verified),
                static_cast<unsigned long long>(r.last_signed_seq));
    for (const auto& note : r.notes) std::printf("  note: %s\n", note.c_str());
    if (!r.ok) {
      std::printf("problems (%zu, chain order):\n", r.problems.size());
      for (const auto& p : r.problems) {
        std::printf("  [%s] %s\n", p.kind.c_str(), p.message.c_str());
      }
      return kCheckFailed;
    }
    std::printf(
        "Keep the head outside this host to detect later truncation:\n"
        "  vigilctl incidents verify --expect-head %llu:%s\n",
        static_cast<unsigned long long>(r.head_seq), inc::ToHex(r.head_hash).c_str());
    return kOk;
  }

  if (*exp) {
    inc::ExportOptions options;
    auto since = inc::ParseRfc3339(e_since);
    if (!since) return Fail(since.error());
    auto until = inc::ParseRfc3339(e_until);
    if (!until) return Fail(until.error());
    auto format = inc::ParseExportFormat(e_format);
    if (!format) return Fail(format.error());
    options.query.since_ns = *since;
    options.query.until_ns = *until;
    options.query.agency = Opt(e_agency);
    options.query.agent_id = Opt(e_agent);
    options.query.rule_id = Opt(e_rule);
    options.query.min_level = Opt(e_level);
    options.query.status = Opt(e_status);
    options.query.include_shadow = !e_no_shadow;
    options.format = *format;
    options.time_zone = tz;
    options.output = e_output;
    options.manifest = e_manifest;
    options.exporter = OsUser();
    options.drop_threshold = e_threshold;
    char host[256] = {};
    gethostname(host, sizeof host - 1);
    options.identity.hostname = host;
    auto store = OpenOperator(db);
    if (!store) return Fail(store.error());
    auto result = (*store)->Export(options);
    if (!result) return Fail(result.error());
    std::printf("exported %llu rows (%llu bytes) to %s\n",
                static_cast<unsigned long long>(result->rows),
                static_cast<unsigned long long>(result->bytes), e_output.c_str());
    std::printf(
        "  sha256:     %s\n  manifest:   %s\n  chain head: %llu:%s\n"
        "  coverage:   %zu gap(s) in the window%s\n  audit record: %llu\n",
        result->sha256.c_str(), result->manifest.c_str(),
        static_cast<unsigned long long>(result->head.seq), inc::ToHex(result->head.hash).c_str(),
        result->coverage_gaps,
        result->coverage_gaps ? " (see the manifest's coverage section)" : "",
        static_cast<unsigned long long>(result->export_record_seq));
    return kOk;
  }

  if (*vexp) {
    auto check = inc::VerifyExport(ve_file, ve_manifest);
    if (!check) return Fail(check.error());
    if (check->ok) {
      std::printf("OK: %s matches its manifest (%llu rows, sha256 %s)\n", ve_file.c_str(),
                  static_cast<unsigned long long>(check->actual_rows),
                  check->actual_sha256.c_str());
      return kOk;
    }
    std::printf("MISMATCH: %s does not match %s\n", ve_file.c_str(), ve_manifest.c_str());
    for (const auto& p : check->problems) std::printf("  %s\n", p.c_str());
    return kCheckFailed;
  }

  if (*prune) {
    auto older = inc::ParseDuration(p_older);
    if (!older) return Fail(older.error());
    auto store = OpenOperator(db, p_key);
    if (!store) return Fail(store.error());
    auto result = (*store)->Prune(*older, p_by.empty() ? OsUser() : p_by);
    if (!result) return Fail(result.error());
    if (result->prune_record_seq == 0) {
      std::printf("nothing older than %s\n", p_older.c_str());
    } else {
      std::printf(
          "pruned records ..%llu (%llu records, %llu alerts); prune record %llu, "
          "signed checkpoint %llu\n",
          static_cast<unsigned long long>(result->pruned_through_seq),
          static_cast<unsigned long long>(result->records_removed),
          static_cast<unsigned long long>(result->alerts_removed),
          static_cast<unsigned long long>(result->prune_record_seq),
          static_cast<unsigned long long>(result->prune_record_seq + 1));
    }
    return kOk;
  }

  if (*checkpoint) {
    auto store = OpenOperator(db, k_key);
    if (!store) return Fail(store.error());
    auto cp = (*store)->Checkpoint("manual");
    if (!cp) return Fail(cp.error());
    std::printf("checkpoint %llu signs head %llu:%s\n", static_cast<unsigned long long>(cp->seq),
                static_cast<unsigned long long>(cp->covers_seq), cp->covers_hash.c_str());
    return kOk;
  }

  if (*keygen) {
    const std::string pub = g_pub.empty() ? g_key + ".pub" : g_pub;
    auto id = inc::GenerateSigningKey(g_key, pub);
    if (!id) return Fail(id.error());
    std::printf(
        "signing key %s (mode 0600), public key %s, key id %s\n"
        "Give the public key to the auditors; keep the private key on the collector.\n",
        g_key.c_str(), pub.c_str(), id->c_str());
    return kOk;
  }

  if (*pubkey) {
    auto key = inc::SigningKey::Load(q_key);
    if (!key) return Fail(key.error());
    std::fputs(key->PublicKeyPem().c_str(), stdout);
    return kOk;
  }
  return kUsage;
}

}  // namespace vigil::collector::ctl
