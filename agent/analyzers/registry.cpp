#include "agent/analyzers/registry.h"

#include "agent/analyzers/dns/dns_analyzer.h"
#include "agent/analyzers/http/http_analyzer.h"
#include "agent/analyzers/tls/tls_analyzer.h"

namespace vigil::agent::analyzers {
namespace {

// The one table of protocols. Each factory decides from the flow (ports,
// first payload) whether its analyzer is a candidate and returns nullptr if
// not. Order is the order analyzers see each delivery.
struct Protocol {
  std::string_view service;
  std::unique_ptr<Analyzer> (*maybe_create)(const FlowInfo&, AnalyzerContext&);
};

constexpr Protocol kProtocols[] = {
    {"dns", &dns::MaybeCreate},
    {"http", &http::MaybeCreate},
    {"ssl", &tls::MaybeCreate},
};

constexpr std::string_view kServices[] = {"dns", "http", "ssl"};
static_assert(std::size(kServices) == std::size(kProtocols));

}  // namespace

std::vector<std::unique_ptr<Analyzer>> CreateCandidates(const FlowInfo& flow,
                                                        AnalyzerContext& ctx) {
  std::vector<std::unique_ptr<Analyzer>> out;
  for (const Protocol& p : kProtocols) {
    if (auto a = p.maybe_create(flow, ctx)) {
      if (out.empty()) out.reserve(std::size(kProtocols));
      out.push_back(std::move(a));
    }
  }
  return out;
}

std::span<const std::string_view> KnownServices() { return kServices; }

}  // namespace vigil::agent::analyzers
