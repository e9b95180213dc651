#pragma once
// IP addresses as text, exactly as glibc's inet_ntop() writes them (dns.log
// answers must read as Zeek's do): dotted quad for IPv4; for IPv6 lowercase
// hex groups without leading zeros, the first longest run of two or more zero
// groups as "::", and the last 32 bits dotted for IPv4-mapped (::ffff:a.b.c.d)
// and IPv4-compatible (::a.b.c.d) addresses.
//
// Why not inet_ntop(): for IPv6 it formats each group through sprintf, about
// 3,000 instructions per address, more than the rest of parsing the DNS
// response that carries it.
//
// Free functions: thread-safe.

#include <cstdint>
#include <string>

namespace vigil::agent::analyzers {

/// Appends the dotted-quad text of the 4 bytes at `a`.
void AppendIpv4Text(std::string& out, const uint8_t* a);
/// Appends the text of the 16-byte IPv6 address at `a`.
void AppendIpv6Text(std::string& out, const uint8_t* a);

}  // namespace vigil::agent::analyzers
