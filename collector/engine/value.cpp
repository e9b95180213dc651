#include "collector/engine/value.h"

#include <charconv>
#include <cmath>

namespace vigil::collector::engine {

Value Value::Null() {
  Value v;
  v.kind_ = Kind::kNull;
  return v;
}

Value Value::Bool(bool b) {
  Value v;
  v.kind_ = Kind::kBool;
  v.b_ = b;
  return v;
}

Value Value::Int(int64_t i) {
  Value v;
  v.kind_ = Kind::kInt;
  v.i_ = i;
  v.d_ = static_cast<double>(i);
  return v;
}

Value Value::Double(double d) {
  Value v;
  v.kind_ = Kind::kDouble;
  v.d_ = d;
  return v;
}

Value Value::String(std::string s) {
  Value v;
  v.kind_ = Kind::kString;
  v.s_ = std::move(s);
  return v;
}

Value Value::Array(std::vector<Value> a) {
  Value v;
  v.kind_ = Kind::kArray;
  v.a_ = std::move(a);
  return v;
}

double Value::number() const {
  if (kind_ == Kind::kInt) return static_cast<double>(i_);
  if (kind_ == Kind::kDouble) return d_;
  return 0;
}

void AppendDouble(std::string& out, double v) {
  if (!std::isfinite(v)) {
    // JSON has no NaN/Inf; the adapters never produce them, but a value
    // computed from one (entropy of nothing) must still render as JSON.
    out += "null";
    return;
  }
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, v);
  std::string_view text(buf, static_cast<size_t>(res.ptr - buf));
  out += text;
}

void Value::AppendText(std::string& out) const {
  switch (kind_) {
    case Kind::kAbsent:
      break;
    case Kind::kNull:
      out += "null";
      break;
    case Kind::kBool:
      out += b_ ? "true" : "false";
      break;
    case Kind::kInt: {
      char buf[32];
      auto res = std::to_chars(buf, buf + sizeof buf, i_);
      out.append(buf, static_cast<size_t>(res.ptr - buf));
      break;
    }
    case Kind::kDouble:
      AppendDouble(out, d_);
      break;
    case Kind::kString:
      out += s_;
      break;
    case Kind::kArray:
      AppendJson(out);
      break;
  }
}

std::string Value::Text() const {
  std::string out;
  AppendText(out);
  return out;
}

void AppendJsonString(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 0xf];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

void Value::AppendJson(std::string& out) const {
  switch (kind_) {
    case Kind::kAbsent:
    case Kind::kNull:
      out += "null";
      break;
    case Kind::kString:
      AppendJsonString(out, s_);
      break;
    case Kind::kArray:
      out += '[';
      for (size_t i = 0; i < a_.size(); ++i) {
        if (i) out += ',';
        a_[i].AppendJson(out);
      }
      out += ']';
      break;
    case Kind::kDouble: {
      // JSON keeps the type: a double always shows a fraction or an
      // exponent, so it reads back as a double ("300.0", not "300").
      const size_t start = out.size();
      AppendDouble(out, d_);
      if (out.find_first_of(".en", start) == std::string::npos) out += ".0";
      break;
    }
    default:
      AppendText(out);
  }
}

bool operator==(const Value& a, const Value& b) {
  if (a.kind_ != b.kind_) return false;
  switch (a.kind_) {
    case Value::Kind::kAbsent:
    case Value::Kind::kNull:
      return true;
    case Value::Kind::kBool:
      return a.b_ == b.b_;
    case Value::Kind::kInt:
      return a.i_ == b.i_;
    case Value::Kind::kDouble:
      return a.d_ == b.d_ || (std::isnan(a.d_) && std::isnan(b.d_));
    case Value::Kind::kString:
      return a.s_ == b.s_;
    case Value::Kind::kArray:
      return a.a_ == b.a_;
  }
  return false;
}

}  // namespace vigil::collector::engine
