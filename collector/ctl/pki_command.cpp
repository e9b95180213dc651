// vigilctl pki: enrol agencies. A small certificate authority for one Vigil
// deployment: `init` creates it, `issue` makes agent (clientAuth) and
// collector (serverAuth + SAN) certificates, `revoke` and `crl` maintain the
// revocation list the collector reads, `list` shows what was issued and
// when it expires. See docs/transport.md.
// Exit codes: 0 ok, 1 nothing to do (no such certificate), 2 usage error,
// 3 operational error (files, crypto).
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "collector/ctl/commands.h"
#include "transport/certificate_authority.h"

namespace vigil::collector::ctl {
namespace {

namespace tr = vigil::transport;
using Clock = std::chrono::system_clock;

constexpr int kOk = 0;
constexpr int kNothing = 1;
constexpr int kUsage = 2;
constexpr int kOperational = 3;

std::string DefaultDir() {
  const char* env = std::getenv("VIGIL_PKI_DIR");
  return env != nullptr ? env : "/etc/vigil/pki";
}

int Fail(const tr::TransportError& e) {
  std::fprintf(stderr, "vigilctl pki: %s\n", e.ToString().c_str());
  switch (e.code) {
    case tr::TransportError::Code::kInvalidArgument:
    case tr::TransportError::Code::kAlreadyExists:
      return kUsage;
    case tr::TransportError::Code::kNotFound:
      return kNothing;
    default:
      return kOperational;
  }
}

std::string Utc(Clock::time_point t) {
  std::time_t tt = Clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::optional<Clock::time_point> ParseUtc(const std::string& text) {
  std::tm tm{};
  const char* end = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  if (end == nullptr || *end != '\0') return std::nullopt;
  return Clock::from_time_t(timegm(&tm));
}

std::vector<std::string> SplitSans(const std::vector<std::string>& args) {
  std::vector<std::string> out;
  for (const auto& a : args) {
    std::stringstream ss(a);
    std::string item;
    while (std::getline(ss, item, ',')) {
      if (!item.empty()) out.push_back(item);
    }
  }
  return out;
}

std::string Status(const tr::CertificateRecord& r, Clock::time_point now) {
  if (r.revoked) return "revoked";
  if (r.not_after < now) return "expired";
  if (r.not_before > now) return "not_yet_valid";
  return "valid";
}

std::string JsonQuote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) continue;
    out += c;
  }
  return out + "\"";
}

}  // namespace

