#include "collector/engine/json_reader.h"

#include <charconv>
#include <cmath>
#include <unordered_set>

namespace vigil::collector::engine {
namespace {

class Reader {
 public:
  Reader(std::string_view text, const JsonLimits& limits) : s_(text), limits_(limits) {}

  std::expected<JsonMembers, JsonError> Run() {
    if (s_.size() > limits_.max_bytes) {
      return Fail("input_too_large",
                  "line exceeds " + std::to_string(limits_.max_bytes) + " bytes");
    }
    SkipSpace();
    if (Peek() != '{') return Fail("not_an_object", "expected '{'");
    JsonMembers out;
    if (!ParseObject("", 1, out)) return std::unexpected(err_);
    SkipSpace();
    if (pos_ != s_.size()) return Fail("trailing_data", "unexpected data after the object");
    return out;
  }

 private:
  std::unexpected<JsonError> Fail(std::string code, std::string message) {
    err_ = JsonError{std::move(code), pos_, std::move(message)};
    return std::unexpected(err_);
  }
  bool Error(std::string code, std::string message) {
    err_ = JsonError{std::move(code), pos_, std::move(message)};
    return false;
  }

  char Peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  bool AtEnd() const { return pos_ >= s_.size(); }
  void SkipSpace() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) {
      ++pos_;
    }
  }

  bool ParseObject(const std::string& prefix, size_t depth, JsonMembers& out) {
    if (depth > limits_.max_depth) return Error("too_deep", "nesting deeper than the limit");
    ++pos_;  // '{'
    std::unordered_set<std::string> keys;
    SkipSpace();
    if (Peek() == '}') {
      ++pos_;
      return true;
    }
    while (true) {
      SkipSpace();
      if (AtEnd()) return Error("unexpected_end", "object not closed");
      if (Peek() != '"') return Error("expected_key", "expected a string key");
      std::string key;
      if (!ParseString(key)) return false;
      if (!keys.insert(key).second) return Error("duplicate_key", "duplicate key '" + key + "'");
      SkipSpace();
      if (Peek() != ':') return Error("expected_colon", "expected ':'");
      ++pos_;
      SkipSpace();
      std::string full = prefix.empty() ? key : prefix + "." + key;
      if (Peek() == '{') {
        if (!ParseObject(full, depth + 1, out)) return false;
      } else {
        Value v;
        if (!ParseValue(v, depth + 1)) return false;
        out.emplace_back(std::move(full), std::move(v));
      }
      SkipSpace();
      if (Peek() == ',') {
        ++pos_;
        continue;
      }
      if (Peek() == '}') {
        ++pos_;
        return true;
      }
      if (AtEnd()) return Error("unexpected_end", "object not closed");
      return Error("unexpected_character", "expected ',' or '}'");
    }
  }

  bool ParseValue(Value& v, size_t depth) {
    if (depth > limits_.max_depth) return Error("too_deep", "nesting deeper than the limit");
    const char c = Peek();
    if (c == '"') {
      std::string str;
      if (!ParseString(str)) return false;
      v = Value::String(std::move(str));
      return true;
    }
    if (c == '[') return ParseArray(v, depth);
    if (c == '{') return Error("object_in_array", "objects inside arrays are not supported");
    if (c == '-' || (c >= '0' && c <= '9')) return ParseNumber(v);
    if (s_.substr(pos_, 4) == "true") {
      pos_ += 4;
      v = Value::Bool(true);
      return true;
    }
    if (s_.substr(pos_, 5) == "false") {
      pos_ += 5;
      v = Value::Bool(false);
      return true;
    }
    if (s_.substr(pos_, 4) == "null") {
      pos_ += 4;
      v = Value::Null();
      return true;
    }
    if (AtEnd()) return Error("unexpected_end", "value expected");
    return Error("unexpected_character", "invalid value");
  }

  bool ParseArray(Value& v, size_t depth) {
    ++pos_;  // '['
    std::vector<Value> items;
    SkipSpace();
    if (Peek() == ']') {
      ++pos_;
      v = Value::Array(std::move(items));
      return true;
    }
    while (true) {
      SkipSpace();
      Value item;
      if (!ParseValue(item, depth + 1)) return false;
      items.push_back(std::move(item));
      SkipSpace();
      if (Peek() == ',') {
        ++pos_;
        continue;
      }
      if (Peek() == ']') {
        ++pos_;
        v = Value::Array(std::move(items));
        return true;
      }
      if (AtEnd()) return Error("unexpected_end", "array not closed");
      return Error("unexpected_character", "expected ',' or ']'");
    }
  }

