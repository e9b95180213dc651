// Field-level helpers of the HTTP analyzer: URI unescaping, Basic-auth user
// extraction and body type sniffing. Kept apart from the state machine so
// they can be tested and fuzzed on their own.

#include <string.h>  // explicit_bzero

#include <algorithm>
#include <cctype>
#include <string_view>

#include "agent/analyzers/http/http_analyzer.h"

namespace vigil::agent::analyzers::http {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool IsHex(char c) { return HexValue(c) >= 0; }

int Base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  }
  return true;
}

// `{`, then a quoted key or an identifier, then `:` (whitespace allowed).
bool LooksLikeJsonObject(std::string_view s) {
  auto skip_ws = [&] {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  };
  if (!s.starts_with("{")) return false;
  s.remove_prefix(1);
  skip_ws();
  if (s.starts_with("\"")) {
    const size_t close = s.find('"', 1);
    if (close == std::string_view::npos || close == 1) return false;
    s.remove_prefix(close + 1);
  } else {
    size_t n = 0;
    while (n < s.size() && (std::isalnum(static_cast<unsigned char>(s[n])) || s[n] == '_')) ++n;
    if (n == 0 || !std::isalpha(static_cast<unsigned char>(s.front()))) return false;
    s.remove_prefix(n);
  }
  skip_ws();
  return s.starts_with(":");
}

}  // namespace

// Zeek's unescape_URI(): %XX decoded, %uXXXX decoded to one or two bytes
// (IIS style), a doubled '%' collapsed, anything else kept as is.
std::string UnescapeUri(std::string_view uri) {
  std::string out;
  UnescapeUriTo(uri, out);
  return out;
}

void UnescapeUriTo(std::string_view uri, std::string& out) {
  out.clear();
  out.reserve(uri.size());
  size_t i = 0;
  const size_t n = uri.size();
  while (i < n) {
    if (uri[i] != '%') {
      out.push_back(uri[i++]);
      continue;
    }
    ++i;
    if (i == n) {
      out.push_back('%');
      break;
    }
    if (i + 1 == n) {
      out.push_back('%');
      out.push_back(uri[i]);
      break;
    }
    if (uri[i] == '%') {
      continue;  // "%%": drop the first, look at the second again
    }
    if (IsHex(uri[i]) && IsHex(uri[i + 1])) {
      out.push_back(static_cast<char>((HexValue(uri[i]) << 4) | HexValue(uri[i + 1])));
      i += 2;
      continue;
    }
    if (n - i >= 5 && uri[i] == 'u' && IsHex(uri[i + 1]) && IsHex(uri[i + 2]) &&
        IsHex(uri[i + 3]) && IsHex(uri[i + 4])) {
      if (!(uri[i + 1] == '0' && uri[i + 2] == '0')) {
        out.push_back(static_cast<char>((HexValue(uri[i + 1]) << 4) | HexValue(uri[i + 2])));
      }
      out.push_back(static_cast<char>((HexValue(uri[i + 3]) << 4) | HexValue(uri[i + 4])));
      i += 5;
      continue;
    }
    out.push_back('%');
    out.push_back(uri[i++]);
  }
}

std::string BasicAuthUser(std::string_view value, bool& is_basic) {
  // RFC 7617: "Basic" SP base64(user-id ":" password).
  is_basic =
      value.size() > 6 && StartsWithNoCase(value, "basic") && (value[5] == ' ' || value[5] == '\t');
  if (!is_basic) return {};
  std::string_view b64 = value.substr(5);
  while (!b64.empty() && (b64.front() == ' ' || b64.front() == '\t')) b64.remove_prefix(1);

  std::string decoded;
  decoded.reserve(b64.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : b64) {
    if (c == '=') break;
    const int v = Base64Value(c);
    if (v < 0) continue;  // lenient, like Zeek's decoder: skip stray characters
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      decoded.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  acc = 0;
  std::string user;
  const size_t colon = decoded.find(':');
  if (colon == std::string::npos) {
    // Zeek logs the raw header here; that may be a secret, so we do not.
    user = "<problem-decoding>";
  } else {
    user.assign(decoded, 0, colon);
  }
  // The password must not linger in freed memory.
  explicit_bzero(decoded.data(), decoded.size());
  return user;
}

std::string_view SniffMimeType(std::span<const uint8_t> head) {
  struct Magic {
    std::string_view bytes;
    std::string_view type;
  };
  // A few unambiguous signatures (names as Zeek's file analysis reports them).
  static constexpr Magic kMagic[] = {
      {"\x89PNG\r\n\x1a\n", "image/png"},
      {"\xff\xd8\xff", "image/jpeg"},
      {"GIF87a", "image/gif"},
      {"GIF89a", "image/gif"},
      {"%PDF-", "application/pdf"},
      {"PK\x03\x04", "application/zip"},
      {"\x1f\x8b", "application/x-gzip"},
      {"7z\xbc\xaf\x27\x1c", "application/x-7z-compressed"},
      {"Rar!\x1a\x07", "application/x-rar"},
      {"\x7f"
       "ELF",
       "application/x-executable"},
      {"MZ", "application/x-dosexec"},
      {"CWS", "application/x-shockwave-flash"},
      {"FWS", "application/x-shockwave-flash"},
      {"OggS", "application/ogg"},
      {"ID3", "audio/mpeg"},
  };
  const std::string_view s(reinterpret_cast<const char*>(head.data()), head.size());
  for (const Magic& m : kMagic) {
    if (s.starts_with(m.bytes)) return m.type;
  }
  if (s.size() >= 12 && s.starts_with("RIFF") && s.substr(8, 4) == "WEBP") return "image/webp";

  std::string_view text = s;
  if (text.starts_with("\xef\xbb\xbf")) text.remove_prefix(3);  // UTF-8 BOM
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  if (StartsWithNoCase(text, "<?xml")) return "application/xml";
  if (StartsWithNoCase(text, "<!doctype html") || StartsWithNoCase(text, "<html") ||
      StartsWithNoCase(text, "<head") || StartsWithNoCase(text, "<body")) {
    return "text/html";
  }
  if (LooksLikeJsonObject(text)) return "text/json";
  // Lowest priority: ten printable or blank characters (after a BOM).
  std::string_view plain = s;
  for (std::string_view bom : {"\xef\xbb\xbf", "\xfe\xff", "\xff\xfe"}) {
    if (plain.starts_with(bom)) {
      plain.remove_prefix(bom.size());
      break;
    }
  }
  constexpr size_t kPlainTextRun = 10;
  if (plain.size() >= kPlainTextRun &&
      std::all_of(plain.begin(), plain.begin() + kPlainTextRun, [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return (u >= 0x20 && u <= 0x7e) || std::isspace(u);
      })) {
    return "text/plain";
  }
  return {};
}

}  // namespace vigil::agent::analyzers::http
