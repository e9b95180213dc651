#pragma once
// Reading Zeek's TSV logs (with a #fields header, or the bare header line
// zeek-cut -m writes) and the agent's JSON lines into one row type: a map
// from field name to the value as Zeek would print it ("-" when unset).
//
// Test helper; not thread-safe.

#include <map>
#include <string>
#include <vector>

namespace vigil::accuracy {

using Row = std::map<std::string, std::string>;

/// Rows of a Zeek TSV log; columns missing from a partial log are absent.
std::vector<Row> ReadZeekLog(const std::string& path);

/// The agent's JSON lines grouped by `_path` ("conn", "dns", ...), rendered
/// in Zeek's text conventions (T/F booleans, comma-joined sets, "-" unset).
std::map<std::string, std::vector<Row>> ParseAgentJson(const std::string& text);

/// Value of `field` or "-".
std::string Get(const Row& row, const std::string& field);

}  // namespace vigil::accuracy
