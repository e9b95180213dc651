#include "agent/analyzers/text_escape.h"

namespace vigil::agent::analyzers {
namespace {

constexpr char kHex[] = "0123456789abcdef";

void AppendHexEscape(std::string& out, uint8_t b) {
  out.push_back('\\');
  out.push_back('x');
  out.push_back(kHex[b >> 4]);
  out.push_back(kHex[b & 0xf]);
}

bool Printable(uint8_t b) { return b >= 0x20 && b < 0x7f; }

// Length of the well-formed UTF-8 sequence starting at bytes[i] (2..4), or 0.
// RFC 3629 table 3-7: rejects overlongs, surrogates and values > U+10FFFF.
size_t Utf8SequenceLength(std::span<const uint8_t> bytes, size_t i) {
  const uint8_t b0 = bytes[i];
  size_t len;
  uint8_t lo = 0x80, hi = 0xbf;
  if (b0 >= 0xc2 && b0 <= 0xdf) {
    len = 2;
  } else if (b0 >= 0xe0 && b0 <= 0xef) {
    len = 3;
    if (b0 == 0xe0) lo = 0xa0;
    if (b0 == 0xed) hi = 0x9f;
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    len = 4;
    if (b0 == 0xf0) lo = 0x90;
    if (b0 == 0xf4) hi = 0x8f;
  } else {
    return 0;
  }
  if (bytes.size() - i < len) return 0;
  if (bytes[i + 1] < lo || bytes[i + 1] > hi) return 0;
  for (size_t k = 2; k < len; ++k) {
    if (bytes[i + k] < 0x80 || bytes[i + k] > 0xbf) return 0;
  }
  return len;
}

// Length of the run of printable bytes starting at bytes[i]: appended in one
// go (names, headers and URIs are almost always entirely printable).
size_t PrintableRun(std::span<const uint8_t> bytes, size_t i) {
  size_t j = i;
  while (j < bytes.size() && Printable(bytes[j])) ++j;
  return j - i;
}

}  // namespace

void AppendEscapedAscii(std::string& out, std::span<const uint8_t> bytes) {
  size_t i = 0;
  while (i < bytes.size()) {
    if (const size_t run = PrintableRun(bytes, i); run != 0) {
      out.append(reinterpret_cast<const char*>(bytes.data() + i), run);
      i += run;
      continue;
    }
    AppendHexEscape(out, bytes[i]);
    ++i;
  }
}

void AppendEscapedUtf8(std::string& out, std::span<const uint8_t> bytes) {
  size_t i = 0;
  while (i < bytes.size()) {
    const uint8_t b = bytes[i];
    if (const size_t run = PrintableRun(bytes, i); run != 0) {
      out.append(reinterpret_cast<const char*>(bytes.data() + i), run);
      i += run;
      continue;
    }
    if (b >= 0x80) {
      if (size_t len = Utf8SequenceLength(bytes, i); len != 0) {
        out.append(reinterpret_cast<const char*>(bytes.data() + i), len);
        i += len;
        continue;
      }
    }
    AppendHexEscape(out, b);
    ++i;
  }
}

}  // namespace vigil::agent::analyzers
