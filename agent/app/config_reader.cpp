#include "agent/app/config_reader.h"

#include <charconv>
#include <set>

namespace vigil::agent::app {
namespace {

bool ParseUint(std::string_view text, uint64_t& out) {
  if (text.empty()) return false;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && ptr == text.data() + text.size();
}

}  // namespace

std::string Diagnostic::ToString() const {
  std::string s = file;
  if (line > 0) s += ":" + std::to_string(line) + ":" + std::to_string(column);
  return s + ": error: " + message;
}

bool ParseDuration(std::string_view text, std::chrono::milliseconds& out) {
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  uint64_t n = 0;
  if (!ParseUint(text.substr(0, digits), n)) return false;
  const std::string_view unit = text.substr(digits);
  uint64_t ms_per_unit = 0;
  if (unit == "ms") {
    ms_per_unit = 1;
  } else if (unit == "s") {
    ms_per_unit = 1000;
  } else if (unit == "m") {
    ms_per_unit = 60'000;
  } else if (unit == "h") {
    ms_per_unit = 3'600'000;
  } else if (unit == "d") {
    ms_per_unit = 86'400'000;
  } else {
    return false;
  }
  if (n > UINT64_MAX / ms_per_unit / 1000) return false;  // keep room for ns conversions
  out = std::chrono::milliseconds(static_cast<int64_t>(n * ms_per_unit));
  return true;
}

bool ParseSize(std::string_view text, uint64_t& out) {
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  uint64_t n = 0;
  if (!ParseUint(text.substr(0, digits), n)) return false;
  const std::string_view unit = text.substr(digits);
  uint64_t mult = 0;
  if (unit.empty() || unit == "B") {
    mult = 1;
  } else if (unit == "KiB") {
    mult = 1ull << 10;
  } else if (unit == "MiB") {
    mult = 1ull << 20;
  } else if (unit == "GiB") {
    mult = 1ull << 30;
  } else if (unit == "TiB") {
    mult = 1ull << 40;
  } else {
    return false;
  }
  if (n > UINT64_MAX / mult) return false;
  out = n * mult;
  return true;
}

YAML::Node ConfigReader::Parse(const std::string& text) {
  try {
    YAML::Node root = YAML::Load(text);
    if (!root || root.IsNull()) {
      Error("the file is empty");
      return YAML::Node();
    }
    return root;
  } catch (const YAML::Exception& e) {
    Error(e.mark, e.msg);
    return YAML::Node();
  }
}

void ConfigReader::Error(const YAML::Node& at, std::string message) {
  Error(at.Mark(), std::move(message));
}

void ConfigReader::Error(const YAML::Mark& at, std::string message) {
  Diagnostic d;
  d.file = file_;
  if (!at.is_null()) {
    d.line = at.line + 1;  // yaml-cpp marks are 0-based
    d.column = at.column + 1;
  }
  d.message = std::move(message);
  diagnostics_.push_back(std::move(d));
}

void ConfigReader::Error(std::string message) {
  diagnostics_.push_back(Diagnostic{file_, 0, 0, std::move(message)});
}

void ConfigReader::Map(const YAML::Node& node, std::string_view what,
                       const std::map<std::string, KeyHandler, std::less<>>& handlers) {
  if (!node.IsMap()) {
    Error(node, std::string(what) + " must be a mapping");
    return;
  }
  std::set<std::string, std::less<>> seen;
  for (auto it = node.begin(); it != node.end(); ++it) {
    const YAML::Node key = it->first;  // a copy: it-> returns a temporary proxy
    if (!key.IsScalar()) {
      Error(key, "keys in " + std::string(what) + " must be names");
      continue;
    }
    const std::string name = key.Scalar();
    if (!seen.insert(name).second) {
      Error(key, "duplicate key '" + name + "' in " + std::string(what));
      continue;
    }
    auto h = handlers.find(name);
    if (h == handlers.end()) {
      std::string known;
      for (const auto& [k, unused] : handlers) known += (known.empty() ? "" : ", ") + k;
      Error(key, "unknown key '" + name + "' in " + std::string(what) +
                     " (expected one of: " + known + ")");
      continue;
    }
    try {
      h->second(it->second);
    } catch (const YAML::Exception& e) {
      Error(e.mark, e.msg);
    }
  }
}

bool ConfigReader::Scalar(const YAML::Node& n, std::string_view expected) {
  if (!n.IsScalar()) {
    Error(n, "expected " + std::string(expected));
    return false;
  }
  return true;
}

void ConfigReader::Read(const YAML::Node& n, std::string& out) {
  if (n.IsNull()) {
    out.clear();
    return;
  }
  if (Scalar(n, "a string")) out = n.Scalar();
}

void ConfigReader::Read(const YAML::Node& n, bool& out) {
  if (!Scalar(n, "true or false")) return;
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
  if (!Scalar(n, "a number")) return;
  uint64_t v = 0;
  if (!ParseUint(n.Scalar(), v)) {
    Error(n, "expected a non-negative integer, got '" + n.Scalar() + "'");
    return;
  }
  if (v < min || v > max) {
    Error(n, "value " + n.Scalar() + " is out of range [" + std::to_string(min) + ", " +
                 std::to_string(max) + "]");
    return;
  }
  out = v;
}

void ConfigReader::Read(const YAML::Node& n, uint32_t& out, uint32_t min, uint32_t max) {
  uint64_t v = out;
  const size_t before = diagnostics_.size();
  Read(n, v, min, max);
  if (diagnostics_.size() == before) out = static_cast<uint32_t>(v);
}

void ConfigReader::Read(const YAML::Node& n, std::vector<std::string>& out) {
  if (!n.IsSequence()) {
    Error(n, "expected a list of strings");
    return;
  }
  std::vector<std::string> values;
  for (const YAML::Node& item : n) {
    if (!item.IsScalar()) {
      Error(item, "expected a string");
      continue;
    }
    values.push_back(item.Scalar());
  }
  out = std::move(values);
}

void ConfigReader::ReadDuration(const YAML::Node& n, std::chrono::milliseconds& out,
                                std::chrono::milliseconds min) {
  if (!Scalar(n, "a duration")) return;
  std::chrono::milliseconds v{};
  if (!ParseDuration(n.Scalar(), v)) {
    Error(n, "expected a duration like 500ms, 30s, 5m, 2h or 7d, got '" + n.Scalar() + "'");
    return;
  }
  if (v < min) {
    Error(n, "duration '" + n.Scalar() + "' is below the minimum of " +
                 std::to_string(min.count()) + "ms");
    return;
  }
  out = v;
}

void ConfigReader::ReadSize(const YAML::Node& n, uint64_t& out, uint64_t min) {
  if (!Scalar(n, "a size")) return;
  uint64_t v = 0;
  if (!ParseSize(n.Scalar(), v)) {
    Error(n, "expected a size like 512KiB, 64MiB, 2GiB or a number of bytes, got '" + n.Scalar() +
                 "'");
    return;
  }
  if (v < min) {
    Error(n, "size '" + n.Scalar() + "' is below the minimum of " + std::to_string(min) + " bytes");
    return;
  }
  out = v;
}

}  // namespace vigil::agent::app
