// Fuzzes HttpAnalyzer (request/response framing, chunking, pipelining,
// CONNECT tunnels into nested analyzers) and its field helpers.
#include "agent/analyzers/http/http_analyzer.h"
#include "tests/fuzz/analyzers/analyzer_fuzz_driver.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vigil::agent::analyzers;
  if (size == 0) return 0;
  const uint8_t variant = data[0] & 3;
  std::span<const uint8_t> rest(data + 1, size - 1);
  if (variant == 3) {
    const std::string_view text(reinterpret_cast<const char*>(rest.data()), rest.size());
    (void)http::UnescapeUri(text);
    bool basic = false;
    (void)http::BasicAuthUser(text, basic);
    (void)http::SniffMimeType(rest);
    return 0;
  }
  FlowInfo flow;
  flow.transport = vigil::v1::TRANSPORT_TCP;
  flow.resp_port = variant == 0 ? 80 : 8443;
  flow.tunnel_depth = variant == 2 ? 1 : 0;
  const auto mode =
      variant == 0 ? http::HttpAnalyzer::Mode::kPort : http::HttpAnalyzer::Mode::kDetect;
  vigil::fuzz::CheckingContext ctx;
  http::HttpAnalyzer analyzer(mode, flow, ctx);
  vigil::fuzz::DriveScript(analyzer, rest);
  return 0;
}
