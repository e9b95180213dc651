#pragma once
// Zeek's names for the numbers a vigil.v1 record carries: TLS version, cipher
// suite and key-exchange group (TlsRecord), DNS qtype, qclass, rcode and
// opcode (DnsRecord), and the Event enums (transport, conn_state, end
// reason). The names, and Zeek's rendering of a value it has no name for,
// are part of the wire contract: the agent's JSON lines, its TLS analyzer
// and the collector's rule events all read them from here, never from a copy.
//
// Tables follow the IANA registries as Zeek spells them
// (base/protocols/ssl/consts.zeek, base/protocols/dns/consts.zeek). Unknown
// values render as Zeek's `&default` functions do: "unknown-<n>" for TLS,
// "TLSv13-draft<n>" for TLS 1.3 draft versions, "query-<n>", "qclass-<n>",
// "rcode-<n>", "opcode-<n>" and "netbios-opcode-<n>" for DNS.
//
// Immutable tables and pure functions: thread-safe. The `...Name` functions
// return a table entry or an empty view; the `...Label` functions never come
// back empty and return a WireName, which holds Zeek's fallback rendering
// inline (no allocation).

#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>

#include "vigil/v1/records.pb.h"

namespace vigil::v1::zeek {

/// A value's name: a table entry (static storage) or the text Zeek writes
/// for a value it has no name for ("unknown-4660"), held inline. A plain
/// value; copies stay valid on their own.
class WireName {
 public:
  constexpr WireName() = default;
  /// A name with static storage duration (a table entry).
  static constexpr WireName Static(std::string_view name) {
    WireName w;
    w.static_ = name.data();
    w.len_ = static_cast<uint8_t>(name.size());
    return w;
  }
  /// `prefix` followed by `value` in decimal ("query-" 65280).
  static WireName Unnamed(std::string_view prefix, uint32_t value);

  std::string_view view() const {
    return static_ != nullptr ? std::string_view(static_, len_) : std::string_view(inline_, len_);
  }
  operator std::string_view() const { return view(); }  // NOLINT: a name reads as text
  std::string str() const { return std::string(view()); }
  bool empty() const { return len_ == 0; }

  friend bool operator==(const WireName& a, std::string_view b) { return a.view() == b; }
  friend std::ostream& operator<<(std::ostream& os, const WireName& n);

 private:
  // Long enough for "netbios-opcode-4294967295"; table names are under 64.
  static constexpr size_t kInline = 30;
  const char* static_ = nullptr;
  uint8_t len_ = 0;
  char inline_[kInline] = {};
};

// --- TLS -------------------------------------------------------------------

/// "SSLv2", "SSLv3", "TLSv10" ... "TLSv13", "DTLSv10", "DTLSv12", "DTLSv13";
/// empty for any other value (drafts included: see TlsVersionLabel).
std::string_view TlsVersionName(uint32_t version);
/// IANA cipher suite name ("TLS_AES_128_GCM_SHA256"); empty if unassigned.
std::string_view TlsCipherName(uint32_t cipher);
/// Named group / curve ("x25519", "secp256r1", "X25519MLKEM768"); empty if unknown.
std::string_view TlsGroupName(uint32_t group);

/// As Zeek's SSL::version_strings: a named version, "TLSv13-draft<n>" for the
/// TLS 1.3 drafts (0x7fnn), else "unknown-<n>".
WireName TlsVersionLabel(uint32_t version);
/// As Zeek's SSL::cipher_desc / SSL::ec_curves: the name, else "unknown-<n>".
WireName TlsCipherLabel(uint32_t cipher);
WireName TlsGroupLabel(uint32_t group);

/// True for the 16 GREASE values of RFC 8701 (0x0a0a, 0x1a1a, ... 0xfafa),
/// which clients sprinkle into their lists and fingerprints must skip.
constexpr bool IsTlsGrease(uint32_t v) {
  return v <= 0xffff && (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff);
}

// --- DNS -------------------------------------------------------------------

/// "A", "AAAA", "*" (255) ...; empty if unknown.
std::string_view DnsQtypeName(uint32_t qtype);
/// "C_INTERNET", "C_CHAOS" ...; empty if unknown.
std::string_view DnsQclassName(uint32_t qclass);
/// "NOERROR", "NXDOMAIN", "NXRRSet" (Zeek's spelling) ...; empty if unknown.
std::string_view DnsRcodeName(uint32_t rcode);
/// "query", "notify", "dynamic-update" ...; with `netbios` (NetBIOS name
/// service, UDP 137) the RFC 1002 opcodes ("netbios-registration"). Empty if unknown.
std::string_view DnsOpcodeName(uint32_t opcode, bool netbios = false);

/// As DNS::query_types; on NetBIOS name service (`netbios`: UDP 137) type 33
/// is "NBSTAT", not "SRV", as Zeek's DNS script renames it. Else "query-<n>".
WireName DnsQtypeLabel(uint32_t qtype, bool netbios = false);
/// As DNS::classes, else "qclass-<n>".
WireName DnsQclassLabel(uint32_t qclass);
/// As DNS::base_errors, else "rcode-<n>".
WireName DnsRcodeLabel(uint32_t rcode);
/// As DNS::opcodes / DNS::netbios_opcodes, else "opcode-<n>" / "netbios-opcode-<n>".
WireName DnsOpcodeLabel(uint32_t opcode, bool netbios = false);

// --- Event enums -------------------------------------------------------------

/// Zeek's transport_proto: "tcp", "udp", "icmp", and "unknown_transport" for
/// any other protocol and for TRANSPORT_UNSPECIFIED. Never empty.
std::string_view TransportName(vigil::v1::Transport transport);
/// "S0" ... "OTH"; empty for CONN_STATE_UNSPECIFIED and values this build
/// does not know (a reader treats them as unspecified: the field is unset).
std::string_view ConnStateName(vigil::v1::ConnState state);
/// "closed", "idle_timeout", "active_timeout", "evicted", "shutdown"; empty
/// for END_REASON_UNSPECIFIED and unknown values.
std::string_view EndReasonName(vigil::v1::EndReason reason);

}  // namespace vigil::v1::zeek
