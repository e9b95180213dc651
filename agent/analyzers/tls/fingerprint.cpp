#include "agent/analyzers/tls/fingerprint.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <string_view>
#include <vector>

#include "proto/vigil/v1/zeek/wire_names.h"

namespace vigil::agent::analyzers::tls {
namespace {

constexpr char kHex[] = "0123456789abcdef";
// JA4 hashes are truncated to 12 hex characters; an empty list is all zeros.
constexpr size_t kJa4HashLength = 12;
constexpr std::string_view kJa4EmptyHash = "000000000000";
constexpr size_t kJa4MaxCount = 99;

enum class Algorithm : uint8_t { kMd5, kSha256 };

// OpenSSL 3 looks an algorithm up (under a lock) on every implicit use
// (EVP_md5(), EVP_Digest()); fetching each once and reusing a context per
// thread halves the cost of a fingerprint.
// Appends the lowercase hex digest of `input`, at most `max_hex` characters;
// false (nothing appended) when the digest is unavailable.
bool AppendHexDigest(Algorithm algorithm, std::string_view input, std::string& out,
                     size_t max_hex = 2 * EVP_MAX_MD_SIZE) {
  static EVP_MD* const md5 = EVP_MD_fetch(nullptr, "MD5", nullptr);
  static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  struct Ctx {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    ~Ctx() { EVP_MD_CTX_free(ctx); }
  };
  thread_local Ctx c;
  const EVP_MD* md = algorithm == Algorithm::kMd5 ? md5 : sha256;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (md == nullptr || c.ctx == nullptr || EVP_DigestInit_ex(c.ctx, md, nullptr) != 1 ||
      EVP_DigestUpdate(c.ctx, input.data(), input.size()) != 1 ||
      EVP_DigestFinal_ex(c.ctx, digest, &len) != 1) {
    return false;  // e.g. MD5 unavailable in a FIPS-only OpenSSL: no JA3
  }
  for (unsigned int i = 0; i < len && 2 * i < max_hex; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    if (2 * i + 1 < max_hex) out.push_back(kHex[digest[i] & 0xf]);
  }
  return true;
}

void AppendDecimal(std::string& out, uint32_t v) {
  char buf[10];
  const auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out.append(buf, r.ptr);
}

template <typename T>
void AppendDecimalList(std::string& out, const std::vector<T>& values, bool drop_grease) {
  bool first = true;
  for (T v : values) {
    if (drop_grease && v1::zeek::IsTlsGrease(v)) continue;
    if (!first) out.push_back('-');
    first = false;
    AppendDecimal(out, v);
  }
}

void AppendHex4(std::string& out, uint16_t v) {
  out.push_back(kHex[(v >> 12) & 0xf]);
  out.push_back(kHex[(v >> 8) & 0xf]);
  out.push_back(kHex[(v >> 4) & 0xf]);
  out.push_back(kHex[v & 0xf]);
}

void AppendHexList(std::string& out, const std::vector<uint16_t>& values) {
  for (size_t i = 0; i < values.size(); ++i) {
    if (i != 0) out.push_back(',');
    AppendHex4(out, values[i]);
  }
}

void WithoutGrease(const std::vector<uint16_t>& values, std::vector<uint16_t>& out) {
  out.clear();
  for (uint16_t v : values) {
    if (!v1::zeek::IsTlsGrease(v)) out.push_back(v);
  }
}

// DTLS versions count down (0xfeff = 1.0, 0xfefd = 1.2, 0xfefc = 1.3).
int VersionRank(uint16_t v) { return (v >> 8) == 0xfe ? 0x10000 - v : v; }

std::string_view Ja4Version(const ClientHello& hello) {
  uint16_t version = hello.legacy_version;
  // The highest non-GREASE supported_versions entry; a list of GREASE only
  // falls back to legacy_version (the specification is silent on it).
  bool found = false;
  for (uint16_t v : hello.supported_versions) {
    if (v1::zeek::IsTlsGrease(v)) continue;
    if (!found || VersionRank(v) > VersionRank(version)) version = v;
    found = true;
  }
  switch (version) {
    case 0x0304:
      return "13";
    case 0x0303:
      return "12";
    case 0x0302:
      return "11";
    case 0x0301:
      return "10";
    case 0x0300:
      return "s3";
    case 0x0002:
      return "s2";
    case 0xfeff:
      return "d1";
    case 0xfefd:
      return "d2";
    case 0xfefc:
      return "d3";
    default:
      return "00";
  }
}

bool IsAsciiAlnum(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

// First and last character of the first ALPN value; hex digits of the value
// when either end is not alphanumeric.
std::string Ja4Alpn(const ClientHello& hello) {
  if (hello.alpn.empty() || hello.alpn.front().empty()) return "00";
  const std::string& v = hello.alpn.front();
  const auto first = static_cast<unsigned char>(v.front());
  const auto last = static_cast<unsigned char>(v.back());
  if (IsAsciiAlnum(first) && IsAsciiAlnum(last)) {
    return {static_cast<char>(first), static_cast<char>(last)};
  }
  return {kHex[first >> 4], kHex[last & 0xf]};
}

void AppendCount(std::string& out, size_t n) {
  n = std::min(n, kJa4MaxCount);
  out.push_back(static_cast<char>('0' + n / 10));
  out.push_back(static_cast<char>('0' + n % 10));
}

// The three parts of JA4, built in per-thread buffers (one fingerprint at a
// time per thread; capacity is kept across handshakes).
struct Ja4Parts {
  std::string a;
  std::string b;  // sorted ciphers, hex, comma-joined
  std::string c;  // sorted extensions (no SNI/ALPN) [+ "_" + signature algorithms]
  bool b_empty = false;
  bool c_empty = false;
  std::vector<uint16_t> ciphers, exts, sigalgs;
};

Ja4Parts& BuildJa4(const ClientHello& hello, Ja4Transport transport) {
  thread_local Ja4Parts parts;
  parts.a.clear();
  parts.b.clear();
  parts.c.clear();
  std::vector<uint16_t>& ciphers = parts.ciphers;
  std::vector<uint16_t>& exts = parts.exts;
  WithoutGrease(hello.cipher_suites, ciphers);
  WithoutGrease(hello.extension_types, exts);
  const bool has_sni = std::find(exts.begin(), exts.end(), kExtServerName) != exts.end();

  parts.a.push_back(static_cast<char>(transport));
  parts.a += Ja4Version(hello);
  parts.a.push_back(has_sni ? 'd' : 'i');
  AppendCount(parts.a, ciphers.size());
  AppendCount(parts.a, exts.size());
  parts.a += Ja4Alpn(hello);

  std::sort(ciphers.begin(), ciphers.end());
  AppendHexList(parts.b, ciphers);
  parts.b_empty = ciphers.empty();

  std::erase_if(exts, [](uint16_t e) { return e == kExtServerName || e == kExtAlpn; });
  std::sort(exts.begin(), exts.end());
  AppendHexList(parts.c, exts);
  parts.c_empty = exts.empty();
  WithoutGrease(hello.signature_algorithms, parts.sigalgs);
  if (!parts.sigalgs.empty()) {
    parts.c.push_back('_');
    AppendHexList(parts.c, parts.sigalgs);
  }
  return parts;
}

// JA4's truncated SHA-256 of a list, or the all-zero hash of an empty one.
void AppendJa4Hash(std::string& out, std::string_view list, bool empty) {
  if (empty || list.empty() || !AppendHexDigest(Algorithm::kSha256, list, out, kJa4HashLength)) {
    out += kJa4EmptyHash;
  }
}

}  // namespace

void Ja3StringTo(const ClientHello& hello, std::string& s) {
  s.clear();
  AppendDecimal(s, hello.legacy_version);
  s.push_back(',');
  AppendDecimalList(s, hello.cipher_suites, true);
  s.push_back(',');
  AppendDecimalList(s, hello.extension_types, true);
  s.push_back(',');
  AppendDecimalList(s, hello.supported_groups, true);
  s.push_back(',');
  AppendDecimalList(s, hello.ec_point_formats, false);
}

std::string Ja3String(const ClientHello& hello) {
  std::string s;
  Ja3StringTo(hello, s);
  return s;
}

void Ja3To(const ClientHello& hello, std::string& out) {
  thread_local std::string input;
  Ja3StringTo(hello, input);
  out.clear();
  AppendHexDigest(Algorithm::kMd5, input, out);
}

std::string Ja3(const ClientHello& hello) {
  std::string out;
  Ja3To(hello, out);
  return out;
}

std::string Ja3Hash(std::string_view ja3_string) {
  std::string out;
  AppendHexDigest(Algorithm::kMd5, ja3_string, out);
  return out;
}

std::string Ja4Hash(std::string_view list) {
  std::string out;
  AppendJa4Hash(out, list, list.empty());
  return out;
}

void Ja4To(const ClientHello& hello, Ja4Transport transport, std::string& out) {
  const Ja4Parts& parts = BuildJa4(hello, transport);
  out.assign(parts.a);
  out.push_back('_');
  AppendJa4Hash(out, parts.b, parts.b_empty);
  out.push_back('_');
  AppendJa4Hash(out, parts.c, parts.c_empty);
}

std::string Ja4(const ClientHello& hello, Ja4Transport transport) {
  std::string out;
  Ja4To(hello, transport, out);
  return out;
}

std::string Ja4Raw(const ClientHello& hello, Ja4Transport transport) {
  const Ja4Parts& parts = BuildJa4(hello, transport);
  return parts.a + "_" + parts.b + "_" + parts.c;
}

}  // namespace vigil::agent::analyzers::tls
