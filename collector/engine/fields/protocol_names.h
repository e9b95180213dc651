#pragma once
// Name tables for the numbers the agent sends on the wire (TLS version,
// cipher suite, key-exchange group; DNS qtype, qclass, rcode), rendered as
// Zeek renders them (TLSv12, TLS_AES_128_GCM_SHA256, x25519, A, C_INTERNET,
// NOERROR) from the IANA registries. The agent keeps its own copy in
// agent/analyzers (agent and collector never share code); both follow
// Zeek's fallbacks for unassigned values: "unknown-<n>" for TLS, "query-<n>"
// for qtypes and "?<n>" for classes and rcodes. Pure functions, thread-safe.

#include <cstdint>
#include <string>

namespace vigil::collector::engine {

std::string TlsVersionName(uint32_t version);
std::string TlsCipherName(uint32_t cipher);
std::string TlsGroupName(uint32_t group);
std::string DnsQtypeName(uint32_t qtype);
std::string DnsQclassName(uint32_t qclass);
std::string DnsRcodeName(uint32_t rcode);

}  // namespace vigil::collector::engine
