// Capture files: pcap and pcapng through libpcap, asking for nanosecond
// timestamps so files that have them keep them (microsecond files are scaled).

#include <memory>

#include "agent/capture/pcap_handle.h"
#include "agent/capture/pcap_sources.h"

namespace vigil::agent::capture {

std::expected<std::unique_ptr<PacketSource>, std::string> OpenFileSource(
    const FileSourceOptions& options) {
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  pcap_t* handle = pcap_open_offline_with_tstamp_precision(options.path.c_str(),
                                                           PCAP_TSTAMP_PRECISION_NANO, errbuf);
  if (handle == nullptr) return std::unexpected(std::string(errbuf));
  const bool nano = pcap_get_tstamp_precision(handle) == PCAP_TSTAMP_PRECISION_NANO;
  auto source = std::make_unique<PcapSource>(handle, options.path, /*offline=*/true, nano);
  if (auto ok = source->SetFilter(options.bpf_filter); !ok) return std::unexpected(ok.error());
  return source;
}

}  // namespace vigil::agent::capture
