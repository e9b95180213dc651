#include "collector/app/config_reader.h"

#include <charconv>
#include <limits>

namespace vigil::collector::app {

std::string Diagnostic::ToString() const {
  std::string out = file;
  if (line > 0) out += ":" + std::to_string(line) + ":" + std::to_string(column);
  out += ": error: " + message;
  return out;
}

YAML::Node ConfigReader::Parse(const std::string& text) {
  try {
    return YAML::Load(text);
  } catch (const YAML::Exception& e) {
    // yaml-cpp marks are 0-based; operators and editors count from 1.
    diagnostics_.push_back({file_, e.mark.line + 1, e.mark.column + 1, e.msg});
    return YAML::Node();
  }
}

void ConfigReader::Error(const YAML::Node& at, std::string message) {
  const YAML::Mark m = at.Mark();
  if (m.is_null()) {
    diagnostics_.push_back({file_, 0, 0, std::move(message)});
  } else {
    diagnostics_.push_back({file_, m.line + 1, m.column + 1, std::move(message)});
  }
}

void ConfigReader::Error(std::string message) {
  diagnostics_.push_back({file_, 0, 0, std::move(message)});
}

void ConfigReader::Map(const YAML::Node& node, std::string_view what,
                       const std::map<std::string, KeyHandler, std::less<>>& handlers) {
  if (!node || node.IsNull()) return;  // an empty section keeps the defaults
  if (!node.IsMap()) {
    Error(node, std::string(what) + " must be a mapping");
    return;
  }
  std::set<std::string> seen;
  for (const auto& kv : node) {
    std::string key;
    try {
      key = kv.first.as<std::string>();
    } catch (const YAML::Exception&) {
      Error(kv.first, std::string(what) + ": key must be a string");
      continue;
    }
    if (!seen.insert(key).second) {
      Error(kv.first, std::string(what) + ": duplicate key '" + key + "'");
      continue;
    }
    auto it = handlers.find(key);
    if (it == handlers.end()) {
      std::string known;
      for (const auto& h : handlers) known += (known.empty() ? "" : ", ") + h.first;
      Error(kv.first, std::string(what) + ": unknown key '" + key + "' (known: " + known + ")");
      continue;
    }
    it->second(kv.second);
  }
}

void ConfigReader::Read(const YAML::Node& n, std::string& out) {
  if (!n.IsScalar()) {
    Error(n, "expected a string");
    return;
  }
  out = n.Scalar();
}

void ConfigReader::Read(const YAML::Node& n, bool& out) {
  if (!n.IsScalar()) {
    Error(n, "expected true or false");
    return;
  }
  const std::string& s = n.Scalar();
  if (s == "true") {
    out = true;
  } else if (s == "false") {
    out = false;
  } else {
    Error(n, "expected true or false, got '" + s + "'");
  }
}

void ConfigReader::Read(const YAML::Node& n, uint64_t& out, uint64_t min, uint64_t max) {
  if (!n.IsScalar()) {
    Error(n, "expected a number");
    return;
  }
  const std::string& s = n.Scalar();
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) {
    Error(n, "expected a non-negative integer, got '" + s + "'");
    return;
  }
  if (v < min || v > max) {
    Error(n, "value " + s + " out of range [" + std::to_string(min) + ", " + std::to_string(max) +
                 "]");
    return;
  }
  out = v;
}

void ConfigReader::Read(const YAML::Node& n, std::vector<std::string>& out) {
  if (n.IsScalar()) {  // a single value where a list is expected is accepted
    out = {n.Scalar()};
    return;
  }
  if (!n.IsSequence()) {
    Error(n, "expected a list of strings");
    return;
  }
  out.clear();
  for (const auto& item : n) {
    if (!item.IsScalar()) {
      Error(item, "expected a string");
      continue;
    }
    out.push_back(item.Scalar());
  }
}

void ConfigReader::ReadDuration(const YAML::Node& n, std::chrono::milliseconds& out) {
  if (!n.IsScalar() || !ParseDuration(n.Scalar(), out)) {
    Error(n, "expected a duration such as 500ms, 30s, 5m, 2h or 7d");
  }
}

void ConfigReader::ReadSize(const YAML::Node& n, uint64_t& out) {
  if (!n.IsScalar() || !ParseSize(n.Scalar(), out)) {
    Error(n, "expected a size such as 512KiB, 64MiB, 2GiB or a number of bytes");
  }
}

namespace {

bool SplitNumber(std::string_view text, uint64_t& number, std::string_view& unit) {
  size_t i = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
  if (i == 0) return false;
  auto [p, ec] = std::from_chars(text.data(), text.data() + i, number);
  if (ec != std::errc()) return false;
  unit = text.substr(i);
  return true;
}

bool Multiply(uint64_t a, uint64_t b, uint64_t& out) {
  if (a != 0 && b > std::numeric_limits<uint64_t>::max() / a) return false;
  out = a * b;
  return true;
}

}  // namespace

bool ParseDuration(std::string_view text, std::chrono::milliseconds& out) {
  uint64_t n = 0;
  std::string_view unit;
  if (!SplitNumber(text, n, unit)) return false;
  uint64_t factor = 0;
  if (unit == "ms") {
    factor = 1;
  } else if (unit == "s") {
    factor = 1000;
  } else if (unit == "m") {
    factor = 60'000;
  } else if (unit == "h") {
    factor = 3'600'000;
  } else if (unit == "d") {
    factor = 86'400'000;
  } else {
    return false;
  }
  uint64_t ms = 0;
  if (!Multiply(n, factor, ms) || ms > static_cast<uint64_t>(INT64_MAX)) return false;
  out = std::chrono::milliseconds(static_cast<int64_t>(ms));
  return true;
}

bool ParseSize(std::string_view text, uint64_t& out) {
  uint64_t n = 0;
  std::string_view unit;
  if (!SplitNumber(text, n, unit)) return false;
  uint64_t factor = 0;
  if (unit.empty() || unit == "B") {
    factor = 1;
  } else if (unit == "KiB") {
    factor = 1ull << 10;
  } else if (unit == "MiB") {
    factor = 1ull << 20;
  } else if (unit == "GiB") {
    factor = 1ull << 30;
  } else if (unit == "TiB") {
    factor = 1ull << 40;
  } else {
    return false;
  }
  return Multiply(n, factor, out);
}

}  // namespace vigil::collector::app
