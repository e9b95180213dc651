#include "collector/metrics/label_value.h"

#include <cstdint>

namespace vigil::collector::metrics {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Length of the valid UTF-8 sequence starting at text[i], or 0 if invalid
// (RFC 3629 table 3-7: rejects overlongs, surrogates and > U+10FFFF).
std::size_t ValidSequenceLength(std::string_view text, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<uint8_t>(text[i + k]); };
  const std::size_t left = text.size() - i;
  const uint8_t b0 = byte(0);
  if (b0 < 0x80) return 1;
  const auto cont = [&](std::size_t k) { return k < left && (byte(k) & 0xC0) == 0x80; };
  if (b0 >= 0xC2 && b0 <= 0xDF) return cont(1) ? 2 : 0;
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    if (left < 2) return 0;
    const uint8_t b1 = byte(1);
    const bool second_ok = (b0 == 0xE0)   ? (b1 >= 0xA0 && b1 <= 0xBF)
                           : (b0 == 0xED) ? (b1 >= 0x80 && b1 <= 0x9F)
                                          : (b1 & 0xC0) == 0x80;
    return second_ok && cont(2) ? 3 : 0;
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    if (left < 2) return 0;
    const uint8_t b1 = byte(1);
    const bool second_ok = (b0 == 0xF0)   ? (b1 >= 0x90 && b1 <= 0xBF)
                           : (b0 == 0xF4) ? (b1 >= 0x80 && b1 <= 0x8F)
                                          : (b1 & 0xC0) == 0x80;
    return second_ok && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}

}  // namespace

bool IsValidUtf8(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t n = ValidSequenceLength(text, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string SanitizeLabelValue(std::string_view raw) {
  std::string out;
  out.reserve(raw.size() < kMaxLabelValueBytes ? raw.size() : kMaxLabelValueBytes);
  for (std::size_t i = 0; i < raw.size();) {
    const std::size_t n = ValidSequenceLength(raw, i);
    const std::string_view piece = n == 0 ? kReplacement : raw.substr(i, n);
    if (out.size() + piece.size() > kMaxLabelValueBytes) break;
    out.append(piece);
    i += n == 0 ? 1 : n;
  }
  return out;
}

}  // namespace vigil::collector::metrics
