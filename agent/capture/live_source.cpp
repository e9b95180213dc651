// Live capture on one interface. pcap_activate() warnings (e.g. promiscuous
// mode not supported) are not fatal; errors are returned with libpcap's text.

#include <limits>
#include <memory>

#include "agent/capture/pcap_handle.h"
#include "agent/capture/pcap_sources.h"

namespace vigil::agent::capture {

std::expected<std::unique_ptr<PacketSource>, std::string> OpenLiveSource(
    const LiveSourceOptions& options) {
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  pcap_t* handle = pcap_create(options.interface.c_str(), errbuf);
  if (handle == nullptr) return std::unexpected(options.interface + ": " + errbuf);
  auto fail = [&](const std::string& what) {
    std::string message = options.interface + ": " + what + ": " + pcap_geterr(handle);
    pcap_close(handle);
    return std::unexpected(message);
  };
  if (pcap_set_snaplen(handle, options.snaplen) != 0) return fail("cannot set snaplen");
  if (pcap_set_promisc(handle, options.promiscuous ? 1 : 0) != 0) {
    return fail("cannot set promiscuous mode");
  }
  const uint64_t buffer = std::min<uint64_t>(options.buffer_size, std::numeric_limits<int>::max());
  if (pcap_set_buffer_size(handle, static_cast<int>(buffer)) != 0) {
    return fail("cannot set buffer size");
  }
  if (pcap_set_timeout(handle, options.timeout_ms) != 0) return fail("cannot set read timeout");
  if (pcap_set_immediate_mode(handle, options.immediate ? 1 : 0) != 0) {
    return fail("cannot set immediate mode");
  }
  // Nanosecond timestamps where the platform offers them.
  pcap_set_tstamp_precision(handle, PCAP_TSTAMP_PRECISION_NANO);
  const int rc = pcap_activate(handle);
  if (rc < 0) {
    std::string detail = pcap_statustostr(rc);
    std::string message = pcap_geterr(handle);
    pcap_close(handle);
    if (message.empty()) message = detail;
    return std::unexpected(options.interface + ": " + message);
  }
  const bool nano = pcap_get_tstamp_precision(handle) == PCAP_TSTAMP_PRECISION_NANO;
  auto source = std::make_unique<PcapSource>(handle, options.interface, /*offline=*/false, nano);
  if (auto ok = source->SetFilter(options.bpf_filter); !ok) return std::unexpected(ok.error());
  return source;
}

}  // namespace vigil::agent::capture
