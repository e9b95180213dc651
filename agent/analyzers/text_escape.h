#pragma once
// Rendering of attacker-controlled bytes as record text. Records are protobuf
// `string` fields (must be valid UTF-8) that end up in JSON logs and rule
// matches, so raw bytes from the wire are escaped the way Zeek's logs show
// them: a byte that is not printable becomes `\xNN` (lowercase hex).
//
// Free functions, no state: thread-safe.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace vigil::agent::analyzers {

/// Appends `bytes`, escaping everything outside printable ASCII (0x20..0x7e)
/// as `\xNN`. For protocol fields that are ASCII by definition (DNS labels).
void AppendEscapedAscii(std::string& out, std::span<const uint8_t> bytes);

/// Appends `bytes`, keeping well-formed UTF-8 sequences (no overlongs, no
/// surrogates) and escaping control characters and every byte of a malformed
/// sequence as `\xNN`. For free text (HTTP headers, URIs, TLS SNI, ALPN).
void AppendEscapedUtf8(std::string& out, std::span<const uint8_t> bytes);

inline std::string EscapedUtf8(std::string_view s) {
  std::string out;
  AppendEscapedUtf8(out, {reinterpret_cast<const uint8_t*>(s.data()), s.size()});
  return out;
}

}  // namespace vigil::agent::analyzers
