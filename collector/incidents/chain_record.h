#pragma once
// The hash chain's record model and canonical encoding: which record kinds
// exist, which table and columns hold each kind's content (in the fixed order
// the encoding uses), how a record is encoded, and how its hash is computed.
// Writer (IncidentStore) and verifier (VerifyChain) share these definitions,
// so what is hashed on insert is exactly what verify re-hashes. The encoding
// is specified for auditors in docs/audit.md; change it only with a new
// format tag. Stateless; thread-safe.

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace vigil::collector::incidents {

/// Format tag: the first field of every encoded record.
inline constexpr std::string_view kChainFormat = "vigil-chain-v1";

using Hash = std::array<uint8_t, 32>;
inline constexpr Hash kGenesisPrevHash{};  // 32 zero bytes

enum class FieldType : uint8_t { kInt, kReal, kText, kBlob };

struct ColumnSpec {
  std::string_view name;
  FieldType type;
};

/// One record kind: its name in records.kind, its content table, and the
/// content columns in encoding order.
struct RecordKindSpec {
  std::string_view kind;
  std::string_view table;
  std::span<const ColumnSpec> columns;
};

std::span<const RecordKindSpec> AllRecordKinds();
const RecordKindSpec* FindRecordKind(std::string_view kind);

// Kind names, used by the writer.
inline constexpr std::string_view kKindGenesis = "genesis";
inline constexpr std::string_view kKindAlert = "alert";
inline constexpr std::string_view kKindIncidentChange = "incident_change";
inline constexpr std::string_view kKindCoverage = "coverage";
inline constexpr std::string_view kKindExport = "export";
inline constexpr std::string_view kKindPrune = "prune";
inline constexpr std::string_view kKindCheckpoint = "checkpoint";

/// A content value. kText and kBlob both hold bytes in std::string.
using FieldValue = std::variant<int64_t, double, std::string>;

/// Canonical encoding of one record (see docs/audit.md):
///   F(kChainFormat) F(u64 seq) F(kind) F(i64 recorded_ns) F(field_1) ... F(field_n)
/// where F(x) = 4-byte big-endian length of x, then x; integers are 8 bytes
/// big-endian two's complement; reals are the 8 bytes of their IEEE 754
/// binary64 representation, big-endian; text is UTF-8; blobs are raw bytes.
std::string EncodeRecord(uint64_t seq, std::string_view kind, int64_t recorded_ns,
                         std::span<const FieldValue> fields);

/// SHA-256(prev || encoded).
Hash ChainHash(const Hash& prev, std::string_view encoded);

/// SHA-256 of arbitrary bytes (export files, rule files in tests).
Hash Sha256(std::string_view bytes);

std::string ToHex(std::span<const uint8_t> bytes);
inline std::string ToHex(const Hash& hash) { return ToHex(std::span<const uint8_t>(hash)); }
/// Parses 64 hex digits; false on anything else.
bool HashFromHex(std::string_view hex, Hash& out);
/// Interprets 32 raw bytes (a BLOB column) as a Hash; false on wrong size.
bool HashFromBytes(std::string_view bytes, Hash& out);

/// Incremental SHA-256 for streaming an export file through.
class Sha256Stream {
 public:
  Sha256Stream();
  ~Sha256Stream();
  Sha256Stream(const Sha256Stream&) = delete;
  Sha256Stream& operator=(const Sha256Stream&) = delete;
  void Update(std::string_view bytes);
  Hash Finish();

 private:
  void* ctx_;  // EVP_MD_CTX*, kept opaque to keep OpenSSL out of this header
};

}  // namespace vigil::collector::incidents
