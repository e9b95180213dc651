#include "agent/capture/pcap_handle.h"

namespace vigil::agent::capture {
namespace {
constexpr std::chrono::seconds kStatsPollInterval{1};
}  // namespace

PcapSource::PcapSource(pcap_t* handle, std::string name, bool offline, bool nanosecond)
    : handle_(handle),
      name_(std::move(name)),
      offline_(offline),
      nanosecond_(nanosecond),
      link_type_(pcap_datalink(handle)) {}

PcapSource::~PcapSource() {
  if (handle_ != nullptr) pcap_close(handle_);
}

std::expected<void, std::string> PcapSource::SetFilter(const std::string& filter) {
  if (filter.empty()) return {};
  bpf_program program{};
  if (pcap_compile(handle_, &program, filter.c_str(), /*optimize=*/1, PCAP_NETMASK_UNKNOWN) != 0) {
    return std::unexpected("bad BPF filter \"" + filter + "\": " + pcap_geterr(handle_));
  }
  const int rc = pcap_setfilter(handle_, &program);
  pcap_freecode(&program);
  if (rc != 0) {
    return std::unexpected("cannot install BPF filter: " + std::string(pcap_geterr(handle_)));
  }
  return {};
}

ReadStatus PcapSource::Next(Packet& packet) {
  if (interrupted_.load(std::memory_order_relaxed)) return ReadStatus::kEnd;
  if (!offline_) PollKernelStats();
  pcap_pkthdr* header = nullptr;
  const u_char* data = nullptr;
  const int rc = pcap_next_ex(handle_, &header, &data);
  switch (rc) {
    case 1: {
      const int64_t frac = nanosecond_ ? header->ts.tv_usec : int64_t{header->ts.tv_usec} * 1000;
      packet.ts_ns = int64_t{header->ts.tv_sec} * 1'000'000'000 + frac;
      packet.wire_len = header->len;
      packet.data = std::span<const uint8_t>(data, header->caplen);
      packets_.store(packets_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
      bytes_.store(bytes_.load(std::memory_order_relaxed) + header->len, std::memory_order_relaxed);
      return ReadStatus::kPacket;
    }
    case 0:
      return ReadStatus::kTimeout;
    case PCAP_ERROR_BREAK:
      // End of file, or pcap_breakloop() from Interrupt().
      if (!offline_) PollKernelStats();
      return ReadStatus::kEnd;
    default:
      error_ = pcap_geterr(handle_);
      return ReadStatus::kError;
  }
}

ReadStatus PcapSource::NextBatch(PacketBatch& batch, size_t max) {
  batch.Clear();
  if (error_pending_) return ReadStatus::kError;
  if (interrupted_.load(std::memory_order_relaxed)) return ReadStatus::kEnd;
  if (!offline_) PollKernelStats();
  struct Fill {
    PacketBatch* batch;
    bool nanosecond;
    uint64_t bytes = 0;
  } fill{&batch, nanosecond_};
  const int rc = pcap_dispatch(
      handle_, static_cast<int>(max),
      [](u_char* user, const pcap_pkthdr* h, const u_char* data) {
        auto* f = reinterpret_cast<Fill*>(user);
        const int64_t frac = f->nanosecond ? h->ts.tv_usec : int64_t{h->ts.tv_usec} * 1000;
        f->batch->Add(int64_t{h->ts.tv_sec} * 1'000'000'000 + frac, h->len,
                      std::span<const uint8_t>(data, h->caplen));
        f->bytes += h->len;
      },
      reinterpret_cast<u_char*>(&fill));
  if (rc < 0 && rc != PCAP_ERROR_BREAK) {
    error_ = pcap_geterr(handle_);
    error_pending_ = true;
  }
  if (!batch.empty()) {
    // Packets read before a break or an error are delivered; the next call
    // reports the condition (pcap_breakloop() stays set; the error is kept).
    packets_.store(packets_.load(std::memory_order_relaxed) + batch.size(),
                   std::memory_order_relaxed);
    bytes_.store(bytes_.load(std::memory_order_relaxed) + fill.bytes, std::memory_order_relaxed);
    return ReadStatus::kPacket;
  }
  if (error_pending_) return ReadStatus::kError;
  if (rc == 0) return offline_ ? ReadStatus::kEnd : ReadStatus::kTimeout;
  if (!offline_) PollKernelStats();
  return ReadStatus::kEnd;  // PCAP_ERROR_BREAK
}

void PcapSource::PollKernelStats() {
  const auto now = std::chrono::steady_clock::now();
  if (now < next_stats_poll_) return;
  next_stats_poll_ = now + kStatsPollInterval;
  pcap_stat st{};
  if (pcap_stats(handle_, &st) == 0) {
    kernel_drops_.store(st.ps_drop, std::memory_order_relaxed);
    interface_drops_.store(st.ps_ifdrop, std::memory_order_relaxed);
  }
}

CaptureStats PcapSource::Stats() const {
  CaptureStats s;
  s.packets_received = packets_.load(std::memory_order_relaxed);
  s.bytes_received = bytes_.load(std::memory_order_relaxed);
  s.kernel_drops = kernel_drops_.load(std::memory_order_relaxed);
  s.interface_drops = interface_drops_.load(std::memory_order_relaxed);
  return s;
}

void PcapSource::Interrupt() {
  interrupted_.store(true, std::memory_order_relaxed);
  pcap_breakloop(handle_);
}

}  // namespace vigil::agent::capture
