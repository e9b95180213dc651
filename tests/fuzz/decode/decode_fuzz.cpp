// Fuzz harness for the agent's packet path, one binary per decoder family
// (VIGIL_FUZZ_MODE, set by CMake):
//   link       first byte picks the link type, the rest is one frame
//   ipv4/ipv6  a sequence of raw IP packets ([u16 length][bytes]...) through
//              one decoder, so fragment reassembly sees related pieces
//   transport  first byte picks TCP/UDP/ICMP/ICMPv6/SCTP and checksum
//              verification; the rest is the segment inside a valid IP header
//   tunnels    first byte picks GRE/VXLAN/Geneve/Teredo/GTP-U/IP-in-IP; the
//              rest is the tunnel payload inside a valid outer IP (+UDP)
//   pipeline   a sequence of frames through decoder, flow table (with the
//              analyzers) and the JSON writer
// The harness only checks what must hold for any input: no crash, no
// sanitizer report, and internal accounting that closes.

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "agent/analyzers/registry.h"
#include "agent/decode/decoder.h"
#include "agent/export/record_sink.h"
#include "agent/export/zeek_json.h"
#include "agent/flow/flow_table.h"

namespace {

using vigil::agent::decode::DecodedPacket;
using vigil::agent::decode::Decoder;
using vigil::agent::decode::DecodeResult;
using vigil::agent::decode::DecoderOptions;
namespace link_type = vigil::agent::decode::link_type;

enum class Mode { kLink, kIpv4, kIpv6, kTransport, kTunnels, kPipeline };
constexpr Mode kMode = Mode::VIGIL_FUZZ_MODE;

DecoderOptions SmallOptions(bool verify) {
  DecoderOptions o;
  o.verify_checksums = verify;
  o.max_fragment_datagrams = 8;
  o.max_fragment_bytes = 256 * 1024;
  return o;
}

void Check(bool ok) {
  if (!ok) std::abort();
}

// Every decoded layer must describe bytes inside the buffers it points to.
void CheckPacket(const DecodedPacket& p) {
  Check(p.layer_count <= vigil::agent::decode::kMaxLayers);
  Check(p.vlan_count <= vigil::agent::decode::kMaxRecordedVlans);
  for (int i = 0; i < p.layer_count; ++i) {
    const auto& l = p.layers[i];
    Check(l.ip_version == 4 || l.ip_version == 6);
    Check(l.ip.size() <= l.ip_total_len);
    Check(l.payload.size() <= l.payload_len || l.payload_len == 0);
    uint8_t acc = 0;
    for (uint8_t b : l.payload) acc ^= b;  // touch every byte (ASan checks the span)
    for (uint8_t b : l.ip) acc ^= b;
    asm volatile("" : : "r"(acc));  // keep the reads
  }
}

void Decode(Decoder& d, int link, std::span<const uint8_t> frame, int64_t ts, DecodedPacket& p) {
  const DecodeResult r = d.Decode(link, ts, static_cast<uint32_t>(frame.size()), frame, p);
  if (r == DecodeResult::kIp) CheckPacket(p);
  const auto& s = d.stats();
  Check(s.ip_packets + s.non_ip_packets + s.malformed_packets <= s.packets);
}

// Splits [u16 length][bytes]... records; a short tail is one last record.
std::vector<std::span<const uint8_t>> Records(std::span<const uint8_t> in) {
  std::vector<std::span<const uint8_t>> out;
  while (in.size() >= 2 && out.size() < 64) {
    const size_t n = std::min<size_t>((in[0] << 8 | in[1]), in.size() - 2);
    out.push_back(in.subspan(2, n));
    in = in.subspan(2 + n);
  }
  return out;
}

void Put16(std::vector<uint8_t>& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}

std::vector<uint8_t> Ipv4(uint8_t proto, std::span<const uint8_t> payload) {
  std::vector<uint8_t> b = {0x45, 0};
  Put16(b, static_cast<uint16_t>(20 + payload.size()));
  b.insert(b.end(), {0, 1, 0x40, 0, 64, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2});
  b.insert(b.end(), payload.begin(), payload.end());
  return b;
}

std::vector<uint8_t> Ipv6(uint8_t next, std::span<const uint8_t> payload) {
  std::vector<uint8_t> b = {0x60, 0, 0, 0};
  Put16(b, static_cast<uint16_t>(payload.size()));
  b.push_back(next);
  b.push_back(64);
  for (int i = 0; i < 2; ++i) {
    const uint8_t a[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
                           0,    0,    0,    0,    0, 0, 0, static_cast<uint8_t>(i + 1)};
    b.insert(b.end(), a, a + 16);
  }
  b.insert(b.end(), payload.begin(), payload.end());
  return b;
}

std::vector<uint8_t> Udp(uint16_t sport, uint16_t dport, std::span<const uint8_t> payload) {
  std::vector<uint8_t> b;
  Put16(b, sport);
  Put16(b, dport);
  Put16(b, static_cast<uint16_t>(8 + payload.size()));
  Put16(b, 0);
  b.insert(b.end(), payload.begin(), payload.end());
  return b;
}

class NullSink final : public vigil::agent::exporter::RecordSink {
 public:
  void Emit(vigil::v1::Event&& e) override {
    line_.clear();
    vigil::agent::exporter::RenderZeekJson(e, line_);
    ++records;
  }
  uint64_t records = 0;

