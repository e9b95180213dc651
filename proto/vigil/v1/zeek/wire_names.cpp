#include "proto/vigil/v1/zeek/wire_names.h"

#include <algorithm>
#include <charconv>
#include <iterator>
#include <ostream>

namespace vigil::v1::zeek {
namespace {

struct Entry {
  uint32_t value;
  std::string_view name;
};

// Lookups are binary searches: every table must stay sorted by value.
template <size_t N>
constexpr bool SortedUnique(const Entry (&table)[N]) {
  for (size_t i = 1; i < N; ++i) {
    if (table[i - 1].value >= table[i].value) return false;
  }
  return true;
}

template <size_t N>
std::string_view Find(const Entry (&table)[N], uint32_t value) {
  auto it = std::lower_bound(std::begin(table), std::end(table), value,
                             [](const Entry& e, uint32_t v) { return e.value < v; });
  if (it != std::end(table) && it->value == value) return it->name;
  return {};
}

WireName Labelled(std::string_view name, std::string_view prefix, uint32_t value) {
  return name.empty() ? WireName::Unnamed(prefix, value) : WireName::Static(name);
}

// SSL::version_strings. The TLS 1.3 drafts are not listed: Zeek derives
// their names (TlsVersionLabel).
constexpr Entry kTlsVersions[] = {
    {0x0002, "SSLv2"},   {0x0300, "SSLv3"},   {0x0301, "TLSv10"},
    {0x0302, "TLSv11"},  {0x0303, "TLSv12"},  {0x0304, "TLSv13"},
    {0xfefc, "DTLSv13"}, {0xfefd, "DTLSv12"}, {0xfeff, "DTLSv10"},
};

// IANA TLS Supported Groups registry (RFC 8422, 7919, 8446, 8734, draft-kwiatkowski
// hybrids), with Zeek's spelling.
constexpr Entry kTlsGroups[] = {
    {1, "sect163k1"},
    {2, "sect163r1"},
    {3, "sect163r2"},
    {4, "sect193r1"},
    {5, "sect193r2"},
    {6, "sect233k1"},
    {7, "sect233r1"},
    {8, "sect239k1"},
    {9, "sect283k1"},
    {10, "sect283r1"},
    {11, "sect409k1"},
    {12, "sect409r1"},
    {13, "sect571k1"},
    {14, "sect571r1"},
    {15, "secp160k1"},
    {16, "secp160r1"},
    {17, "secp160r2"},
    {18, "secp192k1"},
    {19, "secp192r1"},
    {20, "secp224k1"},
    {21, "secp224r1"},
    {22, "secp256k1"},
    {23, "secp256r1"},
    {24, "secp384r1"},
    {25, "secp521r1"},
    {26, "brainpoolP256r1"},
    {27, "brainpoolP384r1"},
    {28, "brainpoolP512r1"},
    {29, "x25519"},
    {30, "x448"},
    {31, "brainpoolP256r1tls13"},
    {32, "brainpoolP384r1tls13"},
    {33, "brainpoolP512r1tls13"},
    {34, "GC256A"},
    {35, "GC256B"},
    {36, "GC256C"},
    {37, "GC256D"},
    {38, "GC512A"},
    {39, "GC512B"},
    {40, "GC512C"},
    {41, "curveSM2"},
    {256, "ffdhe2048"},
    {257, "ffdhe3072"},
    {258, "ffdhe4096"},
    {259, "ffdhe6144"},
    {260, "ffdhe8192"},
    {512, "MLKEM512"},
    {513, "MLKEM768"},
    {514, "MLKEM1024"},
    {0x11eb, "SecP256r1MLKEM768"},
    {0x11ec, "X25519MLKEM768"},
    {0x11ed, "SecP384r1MLKEM1024"},
    {0x6399, "X25519Kyber768Draft00"},
    {0x639a, "SecP256r1Kyber768Draft00"},
    {0xff01, "arbitrary_explicit_prime_curves"},
    {0xff02, "arbitrary_explicit_char2_curves"},
};

// IANA TLS Cipher Suites registry, plus the pre-standard values still seen on
// the wire (EXPORT1024, FIPS, the Google ChaCha20 draft).
constexpr Entry kTlsCiphers[] = {
    {0x0000, "TLS_NULL_WITH_NULL_NULL"},
    {0x0001, "TLS_RSA_WITH_NULL_MD5"},
    {0x0002, "TLS_RSA_WITH_NULL_SHA"},
    {0x0003, "TLS_RSA_EXPORT_WITH_RC4_40_MD5"},
    {0x0004, "TLS_RSA_WITH_RC4_128_MD5"},
    {0x0005, "TLS_RSA_WITH_RC4_128_SHA"},
    {0x0006, "TLS_RSA_EXPORT_WITH_RC2_CBC_40_MD5"},
    {0x0007, "TLS_RSA_WITH_IDEA_CBC_SHA"},
    {0x0008, "TLS_RSA_EXPORT_WITH_DES40_CBC_SHA"},
    {0x0009, "TLS_RSA_WITH_DES_CBC_SHA"},
    {0x000a, "TLS_RSA_WITH_3DES_EDE_CBC_SHA"},
    {0x000b, "TLS_DH_DSS_EXPORT_WITH_DES40_CBC_SHA"},
    {0x000c, "TLS_DH_DSS_WITH_DES_CBC_SHA"},
    {0x000d, "TLS_DH_DSS_WITH_3DES_EDE_CBC_SHA"},
    {0x000e, "TLS_DH_RSA_EXPORT_WITH_DES40_CBC_SHA"},
    {0x000f, "TLS_DH_RSA_WITH_DES_CBC_SHA"},
    {0x0010, "TLS_DH_RSA_WITH_3DES_EDE_CBC_SHA"},
    {0x0011, "TLS_DHE_DSS_EXPORT_WITH_DES40_CBC_SHA"},
    {0x0012, "TLS_DHE_DSS_WITH_DES_CBC_SHA"},
    {0x0013, "TLS_DHE_DSS_WITH_3DES_EDE_CBC_SHA"},
    {0x0014, "TLS_DHE_RSA_EXPORT_WITH_DES40_CBC_SHA"},
    {0x0015, "TLS_DHE_RSA_WITH_DES_CBC_SHA"},
    {0x0016, "TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA"},
    {0x0017, "TLS_DH_anon_EXPORT_WITH_RC4_40_MD5"},
    {0x0018, "TLS_DH_anon_WITH_RC4_128_MD5"},
    {0x0019, "TLS_DH_anon_EXPORT_WITH_DES40_CBC_SHA"},
    {0x001a, "TLS_DH_anon_WITH_DES_CBC_SHA"},
    {0x001b, "TLS_DH_anon_WITH_3DES_EDE_CBC_SHA"},
    {0x001c, "SSL_FORTEZZA_KEA_WITH_NULL_SHA"},
    {0x001d, "SSL_FORTEZZA_KEA_WITH_FORTEZZA_CBC_SHA"},
    {0x001e, "TLS_KRB5_WITH_DES_CBC_SHA"},
    {0x001f, "TLS_KRB5_WITH_3DES_EDE_CBC_SHA"},
    {0x0020, "TLS_KRB5_WITH_RC4_128_SHA"},
    {0x0021, "TLS_KRB5_WITH_IDEA_CBC_SHA"},
    {0x0022, "TLS_KRB5_WITH_DES_CBC_MD5"},
    {0x0023, "TLS_KRB5_WITH_3DES_EDE_CBC_MD5"},
    {0x0024, "TLS_KRB5_WITH_RC4_128_MD5"},
    {0x0025, "TLS_KRB5_WITH_IDEA_CBC_MD5"},
    {0x0026, "TLS_KRB5_EXPORT_WITH_DES_CBC_40_SHA"},
    {0x0027, "TLS_KRB5_EXPORT_WITH_RC2_CBC_40_SHA"},
    {0x0028, "TLS_KRB5_EXPORT_WITH_RC4_40_SHA"},
    {0x0029, "TLS_KRB5_EXPORT_WITH_DES_CBC_40_MD5"},
    {0x002a, "TLS_KRB5_EXPORT_WITH_RC2_CBC_40_MD5"},
    {0x002b, "TLS_KRB5_EXPORT_WITH_RC4_40_MD5"},
    {0x002c, "TLS_PSK_WITH_NULL_SHA"},
    {0x002d, "TLS_DHE_PSK_WITH_NULL_SHA"},
    {0x002e, "TLS_RSA_PSK_WITH_NULL_SHA"},
    {0x002f, "TLS_RSA_WITH_AES_128_CBC_SHA"},
    {0x0030, "TLS_DH_DSS_WITH_AES_128_CBC_SHA"},
    {0x0031, "TLS_DH_RSA_WITH_AES_128_CBC_SHA"},
    {0x0032, "TLS_DHE_DSS_WITH_AES_128_CBC_SHA"},
    {0x0033, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA"},
    {0x0034, "TLS_DH_anon_WITH_AES_128_CBC_SHA"},
    {0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA"},
    {0x0036, "TLS_DH_DSS_WITH_AES_256_CBC_SHA"},
    {0x0037, "TLS_DH_RSA_WITH_AES_256_CBC_SHA"},
    {0x0038, "TLS_DHE_DSS_WITH_AES_256_CBC_SHA"},
    {0x0039, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA"},
    {0x003a, "TLS_DH_anon_WITH_AES_256_CBC_SHA"},
    {0x003b, "TLS_RSA_WITH_NULL_SHA256"},
    {0x003c, "TLS_RSA_WITH_AES_128_CBC_SHA256"},
    {0x003d, "TLS_RSA_WITH_AES_256_CBC_SHA256"},
    {0x003e, "TLS_DH_DSS_WITH_AES_128_CBC_SHA256"},
    {0x003f, "TLS_DH_RSA_WITH_AES_128_CBC_SHA256"},
    {0x0040, "TLS_DHE_DSS_WITH_AES_128_CBC_SHA256"},
    {0x0041, "TLS_RSA_WITH_CAMELLIA_128_CBC_SHA"},
    {0x0042, "TLS_DH_DSS_WITH_CAMELLIA_128_CBC_SHA"},
    {0x0043, "TLS_DH_RSA_WITH_CAMELLIA_128_CBC_SHA"},
    {0x0044, "TLS_DHE_DSS_WITH_CAMELLIA_128_CBC_SHA"},
    {0x0045, "TLS_DHE_RSA_WITH_CAMELLIA_128_CBC_SHA"},
    {0x0046, "TLS_DH_anon_WITH_CAMELLIA_128_CBC_SHA"},
    {0x0060, "TLS_RSA_EXPORT1024_WITH_RC4_56_MD5"},
    {0x0061, "TLS_RSA_EXPORT1024_WITH_RC2_CBC_56_MD5"},
    {0x0062, "TLS_RSA_EXPORT1024_WITH_DES_CBC_SHA"},
    {0x0063, "TLS_DHE_DSS_EXPORT1024_WITH_DES_CBC_SHA"},
    {0x0064, "TLS_RSA_EXPORT1024_WITH_RC4_56_SHA"},
    {0x0065, "TLS_DHE_DSS_EXPORT1024_WITH_RC4_56_SHA"},
    {0x0066, "TLS_DHE_DSS_WITH_RC4_128_SHA"},
    {0x0067, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256"},
    {0x0068, "TLS_DH_DSS_WITH_AES_256_CBC_SHA256"},
    {0x0069, "TLS_DH_RSA_WITH_AES_256_CBC_SHA256"},
    {0x006a, "TLS_DHE_DSS_WITH_AES_256_CBC_SHA256"},
    {0x006b, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256"},
    {0x006c, "TLS_DH_anon_WITH_AES_128_CBC_SHA256"},
    {0x006d, "TLS_DH_anon_WITH_AES_256_CBC_SHA256"},
    {0x0084, "TLS_RSA_WITH_CAMELLIA_256_CBC_SHA"},
    {0x0085, "TLS_DH_DSS_WITH_CAMELLIA_256_CBC_SHA"},
    {0x0086, "TLS_DH_RSA_WITH_CAMELLIA_256_CBC_SHA"},
    {0x0087, "TLS_DHE_DSS_WITH_CAMELLIA_256_CBC_SHA"},
    {0x0088, "TLS_DHE_RSA_WITH_CAMELLIA_256_CBC_SHA"},
    {0x0089, "TLS_DH_anon_WITH_CAMELLIA_256_CBC_SHA"},
    {0x008a, "TLS_PSK_WITH_RC4_128_SHA"},
    {0x008b, "TLS_PSK_WITH_3DES_EDE_CBC_SHA"},
    {0x008c, "TLS_PSK_WITH_AES_128_CBC_SHA"},
    {0x008d, "TLS_PSK_WITH_AES_256_CBC_SHA"},
    {0x008e, "TLS_DHE_PSK_WITH_RC4_128_SHA"},
    {0x008f, "TLS_DHE_PSK_WITH_3DES_EDE_CBC_SHA"},
    {0x0090, "TLS_DHE_PSK_WITH_AES_128_CBC_SHA"},
    {0x0091, "TLS_DHE_PSK_WITH_AES_256_CBC_SHA"},
    {0x0092, "TLS_RSA_PSK_WITH_RC4_128_SHA"},
    {0x0093, "TLS_RSA_PSK_WITH_3DES_EDE_CBC_SHA"},
    {0x0094, "TLS_RSA_PSK_WITH_AES_128_CBC_SHA"},
    {0x0095, "TLS_RSA_PSK_WITH_AES_256_CBC_SHA"},
    {0x0096, "TLS_RSA_WITH_SEED_CBC_SHA"},
    {0x0097, "TLS_DH_DSS_WITH_SEED_CBC_SHA"},
    {0x0098, "TLS_DH_RSA_WITH_SEED_CBC_SHA"},
    {0x0099, "TLS_DHE_DSS_WITH_SEED_CBC_SHA"},
    {0x009a, "TLS_DHE_RSA_WITH_SEED_CBC_SHA"},
    {0x009b, "TLS_DH_anon_WITH_SEED_CBC_SHA"},
    {0x009c, "TLS_RSA_WITH_AES_128_GCM_SHA256"},
    {0x009d, "TLS_RSA_WITH_AES_256_GCM_SHA384"},
    {0x009e, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256"},
    {0x009f, "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384"},
    {0x00a0, "TLS_DH_RSA_WITH_AES_128_GCM_SHA256"},
    {0x00a1, "TLS_DH_RSA_WITH_AES_256_GCM_SHA384"},
    {0x00a2, "TLS_DHE_DSS_WITH_AES_128_GCM_SHA256"},
    {0x00a3, "TLS_DHE_DSS_WITH_AES_256_GCM_SHA384"},
    {0x00a4, "TLS_DH_DSS_WITH_AES_128_GCM_SHA256"},
    {0x00a5, "TLS_DH_DSS_WITH_AES_256_GCM_SHA384"},
    {0x00a6, "TLS_DH_anon_WITH_AES_128_GCM_SHA256"},
    {0x00a7, "TLS_DH_anon_WITH_AES_256_GCM_SHA384"},
    {0x00a8, "TLS_PSK_WITH_AES_128_GCM_SHA256"},
    {0x00a9, "TLS_PSK_WITH_AES_256_GCM_SHA384"},
    {0x00aa, "TLS_DHE_PSK_WITH_AES_128_GCM_SHA256"},
    {0x00ab, "TLS_DHE_PSK_WITH_AES_256_GCM_SHA384"},
    {0x00ac, "TLS_RSA_PSK_WITH_AES_128_GCM_SHA256"},
    {0x00ad, "TLS_RSA_PSK_WITH_AES_256_GCM_SHA384"},
    {0x00ae, "TLS_PSK_WITH_AES_128_CBC_SHA256"},
    {0x00af, "TLS_PSK_WITH_AES_256_CBC_SHA384"},
    {0x00b0, "TLS_PSK_WITH_NULL_SHA256"},
    {0x00b1, "TLS_PSK_WITH_NULL_SHA384"},
    {0x00b2, "TLS_DHE_PSK_WITH_AES_128_CBC_SHA256"},
    {0x00b3, "TLS_DHE_PSK_WITH_AES_256_CBC_SHA384"},
    {0x00b4, "TLS_DHE_PSK_WITH_NULL_SHA256"},
    {0x00b5, "TLS_DHE_PSK_WITH_NULL_SHA384"},
    {0x00b6, "TLS_RSA_PSK_WITH_AES_128_CBC_SHA256"},
    {0x00b7, "TLS_RSA_PSK_WITH_AES_256_CBC_SHA384"},
    {0x00b8, "TLS_RSA_PSK_WITH_NULL_SHA256"},
    {0x00b9, "TLS_RSA_PSK_WITH_NULL_SHA384"},
    {0x00ba, "TLS_RSA_WITH_CAMELLIA_128_CBC_SHA256"},
    {0x00bb, "TLS_DH_DSS_WITH_CAMELLIA_128_CBC_SHA256"},
    {0x00bc, "TLS_DH_RSA_WITH_CAMELLIA_128_CBC_SHA256"},
    {0x00bd, "TLS_DHE_DSS_WITH_CAMELLIA_128_CBC_SHA256"},
    {0x00be, "TLS_DHE_RSA_WITH_CAMELLIA_128_CBC_SHA256"},
    {0x00bf, "TLS_DH_anon_WITH_CAMELLIA_128_CBC_SHA256"},
    {0x00c0, "TLS_RSA_WITH_CAMELLIA_256_CBC_SHA256"},
    {0x00c1, "TLS_DH_DSS_WITH_CAMELLIA_256_CBC_SHA256"},
    {0x00c2, "TLS_DH_RSA_WITH_CAMELLIA_256_CBC_SHA256"},
    {0x00c3, "TLS_DHE_DSS_WITH_CAMELLIA_256_CBC_SHA256"},
    {0x00c4, "TLS_DHE_RSA_WITH_CAMELLIA_256_CBC_SHA256"},
    {0x00c5, "TLS_DH_anon_WITH_CAMELLIA_256_CBC_SHA256"},
    {0x00c6, "TLS_SM4_GCM_SM3"},
    {0x00c7, "TLS_SM4_CCM_SM3"},
    {0x00ff, "TLS_EMPTY_RENEGOTIATION_INFO_SCSV"},
    {0x1301, "TLS_AES_128_GCM_SHA256"},
    {0x1302, "TLS_AES_256_GCM_SHA384"},
    {0x1303, "TLS_CHACHA20_POLY1305_SHA256"},
    {0x1304, "TLS_AES_128_CCM_SHA256"},
    {0x1305, "TLS_AES_128_CCM_8_SHA256"},
    {0x1306, "TLS_AEGIS_256_SHA512"},
    {0x1307, "TLS_AEGIS_128L_SHA256"},
    {0x5600, "TLS_FALLBACK_SCSV"},
    {0xc001, "TLS_ECDH_ECDSA_WITH_NULL_SHA"},
    {0xc002, "TLS_ECDH_ECDSA_WITH_RC4_128_SHA"},
    {0xc003, "TLS_ECDH_ECDSA_WITH_3DES_EDE_CBC_SHA"},
    {0xc004, "TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA"},
    {0xc005, "TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA"},
    {0xc006, "TLS_ECDHE_ECDSA_WITH_NULL_SHA"},
    {0xc007, "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA"},
    {0xc008, "TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA"},
    {0xc009, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA"},
    {0xc00a, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA"},
    {0xc00b, "TLS_ECDH_RSA_WITH_NULL_SHA"},
    {0xc00c, "TLS_ECDH_RSA_WITH_RC4_128_SHA"},
    {0xc00d, "TLS_ECDH_RSA_WITH_3DES_EDE_CBC_SHA"},
    {0xc00e, "TLS_ECDH_RSA_WITH_AES_128_CBC_SHA"},
    {0xc00f, "TLS_ECDH_RSA_WITH_AES_256_CBC_SHA"},
    {0xc010, "TLS_ECDHE_RSA_WITH_NULL_SHA"},
    {0xc011, "TLS_ECDHE_RSA_WITH_RC4_128_SHA"},
    {0xc012, "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA"},
    {0xc013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"},
    {0xc014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA"},
    {0xc015, "TLS_ECDH_anon_WITH_NULL_SHA"},
    {0xc016, "TLS_ECDH_anon_WITH_RC4_128_SHA"},
    {0xc017, "TLS_ECDH_anon_WITH_3DES_EDE_CBC_SHA"},
    {0xc018, "TLS_ECDH_anon_WITH_AES_128_CBC_SHA"},
    {0xc019, "TLS_ECDH_anon_WITH_AES_256_CBC_SHA"},
    {0xc01a, "TLS_SRP_SHA_WITH_3DES_EDE_CBC_SHA"},
    {0xc01b, "TLS_SRP_SHA_RSA_WITH_3DES_EDE_CBC_SHA"},
    {0xc01c, "TLS_SRP_SHA_DSS_WITH_3DES_EDE_CBC_SHA"},
    {0xc01d, "TLS_SRP_SHA_WITH_AES_128_CBC_SHA"},
    {0xc01e, "TLS_SRP_SHA_RSA_WITH_AES_128_CBC_SHA"},
    {0xc01f, "TLS_SRP_SHA_DSS_WITH_AES_128_CBC_SHA"},
    {0xc020, "TLS_SRP_SHA_WITH_AES_256_CBC_SHA"},
    {0xc021, "TLS_SRP_SHA_RSA_WITH_AES_256_CBC_SHA"},
    {0xc022, "TLS_SRP_SHA_DSS_WITH_AES_256_CBC_SHA"},
    {0xc023, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256"},
    {0xc024, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384"},
    {0xc025, "TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA256"},
    {0xc026, "TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA384"},
    {0xc027, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256"},
    {0xc028, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384"},
    {0xc029, "TLS_ECDH_RSA_WITH_AES_128_CBC_SHA256"},
    {0xc02a, "TLS_ECDH_RSA_WITH_AES_256_CBC_SHA384"},
    {0xc02b, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"},
    {0xc02c, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"},
    {0xc02d, "TLS_ECDH_ECDSA_WITH_AES_128_GCM_SHA256"},
    {0xc02e, "TLS_ECDH_ECDSA_WITH_AES_256_GCM_SHA384"},
    {0xc02f, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"},
    {0xc030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"},
    {0xc031, "TLS_ECDH_RSA_WITH_AES_128_GCM_SHA256"},
    {0xc032, "TLS_ECDH_RSA_WITH_AES_256_GCM_SHA384"},
    {0xc033, "TLS_ECDHE_PSK_WITH_RC4_128_SHA"},
    {0xc034, "TLS_ECDHE_PSK_WITH_3DES_EDE_CBC_SHA"},
    {0xc035, "TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA"},
    {0xc036, "TLS_ECDHE_PSK_WITH_AES_256_CBC_SHA"},
    {0xc037, "TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA256"},
    {0xc038, "TLS_ECDHE_PSK_WITH_AES_256_CBC_SHA384"},
    {0xc039, "TLS_ECDHE_PSK_WITH_NULL_SHA"},
    {0xc03a, "TLS_ECDHE_PSK_WITH_NULL_SHA256"},
    {0xc03b, "TLS_ECDHE_PSK_WITH_NULL_SHA384"},
    {0xc03c, "TLS_RSA_WITH_ARIA_128_CBC_SHA256"},
    {0xc03d, "TLS_RSA_WITH_ARIA_256_CBC_SHA384"},
    {0xc03e, "TLS_DH_DSS_WITH_ARIA_128_CBC_SHA256"},
    {0xc03f, "TLS_DH_DSS_WITH_ARIA_256_CBC_SHA384"},
    {0xc040, "TLS_DH_RSA_WITH_ARIA_128_CBC_SHA256"},
    {0xc041, "TLS_DH_RSA_WITH_ARIA_256_CBC_SHA384"},
    {0xc042, "TLS_DHE_DSS_WITH_ARIA_128_CBC_SHA256"},
    {0xc043, "TLS_DHE_DSS_WITH_ARIA_256_CBC_SHA384"},
    {0xc044, "TLS_DHE_RSA_WITH_ARIA_128_CBC_SHA256"},
    {0xc045, "TLS_DHE_RSA_WITH_ARIA_256_CBC_SHA384"},
    {0xc046, "TLS_DH_anon_WITH_ARIA_128_CBC_SHA256"},
    {0xc047, "TLS_DH_anon_WITH_ARIA_256_CBC_SHA384"},
    {0xc048, "TLS_ECDHE_ECDSA_WITH_ARIA_128_CBC_SHA256"},
    {0xc049, "TLS_ECDHE_ECDSA_WITH_ARIA_256_CBC_SHA384"},
    {0xc04a, "TLS_ECDH_ECDSA_WITH_ARIA_128_CBC_SHA256"},
    {0xc04b, "TLS_ECDH_ECDSA_WITH_ARIA_256_CBC_SHA384"},
    {0xc04c, "TLS_ECDHE_RSA_WITH_ARIA_128_CBC_SHA256"},
    {0xc04d, "TLS_ECDHE_RSA_WITH_ARIA_256_CBC_SHA384"},
    {0xc04e, "TLS_ECDH_RSA_WITH_ARIA_128_CBC_SHA256"},
    {0xc04f, "TLS_ECDH_RSA_WITH_ARIA_256_CBC_SHA384"},
    {0xc050, "TLS_RSA_WITH_ARIA_128_GCM_SHA256"},
    {0xc051, "TLS_RSA_WITH_ARIA_256_GCM_SHA384"},
    {0xc052, "TLS_DHE_RSA_WITH_ARIA_128_GCM_SHA256"},
    {0xc053, "TLS_DHE_RSA_WITH_ARIA_256_GCM_SHA384"},
    {0xc054, "TLS_DH_RSA_WITH_ARIA_128_GCM_SHA256"},
    {0xc055, "TLS_DH_RSA_WITH_ARIA_256_GCM_SHA384"},
    {0xc056, "TLS_DHE_DSS_WITH_ARIA_128_GCM_SHA256"},
    {0xc057, "TLS_DHE_DSS_WITH_ARIA_256_GCM_SHA384"},
    {0xc058, "TLS_DH_DSS_WITH_ARIA_128_GCM_SHA256"},
    {0xc059, "TLS_DH_DSS_WITH_ARIA_256_GCM_SHA384"},
    {0xc05a, "TLS_DH_anon_WITH_ARIA_128_GCM_SHA256"},
    {0xc05b, "TLS_DH_anon_WITH_ARIA_256_GCM_SHA384"},
    {0xc05c, "TLS_ECDHE_ECDSA_WITH_ARIA_128_GCM_SHA256"},
    {0xc05d, "TLS_ECDHE_ECDSA_WITH_ARIA_256_GCM_SHA384"},
    {0xc05e, "TLS_ECDH_ECDSA_WITH_ARIA_128_GCM_SHA256"},
    {0xc05f, "TLS_ECDH_ECDSA_WITH_ARIA_256_GCM_SHA384"},
    {0xc060, "TLS_ECDHE_RSA_WITH_ARIA_128_GCM_SHA256"},
    {0xc061, "TLS_ECDHE_RSA_WITH_ARIA_256_GCM_SHA384"},
    {0xc062, "TLS_ECDH_RSA_WITH_ARIA_128_GCM_SHA256"},
    {0xc063, "TLS_ECDH_RSA_WITH_ARIA_256_GCM_SHA384"},
    {0xc064, "TLS_PSK_WITH_ARIA_128_CBC_SHA256"},
    {0xc065, "TLS_PSK_WITH_ARIA_256_CBC_SHA384"},
    {0xc066, "TLS_DHE_PSK_WITH_ARIA_128_CBC_SHA256"},
    {0xc067, "TLS_DHE_PSK_WITH_ARIA_256_CBC_SHA384"},
    {0xc068, "TLS_RSA_PSK_WITH_ARIA_128_CBC_SHA256"},
    {0xc069, "TLS_RSA_PSK_WITH_ARIA_256_CBC_SHA384"},
    {0xc06a, "TLS_PSK_WITH_ARIA_128_GCM_SHA256"},
    {0xc06b, "TLS_PSK_WITH_ARIA_256_GCM_SHA384"},
    {0xc06c, "TLS_DHE_PSK_WITH_ARIA_128_GCM_SHA256"},
    {0xc06d, "TLS_DHE_PSK_WITH_ARIA_256_GCM_SHA384"},
    {0xc06e, "TLS_RSA_PSK_WITH_ARIA_128_GCM_SHA256"},
    {0xc06f, "TLS_RSA_PSK_WITH_ARIA_256_GCM_SHA384"},
    {0xc070, "TLS_ECDHE_PSK_WITH_ARIA_128_CBC_SHA256"},
    {0xc071, "TLS_ECDHE_PSK_WITH_ARIA_256_CBC_SHA384"},
    {0xc072, "TLS_ECDHE_ECDSA_WITH_CAMELLIA_128_CBC_SHA256"},
    {0xc073, "TLS_ECDHE_ECDSA_WITH_CAMELLIA_256_CBC_SHA384"},
    {0xc074, "TLS_ECDH_ECDSA_WITH_CAMELLIA_128_CBC_SHA256"},
    {0xc075, "TLS_ECDH_ECDSA_WITH_CAMELLIA_256_CBC_SHA384"},
    {0xc076, "TLS_ECDHE_RSA_WITH_CAMELLIA_128_CBC_SHA256"},
    {0xc077, "TLS_ECDHE_RSA_WITH_CAMELLIA_256_CBC_SHA384"},
    {0xc078, "TLS_ECDH_RSA_WITH_CAMELLIA_128_CBC_SHA256"},
    {0xc079, "TLS_ECDH_RSA_WITH_CAMELLIA_256_CBC_SHA384"},
    {0xc07a, "TLS_RSA_WITH_CAMELLIA_128_GCM_SHA256"},
    {0xc07b, "TLS_RSA_WITH_CAMELLIA_256_GCM_SHA384"},
    {0xc07c, "TLS_DHE_RSA_WITH_CAMELLIA_128_GCM_SHA256"},
    {0xc07d, "TLS_DHE_RSA_WITH_CAMELLIA_256_GCM_SHA384"},
    {0xc07e, "TLS_DH_RSA_WITH_CAMELLIA_128_GCM_SHA256"},
    {0xc07f, "TLS_DH_RSA_WITH_CAMELLIA_256_GCM_SHA384"},
    {0xc080, "TLS_DHE_DSS_WITH_CAMELLIA_128_GCM_SHA256"},
    {0xc081, "TLS_DHE_DSS_WITH_CAMELLIA_256_GCM_SHA384"},
    {0xc082, "TLS_DH_DSS_WITH_CAMELLIA_128_GCM_SHA256"},
    {0xc083, "TLS_DH_DSS_WITH_CAMELLIA_256_GCM_SHA384"},
    {0xc084, "TLS_DH_anon_WITH_CAMELLIA_128_GCM_SHA256"},
    {0xc085, "TLS_DH_anon_WITH_CAMELLIA_256_GCM_SHA384"},
    {0xc086, "TLS_ECDHE_ECDSA_WITH_CAMELLIA_128_GCM_SHA256"},
    {0xc087, "TLS_ECDHE_ECDSA_WITH_CAMELLIA_256_GCM_SHA384"},
    {0xc088, "TLS_ECDH_ECDSA_WITH_CAMELLIA_128_GCM_SHA256"},
    {0xc089, "TLS_ECDH_ECDSA_WITH_CAMELLIA_256_GCM_SHA384"},
    {0xc08a, "TLS_ECDHE_RSA_WITH_CAMELLIA_128_GCM_SHA256"},
    {0xc08b, "TLS_ECDHE_RSA_WITH_CAMELLIA_256_GCM_SHA384"},
    {0xc08c, "TLS_ECDH_RSA_WITH_CAMELLIA_128_GCM_SHA256"},
    {0xc08d, "TLS_ECDH_RSA_WITH_CAMELLIA_256_GCM_SHA384"},
    {0xc08e, "TLS_PSK_WITH_CAMELLIA_128_GCM_SHA256"},
    {0xc08f, "TLS_PSK_WITH_CAMELLIA_256_GCM_SHA384"},
    {0xc090, "TLS_DHE_PSK_WITH_CAMELLIA_128_GCM_SHA256"},
    {0xc091, "TLS_DHE_PSK_WITH_CAMELLIA_256_GCM_SHA384"},
    {0xc092, "TLS_RSA_PSK_WITH_CAMELLIA_128_GCM_SHA256"},
    {0xc093, "TLS_RSA_PSK_WITH_CAMELLIA_256_GCM_SHA384"},
    {0xc094, "TLS_PSK_WITH_CAMELLIA_128_CBC_SHA256"},
    {0xc095, "TLS_PSK_WITH_CAMELLIA_256_CBC_SHA384"},
    {0xc096, "TLS_DHE_PSK_WITH_CAMELLIA_128_CBC_SHA256"},
    {0xc097, "TLS_DHE_PSK_WITH_CAMELLIA_256_CBC_SHA384"},
    {0xc098, "TLS_RSA_PSK_WITH_CAMELLIA_128_CBC_SHA256"},
    {0xc099, "TLS_RSA_PSK_WITH_CAMELLIA_256_CBC_SHA384"},
    {0xc09a, "TLS_ECDHE_PSK_WITH_CAMELLIA_128_CBC_SHA256"},
    {0xc09b, "TLS_ECDHE_PSK_WITH_CAMELLIA_256_CBC_SHA384"},
    {0xc09c, "TLS_RSA_WITH_AES_128_CCM"},
    {0xc09d, "TLS_RSA_WITH_AES_256_CCM"},
    {0xc09e, "TLS_DHE_RSA_WITH_AES_128_CCM"},
    {0xc09f, "TLS_DHE_RSA_WITH_AES_256_CCM"},
    {0xc0a0, "TLS_RSA_WITH_AES_128_CCM_8"},
    {0xc0a1, "TLS_RSA_WITH_AES_256_CCM_8"},
    {0xc0a2, "TLS_DHE_RSA_WITH_AES_128_CCM_8"},
    {0xc0a3, "TLS_DHE_RSA_WITH_AES_256_CCM_8"},
    {0xc0a4, "TLS_PSK_WITH_AES_128_CCM"},
    {0xc0a5, "TLS_PSK_WITH_AES_256_CCM"},
    {0xc0a6, "TLS_DHE_PSK_WITH_AES_128_CCM"},
    {0xc0a7, "TLS_DHE_PSK_WITH_AES_256_CCM"},
    {0xc0a8, "TLS_PSK_WITH_AES_128_CCM_8"},
    {0xc0a9, "TLS_PSK_WITH_AES_256_CCM_8"},
    {0xc0aa, "TLS_PSK_DHE_WITH_AES_128_CCM_8"},
    {0xc0ab, "TLS_PSK_DHE_WITH_AES_256_CCM_8"},
    {0xc0ac, "TLS_ECDHE_ECDSA_WITH_AES_128_CCM"},
    {0xc0ad, "TLS_ECDHE_ECDSA_WITH_AES_256_CCM"},
    {0xc0ae, "TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8"},
    {0xc0af, "TLS_ECDHE_ECDSA_WITH_AES_256_CCM_8"},
    {0xc0b0, "TLS_ECCPWD_WITH_AES_128_GCM_SHA256"},
    {0xc0b1, "TLS_ECCPWD_WITH_AES_256_GCM_SHA384"},
    {0xc0b2, "TLS_ECCPWD_WITH_AES_128_CCM_SHA256"},
    {0xc0b3, "TLS_ECCPWD_WITH_AES_256_CCM_SHA384"},
    {0xc0b4, "TLS_SHA256_SHA256"},
    {0xc0b5, "TLS_SHA384_SHA384"},
    {0xc100, "TLS_GOSTR341112_256_WITH_KUZNYECHIK_CTR_OMAC"},
    {0xc101, "TLS_GOSTR341112_256_WITH_MAGMA_CTR_OMAC"},
    {0xc102, "TLS_GOSTR341112_256_WITH_28147_CNT_IMIT"},
    {0xc103, "TLS_GOSTR341112_256_WITH_KUZNYECHIK_MGM_L"},
    {0xc104, "TLS_GOSTR341112_256_WITH_MAGMA_MGM_L"},
    {0xc105, "TLS_GOSTR341112_256_WITH_KUZNYECHIK_MGM_S"},
    {0xc106, "TLS_GOSTR341112_256_WITH_MAGMA_MGM_S"},
    {0xcc13, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256_OLD"},
    {0xcc14, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256_OLD"},
    {0xcc15, "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256_OLD"},
    {0xcca8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"},
    {0xcca9, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"},
    {0xccaa, "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256"},
    {0xccab, "TLS_PSK_WITH_CHACHA20_POLY1305_SHA256"},
    {0xccac, "TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256"},
    {0xccad, "TLS_DHE_PSK_WITH_CHACHA20_POLY1305_SHA256"},
    {0xccae, "TLS_RSA_PSK_WITH_CHACHA20_POLY1305_SHA256"},
    {0xd001, "TLS_ECDHE_PSK_WITH_AES_128_GCM_SHA256"},
    {0xd002, "TLS_ECDHE_PSK_WITH_AES_256_GCM_SHA384"},
    {0xd003, "TLS_ECDHE_PSK_WITH_AES_128_CCM_8_SHA256"},
    {0xd005, "TLS_ECDHE_PSK_WITH_AES_128_CCM_SHA256"},
    {0xfefe, "SSL_RSA_FIPS_WITH_DES_CBC_SHA"},
    {0xfeff, "SSL_RSA_FIPS_WITH_3DES_EDE_CBC_SHA"},
    {0xffe0, "SSL_RSA_FIPS_WITH_3DES_EDE_CBC_SHA_2"},
    {0xffe1, "SSL_RSA_FIPS_WITH_DES_CBC_SHA_2"},
};

// DNS::query_types (IANA DNS RR TYPEs plus the Microsoft and Google private types).
constexpr Entry kDnsTypes[] = {
    {1, "A"},           {2, "NS"},       {3, "MD"},         {4, "MF"},       {5, "CNAME"},
    {6, "SOA"},         {7, "MB"},       {8, "MG"},         {9, "MR"},       {10, "NULL"},
    {11, "WKS"},        {12, "PTR"},     {13, "HINFO"},     {14, "MINFO"},   {15, "MX"},
    {16, "TXT"},        {17, "RP"},      {18, "AFSDB"},     {19, "X25"},     {20, "ISDN"},
    {21, "RT"},         {22, "NSAP"},    {23, "NSAP-PTR"},  {24, "SIG"},     {25, "KEY"},
    {26, "PX"},         {27, "GPOS"},    {28, "AAAA"},      {29, "LOC"},     {30, "NXT"},
    {31, "EID"},        {32, "NIMLOC"},  {33, "SRV"},       {34, "ATMA"},    {35, "NAPTR"},
    {36, "KX"},         {37, "CERT"},    {38, "A6"},        {39, "DNAME"},   {40, "SINK"},
    {41, "OPT"},        {42, "APL"},     {43, "DS"},        {44, "SSHFP"},   {45, "IPSECKEY"},
    {46, "RRSIG"},      {47, "NSEC"},    {48, "DNSKEY"},    {49, "DHCID"},   {50, "NSEC3"},
    {51, "NSEC3PARAM"}, {52, "TLSA"},    {53, "SMIMEA"},    {55, "HIP"},     {56, "NINFO"},
    {57, "RKEY"},       {58, "TALINK"},  {59, "CDS"},       {60, "CDNSKEY"}, {61, "OPENPGPKEY"},
    {62, "CSYNC"},      {63, "ZONEMD"},  {64, "SVCB"},      {65, "HTTPS"},   {99, "SPF"},
    {100, "UINFO"},     {101, "UID"},    {102, "GID"},      {103, "UNSPEC"}, {104, "NID"},
    {105, "L32"},       {106, "L64"},    {107, "LP"},       {108, "EUI48"},  {109, "EUI64"},
    {249, "TKEY"},      {250, "TSIG"},   {251, "IXFR"},     {252, "AXFR"},   {253, "MAILB"},
    {254, "MAILA"},     {255, "*"},      {256, "URI"},      {257, "CAA"},    {32768, "TA"},
    {32769, "DLV"},     {65281, "WINS"}, {65282, "WINS-R"}, {65422, "XPF"},  {65521, "INTEGRITY"},
};

// DNS::classes.
constexpr Entry kDnsClasses[] = {
    {1, "C_INTERNET"}, {2, "C_CSNET"},  {3, "C_CHAOS"},
    {4, "C_HESIOD"},   {254, "C_NONE"}, {255, "C_ANY"},
};

// DNS::base_errors: Zeek's spellings, including "NXRRSet" and the names it
// gives the unassigned codes 11-15; BADSIG is TSIG's 16, moved to 3842 so it
// does not collide with EDNS's BADVERS.
constexpr Entry kDnsRcodes[] = {
    {0, "NOERROR"},        {1, "FORMERR"},        {2, "SERVFAIL"},       {3, "NXDOMAIN"},
    {4, "NOTIMP"},         {5, "REFUSED"},        {6, "YXDOMAIN"},       {7, "YXRRSET"},
    {8, "NXRRSet"},        {9, "NOTAUTH"},        {10, "NOTZONE"},       {11, "unassigned-11"},
    {12, "unassigned-12"}, {13, "unassigned-13"}, {14, "unassigned-14"}, {15, "unassigned-15"},
    {16, "BADVERS"},       {17, "BADKEY"},        {18, "BADTIME"},       {19, "BADMODE"},
    {20, "BADNAME"},       {21, "BADALG"},        {22, "BADTRUNC"},      {23, "BADCOOKIE"},
    {3842, "BADSIG"},
};

// DNS::opcodes.
constexpr Entry kDnsOpcodes[] = {
    {0, "query"},  {1, "iquery"},         {2, "server-status"},
    {4, "notify"}, {5, "dynamic-update"}, {6, "dso"},
};

// DNS::netbios_opcodes (RFC 1002 section 4.2.1.1).
constexpr Entry kNetbiosOpcodes[] = {
    {0, "netbios-query"}, {5, "netbios-registration"}, {6, "netbios-release"},
    {7, "netbios-wack"},  {8, "netbios-refresh"},
};

static_assert(SortedUnique(kTlsVersions) && SortedUnique(kTlsGroups) && SortedUnique(kTlsCiphers));
static_assert(SortedUnique(kDnsTypes) && SortedUnique(kDnsClasses) && SortedUnique(kDnsRcodes));
static_assert(SortedUnique(kDnsOpcodes) && SortedUnique(kNetbiosOpcodes));

constexpr uint32_t kDnsTypeSrv = 33;

}  // namespace

WireName WireName::Unnamed(std::string_view prefix, uint32_t value) {
  WireName w;
  const size_t n = std::min(prefix.size(), kInline - 10);  // 10: the digits of a uint32_t
  std::copy_n(prefix.data(), n, w.inline_);
  auto [end, ec] = std::to_chars(w.inline_ + n, w.inline_ + kInline, value);
  (void)ec;  // cannot fail: there is room for every uint32_t
  w.len_ = static_cast<uint8_t>(end - w.inline_);
  return w;
}

std::ostream& operator<<(std::ostream& os, const WireName& n) { return os << n.view(); }

std::string_view TlsVersionName(uint32_t version) { return Find(kTlsVersions, version); }
std::string_view TlsCipherName(uint32_t cipher) { return Find(kTlsCiphers, cipher); }
std::string_view TlsGroupName(uint32_t group) { return Find(kTlsGroups, group); }

WireName TlsVersionLabel(uint32_t version) {
  if (auto name = TlsVersionName(version); !name.empty()) return WireName::Static(name);
  // Zeek's test, to the letter: `i/0xFF == 0x7F` holds for 0x7e81..0x7f7f,
  // and `i % 0x7F` is the draft number for the real drafts (0x7f00 | n).
  if (version / 0xFF == 0x7F) return WireName::Unnamed("TLSv13-draft", version % 0x7F);
  return WireName::Unnamed("unknown-", version);
}
WireName TlsCipherLabel(uint32_t cipher) {
  return Labelled(TlsCipherName(cipher), "unknown-", cipher);
}
WireName TlsGroupLabel(uint32_t group) { return Labelled(TlsGroupName(group), "unknown-", group); }

std::string_view DnsQtypeName(uint32_t qtype) { return Find(kDnsTypes, qtype); }
std::string_view DnsQclassName(uint32_t qclass) { return Find(kDnsClasses, qclass); }
std::string_view DnsRcodeName(uint32_t rcode) { return Find(kDnsRcodes, rcode); }
std::string_view DnsOpcodeName(uint32_t opcode, bool netbios) {
  return netbios ? Find(kNetbiosOpcodes, opcode) : Find(kDnsOpcodes, opcode);
}

WireName DnsQtypeLabel(uint32_t qtype, bool netbios) {
  // NetBIOS reuses 33 for NBSTAT (RFC 1002), which DNS later assigned to SRV.
  if (netbios && qtype == kDnsTypeSrv) return WireName::Static("NBSTAT");
  return Labelled(DnsQtypeName(qtype), "query-", qtype);
}
WireName DnsQclassLabel(uint32_t qclass) {
  return Labelled(DnsQclassName(qclass), "qclass-", qclass);
}
WireName DnsRcodeLabel(uint32_t rcode) { return Labelled(DnsRcodeName(rcode), "rcode-", rcode); }
WireName DnsOpcodeLabel(uint32_t opcode, bool netbios) {
  return Labelled(DnsOpcodeName(opcode, netbios), netbios ? "netbios-opcode-" : "opcode-", opcode);
}

std::string_view TransportName(vigil::v1::Transport transport) {
  switch (transport) {
    case vigil::v1::TRANSPORT_TCP:
      return "tcp";
    case vigil::v1::TRANSPORT_UDP:
      return "udp";
    case vigil::v1::TRANSPORT_ICMP:
      return "icmp";
    default:
      return "unknown_transport";
  }
}

std::string_view ConnStateName(vigil::v1::ConnState state) {
  switch (state) {
    case vigil::v1::CONN_STATE_S0:
      return "S0";
    case vigil::v1::CONN_STATE_S1:
      return "S1";
    case vigil::v1::CONN_STATE_SF:
      return "SF";
    case vigil::v1::CONN_STATE_REJ:
      return "REJ";
    case vigil::v1::CONN_STATE_S2:
      return "S2";
    case vigil::v1::CONN_STATE_S3:
      return "S3";
    case vigil::v1::CONN_STATE_RSTO:
      return "RSTO";
    case vigil::v1::CONN_STATE_RSTR:
      return "RSTR";
    case vigil::v1::CONN_STATE_RSTOS0:
      return "RSTOS0";
    case vigil::v1::CONN_STATE_RSTRH:
      return "RSTRH";
    case vigil::v1::CONN_STATE_SH:
      return "SH";
    case vigil::v1::CONN_STATE_SHR:
      return "SHR";
    case vigil::v1::CONN_STATE_OTH:
      return "OTH";
    default:
      return {};
  }
}

std::string_view EndReasonName(vigil::v1::EndReason reason) {
  switch (reason) {
    case vigil::v1::END_REASON_CLOSED:
      return "closed";
    case vigil::v1::END_REASON_IDLE_TIMEOUT:
      return "idle_timeout";
    case vigil::v1::END_REASON_ACTIVE_TIMEOUT:
      return "active_timeout";
    case vigil::v1::END_REASON_EVICTED:
      return "evicted";
    case vigil::v1::END_REASON_SHUTDOWN:
      return "shutdown";
    default:
      return {};
  }
}

}  // namespace vigil::v1::zeek
