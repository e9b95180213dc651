#pragma once
// Wire value -> name tables for the DNS fields Vigil records as numbers
// (DnsRecord.qtype, .qclass, .rcode, .opcode). Names are the ones Zeek writes
// in dns.log (`qtype_name`, `qclass_name`, `rcode_name`, `opcode_name`).
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

namespace vigil::agent::analyzers::dns {

/// "A", "AAAA", "*" (255) ...; empty if unknown.
std::string_view QtypeName(uint32_t qtype);
/// "C_INTERNET", "C_CHAOS" ...; empty if unknown.
std::string_view QclassName(uint32_t qclass);
/// "NOERROR", "NXDOMAIN" ...; empty if unknown.
std::string_view RcodeName(uint32_t rcode);
/// "query", "notify", "dynamic-update" ...; for NetBIOS name service
/// (UDP 137) the NetBIOS opcode names ("netbios-registration"). Empty if unknown.
std::string_view OpcodeName(uint32_t opcode, bool netbios = false);

/// As above, but never empty: unknown values render as Zeek does
/// ("query-<n>", "qclass-<n>", "rcode-<n>", "opcode-<n>"). On NetBIOS
/// (`netbios`, responder port UDP 137) qtype 33 is "NBSTAT", not "SRV".
std::string QtypeLabel(uint32_t qtype, bool netbios = false);
std::string QclassLabel(uint32_t qclass);
std::string RcodeLabel(uint32_t rcode);
std::string OpcodeLabel(uint32_t opcode, bool netbios = false);

}  // namespace vigil::agent::analyzers::dns
