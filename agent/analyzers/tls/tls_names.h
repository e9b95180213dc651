#pragma once
// Wire value -> name tables for the TLS fields Vigil records as numbers
// (TlsRecord.version, .cipher, .curve, .client_supported_versions). Names are
// the ones Zeek writes in ssl.log (IANA names; `TLSv12`-style versions).
//
// Self-contained on purpose: no Vigil includes, only the standard library, so
// the agent's JSON writer and the collector's event view can both use these
// files (the collector cannot include agent code; the integrator may move
// them to a shared folder unchanged).
//
// Immutable tables: thread-safe.

#include <cstdint>
#include <string>
#include <string_view>

namespace vigil::agent::analyzers::tls {

/// "SSLv3", "TLSv10" ... "TLSv13", "DTLSv12", "TLSv13-draft23"; empty if unknown.
std::string_view TlsVersionName(uint32_t version);
/// IANA cipher suite name ("TLS_AES_128_GCM_SHA256"); empty if unknown.
std::string_view CipherSuiteName(uint32_t cipher);
/// Named group / curve ("x25519", "secp256r1", "X25519MLKEM768"); empty if unknown.
std::string_view GroupName(uint32_t group);

/// As above, but never empty: unknown values render as Zeek does ("unknown-<n>").
std::string TlsVersionLabel(uint32_t version);
std::string CipherSuiteLabel(uint32_t cipher);
std::string GroupLabel(uint32_t group);

/// True for the 16 GREASE values of RFC 8701 (0x0a0a, 0x1a1a, ... 0xfafa).
constexpr bool IsGrease(uint32_t v) {
  return v <= 0xffff && (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff);
}

}  // namespace vigil::agent::analyzers::tls