  bool ParseNumber(Value& v) {
    const size_t start = pos_;
    if (Peek() == '-') ++pos_;
    if (Peek() == '0') {
      ++pos_;
      if (Peek() >= '0' && Peek() <= '9') return Error("bad_number", "leading zero");
    } else if (Peek() >= '1' && Peek() <= '9') {
      while (Peek() >= '0' && Peek() <= '9') ++pos_;
    } else {
      return Error("bad_number", "digit expected");
    }
    bool integral = true;
    if (Peek() == '.') {
      integral = false;
      ++pos_;
      if (!(Peek() >= '0' && Peek() <= '9')) return Error("bad_number", "digit expected after '.'");
      while (Peek() >= '0' && Peek() <= '9') ++pos_;
    }
    if (Peek() == 'e' || Peek() == 'E') {
      integral = false;
      ++pos_;
      if (Peek() == '+' || Peek() == '-') ++pos_;
      if (!(Peek() >= '0' && Peek() <= '9'))
        return Error("bad_number", "digit expected in exponent");
      while (Peek() >= '0' && Peek() <= '9') ++pos_;
    }
    const char* first = s_.data() + start;
    const char* last = s_.data() + pos_;
    if (integral) {
      int64_t i = 0;
      auto res = std::from_chars(first, last, i);
      if (res.ec == std::errc() && res.ptr == last) {
        v = Value::Int(i);
        return true;
      }
      // Out of int64 range: keep it as a double rather than reject it.
    }
    double d = 0;
    auto res = std::from_chars(first, last, d);
    if (res.ec != std::errc() || res.ptr != last || !std::isfinite(d)) {
      pos_ = start;
      return Error("bad_number", "number out of range");
    }
    v = Value::Double(d);
    return true;
  }

  static int HexValue(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  bool ParseHex4(uint32_t& cp) {
    if (pos_ + 4 > s_.size()) return Error("bad_escape", "truncated \\u escape");
    cp = 0;
    for (int i = 0; i < 4; ++i) {
      const int h = HexValue(s_[pos_ + static_cast<size_t>(i)]);
      if (h < 0) return Error("bad_escape", "invalid \\u escape");
      cp = cp << 4 | static_cast<uint32_t>(h);
    }
    pos_ += 4;
    return true;
  }

  static void AppendUtf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  // Validates one UTF-8 sequence starting at pos_ (RFC 3629: no overlongs,
  // no surrogates, nothing above U+10FFFF) and copies it.
  bool CopyUtf8(std::string& out) {
    const auto b0 = static_cast<unsigned char>(s_[pos_]);
    size_t len;
    uint32_t cp;
    if (b0 < 0x80) {
      out += static_cast<char>(b0);
      ++pos_;
      return true;
    } else if ((b0 & 0xE0) == 0xC0) {
      len = 2;
      cp = b0 & 0x1F;
    } else if ((b0 & 0xF0) == 0xE0) {
      len = 3;
      cp = b0 & 0x0F;
    } else if ((b0 & 0xF8) == 0xF0) {
      len = 4;
      cp = b0 & 0x07;
    } else {
      return Error("invalid_utf8", "invalid UTF-8 lead byte");
    }
    if (pos_ + len > s_.size()) return Error("invalid_utf8", "truncated UTF-8 sequence");
    for (size_t i = 1; i < len; ++i) {
      const auto b = static_cast<unsigned char>(s_[pos_ + i]);
      if ((b & 0xC0) != 0x80) return Error("invalid_utf8", "invalid UTF-8 continuation byte");
      cp = cp << 6 | (b & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return Error("invalid_utf8", "overlong, surrogate or out-of-range UTF-8");
    }
    out.append(s_.substr(pos_, len));
    pos_ += len;
    return true;
  }

  bool ParseString(std::string& out) {
    ++pos_;  // opening quote
    while (true) {
      if (AtEnd()) return Error("unexpected_end", "string not closed");
      const char c = s_[pos_];
      if (c == '"') {
        ++pos_;
        return true;
      }
      if (static_cast<unsigned char>(c) < 0x20) {
        return Error("control_character", "raw control character in string");
      }
      if (c != '\\') {
        if (!CopyUtf8(out)) return false;
        continue;
      }
      ++pos_;
      if (AtEnd()) return Error("unexpected_end", "string not closed");
      const char e = s_[pos_++];
      switch (e) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          uint32_t cp;
          if (!ParseHex4(cp)) return false;
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (s_.substr(pos_, 2) != "\\u") return Error("bad_escape", "lone high surrogate");
            pos_ += 2;
            uint32_t lo;
            if (!ParseHex4(lo)) return false;
            if (lo < 0xDC00 || lo > 0xDFFF) return Error("bad_escape", "invalid low surrogate");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return Error("bad_escape", "lone low surrogate");
          }
          AppendUtf8(out, cp);
          break;
        }
        default:
          --pos_;
          return Error("bad_escape", "invalid escape character");
      }
    }
  }

  std::string_view s_;
  const JsonLimits& limits_;
  size_t pos_ = 0;
  JsonError err_;
};

}  // namespace

std::expected<JsonMembers, JsonError> ParseJsonObject(std::string_view text,
                                                      const JsonLimits& limits) {
  return Reader(text, limits).Run();
}

}  // namespace vigil::collector::engine
