#pragma once
// Loads and checks the PEM files one end of a mutual-TLS connection needs:
// the CA that verifies the peer, this end's certificate and key, and
// optionally a CRL. Every problem is reported, each naming its file, so an
// operator fixes all of them in one go. Free functions, reentrant.

#include <chrono>
#include <expected>
#include <string>
#include <vector>

#include "transport/transport_error.h"

namespace vigil::transport {

struct TlsFiles {
  std::string ca;    ///< PEM CA certificate(s) that verify the peer
  std::string cert;  ///< PEM certificate (chain) of this end
  std::string key;   ///< PEM private key of this end
  std::string crl;   ///< optional PEM CRL ("" = none)
};

struct TlsMaterial {
  std::string ca_pem, cert_pem, key_pem, crl_pem;
  TlsFiles files;
  /// Identity and validity of this end's own certificate (for logs and the
  /// certificate-expiry metric).
  std::string common_name;
  std::chrono::system_clock::time_point not_before, not_after;
  /// The earliest notAfter among the CA certificates (the trust ends then).
  std::chrono::system_clock::time_point ca_not_after;
  /// Non-fatal findings (key readable by others, certificate close to
  /// expiry): the caller logs them.
  std::vector<std::string> warnings;
};

/// Reads and validates all files: readable, PEM of the right kind, CA has
/// CA:TRUE, key matches certificate. Returns every error found, not just
/// the first. A certificate that does not chain to the CA file, or is
/// expired / not yet valid / close to expiry, is a warning.
std::expected<TlsMaterial, std::vector<TransportError>> LoadTlsMaterial(const TlsFiles& files);

/// Reads a whole file (for PEM files; refuses anything over 1 MiB).
std::expected<std::string, TransportError> ReadSmallFile(const std::string& path);

/// Joins several errors into one multi-line message for logs.
std::string JoinErrors(const std::vector<TransportError>& errors);

}  // namespace vigil::transport
