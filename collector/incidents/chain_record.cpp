#include "collector/incidents/chain_record.h"

#include <openssl/evp.h>

#include <bit>
#include <cstdlib>
#include <cstring>

namespace vigil::collector::incidents {
namespace {

constexpr ColumnSpec kGenesisColumns[] = {
    {"store_id", FieldType::kText},
    {"schema_version", FieldType::kInt},
    {"created_by", FieldType::kText},
};

constexpr ColumnSpec kAlertColumns[] = {
    {"incident_id", FieldType::kInt},
    {"alert_kind", FieldType::kText},
    {"rule_id", FieldType::kText},
    {"rule_title", FieldType::kText},
    {"level", FieldType::kText},
    {"author", FieldType::kText},
    {"tags", FieldType::kText},
    {"rule_file", FieldType::kText},
    {"rule_file_hash", FieldType::kText},
    {"ruleset_hash", FieldType::kText},
    {"shadow", FieldType::kInt},
    {"group_key", FieldType::kText},
    {"agent_id", FieldType::kText},
    {"agency", FieldType::kText},
    {"batch_sequence", FieldType::kInt},
    {"capture_drop_ratio", FieldType::kReal},
    {"event_time_ns", FieldType::kInt},
    {"received_ns", FieldType::kInt},
    {"matched_fields", FieldType::kText},
    {"events", FieldType::kText},
    {"suppressed_count", FieldType::kInt},
    {"message", FieldType::kText},
};

constexpr ColumnSpec kIncidentChangeColumns[] = {
    {"incident_id", FieldType::kInt},  {"action", FieldType::kText},
    {"from_status", FieldType::kText}, {"to_status", FieldType::kText},
    {"changed_by", FieldType::kText},  {"note", FieldType::kText},
};

constexpr ColumnSpec kCoverageColumns[] = {
    {"agent_id", FieldType::kText},       {"agency", FieldType::kText},
    {"event", FieldType::kText},          {"occurred_ns", FieldType::kInt},
    {"window_start_ns", FieldType::kInt}, {"window_end_ns", FieldType::kInt},
    {"first_sequence", FieldType::kInt},  {"last_sequence", FieldType::kInt},
    {"batches", FieldType::kInt},         {"records", FieldType::kInt},
    {"drop_ratio", FieldType::kReal},     {"detail", FieldType::kText},
};

constexpr ColumnSpec kExportColumns[] = {
    {"exporter", FieldType::kText},    {"filters", FieldType::kText},
    {"since_ns", FieldType::kInt},     {"until_ns", FieldType::kInt},
    {"format", FieldType::kText},      {"row_count", FieldType::kInt},
    {"file_sha256", FieldType::kText}, {"head_seq", FieldType::kInt},
    {"head_hash", FieldType::kText},   {"output", FieldType::kText},
};

constexpr ColumnSpec kPruneColumns[] = {
    {"cutoff_ns", FieldType::kInt},
    {"pruned_through_seq", FieldType::kInt},
    {"pruned_through_hash", FieldType::kText},
    {"records_removed", FieldType::kInt},
    {"alerts_removed", FieldType::kInt},
    {"pruned_by", FieldType::kText},
};

constexpr ColumnSpec kCheckpointColumns[] = {
    {"covers_seq", FieldType::kInt}, {"covers_hash", FieldType::kText},
    {"reason", FieldType::kText},    {"key_id", FieldType::kText},
    {"signature", FieldType::kBlob},
};

constexpr RecordKindSpec kKinds[] = {
    {kKindGenesis, "genesis", kGenesisColumns},
    {kKindAlert, "alerts", kAlertColumns},
    {kKindIncidentChange, "incident_changes", kIncidentChangeColumns},
    {kKindCoverage, "coverage", kCoverageColumns},
    {kKindExport, "exports", kExportColumns},
    {kKindPrune, "prunes", kPruneColumns},
    {kKindCheckpoint, "checkpoints", kCheckpointColumns},
};

void AppendField(std::string& out, std::string_view bytes) {
  const auto n = static_cast<uint32_t>(bytes.size());
  const char len[4] = {static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                       static_cast<char>(n >> 8), static_cast<char>(n)};
  out.append(len, 4);
  out.append(bytes);
}

void AppendU64(std::string& out, uint64_t v) {
  char bytes[8];
  for (int i = 7; i >= 0; --i) {
    bytes[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  AppendField(out, std::string_view(bytes, 8));
}

}  // namespace

std::span<const RecordKindSpec> AllRecordKinds() { return kKinds; }

const RecordKindSpec* FindRecordKind(std::string_view kind) {
  for (const auto& spec : kKinds) {
    if (spec.kind == kind) return &spec;
  }
  return nullptr;
}

std::string EncodeRecord(uint64_t seq, std::string_view kind, int64_t recorded_ns,
                         std::span<const FieldValue> fields) {
  std::string out;
  out.reserve(128);
  AppendField(out, kChainFormat);
  AppendU64(out, seq);
  AppendField(out, kind);
  AppendU64(out, static_cast<uint64_t>(recorded_ns));
  for (const auto& field : fields) {
    if (const auto* i = std::get_if<int64_t>(&field)) {
      AppendU64(out, static_cast<uint64_t>(*i));
    } else if (const auto* d = std::get_if<double>(&field)) {
      AppendU64(out, std::bit_cast<uint64_t>(*d));
    } else {
      AppendField(out, std::get<std::string>(field));
    }
  }
  return out;
}

Hash ChainHash(const Hash& prev, std::string_view encoded) {
  Sha256Stream stream;
  stream.Update(std::string_view(reinterpret_cast<const char*>(prev.data()), prev.size()));
  stream.Update(encoded);
  return stream.Finish();
}

Hash Sha256(std::string_view bytes) {
  Sha256Stream stream;
  stream.Update(bytes);
  return stream.Finish();
}

std::string ToHex(std::span<const uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (uint8_t b : bytes) {
    out += kDigits[b >> 4];
    out += kDigits[b & 0xf];
  }
  return out;
}

bool HashFromHex(std::string_view hex, Hash& out) {
  if (hex.size() != 64) return false;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < 32; ++i) {
    const int hi = nibble(hex[2 * i]);
    const int lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return true;
}

bool HashFromBytes(std::string_view bytes, Hash& out) {
  if (bytes.size() != out.size()) return false;
  std::memcpy(out.data(), bytes.data(), out.size());
  return true;
}

Sha256Stream::Sha256Stream() : ctx_(EVP_MD_CTX_new()) {
  if (ctx_ == nullptr ||
      EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx_), EVP_sha256(), nullptr) != 1) {
    // Out of memory or a broken OpenSSL: nothing sensible can continue.
    std::abort();
  }
}

Sha256Stream::~Sha256Stream() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_)); }

void Sha256Stream::Update(std::string_view bytes) {
  EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), bytes.data(), bytes.size());
}

Hash Sha256Stream::Finish() {
  Hash out{};
  unsigned int len = 0;
  EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(ctx_), out.data(), &len);
  EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx_), EVP_sha256(), nullptr);
  return out;
}

}  // namespace vigil::collector::incidents
