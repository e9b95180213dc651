// The one name table of wire values (proto/vigil/v1/zeek/wire_names.h):
// Zeek's names and Zeek's renderings of values it has no name for.

#include "proto/vigil/v1/zeek/wire_names.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace vigil::v1::zeek {
namespace {

TEST(WireNames, TlsVersions) {
  EXPECT_EQ(TlsVersionLabel(0x0002), "SSLv2");
  EXPECT_EQ(TlsVersionLabel(0x0300), "SSLv3");
  EXPECT_EQ(TlsVersionLabel(0x0301), "TLSv10");
  EXPECT_EQ(TlsVersionLabel(0x0302), "TLSv11");
  EXPECT_EQ(TlsVersionLabel(0x0303), "TLSv12");
  EXPECT_EQ(TlsVersionLabel(0x0304), "TLSv13");
  EXPECT_EQ(TlsVersionLabel(0xfeff), "DTLSv10");
  EXPECT_EQ(TlsVersionLabel(0xfefd), "DTLSv12");
  EXPECT_EQ(TlsVersionLabel(0xfefc), "DTLSv13");
  EXPECT_EQ(TlsVersionLabel(0x1234), "unknown-4660");
  EXPECT_EQ(TlsVersionLabel(0), "unknown-0");
  EXPECT_EQ(TlsVersionName(0x7f17), "");  // drafts are derived, not listed
}

TEST(WireNames, TlsDraftVersionsFollowZeeksFormula) {
  // Zeek: `if ( i/0xFF == 0x7F ) return fmt("TLSv13-draft%d", i % 0x7F)`.
  EXPECT_EQ(TlsVersionLabel(0x7f0e), "TLSv13-draft14");
  EXPECT_EQ(TlsVersionLabel(0x7f17), "TLSv13-draft23");
  EXPECT_EQ(TlsVersionLabel(0x7f1c), "TLSv13-draft28");
  EXPECT_EQ(TlsVersionLabel(0x7f00), "TLSv13-draft0");
  EXPECT_EQ(TlsVersionLabel(0x7f7e), "TLSv13-draft126");
  // The formula's edges, to the letter: 0x7e81..0x7f7f are "drafts".
  EXPECT_EQ(TlsVersionLabel(0x7e80), "unknown-32384");
  EXPECT_EQ(TlsVersionLabel(0x7e81), "TLSv13-draft0");
  EXPECT_EQ(TlsVersionLabel(0x7f7f), "TLSv13-draft0");
  EXPECT_EQ(TlsVersionLabel(0x7f80), "unknown-32640");
  EXPECT_EQ(TlsVersionLabel(0x7fff), "unknown-32767");
}

TEST(WireNames, TlsCipherSuites) {
  EXPECT_EQ(TlsCipherName(0x0000), "TLS_NULL_WITH_NULL_NULL");
  EXPECT_EQ(TlsCipherName(0x0004), "TLS_RSA_WITH_RC4_128_MD5");
  EXPECT_EQ(TlsCipherName(0x000a), "TLS_RSA_WITH_3DES_EDE_CBC_SHA");
  EXPECT_EQ(TlsCipherName(0x0017), "TLS_DH_anon_EXPORT_WITH_RC4_40_MD5");
  EXPECT_EQ(TlsCipherName(0x00ff), "TLS_EMPTY_RENEGOTIATION_INFO_SCSV");
  EXPECT_EQ(TlsCipherName(0x1301), "TLS_AES_128_GCM_SHA256");
  EXPECT_EQ(TlsCipherName(0x5600), "TLS_FALLBACK_SCSV");
  EXPECT_EQ(TlsCipherName(0xc011), "TLS_ECDHE_RSA_WITH_RC4_128_SHA");
  EXPECT_EQ(TlsCipherName(0xc02f), "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
  EXPECT_EQ(TlsCipherName(0xc074), "TLS_ECDH_ECDSA_WITH_CAMELLIA_128_CBC_SHA256");
  EXPECT_EQ(TlsCipherName(0xcc13), "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256_OLD");
  EXPECT_EQ(TlsCipherName(0xcca8), "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256");
  EXPECT_EQ(TlsCipherName(0xffe1), "SSL_RSA_FIPS_WITH_DES_CBC_SHA_2");
  EXPECT_EQ(TlsCipherName(0x4242), "");
  EXPECT_EQ(TlsCipherLabel(0x4242), "unknown-16962");
  EXPECT_EQ(TlsCipherLabel(0x0a0a), "unknown-2570");  // GREASE has no name here
  EXPECT_EQ(TlsCipherLabel(0xc02f), "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
}

TEST(WireNames, TheCipherRegistryIsCompleteAndWellFormed) {
  // The full registry the agent's table had (the collector's was a subset):
  // every entry is found, so the table is sorted, and names are unique.
  int named = 0;
  std::set<std::string> names;
  for (uint32_t v = 0; v < 0x10000; ++v) {
    const std::string_view name = TlsCipherName(v);
    if (name.empty()) continue;
    ++named;
    EXPECT_TRUE(name.starts_with("TLS_") || name.starts_with("SSL_")) << name;
    EXPECT_TRUE(names.insert(std::string(name)).second) << "duplicate " << name;
  }
  EXPECT_EQ(named, 368);
}

TEST(WireNames, TlsGroups) {
  EXPECT_EQ(TlsGroupLabel(23), "secp256r1");
  EXPECT_EQ(TlsGroupLabel(24), "secp384r1");
  EXPECT_EQ(TlsGroupLabel(29), "x25519");
  EXPECT_EQ(TlsGroupLabel(30), "x448");
  EXPECT_EQ(TlsGroupLabel(41), "curveSM2");
  EXPECT_EQ(TlsGroupLabel(256), "ffdhe2048");
  EXPECT_EQ(TlsGroupLabel(513), "MLKEM768");
  EXPECT_EQ(TlsGroupLabel(0x11ec), "X25519MLKEM768");
  EXPECT_EQ(TlsGroupLabel(0x6399), "X25519Kyber768Draft00");
  EXPECT_EQ(TlsGroupLabel(0xff02), "arbitrary_explicit_char2_curves");
  EXPECT_EQ(TlsGroupLabel(0xffff), "unknown-65535");
  EXPECT_EQ(TlsGroupName(0xffff), "");
}

TEST(WireNames, TlsGrease) {
  for (uint32_t v : {0x0a0au, 0x1a1au, 0x5a5au, 0xfafau}) EXPECT_TRUE(IsTlsGrease(v)) << v;
  for (uint32_t v : {0x0a1au, 0x0a0bu, 0x1a0au, 0x10a0au, 0u}) EXPECT_FALSE(IsTlsGrease(v)) << v;
  int grease = 0;
  for (uint32_t v = 0; v < 0x10000; ++v) grease += IsTlsGrease(v);
  EXPECT_EQ(grease, 16);
}

TEST(WireNames, DnsQtypes) {
  EXPECT_EQ(DnsQtypeLabel(1), "A");
  EXPECT_EQ(DnsQtypeLabel(16), "TXT");
  EXPECT_EQ(DnsQtypeLabel(28), "AAAA");
  EXPECT_EQ(DnsQtypeLabel(33), "SRV");
  EXPECT_EQ(DnsQtypeLabel(65), "HTTPS");
  EXPECT_EQ(DnsQtypeLabel(255), "*");
  EXPECT_EQ(DnsQtypeLabel(32769), "DLV");
  EXPECT_EQ(DnsQtypeLabel(65281), "WINS");
  EXPECT_EQ(DnsQtypeLabel(65521), "INTEGRITY");
  EXPECT_EQ(DnsQtypeLabel(65000), "query-65000");
  EXPECT_EQ(DnsQtypeLabel(54), "query-54");
  // NetBIOS name service reuses 33 for NBSTAT; other types keep their names.
  EXPECT_EQ(DnsQtypeLabel(33, /*netbios=*/true), "NBSTAT");
  EXPECT_EQ(DnsQtypeLabel(32, /*netbios=*/true), "NIMLOC");
  int named = 0;
  for (uint32_t v = 0; v < 0x10000; ++v) named += !DnsQtypeName(v).empty();
  EXPECT_EQ(named, 90);
}

TEST(WireNames, DnsClassesRcodesOpcodes) {
  EXPECT_EQ(DnsQclassLabel(1), "C_INTERNET");
  EXPECT_EQ(DnsQclassLabel(3), "C_CHAOS");
  EXPECT_EQ(DnsQclassLabel(254), "C_NONE");
  EXPECT_EQ(DnsQclassLabel(255), "C_ANY");
  EXPECT_EQ(DnsQclassLabel(77), "qclass-77");  // the collector used to write "?77"

  EXPECT_EQ(DnsRcodeLabel(0), "NOERROR");
  EXPECT_EQ(DnsRcodeLabel(3), "NXDOMAIN");
  EXPECT_EQ(DnsRcodeLabel(5), "REFUSED");
  EXPECT_EQ(DnsRcodeLabel(8), "NXRRSet");  // Zeek's spelling (the collector had NXRRSET)
  EXPECT_EQ(DnsRcodeLabel(12), "unassigned-12");
  EXPECT_EQ(DnsRcodeLabel(16), "BADVERS");
  EXPECT_EQ(DnsRcodeLabel(23), "BADCOOKIE");
  EXPECT_EQ(DnsRcodeLabel(3842), "BADSIG");
  EXPECT_EQ(DnsRcodeLabel(99), "rcode-99");  // the collector used to write "?99"

  EXPECT_EQ(DnsOpcodeLabel(0), "query");
  EXPECT_EQ(DnsOpcodeLabel(2), "server-status");
  EXPECT_EQ(DnsOpcodeLabel(4), "notify");
  EXPECT_EQ(DnsOpcodeLabel(5), "dynamic-update");
  EXPECT_EQ(DnsOpcodeLabel(9), "opcode-9");
  EXPECT_EQ(DnsOpcodeLabel(0, /*netbios=*/true), "netbios-query");
  EXPECT_EQ(DnsOpcodeLabel(5, /*netbios=*/true), "netbios-registration");
  EXPECT_EQ(DnsOpcodeLabel(8, /*netbios=*/true), "netbios-refresh");
  EXPECT_EQ(DnsOpcodeLabel(3, /*netbios=*/true), "netbios-opcode-3");
  EXPECT_EQ(DnsOpcodeLabel(4294967295u, /*netbios=*/true), "netbios-opcode-4294967295");
}

TEST(WireNames, EventEnums) {
  EXPECT_EQ(TransportName(TRANSPORT_TCP), "tcp");
  EXPECT_EQ(TransportName(TRANSPORT_UDP), "udp");
  EXPECT_EQ(TransportName(TRANSPORT_ICMP), "icmp");
  EXPECT_EQ(TransportName(TRANSPORT_OTHER), "unknown_transport");
  EXPECT_EQ(TransportName(TRANSPORT_UNSPECIFIED), "unknown_transport");
  EXPECT_EQ(TransportName(static_cast<Transport>(42)), "unknown_transport");

  const char* const kStates[] = {"S0",   "S1",     "SF",    "REJ", "S2",  "S3", "RSTO",
                                 "RSTR", "RSTOS0", "RSTRH", "SH",  "SHR", "OTH"};
  for (int s = CONN_STATE_S0; s <= CONN_STATE_OTH; ++s) {
    EXPECT_EQ(ConnStateName(static_cast<ConnState>(s)), kStates[s - 1]);
  }
  EXPECT_EQ(ConnStateName(CONN_STATE_UNSPECIFIED), "");
  EXPECT_EQ(ConnStateName(static_cast<ConnState>(14)), "");  // a newer writer's state

  EXPECT_EQ(EndReasonName(END_REASON_CLOSED), "closed");
  EXPECT_EQ(EndReasonName(END_REASON_IDLE_TIMEOUT), "idle_timeout");
  EXPECT_EQ(EndReasonName(END_REASON_ACTIVE_TIMEOUT), "active_timeout");
  EXPECT_EQ(EndReasonName(END_REASON_EVICTED), "evicted");
  EXPECT_EQ(EndReasonName(END_REASON_SHUTDOWN), "shutdown");
  EXPECT_EQ(EndReasonName(END_REASON_UNSPECIFIED), "");
  EXPECT_EQ(EndReasonName(static_cast<EndReason>(6)), "");
}

TEST(WireNames, WireNameCopiesOwnTheirText) {
  WireName copy;
  {
    const WireName original = DnsQtypeLabel(65000);
    copy = original;
  }
  EXPECT_EQ(copy, "query-65000");
  EXPECT_EQ(copy.str(), "query-65000");
  const WireName named = DnsQtypeLabel(1);
  EXPECT_EQ(named.view().data(), DnsQtypeName(1).data());  // table entries are not copied
  EXPECT_TRUE(WireName().empty());
}

}  // namespace
}  // namespace vigil::v1::zeek
