// The one name table of wire values (proto/vigil/v1/zeek/wire_names.h):
// Zeek's names and Zeek's renderings of values it has no name for.

#include "proto/vigil/v1/zeek/wire_names.h"

#include <gtest/gtest.h>

#include <initializer_list>
#include <set>
#include <string>

namespace vigil::v1::zeek {
namespace {

struct Case {
  uint32_t value;
  std::string_view name;
};

template <typename Label>
void ExpectLabels(Label label, std::initializer_list<Case> cases) {
  for (const Case& c : cases) EXPECT_EQ(label(c.value), c.name) << "value " << c.value;
}

// How many values in [0, 0x10000) a table names. Lookups are binary
// searches, so an entry out of order would not be found and not counted.
template <typename Name>
int NamedValues(Name name) {
  int named = 0;
  for (uint32_t v = 0; v < 0x10000; ++v) named += !name(v).empty();
  return named;
}

TEST(WireNames, TlsVersions) {
  ExpectLabels(TlsVersionLabel, {{0x0002, "SSLv2"},
                                 {0x0300, "SSLv3"},
                                 {0x0301, "TLSv10"},
                                 {0x0302, "TLSv11"},
                                 {0x0303, "TLSv12"},
                                 {0x0304, "TLSv13"},
                                 {0xfeff, "DTLSv10"},
                                 {0xfefd, "DTLSv12"},
                                 {0xfefc, "DTLSv13"},
                                 {0x1234, "unknown-4660"},
                                 {0, "unknown-0"}});
  EXPECT_EQ(TlsVersionName(0x7f17), "");  // drafts are derived, not listed
}

TEST(WireNames, TlsDraftVersionsFollowZeeksFormula) {
  // Zeek: `if ( i/0xFF == 0x7F ) return fmt("TLSv13-draft%d", i % 0x7F)`,
  // to the letter, edges included (0x7e81..0x7f7f are "drafts").
  ExpectLabels(TlsVersionLabel, {{0x7f0e, "TLSv13-draft14"},
                                 {0x7f17, "TLSv13-draft23"},
                                 {0x7f1c, "TLSv13-draft28"},
                                 {0x7f00, "TLSv13-draft0"},
                                 {0x7f7e, "TLSv13-draft126"},
                                 {0x7e80, "unknown-32384"},
                                 {0x7e81, "TLSv13-draft0"},
                                 {0x7f7f, "TLSv13-draft0"},
                                 {0x7f80, "unknown-32640"},
                                 {0x7fff, "unknown-32767"}});
}

TEST(WireNames, TlsCipherSuites) {
  ExpectLabels(TlsCipherLabel, {{0x0000, "TLS_NULL_WITH_NULL_NULL"},
                                {0x0004, "TLS_RSA_WITH_RC4_128_MD5"},
                                {0x000a, "TLS_RSA_WITH_3DES_EDE_CBC_SHA"},
                                {0x0017, "TLS_DH_anon_EXPORT_WITH_RC4_40_MD5"},
                                {0x00ff, "TLS_EMPTY_RENEGOTIATION_INFO_SCSV"},
                                {0x1301, "TLS_AES_128_GCM_SHA256"},
                                {0x5600, "TLS_FALLBACK_SCSV"},
                                {0xc011, "TLS_ECDHE_RSA_WITH_RC4_128_SHA"},
                                {0xc02f, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"},
                                {0xc074, "TLS_ECDH_ECDSA_WITH_CAMELLIA_128_CBC_SHA256"},
                                {0xcc13, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256_OLD"},
                                {0xcca8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"},
                                {0xffe1, "SSL_RSA_FIPS_WITH_DES_CBC_SHA_2"},
                                {0x4242, "unknown-16962"},
                                {0x0a0a, "unknown-2570"}});  // GREASE has no name here
  EXPECT_EQ(TlsCipherName(0x4242), "");
}

TEST(WireNames, TheCipherRegistryIsCompleteAndWellFormed) {
  // The full registry the agent's table had (the collector's was a subset).
  EXPECT_EQ(NamedValues(TlsCipherName), 368);
  std::set<std::string> names;
  for (uint32_t v = 0; v < 0x10000; ++v) {
    const std::string_view name = TlsCipherName(v);
    if (name.empty()) continue;
    EXPECT_TRUE(name.starts_with("TLS_") || name.starts_with("SSL_")) << name;
    EXPECT_TRUE(names.insert(std::string(name)).second) << "duplicate " << name;
  }
}

TEST(WireNames, TlsGroups) {
  ExpectLabels(TlsGroupLabel, {{23, "secp256r1"},
                               {24, "secp384r1"},
                               {29, "x25519"},
                               {30, "x448"},
                               {41, "curveSM2"},
                               {256, "ffdhe2048"},
                               {513, "MLKEM768"},
                               {0x11ec, "X25519MLKEM768"},
                               {0x6399, "X25519Kyber768Draft00"},
                               {0xff02, "arbitrary_explicit_char2_curves"},
                               {0xffff, "unknown-65535"}});
  EXPECT_EQ(NamedValues(TlsGroupName), 56);
}

TEST(WireNames, TlsGrease) {
  for (uint32_t v : {0x0a0au, 0x1a1au, 0x5a5au, 0xfafau}) EXPECT_TRUE(IsTlsGrease(v)) << v;
  for (uint32_t v : {0x0a1au, 0x0a0bu, 0x1a0au, 0x10a0au, 0u}) EXPECT_FALSE(IsTlsGrease(v)) << v;
  int grease = 0;
  for (uint32_t v = 0; v < 0x10000; ++v) grease += IsTlsGrease(v);
  EXPECT_EQ(grease, 16);
}

TEST(WireNames, DnsQtypes) {
  ExpectLabels([](uint32_t v) { return DnsQtypeLabel(v); }, {{1, "A"},
                                                             {16, "TXT"},
                                                             {28, "AAAA"},
                                                             {33, "SRV"},
                                                             {65, "HTTPS"},
                                                             {255, "*"},
                                                             {32769, "DLV"},
                                                             {65281, "WINS"},
                                                             {65521, "INTEGRITY"},
                                                             {65000, "query-65000"},
                                                             {54, "query-54"}});
  // NetBIOS name service reuses 33 for NBSTAT; other types keep their names.
  ExpectLabels([](uint32_t v) { return DnsQtypeLabel(v, /*netbios=*/true); },
               {{33, "NBSTAT"}, {32, "NIMLOC"}, {1, "A"}});
  EXPECT_EQ(NamedValues(DnsQtypeName), 90);
}

TEST(WireNames, DnsClassesRcodesOpcodes) {
  // The collector used to write "?77" and "?99" and spell 8 "NXRRSET".
  ExpectLabels(
      DnsQclassLabel,
      {{1, "C_INTERNET"}, {3, "C_CHAOS"}, {254, "C_NONE"}, {255, "C_ANY"}, {77, "qclass-77"}});
  ExpectLabels(DnsRcodeLabel, {{0, "NOERROR"},
                               {3, "NXDOMAIN"},
                               {5, "REFUSED"},
                               {8, "NXRRSet"},
                               {12, "unassigned-12"},
                               {16, "BADVERS"},
                               {23, "BADCOOKIE"},
                               {3842, "BADSIG"},
                               {99, "rcode-99"}});
  ExpectLabels(
      [](uint32_t v) { return DnsOpcodeLabel(v); },
      {{0, "query"}, {2, "server-status"}, {4, "notify"}, {5, "dynamic-update"}, {9, "opcode-9"}});
  ExpectLabels([](uint32_t v) { return DnsOpcodeLabel(v, /*netbios=*/true); },
               {{0, "netbios-query"},
                {5, "netbios-registration"},
                {8, "netbios-refresh"},
                {3, "netbios-opcode-3"},
                {4294967295u, "netbios-opcode-4294967295"}});
}

TEST(WireNames, EventEnums) {
  ExpectLabels([](uint32_t v) { return TransportName(static_cast<Transport>(v)); },
               {{TRANSPORT_TCP, "tcp"},
                {TRANSPORT_UDP, "udp"},
                {TRANSPORT_ICMP, "icmp"},
                {TRANSPORT_OTHER, "unknown_transport"},
                {TRANSPORT_UNSPECIFIED, "unknown_transport"},
                {42, "unknown_transport"}});
  // Unspecified and unknown (a newer writer's) values have no name: unset.
  ExpectLabels([](uint32_t v) { return ConnStateName(static_cast<ConnState>(v)); },
               {{CONN_STATE_UNSPECIFIED, ""},
                {CONN_STATE_S0, "S0"},
                {CONN_STATE_S1, "S1"},
                {CONN_STATE_SF, "SF"},
                {CONN_STATE_REJ, "REJ"},
                {CONN_STATE_S2, "S2"},
                {CONN_STATE_S3, "S3"},
                {CONN_STATE_RSTO, "RSTO"},
                {CONN_STATE_RSTR, "RSTR"},
                {CONN_STATE_RSTOS0, "RSTOS0"},
                {CONN_STATE_RSTRH, "RSTRH"},
                {CONN_STATE_SH, "SH"},
                {CONN_STATE_SHR, "SHR"},
                {CONN_STATE_OTH, "OTH"},
                {14, ""}});
  ExpectLabels([](uint32_t v) { return EndReasonName(static_cast<EndReason>(v)); },
               {{END_REASON_UNSPECIFIED, ""},
                {END_REASON_CLOSED, "closed"},
                {END_REASON_IDLE_TIMEOUT, "idle_timeout"},
                {END_REASON_ACTIVE_TIMEOUT, "active_timeout"},
                {END_REASON_EVICTED, "evicted"},
                {END_REASON_SHUTDOWN, "shutdown"},
                {6, ""}});
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
