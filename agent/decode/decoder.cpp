#include "agent/decode/decoder.h"

#include <algorithm>

#include "agent/decode/bytes.h"
#include "agent/decode/decode_step.h"
#include "agent/decode/fragments.h"

namespace vigil::agent::decode {
namespace {

// Upper bound on decoder steps per frame: a frame cannot legitimately need
// more (it bounds pathological VLAN/MPLS/tunnel nesting on top of the
// per-protocol limits).
constexpr int kMaxSteps = 64;

bool LinkProtocol(int link_type, Protocol* p) {
  switch (link_type) {
    case link_type::kEthernet:
      *p = Protocol::kEthernet;
      return true;
    case link_type::kNull:
      *p = Protocol::kNull;
      return true;
    case link_type::kLoop:
      *p = Protocol::kLoop;
      return true;
    case link_type::kRaw:
    case link_type::kRawAlt:
    case link_type::kRawLinktype:
    case link_type::kIpv4:
    case link_type::kIpv6:
      *p = Protocol::kRawIp;
      return true;
    case link_type::kLinuxSll:
      *p = Protocol::kSll;
      return true;
    case link_type::kLinuxSll2:
      *p = Protocol::kSll2;
      return true;
    default:
      return false;
  }
}

bool IsIp(Protocol p) { return p == Protocol::kIpv4 || p == Protocol::kIpv6; }

constexpr size_t kEthernetHeaderLen = 14;
constexpr uint16_t kMaxIeee8023Length = 1500;
constexpr size_t kVlanTagLen = 4;
constexpr int kCommonMaxVlanTags = 2;
constexpr size_t kIpv4MinHeaderLen = 20;
constexpr size_t kIpv6HeaderLen = 40;
constexpr size_t kTcpMinHeaderLen = 20;
constexpr size_t kUdpHeaderLen = 8;

uint32_t WireAfter(uint32_t wire, size_t n) {
  return wire > n ? wire - static_cast<uint32_t>(n) : 0;
}

// IPv6 next-header values that start an extension header (ipv6.cpp walks them).
bool Ipv6ExtensionHeader(uint8_t nh) {
  return nh == 0 || nh == 43 || nh == 44 || nh == 50 || nh == 51 || nh == 59 || nh == 60 ||
         nh == 135 || nh == 139 || nh == 140;
}

// The frames nearly all traffic consists of, decoded in one pass: Ethernet,
// at most two VLAN tags, IPv4 without fragmentation or IPv6 without
// extension headers, then TCP or UDP on ports no tunnel decoder claims. The
// generic walk pays, per layer, an indirect call, a Step built and copied
// through memory and a dispatch switch; here the same checks and the same
// fields are written straight. Transitions still come from the registry
// (LookupChild), so the table stays the one place that says which protocol
// follows which. It accepts only frames the generic walk decodes without
// any anomaly, and writes exactly what that walk would; anything else (an
// unusual header, a condition counted as an anomaly, checksum verification)
// returns false before any counter changed, and the frame is decoded from
// the start by the generic walk, which overwrites whatever was written.
bool DecodeCommon(std::span<const uint8_t> frame, uint32_t wire_remaining, DecodedPacket& out) {
  if (frame.size() < kEthernetHeaderLen) return false;
  uint16_t type = LoadBe16(frame.data() + 12);
  if (type <= kMaxIeee8023Length) return false;  // 802.3 + LLC
  std::span<const uint8_t> data = frame.subspan(kEthernetHeaderLen);
  uint32_t wire = WireAfter(wire_remaining, kEthernetHeaderLen);
  Protocol next;
  if (!LookupChild(Protocol::kEthernet, type, &next)) return false;
  for (int tags = 0; next == Protocol::kVlan; ++tags) {
    if (tags == kCommonMaxVlanTags || data.size() < kVlanTagLen) return false;
    out.vlans[out.vlan_count++] = LoadBe16(data.data()) & 0x0FFF;
    type = LoadBe16(data.data() + 2);
    data = data.subspan(kVlanTagLen);
    wire = WireAfter(wire, kVlanTagLen);
    if (!LookupChild(Protocol::kVlan, type, &next)) return false;
  }

  Layer& layer = out.layers[0];
  size_t header_len;
  size_t total;
  if (next == Protocol::kIpv4) {
    if (data.size() < kIpv4MinHeaderLen || (data[0] >> 4) != 4) return false;
    header_len = static_cast<size_t>(data[0] & 0x0F) * 4;
    total = LoadBe16(data.data() + 2);
    if (header_len < kIpv4MinHeaderLen || data.size() < header_len || total == 0 ||
        total < header_len || wire < total) {
      return false;
    }
    const uint16_t frag = LoadBe16(data.data() + 6);
    if ((frag & 0x2000) != 0 || (frag & 0x1FFF) != 0) return false;  // a fragment
    StartIpv4Layer(layer, data);
  } else if (next == Protocol::kIpv6) {
    if (data.size() < kIpv6HeaderLen || (data[0] >> 4) != 6) return false;
    header_len = kIpv6HeaderLen;
    total = kIpv6HeaderLen + LoadBe16(data.data() + 4);
    if (total == kIpv6HeaderLen || wire < total || Ipv6ExtensionHeader(data[6])) return false;
    StartIpv6Layer(layer, data, data[6]);
  } else {
    return false;
  }
  const size_t captured = std::min(data.size(), total);
  layer.ip_header_len = static_cast<uint16_t>(header_len);
  layer.ip_total_len = static_cast<uint32_t>(total);
  layer.ip = data.first(captured);
  layer.payload = data.subspan(header_len, captured - header_len);
  layer.payload_len = static_cast<uint32_t>(total - header_len);

  if (!LookupChild(next, layer.proto, &next)) return false;
  data = layer.payload;
  wire = layer.payload_len;
  if (next == Protocol::kTcp) {
    if (data.size() < kTcpMinHeaderLen || wire < kTcpMinHeaderLen) return false;
    const size_t tcp_len = static_cast<size_t>(data[12] >> 4) * 4;
    if (tcp_len < kTcpMinHeaderLen || tcp_len > data.size() || tcp_len > wire) return false;
    SetTcpFields(layer, data, tcp_len, wire);
  } else if (next == Protocol::kUdp) {
    if (data.size() < kUdpHeaderLen || wire < kUdpHeaderLen) return false;
    const uint16_t sport = LoadBe16(data.data());
    const uint16_t dport = LoadBe16(data.data() + 2);
    const uint16_t length = LoadBe16(data.data() + 4);
    Protocol tunnel;
    if (length != wire || LookupChild(Protocol::kUdp, dport, &tunnel) ||
        LookupChild(Protocol::kUdp, sport, &tunnel)) {
      return false;  // a length anomaly, or a port a tunnel decoder looks at
    }
    layer.src_port = sport;
    layer.dst_port = dport;
    layer.udp_length = length;
    layer.payload =
        data.subspan(kUdpHeaderLen, std::min<size_t>(data.size(), wire) - kUdpHeaderLen);
    layer.payload_len = wire - static_cast<uint32_t>(kUdpHeaderLen);
  } else {
    return false;
  }
  layer.transport_ok = true;
  out.layer_count = 1;
  return true;
}

}  // namespace

Decoder::Decoder(const DecoderOptions& options)
    : options_(options), fragments_(std::make_unique<FragmentReassembler>(options_, stats_)) {}

Decoder::~Decoder() = default;

bool Decoder::SupportsLinkType(int link_type) {
  Protocol p;
  return LinkProtocol(link_type, &p);
}

void Decoder::ExpireFragments(int64_t now_ns) { fragments_->Expire(now_ns); }

DecodeResult Decoder::Decode(int link_type, int64_t ts_ns, uint32_t wire_len,
                             std::span<const uint8_t> frame, DecodedPacket& out) {
  out.Reset();
  out.ts_ns = ts_ns;
  out.wire_len = wire_len;
  ++stats_.packets;

  const uint32_t wire_remaining =
      wire_len < frame.size() ? static_cast<uint32_t>(frame.size()) : wire_len;
  if (link_type == link_type::kEthernet && options_.common_path && !options_.verify_checksums) {
    if (DecodeCommon(frame, wire_remaining, out)) {
      ++stats_.ip_packets;
      return DecodeResult::kIp;
    }
    out.Reset();
  }

  Protocol proto;
  if (!LinkProtocol(link_type, &proto)) {
    ++stats_.anomalies[static_cast<size_t>(Anomaly::kUnsupportedLinkType)];
    ++stats_.malformed_packets;
    return DecodeResult::kMalformed;
  }

  Context ctx{out, options_, stats_, *fragments_};
  ctx.ts_ns = ts_ns;
  ctx.wire_remaining = wire_remaining;
  std::span<const uint8_t> data = frame;
  bool non_ip = false;
  bool pending = false;

  for (int step_count = 0; step_count < kMaxSteps; ++step_count) {
    if (proto == Protocol::kNonIp) {
      non_ip = true;
      break;
    }
    const Step step = DecoderFor(proto)(ctx, data);
    bool stop = false;
    switch (step.kind) {
      case Step::Kind::kByKey: {
        Protocol child;
        bool found = LookupChild(proto, step.key, &child);
        if (!found && step.has_alt_key) found = LookupChild(proto, step.alt_key, &child);
        if (!found) {
          const Anomaly unknown = UnknownChildAnomaly(proto);
          if (unknown != Anomaly::kCount) ctx.Note(unknown);
          stop = true;
          break;
        }
        if (IsIp(proto) && IsIp(child)) ctx.pending_tunnel = TunnelType::kIp;
        proto = child;
        data = step.next;
        ctx.wire_remaining = step.next_wire;
        break;
      }
      case Step::Kind::kByProto:
        proto = step.proto;
        data = step.next;
        ctx.wire_remaining = step.next_wire;
        break;
      case Step::Kind::kDone:
        stop = true;
        break;
      case Step::Kind::kNonIp:
        non_ip = true;
        stop = true;
        break;
      case Step::Kind::kFail:
        ctx.Note(step.anomaly);
        stop = true;
        break;
      case Step::Kind::kPending:
        pending = true;
        stop = true;
        break;
      case Step::Kind::kNotMine:
        ++stats_.udp_tunnel_port_mismatches;
        stop = true;
        break;
    }
    if (stop) break;
  }

  if (out.layer_count > 0) {
    ++stats_.ip_packets;
    return DecodeResult::kIp;
  }
  if (non_ip) {
    ++stats_.non_ip_packets;
    return DecodeResult::kNonIp;
  }
  if (pending) return DecodeResult::kFragmentPending;
  ++stats_.malformed_packets;
  return DecodeResult::kMalformed;
}

}  // namespace vigil::agent::decode
