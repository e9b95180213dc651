#pragma once
// TLS client fingerprints of a parsed ClientHello:
//  - JA3 (salesforce/ja3, BSD-3-Clause): md5 of
//    "version,ciphers,extensions,groups,point_formats";
//  - JA4 (FoxIO JA4 TLS client fingerprint, BSD-3-Clause): "a_b_c" as in the
//    JA4 specification (technical_details/JA4.md). The ALPN part follows the
//    specification (first and last character, hex digits for non-alphanumeric
//    values), not the reference implementations' `99` substitution.
// Only the JA4 *client* method is implemented: JA4S, JA4H, JA4X and the other
// JA4+ methods are under the FoxIO License (non-commercial) and deliberately
// absent.
//
// Free functions: thread-safe.

#include <string>
#include <string_view>

#include "agent/analyzers/tls/hello.h"

namespace vigil::agent::analyzers::tls {

/// The JA3 input string ("771,4865-4866,0-23,29-23,0"), GREASE removed.
std::string Ja3String(const ClientHello& hello);
void Ja3StringTo(const ClientHello& hello, std::string& out);
/// Lowercase hex MD5 of Ja3String() (empty if MD5 is unavailable).
std::string Ja3(const ClientHello& hello);
/// The same into `out` (replaced; its capacity is reused).
void Ja3To(const ClientHello& hello, std::string& out);

enum class Ja4Transport : char { kTcp = 't', kQuic = 'q', kDtls = 'd' };

/// JA4 ("t13d1516h2_8daaf6152771_e5627efa2ab1").
std::string Ja4(const ClientHello& hello, Ja4Transport transport);
/// The same into `out` (replaced; its capacity is reused).
void Ja4To(const ClientHello& hello, Ja4Transport transport, std::string& out);
/// JA4_r: the same with the sorted lists left unhashed.
std::string Ja4Raw(const ClientHello& hello, Ja4Transport transport);

/// The hashing steps on their own (for reference vectors): MD5 hex of a JA3
/// string, and JA4's truncated SHA-256 of a list ("000000000000" if empty).
std::string Ja3Hash(std::string_view ja3_string);
std::string Ja4Hash(std::string_view list);

}  // namespace vigil::agent::analyzers::tls
