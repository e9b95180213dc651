// Fuzzes the TLS hello parsers, JA3/JA4 and TlsAnalyzer (record and
// handshake reassembly, STARTTLS scanning).
#include "agent/analyzers/tls/fingerprint.h"
#include "agent/analyzers/tls/hello.h"
#include "agent/analyzers/tls/tls_analyzer.h"
#include "tests/fuzz/analyzers/analyzer_fuzz_driver.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vigil::agent::analyzers::tls;
  if (size == 0) return 0;
  const uint8_t variant = data[0] & 3;
  std::span<const uint8_t> rest(data + 1, size - 1);
  if (variant == 3) {
    ClientHello hello;
    if (ParseClientHello(rest, (data[0] & 4) != 0, hello) == HelloError::kNone) {
      (void)Ja3(hello);
      (void)Ja4(hello, Ja4Transport::kTcp);
      (void)Ja4Raw(hello, Ja4Transport::kDtls);
    }
    ServerHello server;
    (void)ParseServerHello(rest, server);
    return 0;
  }
  const auto mode = variant == 0   ? TlsAnalyzer::Mode::kPort
                    : variant == 1 ? TlsAnalyzer::Mode::kDetect
                                   : TlsAnalyzer::Mode::kStartTls;
  vigil::fuzz::CheckingContext ctx;
  TlsAnalyzer analyzer(mode, ctx);
  vigil::fuzz::DriveScript(analyzer, rest);
  return 0;
}
