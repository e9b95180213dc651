#pragma once
// Reads the notAfter of a PEM certificate, for
// vigil_collector_certificate_expiry_timestamp_seconds. Control plane: called
// at startup and on reload. Pure function of the file; thread-safe.

#include <cstdint>
#include <expected>
#include <string>

namespace vigil::collector::metrics {

/// notAfter of the first certificate in `pem_path`, Unix seconds.
std::expected<int64_t, std::string> CertificateNotAfter(const std::string& pem_path);

/// Same for PEM text already in memory.
std::expected<int64_t, std::string> CertificateNotAfterFromPem(const std::string& pem);

}  // namespace vigil::collector::metrics
