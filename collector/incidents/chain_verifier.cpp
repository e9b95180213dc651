#include "collector/incidents/chain_verifier.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "collector/incidents/incident_store.h"
#include "collector/incidents/sqlite_connection.h"

namespace vigil::collector::incidents {
namespace {

std::string Str(uint64_t v) { return std::to_string(v); }

}  // namespace

std::expected<VerifyReport, StoreError> VerifyChain(const std::filesystem::path& db_path,
                                                    const VerifyOptions& options) {
  std::error_code ec;
  if (!std::filesystem::exists(db_path, ec)) {
    return std::unexpected(StoreError{ErrorCode::kIo, "no incident log at " + db_path.string()});
  }
  auto db = Connection::Open(db_path.string(), Connection::Mode::kReadOnly, 5000);
  if (!db) return std::unexpected(db.error());
  auto version = db->QueryInt("PRAGMA user_version");
  if (!version) return std::unexpected(version.error());
  if (*version > kSchemaVersion) {
    return std::unexpected(
        StoreError{ErrorCode::kSchemaTooNew, "schema version " + std::to_string(*version) +
                                                 " is newer than this vigilctl understands (" +
                                                 std::to_string(kSchemaVersion) + ")"});
  }
  if (*version < 1) {
    return std::unexpected(
        StoreError{ErrorCode::kSchemaInvalid, db_path.string() + " is not a Vigil incident log"});
  }
  // One snapshot for the whole walk, even while the collector appends.
  if (auto r = db->Exec("BEGIN"); !r) return std::unexpected(r.error());

  VerifyReport report;
  report.signatures_checked = !options.keys.empty();
  auto add = [&](uint64_t seq, std::string kind, std::string message) {
    if (report.problems.size() < options.max_problems) {
      report.problems.push_back(VerifyProblem{seq, std::move(kind), std::move(message)});
    }
  };

  std::map<std::string, std::string> meta;
  {
    auto s = db->Prepare("SELECT key, value FROM meta");
    if (!s) return std::unexpected(s.error());
    for (;;) {
      auto row = s->Step();
      if (!row) return std::unexpected(row.error());
      if (!*row) break;
      meta[s->ColumnText(0)] = s->ColumnText(1);
    }
  }
  report.store_id = meta["store_id"];
  uint64_t anchor_seq = 0;
  Hash anchor_hash = kGenesisPrevHash;
  if (meta.contains("anchor_seq")) {
    anchor_seq = std::strtoull(meta["anchor_seq"].c_str(), nullptr, 10);
    if (!HashFromHex(meta["anchor_hash"], anchor_hash)) {
      add(anchor_seq, "unaccounted_prune", "the prune anchor in table meta is malformed");
    }
  }

  std::map<std::string, Statement, std::less<>> content;
  for (const auto& spec : AllRecordKinds()) {
    std::string sql = "SELECT ";
    for (size_t i = 0; i < spec.columns.size(); ++i) {
      if (i) sql += ", ";
      sql += spec.columns[i].name;
    }
    sql += " FROM " + std::string(spec.table) + " WHERE seq = ?";
    auto s = db->Prepare(sql);
    if (!s) return std::unexpected(s.error());
    content.emplace(std::string(spec.kind), std::move(*s));
  }
  std::map<std::string, const VerifyKey*> keys;
  for (const auto& k : options.keys) keys[k.key_id()] = &k;

  struct PruneClaim {
    uint64_t seq, through;
    std::string hash;
  };
  std::vector<PruneClaim> prunes;

  // Signature coverage of the tail, tracked during the walk and reset at
  // every valid checkpoint: the collector signs what it commits (a commit
  // that reaches the record or time limit of the checkpoint policy writes a
  // checkpoint in the same transaction), every prune and every clean
  // shutdown. A tail that breaks those rules had its checkpoints removed.
  struct TailState {
    bool have_valid = false;       ///< a valid checkpoint was seen
    uint64_t valid_seq = 0;        ///< the last valid checkpoint record
    int64_t valid_ns = 0;          ///< and its time
    bool invalid_after = false;    ///< a failed checkpoint follows it (already reported)
    uint64_t due_seq = 0;          ///< first commit after which a checkpoint was due
    std::string due_why;           ///< which limit
    uint64_t must_sign_seq = 0;    ///< first prune / collector_stopped record not signed
    std::string must_sign_what;    ///< which kind
    uint64_t first_failed_cp = 0;  ///< first checkpoint that did not verify
  } tail;
  const int64_t every_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(options.checkpoint_every).count();
  // A record the collector appends inside CommitBatches, where the checkpoint
  // policy is applied before the transaction commits.
  auto policy_applies = [&](uint64_t seq, int64_t recorded_ns) {
    if (!tail.have_valid || tail.due_seq != 0) return;
    if (seq - tail.valid_seq >= options.checkpoint_every_records) {
      tail.due_seq = seq;
      tail.due_why = "it is " + Str(seq - tail.valid_seq) + " records after checkpoint " +
                     Str(tail.valid_seq) + " (policy: every " +
                     Str(options.checkpoint_every_records) + " records)";
    } else if (recorded_ns - tail.valid_ns >= every_ns) {
      tail.due_seq = seq;
      tail.due_why = "it was recorded " +
                     std::to_string((recorded_ns - tail.valid_ns) / 1'000'000'000) +
                     " s after checkpoint " + Str(tail.valid_seq) + " (policy: every " +
                     std::to_string(options.checkpoint_every.count()) + " s)";
    }
  };

  auto walk = db->Prepare("SELECT seq, kind, recorded_ns, hash FROM records ORDER BY seq");
  if (!walk) return std::unexpected(walk.error());
  uint64_t expected = anchor_seq + 1;
  Hash prev = anchor_hash;
  bool prev_known = true;
  std::vector<FieldValue> fields;
  for (;;) {
    auto row = walk->Step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    const auto seq = static_cast<uint64_t>(walk->ColumnInt(0));
    const std::string kind = walk->ColumnText(1);
    const int64_t recorded_ns = walk->ColumnInt(2);
    Hash stored{};
    const bool hash_ok = HashFromBytes(walk->ColumnBlob(3), stored);
    ++report.records;
    if (report.records == 1) report.first_seq = seq;

    if (seq != expected) {
      add(expected, "missing",
          seq == expected + 1
              ? "record " + Str(expected) + " is missing (deleted)"
              : "records " + Str(expected) + ".." + Str(seq - 1) + " are missing (deleted)");
      prev_known = false;  // the predecessor is gone: this record's link cannot be checked
    }
    expected = seq + 1;

    const RecordKindSpec* spec = FindRecordKind(kind);
    if (spec == nullptr) {
      add(seq, "altered", "record " + Str(seq) + " has unknown kind '" + kind + "'");
      prev = stored;
      prev_known = hash_ok;
      continue;
    }
    Statement& c = content.find(kind)->second;
    c.Bind(1, static_cast<int64_t>(seq));
    auto crow = c.Step();
    if (!crow) return std::unexpected(crow.error());
    if (!*crow) {
      add(seq, "missing",
          "record " + Str(seq) + " (" + kind + "): its content row in table " +
              std::string(spec->table) + " was deleted");
      c.Reset();
      prev = stored;
      prev_known = hash_ok;
      continue;
    }
    fields.clear();
    for (size_t i = 0; i < spec->columns.size(); ++i) {
      const int col = static_cast<int>(i);
      switch (spec->columns[i].type) {
        case FieldType::kInt:
          fields.emplace_back(c.ColumnInt(col));
          break;
        case FieldType::kReal:
          fields.emplace_back(c.ColumnReal(col));
          break;
        case FieldType::kText:
          fields.emplace_back(c.ColumnText(col));
          break;
        case FieldType::kBlob:
          fields.emplace_back(c.ColumnBlob(col));
          break;
      }
    }
    c.Reset();

    if (!hash_ok) {
      add(seq, "altered", "record " + Str(seq) + " (" + kind + "): stored hash is malformed");
    } else if (prev_known) {
      const Hash computed = ChainHash(prev, EncodeRecord(seq, kind, recorded_ns, fields));
      if (computed != stored) {
        add(seq, "altered",
            "record " + Str(seq) + " (" + kind +
                ") does not match its hash: its content, kind or time was altered, or it was "
                "inserted, reordered or re-hashed");
      }
    }

    if (kind == kKindCheckpoint) {
      ++report.checkpoints;
      const auto covers = static_cast<uint64_t>(std::get<int64_t>(fields[0]));
      const auto& covers_hash_hex = std::get<std::string>(fields[1]);
      const auto& reason = std::get<std::string>(fields[2]);
      const auto& key_id = std::get<std::string>(fields[3]);
      const auto& signature = std::get<std::string>(fields[4]);
      Hash covers_hash{};
      if (covers != seq - 1 || !HashFromHex(covers_hash_hex, covers_hash) ||
          (prev_known && covers_hash != prev)) {
        add(seq, "bad_checkpoint",
            "checkpoint " + Str(seq) + " does not sign its predecessor's hash (covers " +
                Str(covers) + ")");
      } else if (report.signatures_checked) {
        auto it = keys.find(key_id);
        if (it == keys.end()) {
          add(seq, "unknown_key",
              "checkpoint " + Str(seq) + " is signed by key " + key_id +
                  ", which is not among the public keys given");
        } else if (!it->second->Verify(CheckpointMessage(report.store_id, covers, covers_hash,
                                                         recorded_ns, reason, key_id),
                                       signature)) {
          add(seq, "bad_checkpoint",
              "checkpoint " + Str(seq) +
                  ": signature does not verify (forged, altered, or the "
                  "store_id in table meta was changed)");
        } else {
          ++report.checkpoints_verified;
          report.last_signed_seq = covers;
          tail = TailState{true, seq, recorded_ns, false, 0, {}, 0, {}, tail.first_failed_cp};
        }
      }
      if (report.signatures_checked && tail.valid_seq != seq) {
        tail.invalid_after = true;
        if (tail.first_failed_cp == 0) tail.first_failed_cp = seq;
      }
    } else if (kind == kKindPrune) {
      prunes.push_back(PruneClaim{seq, static_cast<uint64_t>(std::get<int64_t>(fields[1])),
                                  std::get<std::string>(fields[2])});
      if (tail.must_sign_seq == 0) {
        tail.must_sign_seq = seq;
        tail.must_sign_what = "prune record";
      }
    } else if (kind == kKindAlert) {
      policy_applies(seq, recorded_ns);
    } else if (kind == kKindCoverage) {
      const auto& event = std::get<std::string>(fields[2]);
      if (event == CoverageKindName(CoverageKind::kSequenceGap)) {
        policy_applies(seq, recorded_ns);
      } else if (event == CoverageKindName(CoverageKind::kCollectorStopped) &&
                 tail.must_sign_seq == 0) {
        tail.must_sign_seq = seq;
        tail.must_sign_what = "collector_stopped record (clean shutdown)";
      }
    }
    prev = stored;
    prev_known = hash_ok;
  }
  report.head_seq = expected - 1;
  report.head_hash = prev;
  if (report.records == 0 && anchor_seq == 0) {
    add(1, "missing", "the log holds no records at all (genesis deleted)");
  }

  // Signature coverage. Checked only with keys: without them nothing is signed.
  if (report.signatures_checked && report.records > 0) {
    if (!tail.have_valid) {
      // Name the first checkpoint that failed when there is one (it is the
      // first bad record), else the first record: none of it is signed.
      add(tail.first_failed_cp != 0 ? tail.first_failed_cp : report.first_seq, "no_checkpoint",
          "no record is covered by a valid signed checkpoint: the whole log could have been "
          "rebuilt (the collector signs at least every " +
              std::to_string(options.checkpoint_every.count()) +
              " s while it commits, before "
              "every prune and at every shutdown)");
    } else if (!tail.invalid_after) {
      // (A failed checkpoint after the last valid one is reported already.)
      const uint64_t first_unsigned = tail.valid_seq + 1;
      if (tail.must_sign_seq != 0) {
        add(first_unsigned, "unsigned_tail",
            "records " + Str(first_unsigned) + ".." + Str(report.head_seq) +
                " are not signed, but the " + tail.must_sign_what + " " + Str(tail.must_sign_seq) +
                " among them is always followed by a signed checkpoint: checkpoints were removed");
      }
      if (tail.due_seq != 0) {
        add(first_unsigned, "unsigned_tail",
            "records " + Str(first_unsigned) + ".." + Str(report.head_seq) +
                " are not signed, but the collector signs in the same transaction once a commit "
                "is past its checkpoint policy, and record " +
                Str(tail.due_seq) + " is: " + tail.due_why +
                "; checkpoints were removed (or the policy given to verify is stricter than the "
                "collector's)");
      }
    }
  }

  // Content rows that are not (or not this kind of) chain records: inserted
  // behind the store's back.
  for (const auto& spec : AllRecordKinds()) {
    auto s =
        db->Prepare("SELECT t.seq FROM " + std::string(spec.table) +
                    " t LEFT JOIN records r ON r.seq = t.seq WHERE r.seq IS NULL OR r.kind != '" +
                    std::string(spec.kind) + "' ORDER BY t.seq LIMIT 10");
    if (!s) return std::unexpected(s.error());
    for (;;) {
      auto row = s->Step();
      if (!row) return std::unexpected(row.error());
      if (!*row) break;
      const auto seq = static_cast<uint64_t>(s->ColumnInt(0));
      add(seq, "inserted",
          "row seq " + Str(seq) + " in table " + std::string(spec.table) + " is not a " +
              std::string(spec.kind) + " record of the chain (inserted)");
    }
  }

  if (anchor_seq > 0) {
    bool accounted = false;
    for (const auto& p : prunes) {
      if (p.through == anchor_seq && p.hash == ToHex(anchor_hash)) accounted = true;
    }
    if (!accounted) {
      add(anchor_seq, "unaccounted_prune",
          "records 1.." + Str(anchor_seq) +
              " are gone but no prune record in the chain accounts for them");
    } else {
      report.notes.push_back("records 1.." + Str(anchor_seq) +
                             " were pruned by retention; the chain is verified from there");
    }
  }

  if (options.expected_head_seq) {
    const uint64_t want = *options.expected_head_seq;
    if (want > report.head_seq) {
      add(report.head_seq + 1, "truncated",
          "the chain ends at " + Str(report.head_seq) + " but the head you kept is " + Str(want) +
              ": records " + Str(report.head_seq + 1) + ".." + Str(want) +
              " were removed (tail truncated)");
    } else if (options.expected_head_hash) {
      auto s = db->Prepare("SELECT hash FROM records WHERE seq = ?");
      if (!s) return std::unexpected(s.error());
      s->Bind(1, static_cast<int64_t>(want));
      auto row = s->Step();
      if (!row) return std::unexpected(row.error());
      Hash h{};
      if (!*row) {
        report.notes.push_back("the kept head " + Str(want) + " was pruned; cannot compare it");
      } else if (!HashFromBytes(s->ColumnBlob(0), h) || h != *options.expected_head_hash) {
        add(want, "altered",
            "record " + Str(want) + " no longer has the hash you kept: the chain was rewritten");
      }
    }
  }

  if (options.check_incidents) {
    auto s = db->Prepare(
        "SELECT i.id, i.alert_count, i.suppressed_count, i.first_seen_ns, i.last_seen_ns, "
        "i.status, "
        "(SELECT count(*) FROM alerts a WHERE a.incident_id = i.id AND a.alert_kind != "
        "'suppressed'), "
        "(SELECT coalesce(sum(suppressed_count), 0) FROM alerts a WHERE a.incident_id = i.id AND "
        "a.alert_kind = 'suppressed'), "
        "(SELECT min(event_time_ns) FROM alerts a WHERE a.incident_id = i.id), "
        "(SELECT max(event_time_ns) FROM alerts a WHERE a.incident_id = i.id), "
        "(SELECT to_status FROM incident_changes c WHERE c.incident_id = i.id ORDER BY c.seq DESC "
        "LIMIT 1) FROM incidents i WHERE i.first_alert_seq > ? ORDER BY i.id");
    if (!s) return std::unexpected(s.error());
    s->Bind(1, static_cast<int64_t>(anchor_seq));
    for (;;) {
      auto row = s->Step();
      if (!row) return std::unexpected(row.error());
      if (!*row) break;
      const int64_t id = s->ColumnInt(0);
      const std::string status = s->ColumnText(5);
      const std::string chained_status = s->ColumnIsNull(10) ? "open" : s->ColumnText(10);
      const bool counts = s->ColumnInt(1) == s->ColumnInt(6) && s->ColumnInt(2) == s->ColumnInt(7);
      const bool times = s->ColumnInt(3) == s->ColumnInt(8) && s->ColumnInt(4) == s->ColumnInt(9);
      if (!counts || !times || status != chained_status) {
        add(0, "incident_mismatch",
            "incident " + std::to_string(id) +
                ": its summary row (count, first/last seen or status) disagrees with its chained "
                "alerts and lifecycle records");
      }
    }

    // The grouping key of every incident with retained alerts: an alert joins
    // an incident only with the same rule, agency, group key and shadow flag;
    // the level is its first alert's, the title its last alert's. (Pruned
    // alerts are gone; the checks use what is retained.)
    auto k = db->Prepare(
        "SELECT i.id, i.first_alert_seq, i.last_alert_seq, i.level, i.rule_title, "
        "(SELECT count(*) FROM alerts a WHERE a.incident_id = i.id AND (a.rule_id != i.rule_id OR "
        "a.agency != i.agency OR a.group_key != i.group_key OR a.shadow != i.shadow)), "
        "(SELECT min(seq) FROM alerts a WHERE a.incident_id = i.id), "
        "(SELECT max(seq) FROM alerts a WHERE a.incident_id = i.id), "
        "(SELECT level FROM alerts a WHERE a.incident_id = i.id ORDER BY a.seq LIMIT 1), "
        "(SELECT rule_title FROM alerts a WHERE a.incident_id = i.id ORDER BY a.seq DESC LIMIT 1) "
        "FROM incidents i WHERE EXISTS (SELECT 1 FROM alerts a WHERE a.incident_id = i.id) "
        "ORDER BY i.id");
    if (!k) return std::unexpected(k.error());
    for (;;) {
      auto row = k->Step();
      if (!row) return std::unexpected(row.error());
      if (!*row) break;
      const int64_t id = k->ColumnInt(0);
      const auto first_alert = static_cast<uint64_t>(k->ColumnInt(1));
      const int64_t last_alert = k->ColumnInt(2);
      const auto min_seq = static_cast<uint64_t>(k->ColumnInt(6));
      std::vector<std::string> wrong;
      if (k->ColumnInt(5) != 0) wrong.push_back("rule_id, agency, group_key or shadow");
      // The first alert is retained unless the incident started before the
      // prune anchor; then its level cannot be checked.
      const bool first_retained = anchor_seq == 0 || first_alert > anchor_seq;
      if (first_retained && first_alert != min_seq) wrong.push_back("first_alert_seq");
      if (first_retained && k->ColumnText(3) != k->ColumnText(8)) wrong.push_back("level");
      if (last_alert != k->ColumnInt(7)) wrong.push_back("last_alert_seq");
      if (k->ColumnText(4) != k->ColumnText(9)) wrong.push_back("rule_title");
      if (!wrong.empty()) {
        std::string what;
        for (const auto& w : wrong) what += (what.empty() ? "" : ", ") + w;
        add(0, "incident_mismatch",
            "incident " + std::to_string(id) + ": its summary row (" + what +
                ") disagrees with its chained alerts");
      }
    }

    // Alerts whose incident row is gone: the incident vanished from `list`.
    // Prune removes an incident only with all its alerts, so no retained
    // alert may point to a missing row.
    auto m = db->Prepare(
        "SELECT a.incident_id, min(a.seq), count(*) FROM alerts a "
        "WHERE NOT EXISTS (SELECT 1 FROM incidents i WHERE i.id = a.incident_id) "
        "GROUP BY a.incident_id ORDER BY min(a.seq)");
    if (!m) return std::unexpected(m.error());
    for (;;) {
      auto row = m->Step();
      if (!row) return std::unexpected(row.error());
      if (!*row) break;
      add(0, "incident_missing",
          "incident " + std::to_string(m->ColumnInt(0)) + ": its row was deleted, but " +
              std::to_string(m->ColumnInt(2)) + " chained alert(s) belong to it (first: record " +
              Str(static_cast<uint64_t>(m->ColumnInt(1))) + ")");
    }
  }
  (void)db->Exec("COMMIT");

  if (!report.signatures_checked) {
    report.notes.push_back(
        "signatures NOT checked (no --pubkey): the chain is consistent, but someone with write "
        "access could have rebuilt it");
  }
  if (report.head_seq > report.last_signed_seq && report.signatures_checked) {
    report.notes.push_back("records " + Str(report.last_signed_seq + 1) + ".." +
                           Str(report.head_seq) +
                           " are after the last valid signed checkpoint: their removal could only "
                           "be detected against a head kept outside this host");
  }
  // Chain order: the first problem names the first broken record.
  std::stable_sort(report.problems.begin(), report.problems.end(),
                   [](const VerifyProblem& a, const VerifyProblem& b) {
                     const uint64_t ka = a.seq == 0 ? UINT64_MAX : a.seq;
                     const uint64_t kb = b.seq == 0 ? UINT64_MAX : b.seq;
                     return ka < kb;
                   });
  report.ok = report.problems.empty();
  return report;
}

}  // namespace vigil::collector::incidents
