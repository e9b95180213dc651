#include "agent/decode/decoder.h"

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

  Protocol proto;
  if (!LinkProtocol(link_type, &proto)) {
    ++stats_.anomalies[static_cast<size_t>(Anomaly::kUnsupportedLinkType)];
    ++stats_.malformed_packets;
    return DecodeResult::kMalformed;
  }

  Context ctx{out, options_, stats_, *fragments_};
  ctx.ts_ns = ts_ns;
  ctx.wire_remaining = wire_len < frame.size() ? static_cast<uint32_t>(frame.size()) : wire_len;
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
