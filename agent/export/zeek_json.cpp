#include "agent/export/zeek_json.h"

#include <charconv>
#include <cmath>

#include "proto/vigil/v1/zeek/zeek_view.h"

namespace vigil::agent::exporter {
namespace {

namespace zeek = vigil::v1::zeek;

// Bytes that cannot stand as themselves inside a JSON string.
constexpr bool NeedsEscape(unsigned char c) {
  return c < 0x20 || c == '"' || c == '\\' || c == 0x7f;
}

// One JSON object, appended field by field to a reused line buffer: the
// ZeekFieldVisitor of the record's Zeek view. Keys are the view's field
// names (plain identifiers: written as they are).
class JsonLine {
 public:
  JsonLine(std::string& out, std::string_view path) : out_(out) {
    out_.append("{\"_path\":");
    AppendString(path);
  }
  void Close() { out_.push_back('}'); }

  void String(std::string_view key, std::string_view value) {
    Key(key);
    AppendString(value);
  }
  void Count(std::string_view key, uint64_t value) {
    Key(key);
    AppendNumber(value);
  }
  void Int(std::string_view key, int64_t value) {
    Key(key);
    AppendNumber(value);
  }
  void Double(std::string_view key, double value) {
    Key(key);
    if (!std::isfinite(value)) {
      out_.append("null");  // JSON has no NaN or infinity
      return;
    }
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value);
    out_.append(buf, ec == std::errc() ? end : buf);
  }
  void Bool(std::string_view key, bool value) {
    Key(key);
    out_.append(value ? "true" : "false");
  }
  /// Seconds with six decimals, as Zeek writes `ts`.
  void Time(std::string_view key, zeek::ZeekTime t) {
    Key(key);
    AppendMicros(t.micros, /*trim=*/false);
  }
  /// Seconds, trailing zeros of the fraction dropped ("0.0793", "300").
  void Interval(std::string_view key, zeek::ZeekInterval d) {
    Key(key);
    AppendMicros(d.micros, /*trim=*/true);
  }
  void Address(std::string_view key, const zeek::ZeekAddress& a) {
    Key(key);
    out_.push_back('"');
    out_.append(a.text);  // digits, dots, hex and colons: nothing to escape
    out_.push_back('"');
  }
  void Port(std::string_view key, uint32_t port) { Count(key, port); }
  void StringVector(std::string_view key, const zeek::ZeekStringVector& items) {
    Key(key);
    out_.push_back('[');
    for (size_t i = 0; i < items.size(); ++i) {
      if (i > 0) out_.push_back(',');
      AppendString(items[i]);
    }
    out_.push_back(']');
  }
  void IntervalVector(std::string_view key, const zeek::ZeekIntervalVector& items) {
    Key(key);
    out_.push_back('[');
    for (size_t i = 0; i < items.size(); ++i) {
      if (i > 0) out_.push_back(',');
      AppendMicros(items[i].micros, /*trim=*/true);
    }
    out_.push_back(']');
  }

 private:
  // `_path` is always first, so every field follows a comma.
  void Key(std::string_view key) {
    out_.append(",\"");
    out_.append(key);
    out_.append("\":");
  }

  template <typename T>
  void AppendNumber(T v) {
    char buf[24];
    auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
    (void)ec;  // 24 digits hold any 64-bit integer
    out_.append(buf, end);
  }

  void AppendMicros(int64_t micros, bool trim) {
    uint64_t magnitude = static_cast<uint64_t>(micros);
    if (micros < 0) {
      out_.push_back('-');
      magnitude = 0 - magnitude;  // well defined for INT64_MIN too
    }
    AppendNumber(magnitude / 1'000'000);
    char frac[6];
    uint64_t us = magnitude % 1'000'000;
    for (int i = 5; i >= 0; --i) {
      frac[i] = static_cast<char>('0' + us % 10);
      us /= 10;
    }
    size_t len = 6;
    if (trim) {
      while (len > 0 && frac[len - 1] == '0') --len;
      if (len == 0) return;
    }
    out_.push_back('.');
    out_.append(frac, len);
  }

  // The view hands over valid UTF-8 (bytes that were not are already the
  // text "\xNN"), so only JSON's own specials need escaping; runs of plain
  // bytes are appended at once.
  void AppendString(std::string_view s) {
    static constexpr char kHex[] = "0123456789abcdef";
    out_.push_back('"');
    size_t run = 0;
    for (size_t i = 0; i < s.size(); ++i) {
      const auto c = static_cast<unsigned char>(s[i]);
      if (!NeedsEscape(c)) continue;
      out_.append(s.data() + run, i - run);
      run = i + 1;
      if (c == '"' || c == '\\') {
        const char esc[2] = {'\\', static_cast<char>(c)};
        out_.append(esc, 2);
      } else if (c == '\n' || c == '\r' || c == '\t') {
        const char esc[2] = {'\\', c == '\n' ? 'n' : c == '\r' ? 'r' : 't'};
        out_.append(esc, 2);
      } else {
        const char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
        out_.append(esc, 6);
      }
    }
    out_.append(s.data() + run, s.size() - run);
    out_.push_back('"');
  }

  std::string& out_;
};

}  // namespace

bool RenderZeekJson(const vigil::v1::Event& event, std::string& out) {
  auto view = zeek::ZeekView::Of(event);
  if (!view) return false;
  JsonLine line(out, view->path());
  view->Visit(line);
  line.Close();
  return true;
}

ZeekJsonSink::ZeekJsonSink(std::FILE* out) : out_(out) { line_.reserve(1024); }

void ZeekJsonSink::Emit(vigil::v1::Event&& event) {
  auto view = zeek::ZeekView::Of(event);
  if (!view) {
    ++stats_.records_unrenderable;
    switch (view.error()) {
      case zeek::ZeekViewError::kRecordWithoutPayload:
        ++stats_.records_without_payload;
        break;
      case zeek::ZeekViewError::kBadAddressLength:
        ++stats_.records_bad_address;
        break;
    }
    return;
  }
  line_.clear();
  JsonLine line(line_, view->path());
  view->Visit(line);
  line.Close();
  line_.push_back('\n');
  if (std::fwrite(line_.data(), 1, line_.size(), out_) != line_.size()) {
    ++stats_.write_errors;
    return;
  }
  ++stats_.records_written;
}

bool ZeekJsonSink::Flush(int timeout_ms) {
  (void)timeout_ms;
  return std::fflush(out_) == 0;
}

}  // namespace vigil::agent::exporter
