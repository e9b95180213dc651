#include "tests/collector/metrics/support/exposition.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <set>

namespace vigil::testing {
namespace {

bool NameChar(char c, bool first) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':' ||
         (!first && std::isdigit(static_cast<unsigned char>(c)));
}

std::expected<double, std::string> ParseValue(std::string_view v) {
  if (v == "+Inf" || v == "Inf") return INFINITY;
  if (v == "-Inf") return -INFINITY;
  if (v == "NaN" || v == "Nan") return NAN;
  std::string s(v);
  char* end = nullptr;
  const double d = std::strtod(s.c_str(), &end);
  if (end == s.c_str() || *end != '\0') return std::unexpected("bad value '" + s + "'");
  return d;
}

}  // namespace

std::expected<Exposition, std::string> ParseExposition(std::string_view text) {
  Exposition out;
  std::size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    const auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    const auto err = [&](const std::string& what) {
      return std::unexpected("line " + std::to_string(line_no) + ": " + what + ": " +
                             std::string(line));
    };
    if (line.empty()) continue;
    if (line[0] == '#') {
      if (line.starts_with("# TYPE ") || line.starts_with("# HELP ")) {
        std::string_view rest = line.substr(7);
        const auto sp = rest.find(' ');
        if (sp == std::string_view::npos) return err("incomplete comment");
        auto& target = line[2] == 'T' ? out.types : out.help;
        target[std::string(rest.substr(0, sp))] = std::string(rest.substr(sp + 1));
      }
      continue;
    }
    Sample s;
    std::size_t i = 0;
    while (i < line.size() && NameChar(line[i], i == 0)) ++i;
    if (i == 0) return err("bad metric name");
    s.name = std::string(line.substr(0, i));
    if (i < line.size() && line[i] == '{') {
      ++i;
      for (;;) {
        if (i < line.size() && line[i] == '}') {
          ++i;
          break;
        }
        const std::size_t start = i;
        while (i < line.size() && NameChar(line[i], i == start)) ++i;
        if (i == start || i + 1 >= line.size() || line[i] != '=' || line[i + 1] != '"') {
          return err("bad label");
        }
        std::string name(line.substr(start, i - start));
        i += 2;
        std::string value;
        bool closed = false;
        while (i < line.size()) {
          const char c = line[i++];
          if (c == '"') {
            closed = true;
            break;
          }
          if (c == '\\') {
            if (i >= line.size()) return err("dangling escape");
            const char e = line[i++];
            if (e == 'n') {
              value.push_back('\n');
            } else if (e == '\\' || e == '"') {
              value.push_back(e);
            } else {
              return err("bad escape");
            }
          } else {
            value.push_back(c);
          }
        }
        if (!closed) return err("unterminated label value");
        if (!s.labels.emplace(std::move(name), std::move(value)).second) {
          return err("duplicate label");
        }
        if (i < line.size() && line[i] == ',') ++i;
      }
    }
    if (i >= line.size() || line[i] != ' ') return err("missing value");
    std::string_view rest = line.substr(i + 1);
    const auto sp = rest.find(' ');  // optional timestamp after the value
    auto value = ParseValue(rest.substr(0, sp));
    if (!value) return err(value.error());
    s.value = *value;
    out.samples.push_back(std::move(s));
  }
  return out;
}

std::vector<const Sample*> Find(const Exposition& e, std::string_view name,
                                const std::map<std::string, std::string>& match) {
  std::vector<const Sample*> out;
  for (const auto& s : e.samples) {
    if (s.name != name) continue;
    bool ok = true;
    for (const auto& [k, v] : match) {
      const auto it = s.labels.find(k);
      if (it == s.labels.end() || it->second != v) {
        ok = false;
        break;
      }
    }
    if (ok) out.push_back(&s);
  }
  return out;
}

const Sample* FindExact(const Exposition& e, std::string_view name,
                        const std::map<std::string, std::string>& labels) {
  for (const auto& s : e.samples) {
    if (s.name == name && s.labels == labels) return &s;
  }
  return nullptr;
}

std::vector<std::vector<std::string>> LabelNameSets(const Exposition& e, std::string_view name) {
  std::set<std::vector<std::string>> sets;
  for (const auto& s : e.samples) {
    if (s.name != name) continue;
    std::vector<std::string> names;
    for (const auto& [k, v] : s.labels) names.push_back(k);
    sets.insert(names);
  }
  return {sets.begin(), sets.end()};
}

}  // namespace vigil::testing
