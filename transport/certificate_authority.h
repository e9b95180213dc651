#pragma once
// The small certificate authority behind `vigilctl pki`: one CA per
// deployment (a directory), leaf certificates for agents (clientAuth, CN =
// the agent's identity) and collectors (serverAuth, SANs), revocation and a
// CRL the collector reads. Built on the OpenSSL 3 C API, no shelling out.
// Private keys are written 0600, every file atomically (temp + rename).
// The directory keeps an inventory (index.tsv) so `list` and `revoke NAME`
// work without scanning certificates. Owned by the vigilctl process; an
// instance holds an exclusive lock on the directory (flock), so two vigilctl
// runs cannot interleave serials or CRL numbers. Not thread-safe.

#include <chrono>
#include <cstdint>
#include <expected>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "transport/transport_error.h"

namespace vigil::transport {

enum class KeyType : uint8_t { kEcP256, kEd25519 };
enum class CertificateKind : uint8_t { kAgent, kCollector };
/// RFC 5280 CRLReason values we offer.
enum class RevocationReason : uint8_t {
  kUnspecified = 0,
  kKeyCompromise = 1,
  kSuperseded = 4,
  kCessationOfOperation = 5,
};

const char* KindName(CertificateKind kind);
const char* ReasonName(RevocationReason reason);
std::optional<RevocationReason> ParseReason(std::string_view name);
std::optional<KeyType> ParseKeyType(std::string_view name);

struct CaInitOptions {
  std::string common_name = "Vigil CA";
  std::string organization;
  KeyType key_type = KeyType::kEcP256;
  std::chrono::days validity{3650};
  std::chrono::days crl_validity{365};
};

struct IssueRequest {
  std::string name;  ///< CN = identity; [A-Za-z0-9._-], 1..64 characters
  CertificateKind kind = CertificateKind::kAgent;
  /// "DNS:collector.example.gov", "IP:10.0.0.5" (required for collectors).
  std::vector<std::string> sans;
  KeyType key_type = KeyType::kEcP256;
  /// Default (unset): from 5 minutes ago (tolerates small clock skew on the
  /// verifying side) for `validity`.
  std::optional<std::chrono::system_clock::time_point> not_before;
  std::optional<std::chrono::system_clock::time_point> not_after;
  std::chrono::days validity{825};
  /// Where NAME.crt / NAME.key go; default <ca dir>/issued.
  std::filesystem::path out_dir;
};

struct CertificateRecord {
  std::string serial_hex;
  CertificateKind kind = CertificateKind::kAgent;
  std::string name;
  std::chrono::system_clock::time_point not_before, not_after;
  bool revoked = false;
  std::chrono::system_clock::time_point revoked_at{};
  RevocationReason reason = RevocationReason::kUnspecified;
  std::filesystem::path cert_path, key_path;  ///< set by Issue only
};

class CertificateAuthority {
 public:
  /// Creates the CA in `dir` (created if missing): ca.key (0600), ca.crt,
  /// an empty CRL, the inventory. Refuses if a CA is already there.
  static std::expected<CertificateAuthority, TransportError> Init(const std::filesystem::path& dir,
                                                                  const CaInitOptions& options);
  /// Opens an existing CA directory.
  static std::expected<CertificateAuthority, TransportError> Open(const std::filesystem::path& dir);

  CertificateAuthority(CertificateAuthority&&) noexcept;
  CertificateAuthority& operator=(CertificateAuthority&&) noexcept;
  ~CertificateAuthority();

  /// Issues a key pair and certificate, writes NAME.key (0600) and NAME.crt
  /// (leaf followed by nothing: the CA file is distributed separately) and
  /// records it. Issuing again for a name is rotation: the older certificate
  /// stays valid until it expires or is revoked.
  std::expected<CertificateRecord, TransportError> Issue(const IssueRequest& request);

  /// Revokes every unrevoked certificate of `name` (or only `serial_hex`),
  /// then rewrites the CRL. Returns what was revoked (error if nothing).
  std::expected<std::vector<CertificateRecord>, TransportError> Revoke(
      const std::string& name, const std::optional<std::string>& serial_hex,
      RevocationReason reason);

  /// Rewrites the CRL (new number, lastUpdate now, nextUpdate now+validity).
  std::expected<void, TransportError> WriteCrl(std::chrono::days validity);

  const std::vector<CertificateRecord>& Certificates() const { return records_; }
  std::filesystem::path ca_cert_path() const { return dir_ / "ca.crt"; }
  std::filesystem::path crl_path() const { return dir_ / "ca.crl"; }
  std::filesystem::path dir() const { return dir_; }
  /// The CRL validity chosen at init (or by the last WriteCrl).
  std::chrono::days crl_validity() const { return crl_validity_; }

 private:
  struct Keys;
  CertificateAuthority() = default;
  std::expected<void, TransportError> SaveIndex() const;
  std::expected<void, TransportError> LoadIndex();

  std::filesystem::path dir_;
  int lock_fd_ = -1;
  std::unique_ptr<Keys> keys_;
  std::vector<CertificateRecord> records_;
  std::chrono::days crl_validity_{365};
};

/// Writes `data` to `path` atomically (temp file in the same folder, fsync,
/// rename) with permission bits `mode`.
std::expected<void, TransportError> WriteFileAtomic(const std::filesystem::path& path,
                                                    std::string_view data, unsigned mode);

}  // namespace vigil::transport
