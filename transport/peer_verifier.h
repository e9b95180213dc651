#pragma once
// Verifies the certificate chain an agent presented, with OpenSSL, against
// the collector's CA and (optional) CRL, and names the reason when it fails:
// gRPC's own handshake verification only logs "certificate verify failed",
// which tells an operator nothing. Owned by the ingest service; one instance
// serves every stream. Thread-safe: Verify() may run concurrently on any
// number of threads; it re-reads the CA and CRL files when they change on
// disk (checked at most once per second), so `vigilctl pki revoke` takes
// effect on the next stream without a restart.

#include <array>
#include <chrono>
#include <cstdint>
#include <expected>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "transport/transport_error.h"

namespace vigil::transport {

enum class PeerRejection : uint8_t {
  kNoClientCertificate,  ///< the client sent no certificate
  kUnknownCa,            ///< not issued by our CA (or chain incomplete)
  kBadSignature,         ///< issuer found but the signature does not verify
  kExpired,              ///< notAfter is in the past (collector clock)
  kNotYetValid,          ///< notBefore is in the future (clock skew?)
  kRevoked,              ///< listed in the CRL
  kWrongPurpose,         ///< no clientAuth usage, or a CA certificate
  kCrlUnusable,          ///< CRL configured but expired / from another CA
  kBadCertificate,       ///< unparsable or otherwise invalid
};
inline constexpr size_t kPeerRejectionCount = 9;

/// Stable snake_case name ("no_client_certificate", "unknown_ca", ...): log
/// field and metric label.
const char* PeerRejectionName(PeerRejection reason);

struct VerifiedPeer {
  std::string common_name;
  std::string serial_hex;
  std::string fingerprint_sha256;
  std::chrono::system_clock::time_point not_before, not_after;
};

struct PeerRejectionDetail {
  PeerRejection reason = PeerRejection::kBadCertificate;
  std::string subject_cn;  ///< CN of the presented leaf, when there was one
  std::string detail;      ///< OpenSSL's wording, for the log
};

class PeerVerifier {
 public:
  /// Loads the CA bundle and, when `crl_file` is not empty, the CRL. Errors
  /// name the file.
  static std::expected<std::unique_ptr<PeerVerifier>, TransportError> Create(std::string ca_file,
                                                                             std::string crl_file);
  ~PeerVerifier();

  /// Verifies a PEM chain (leaf first, then intermediates) for client use.
  /// An empty chain is kNoClientCertificate.
  std::expected<VerifiedPeer, PeerRejectionDetail> Verify(std::string_view chain_pem);

  /// Re-reads CA/CRL if their modification time changed. Returns true when
  /// something was reloaded; on error the previous state stays in force.
  std::expected<bool, TransportError> ReloadIfChanged();

  /// nextUpdate of the loaded CRL (epoch if none): exported so an expiring
  /// CRL alerts before it starts rejecting every agent.
  std::chrono::system_clock::time_point crl_next_update() const;

 private:
  struct State;
  PeerVerifier(std::string ca_file, std::string crl_file);
  std::expected<std::shared_ptr<const State>, TransportError> Load() const;
  std::shared_ptr<const State> Current();

  const std::string ca_file_, crl_file_;
  mutable std::mutex mu_;
  std::shared_ptr<const State> state_;
  std::chrono::steady_clock::time_point last_check_{};
};

}  // namespace vigil::transport