int RunPkiCommand(int argc, char** argv) {
  CLI::App app{"Certificate authority for agents and collectors (mutual TLS)", "vigilctl pki"};
  app.require_subcommand(1);
  std::string dir = DefaultDir();
  app.add_option("--dir", dir, "CA directory (default $VIGIL_PKI_DIR or /etc/vigil/pki)");

  auto* init = app.add_subcommand("init", "create the CA (key 0600, self-signed certificate, CRL)");
  std::string ca_name = "Vigil CA", org, key_type = "ec";
  int ca_days = 3650, crl_days = 365;
  init->add_option("--name", ca_name, "CA common name");
  init->add_option("--org", org, "organization (O=)");
  init->add_option("--key-type", key_type, "ec (P-256, default) or ed25519")
      ->check(CLI::IsMember({"ec", "ed25519"}));
  init->add_option("--days", ca_days, "CA validity in days")->check(CLI::Range(1, 36500));
  init->add_option("--crl-days", crl_days, "CRL validity (nextUpdate) in days")
      ->check(CLI::Range(1, 3650));

  auto* issue = app.add_subcommand("issue", "issue an agent or collector certificate");
  std::string agent, collector, out_dir, valid_from, leaf_key = "ec";
  std::vector<std::string> sans;
  int days = 825;
  auto* agent_opt = issue->add_option("--agent", agent, "agent identity (certificate CN)");
  auto* collector_opt =
      issue->add_option("--collector", collector, "collector name (certificate CN)");
  agent_opt->excludes(collector_opt);
  issue->add_option(
      "--san", sans,
      "collector names agents dial: DNS:name,IP:address (repeatable, comma-separated)");
  issue->add_option("--days", days, "validity in days")->check(CLI::Range(1, 3650));
  issue->add_option("--valid-from", valid_from,
                    "start of validity, UTC YYYY-MM-DDTHH:MM:SSZ (default: 5 minutes ago)");
  issue->add_option("--key-type", leaf_key, "ec (P-256, default) or ed25519")
      ->check(CLI::IsMember({"ec", "ed25519"}));
  issue->add_option("--out", out_dir, "where NAME.crt/NAME.key go (default <dir>/issued)");

  auto* revoke = app.add_subcommand("revoke", "revoke a certificate and rewrite the CRL");
  std::string revoke_name, serial, reason = "unspecified";
  revoke->add_option("name", revoke_name, "agent or collector name")->required();
  revoke->add_option("--serial", serial, "only this serial (hex), default every valid one");
  revoke
      ->add_option("--reason", reason,
                   "unspecified, key_compromise, superseded, cessation_of_operation")
      ->check(
          CLI::IsMember({"unspecified", "key_compromise", "superseded", "cessation_of_operation"}));

  auto* crl = app.add_subcommand("crl", "rewrite the CRL (do this before it expires)");
  int crl_refresh_days = 0;
  crl->add_option("--days", crl_refresh_days, "CRL validity in days (default: as at init)")
      ->check(CLI::Range(1, 3650));

  auto* list = app.add_subcommand("list", "list issued certificates");
  bool json = false;
  list->add_flag("--json", json, "one JSON object per line");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kOk : kUsage;
  }

  if (init->parsed()) {
    tr::CaInitOptions o;
    o.common_name = ca_name;
    o.organization = org;
    o.key_type = *tr::ParseKeyType(key_type);
    o.validity = std::chrono::days(ca_days);
    o.crl_validity = std::chrono::days(crl_days);
    auto ca = tr::CertificateAuthority::Init(dir, o);
    if (!ca) return Fail(ca.error());
    std::printf(
        "created CA '%s' in %s\n"
        "  %s        keep private (0600); best on an offline admin machine\n"
        "  %s        give to every agent and the collector (tls.ca)\n"
        "  %s        give to the collector (tls.crl); refresh with `vigilctl pki crl`\n",
        ca_name.c_str(), dir.c_str(), (ca->dir() / "ca.key").c_str(), ca->ca_cert_path().c_str(),
        ca->crl_path().c_str());
    return kOk;
  }

  auto ca = tr::CertificateAuthority::Open(dir);
  if (!ca) return Fail(ca.error());

  if (issue->parsed()) {
    if (agent.empty() == collector.empty()) {
      std::fprintf(stderr,
                   "vigilctl pki issue: give exactly one of --agent NAME or --collector NAME\n");
      return kUsage;
    }
    tr::IssueRequest r;
    r.kind = agent.empty() ? tr::CertificateKind::kCollector : tr::CertificateKind::kAgent;
    r.name = agent.empty() ? collector : agent;
    r.sans = SplitSans(sans);
    r.key_type = *tr::ParseKeyType(leaf_key);
    r.validity = std::chrono::days(days);
    r.out_dir = out_dir;
    if (!valid_from.empty()) {
      auto t = ParseUtc(valid_from);
      if (!t) {
        std::fprintf(stderr, "vigilctl pki issue: --valid-from must be YYYY-MM-DDTHH:MM:SSZ\n");
        return kUsage;
      }
      r.not_before = *t;
      r.not_after = *t + std::chrono::days(days);
    }
    auto rec = ca->Issue(r);
    if (!rec) return Fail(rec.error());
    std::printf("issued %s certificate '%s' serial %s valid %s .. %s\n", tr::KindName(rec->kind),
                rec->name.c_str(), rec->serial_hex.c_str(), Utc(rec->not_before).c_str(),
                Utc(rec->not_after).c_str());
    std::printf("  %s\n  %s  (private key, 0600)\n", rec->cert_path.c_str(), rec->key_path.c_str());
    if (rec->kind == tr::CertificateKind::kAgent) {
      std::printf(
          "next: copy both files and %s to the agent (collector.tls.cert/key/ca), and list\n"
          "      identity '%s' under `agents:` in the collector config with its agency\n",
          ca->ca_cert_path().c_str(), rec->name.c_str());
    } else {
      std::printf("next: copy both files to the collector (tls.cert/key)\n");
    }
    return kOk;
  }

  if (revoke->parsed()) {
    auto r = ca->Revoke(revoke_name, serial.empty() ? std::nullopt : std::optional(serial),
                        *tr::ParseReason(reason));
    if (!r) return Fail(r.error());
    for (const auto& rec : *r) {
      std::printf("revoked '%s' serial %s (%s)\n", rec.name.c_str(), rec.serial_hex.c_str(),
                  tr::ReasonName(rec.reason));
    }
    std::printf(
        "CRL rewritten: %s\nnext: copy it to the collector (tls.crl); it is re-read "
        "within a second, no restart needed\n",
        ca->crl_path().c_str());
    return kOk;
  }

  if (crl->parsed()) {
    int validity = crl_refresh_days;
    if (validity == 0) validity = static_cast<int>(ca->crl_validity().count());
    auto w = ca->WriteCrl(std::chrono::days(validity));
    if (!w) return Fail(w.error());
    std::printf("CRL rewritten: %s (valid %d days)\n", ca->crl_path().c_str(), validity);
    return kOk;
  }

  if (list->parsed()) {
    auto now = Clock::now();
    if (!json) {
      std::printf("%-32s %-9s %-34s %-20s %-13s %s\n", "NAME", "KIND", "SERIAL", "NOT_AFTER",
                  "STATUS", "DAYS_LEFT");
    }
    for (const auto& r : ca->Certificates()) {
      long days_left =
          std::chrono::duration_cast<std::chrono::hours>(r.not_after - now).count() / 24;
      if (json) {
        std::printf(
            "{\"name\":%s,\"kind\":\"%s\",\"serial\":\"%s\",\"not_before\":\"%s\","
            "\"not_after\":\"%s\",\"status\":\"%s\",\"days_left\":%ld%s}\n",
            JsonQuote(r.name).c_str(), tr::KindName(r.kind), r.serial_hex.c_str(),
            Utc(r.not_before).c_str(), Utc(r.not_after).c_str(), Status(r, now).c_str(), days_left,
            r.revoked ? (",\"revoked_at\":\"" + Utc(r.revoked_at) + "\",\"reason\":\"" +
                         tr::ReasonName(r.reason) + "\"")
                            .c_str()
                      : "");
      } else {
        std::printf("%-32s %-9s %-34s %-20s %-13s %ld\n", r.name.c_str(), tr::KindName(r.kind),
                    r.serial_hex.c_str(), Utc(r.not_after).c_str(), Status(r, now).c_str(),
                    days_left);
      }
    }
    return kOk;
  }
  return kUsage;
}

}  // namespace vigil::collector::ctl
