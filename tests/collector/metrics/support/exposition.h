#pragma once
// Parses the Prometheus text exposition format (version 0.0.4) into samples,
// so tests can assert on series by name and labels instead of grepping text.
// Strict: any malformed line is an error naming the line. Pure functions.

#include <expected>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace vigil::testing {

struct Sample {
  std::string name;  ///< as written: includes _bucket/_sum/_count suffixes
  std::map<std::string, std::string> labels;
  double value = 0;
};

struct Exposition {
  std::vector<Sample> samples;
  std::map<std::string, std::string> types;  ///< family name -> counter/gauge/histogram/...
  std::map<std::string, std::string> help;
};

std::expected<Exposition, std::string> ParseExposition(std::string_view text);

/// Samples of `name` whose labels include every pair of `match`.
std::vector<const Sample*> Find(const Exposition& e, std::string_view name,
                                const std::map<std::string, std::string>& match = {});

/// The one sample of `name` with exactly `labels`; nullptr if none.
const Sample* FindExact(const Exposition& e, std::string_view name,
                        const std::map<std::string, std::string>& labels);

/// Distinct label-name sets used by a metric name.
std::vector<std::vector<std::string>> LabelNameSets(const Exposition& e, std::string_view name);

}  // namespace vigil::testing
