// Fuzzes the DNS message parser and DnsAnalyzer (UDP, TCP framing, mDNS).
#include "agent/analyzers/dns/dns_analyzer.h"
#include "agent/analyzers/dns/dns_message.h"
#include "tests/fuzz/analyzers/analyzer_fuzz_driver.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vigil::agent::analyzers;
  if (size == 0) return 0;
  const uint8_t variant = data[0] & 3;
  std::span<const uint8_t> rest(data + 1, size - 1);
  if (variant == 3) {
    dns::Message msg;
    (void)dns::ParseMessage(rest, msg);
    return 0;
  }
  FlowInfo flow;
  flow.transport = variant == 1 ? vigil::v1::TRANSPORT_TCP : vigil::v1::TRANSPORT_UDP;
  flow.resp_port = (data[0] & 4) ? 137 : (variant == 2 ? 5353 : 53);
  flow.resp_multicast = variant == 2;
  vigil::fuzz::CheckingContext ctx;
  dns::DnsAnalyzer analyzer(flow, ctx);
  vigil::fuzz::DriveScript(analyzer, rest);
  return 0;
}
