#pragma once
// VerifyChain: the auditor's check of an incident log. Walks the hash chain
// record by record, re-encodes every record from its stored columns, checks
// each hash against its predecessor, checks every checkpoint's Ed25519
// signature and the head it signs, looks for content rows that are not part
// of the chain, checks that a pruned prefix is accounted for by a prune
// record, optionally compares the head with one the auditor kept, and checks
// the derived incident summaries against their alerts. Opens the database
// read-only; safe to run while the collector writes (WAL snapshot).
// Stateless function; thread-safe.

#include <chrono>
#include <cstdint>
#include <expected>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "collector/incidents/chain_record.h"
#include "collector/incidents/checkpoint_key.h"
#include "collector/incidents/store_error.h"

namespace vigil::collector::incidents {

struct VerifyOptions {
  /// Public keys that may have signed checkpoints (matched by key id). With
  /// none, signatures are not checked and the report says so.
  std::vector<VerifyKey> keys;
  /// A head the auditor kept (from an earlier verify or an export manifest):
  /// detects truncation after the last checkpoint.
  std::optional<uint64_t> expected_head_seq;
  std::optional<Hash> expected_head_hash;
  bool check_incidents = true;
  size_t max_problems = 50;
  /// The collector's checkpoint policy (StoreConfig::checkpoint_every_records
  /// and checkpoint_every; these defaults are StoreConfig's). With keys, the
  /// collector's own commits after the last valid checkpoint must not be past
  /// it: every commit that reaches either limit writes a checkpoint in the
  /// same transaction, so an alert beyond it means checkpoints were removed.
  uint64_t checkpoint_every_records = 10000;
  std::chrono::seconds checkpoint_every{300};
};

struct VerifyProblem {
  uint64_t seq = 0;  ///< the record concerned (0: not a chain record, e.g. an incident row)
  std::string kind;  ///< altered | missing | inserted | bad_checkpoint | unknown_key |
                     ///< no_checkpoint | unsigned_tail | truncated | unaccounted_prune |
                     ///< incident_mismatch | incident_missing
  std::string message;
};

struct VerifyReport {
  bool ok = false;
  uint64_t records = 0;    ///< records present
  uint64_t first_seq = 0;  ///< first record present (1 unless pruned)
  uint64_t head_seq = 0;
  Hash head_hash{};
  uint64_t checkpoints = 0;
  uint64_t checkpoints_verified = 0;  ///< signature checked and valid
  uint64_t last_signed_seq = 0;       ///< highest record covered by a valid signature
  bool signatures_checked = false;
  std::string store_id;
  std::vector<VerifyProblem> problems;  ///< in chain order; the first is "the first broken record"
  std::vector<std::string> notes;       ///< what could not be checked, and why
};

std::expected<VerifyReport, StoreError> VerifyChain(const std::filesystem::path& db_path,
                                                    const VerifyOptions& options);

}  // namespace vigil::collector::incidents
