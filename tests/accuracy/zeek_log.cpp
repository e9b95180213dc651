#include "tests/accuracy/zeek_log.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace vigil::accuracy {
namespace {

std::vector<std::string> Split(const std::string& line, char sep) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in(line);
  while (std::getline(in, cur, sep)) out.push_back(cur);
  if (!line.empty() && line.back() == sep) out.emplace_back();
  return out;
}

std::string Render(const nlohmann::json& v) {
  if (v.is_boolean()) return v.get<bool>() ? "T" : "F";
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_unsigned()) return std::to_string(v.get<uint64_t>());
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  if (v.is_number_float()) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%.6f", v.get<double>());
    return buf;
  }
  if (v.is_array()) {
    std::string s;
    for (const auto& item : v) {
      if (!s.empty()) s += ",";
      s += Render(item);
    }
    return s.empty() ? "(empty)" : s;
  }
  return "-";
}

}  // namespace

std::vector<Row> ReadZeekLog(const std::string& path) {
  std::ifstream in(path);
  std::vector<Row> rows;
  std::vector<std::string> fields;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    if (line.rfind("#fields\t", 0) == 0) {
      fields = Split(line.substr(8), '\t');
      continue;
    }
    if (line[0] == '#') continue;
    if (fields.empty()) {  // zeek-cut -m: the first line names the columns
      fields = Split(line, '\t');
      continue;
    }
    const std::vector<std::string> values = Split(line, '\t');
    Row row;
    for (size_t i = 0; i < fields.size() && i < values.size(); ++i) row[fields[i]] = values[i];
    rows.push_back(std::move(row));
  }
  return rows;
}

std::map<std::string, std::vector<Row>> ParseAgentJson(const std::string& text) {
  std::map<std::string, std::vector<Row>> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) {
      out["invalid"].push_back(Row{{"line", line}});
      continue;
    }
    Row row;
    for (const auto& [key, value] : j.items()) row[key] = Render(value);
    out[row["_path"]].push_back(std::move(row));
  }
  return out;
}

std::string Get(const Row& row, const std::string& field) {
  auto it = row.find(field);
  return it == row.end() ? "-" : it->second;
}

}  // namespace vigil::accuracy