 private:
  std::string line_;
};

void FuzzPipeline(std::span<const uint8_t> in) {
  if (in.empty()) return;
  static constexpr int kLinks[] = {link_type::kEthernet, link_type::kRaw, link_type::kLinuxSll,
                                   link_type::kNull};
  const int link = kLinks[in[0] % 4];
  const bool verify = in[0] & 0x10;
  Decoder d(SmallOptions(verify));
  NullSink sink;
  vigil::agent::flow::FlowTableOptions fo;
  fo.max_flows = 16;  // exercise eviction
  fo.seed = 1;
  fo.timeouts.active_ns = 2'000'000'000;
  fo.tcp.max_ooo_bytes = 4096;
  fo.tcp.max_ooo_blocks = 8;
  vigil::agent::flow::FlowTable table(fo, sink, [](const auto& info, auto& ctx) {
    return vigil::agent::analyzers::CreateCandidates(info, ctx);
  });
  DecodedPacket p;
  int64_t ts = 1'000'000'000;
  for (auto rec : Records(in.subspan(1))) {
    if (rec.empty()) continue;
    ts += static_cast<int64_t>(rec[0]) * 100'000'000;  // up to 25 s between packets
    const DecodeResult r = d.Decode(link, ts, static_cast<uint32_t>(rec.size()), rec, p);
    if (r == DecodeResult::kIp) {
      CheckPacket(p);
      table.Process(p);
    } else {
      table.Advance(ts);
    }
  }
  table.FlushAll();
  const auto& s = table.stats();
  Check(table.active_flows() == 0);
  uint64_t ended = 0;
  for (uint64_t n : s.flows_ended) ended += n;
  Check(ended == s.flows_created);
  Check(s.records_emitted >= s.flows_created);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> in(data, size);
  DecodedPacket p;
  switch (kMode) {
    case Mode::kLink: {
      if (in.empty()) return 0;
      static constexpr int kLinks[] = {
          link_type::kEthernet, link_type::kNull,      link_type::kLoop, link_type::kRaw,
          link_type::kLinuxSll, link_type::kLinuxSll2, link_type::kIpv6, 147};
      Decoder d(SmallOptions(in[0] & 0x80));
      Decode(d, kLinks[in[0] & 7], in.subspan(1), 1, p);
      break;
    }
    case Mode::kIpv4:
    case Mode::kIpv6: {
      if (in.empty()) return 0;
      Decoder d(SmallOptions(in[0] & 1));
      int64_t ts = 0;
      for (auto rec : Records(in.subspan(1))) {
        ts += 1'000'000'000;  // one second apart: the 30 s fragment timeout also gets exercised
        Decode(d, kMode == Mode::kIpv4 ? link_type::kIpv4 : link_type::kIpv6, rec, ts, p);
      }
      break;
    }
    case Mode::kTransport: {
      if (in.empty()) return 0;
      static constexpr uint8_t kProtos[] = {6, 17, 1, 132};
      const uint8_t proto = kProtos[in[0] & 3];
      const bool v6 = in[0] & 4;
      Decoder d(SmallOptions(in[0] & 8));
      const auto body = in.subspan(1);
      const auto ip = v6 ? Ipv6(proto == 1 ? 58 : proto, body) : Ipv4(proto, body);
      Decode(d, link_type::kRaw, ip, 1, p);
      break;
    }
    case Mode::kTunnels: {
      if (in.empty()) return 0;
      const auto body = in.subspan(1);
      std::vector<uint8_t> frame;
      switch (in[0] % 7) {
        case 0:
          frame = Ipv4(47, body);
          break;  // GRE
        case 1:
          frame = Ipv4(17, Udp(49152, 4789, body));
          break;  // VXLAN
        case 2:
          frame = Ipv4(17, Udp(1000, 6081, body));
          break;  // Geneve
        case 3:
          frame = Ipv4(17, Udp(3544, 50000, body));
          break;  // Teredo
        case 4:
          frame = Ipv4(17, Udp(2152, 2152, body));
          break;  // GTP-U
        case 5:
          frame = Ipv4(4, body);
          break;  // IP-in-IP
        default:
          frame = Ipv6(47, body);
          break;  // GRE over IPv6
      }
      Decoder d(SmallOptions(false));
      Decode(d, link_type::kRaw, frame, 1, p);
      break;
    }
    case Mode::kPipeline:
      FuzzPipeline(in);
      break;
  }
  return 0;
}
