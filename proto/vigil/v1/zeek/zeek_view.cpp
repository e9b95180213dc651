#include "proto/vigil/v1/zeek/zeek_view.h"

#include <cstring>
#include <limits>

namespace vigil::v1::zeek {
namespace {

bool AddressLengthOk(const std::string& bytes) { return bytes.size() == 4 || bytes.size() == 16; }

char* AppendDecimalByte(char* p, uint8_t b) {
  if (b >= 100) *p++ = static_cast<char>('0' + b / 100);
  if (b >= 10) *p++ = static_cast<char>('0' + b / 10 % 10);
  *p++ = static_cast<char>('0' + b % 10);
  return p;
}

char* AppendDottedQuad(char* p, const uint8_t* b) {
  for (int i = 0; i < 4; ++i) {
    if (i > 0) *p++ = '.';
    p = AppendDecimalByte(p, b[i]);
  }
  return p;
}

char* AppendHexGroup(char* p, uint16_t w) {
  static constexpr char kHex[] = "0123456789abcdef";
  bool started = false;
  for (int shift = 12; shift >= 0; shift -= 4) {
    const unsigned nibble = (w >> shift) & 0xF;
    if (nibble != 0 || started || shift == 0) {
      *p++ = kHex[nibble];
      started = true;
    }
  }
  return p;
}

// The length of the valid UTF-8 sequence starting at s[i], or 0.
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  size_t n;
  uint32_t cp;
  if ((c & 0xE0) == 0xC0) {
    n = 2;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    const auto cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (cc & 0x3F);
  }
  // Overlong forms, surrogates and values beyond Unicode are not UTF-8.
  if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
      cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    return 0;
  }
  return n;
}

// Index of the first byte that starts an invalid sequence, or npos.
size_t FirstInvalidUtf8(std::string_view s) {
  size_t i = 0;
  // Most record text is ASCII: skip it eight bytes at a time.
  while (i + 8 <= s.size()) {
    uint64_t word;
    std::memcpy(&word, s.data() + i, 8);
    if ((word & 0x8080808080808080ull) != 0) break;
    i += 8;
  }
  while (i < s.size()) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    const size_t n = Utf8SequenceLength(s, i);
    if (n == 0) return i;
    i += n;
  }
  return std::string_view::npos;
}

}  // namespace

std::string_view ZeekLogPath(ZeekLog log) {
  switch (log) {
    case ZeekLog::kConn:
      return "conn";
    case ZeekLog::kDns:
      return "dns";
    case ZeekLog::kSsl:
      return "ssl";
    case ZeekLog::kHttp:
      return "http";
  }
  return {};
}

std::string_view ZeekViewErrorCode(ZeekViewError error) {
  switch (error) {
    case ZeekViewError::kRecordWithoutPayload:
      return "record_without_payload";
    case ZeekViewError::kBadAddressLength:
      return "bad_address_length";
  }
  return "unknown_error";
}

std::string_view ZeekViewErrorMessage(ZeekViewError error) {
  switch (error) {
    case ZeekViewError::kRecordWithoutPayload:
      return "event carries no flow/dns/tls/http record";
    case ZeekViewError::kBadAddressLength:
      return "flow key addresses must be 4 or 16 bytes";
  }
  return "unknown error";
}

int64_t RoundToMicros(int64_t seconds, int32_t nanos) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  const int64_t frac = nanos >= 0 ? (int64_t{nanos} + 500) / 1000 : (int64_t{nanos} - 500) / 1000;
  int64_t us;
  if (__builtin_mul_overflow(seconds, int64_t{1'000'000}, &us) ||
      __builtin_add_overflow(us, frac, &us)) {
    return seconds < 0 ? kMin : kMax;
  }
  return us;
}

size_t FormatAddress(std::string_view bytes, char (&out)[kAddressTextMax]) {
  const auto* b = reinterpret_cast<const uint8_t*>(bytes.data());
  char* p = out;
  if (bytes.size() == 4) return static_cast<size_t>(AppendDottedQuad(p, b) - out);
  if (bytes.size() != 16) return 0;
  // glibc's inet_ntop6, step for step, so the text is the one Zeek writes.
  uint16_t words[8];
  for (int i = 0; i < 8; ++i) words[i] = static_cast<uint16_t>(b[2 * i] << 8 | b[2 * i + 1]);
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
      if (best_base == -1 || cur_len > best_len) {
        best_base = cur_base;
        best_len = cur_len;
      }
      cur_base = -1;
    }
  }
  if (cur_base != -1 && (best_base == -1 || cur_len > best_len)) {
    best_base = cur_base;
    best_len = cur_len;
  }
  if (best_base != -1 && best_len < 2) best_base = -1;  // RFC 5952 4.2.2: never "::" for one group
  for (int i = 0; i < 8; ++i) {
    if (best_base != -1 && i >= best_base && i < best_base + best_len) {
      if (i == best_base) *p++ = ':';
      continue;
    }
    if (i != 0) *p++ = ':';
    if (i == 6 && best_base == 0 && (best_len == 6 || (best_len == 5 && words[5] == 0xffff))) {
      p = AppendDottedQuad(p, b + 12);  // IPv4-compatible or IPv4-mapped
      return static_cast<size_t>(p - out);
    }
    p = AppendHexGroup(p, words[i]);
  }
  if (best_base != -1 && best_base + best_len == 8) *p++ = ':';
  return static_cast<size_t>(p - out);
}

std::string_view ZeekText(std::string_view raw, std::string& scratch) {
  size_t bad = FirstInvalidUtf8(raw);
  if (bad == std::string_view::npos) return raw;
  static constexpr char kHex[] = "0123456789abcdef";
  scratch.assign(raw.substr(0, bad));
  size_t i = bad;
  while (i < raw.size()) {
    const auto c = static_cast<unsigned char>(raw[i]);
    if (c < 0x80) {
      scratch.push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    if (const size_t n = Utf8SequenceLength(raw, i); n != 0) {
      scratch.append(raw.substr(i, n));
      i += n;
      continue;
    }
    const char esc[4] = {'\\', 'x', kHex[c >> 4], kHex[c & 0xF]};
    scratch.append(esc, 4);
    ++i;
  }
  return scratch;
}

std::expected<ZeekView, ZeekViewError> ZeekView::Of(const vigil::v1::Event& event) {
  ZeekLog log;
  switch (event.record_case()) {
    case vigil::v1::Event::kFlow:
      log = ZeekLog::kConn;
      break;
    case vigil::v1::Event::kDns:
      log = ZeekLog::kDns;
      break;
    case vigil::v1::Event::kTls:
      log = ZeekLog::kSsl;
      break;
    case vigil::v1::Event::kHttp:
      log = ZeekLog::kHttp;
      break;
    default:
      return std::unexpected(ZeekViewError::kRecordWithoutPayload);
  }
  if (!AddressLengthOk(event.id().orig_addr()) || !AddressLengthOk(event.id().resp_addr())) {
    return std::unexpected(ZeekViewError::kBadAddressLength);
  }
  return ZeekView(event, log);
}

namespace view_detail {

std::string& Scratch() {
  thread_local std::string scratch;
  return scratch;
}

std::string_view JoinedServices(const google::protobuf::RepeatedPtrField<std::string>& services) {
  if (services.size() == 1) return Text(services[0]);
  thread_local std::string joined;
  joined.clear();
  for (int i = 0; i < services.size(); ++i) {
    if (i > 0) joined.push_back(',');
    joined.append(services[i]);
  }
  return Text(joined);
}

}  // namespace view_detail

}  // namespace vigil::v1::zeek
