#include "agent/analyzers/address_text.h"

namespace vigil::agent::analyzers {
namespace {

size_t PutIpv4(char* out, const uint8_t* a) {
  size_t n = 0;
  for (int i = 0; i < 4; ++i) {
    if (i != 0) out[n++] = '.';
    const uint8_t v = a[i];
    if (v >= 100) out[n++] = static_cast<char>('0' + v / 100);
    if (v >= 10) out[n++] = static_cast<char>('0' + v / 10 % 10);
    out[n++] = static_cast<char>('0' + v % 10);
  }
  return n;
}

size_t PutHexGroup(char* out, uint16_t v) {
  static constexpr char kHex[] = "0123456789abcdef";
  size_t n = 0;
  bool started = false;
  for (int shift = 12; shift >= 0; shift -= 4) {
    const unsigned digit = (v >> shift) & 0xf;
    if (digit != 0 || started || shift == 0) {
      out[n++] = kHex[digit];
      started = true;
    }
  }
  return n;
}

}  // namespace

void AppendIpv4Text(std::string& out, const uint8_t* a) {
  char buf[16];
  out.append(buf, PutIpv4(buf, a));
}

void AppendIpv6Text(std::string& out, const uint8_t* a) {
  uint16_t words[8];
  for (int i = 0; i < 8; ++i) words[i] = static_cast<uint16_t>(a[2 * i] << 8 | a[2 * i + 1]);
  // The first longest run of zero groups (inet_ntop keeps the first of equal
  // runs and compresses only runs of two or more).
  int best_base = -1, best_len = 0, cur_base = -1, cur_len = 0;
  for (int i = 0; i < 8; ++i) {
    if (words[i] == 0) {
      if (cur_base == -1) {
        cur_base = i;
        cur_len = 1;
      } else {
        ++cur_len;
      }
    } else if (cur_base != -1) {
      if (best_base == -1 || cur_len > best_len) best_base = cur_base, best_len = cur_len;
      cur_base = -1;
    }
  }
  if (cur_base != -1 && (best_base == -1 || cur_len > best_len)) {
    best_base = cur_base, best_len = cur_len;
  }
  if (best_base != -1 && best_len < 2) best_base = -1;

  char buf[48];  // "ffff:" x 8 without the last colon is 39 characters
  size_t n = 0;
  for (int i = 0; i < 8; ++i) {
    if (best_base != -1 && i >= best_base && i < best_base + best_len) {
      if (i == best_base) buf[n++] = ':';
      continue;
    }
    if (i != 0) buf[n++] = ':';
    if (i == 6 && best_base == 0 && (best_len == 6 || (best_len == 5 && words[5] == 0xffff))) {
      n += PutIpv4(buf + n, a + 12);
      out.append(buf, n);
      return;
    }
    n += PutHexGroup(buf + n, words[i]);
  }
  if (best_base != -1 && best_base + best_len == 8) buf[n++] = ':';
  out.append(buf, n);
}

}  // namespace vigil::agent::analyzers
