#include "tests/support/conversation.h"

namespace vigil::testing {
namespace {

constexpr int64_t kPacketGapNs = 200'000;  // 0.2 ms between packets of one exchange

size_t Index(Side s) { return s == Side::kOrig ? 0 : 1; }
Side Other(Side s) { return s == Side::kOrig ? Side::kResp : Side::kOrig; }

}  // namespace

Conversation::Conversation(PcapWriter& out, const L2& l2, std::string_view orig_ip,
                           uint16_t orig_port, std::string_view resp_ip, uint16_t resp_port,
                           uint8_t proto, int64_t start_ns, uint32_t orig_isn, uint32_t resp_isn)
    : out_(out),
      l2_(l2),
      orig_ip_(ParseIp(orig_ip)),
      resp_ip_(ParseIp(resp_ip)),
      orig_port_(orig_port),
      resp_port_(resp_port),
      proto_(proto),
      now_ns_(start_ns),
      seq_{orig_isn, resp_isn} {}

void Conversation::Write(Side from, const Bytes& l4, size_t payload_len) {
  const bool orig = from == Side::kOrig;
  L2 l2 = l2_;
  if (!orig) std::swap(l2.src, l2.dst);
  const Bytes& src = orig ? orig_ip_ : resp_ip_;
  const Bytes& dst = orig ? resp_ip_ : orig_ip_;
  Bytes frame =
      Frame(l2, src, dst, proto_ == kProtoIcmp && src.size() == 16 ? kProtoIcmp6 : proto_, l4);
  out_.Write(now_ns_, frame);
  const uint64_t ip_len = l4.size() + (src.size() == 16 ? 40 : 20);
  if (truth_.orig_pkts + truth_.resp_pkts == 0) truth_.first_ns = now_ns_;
  truth_.last_ns = now_ns_;
  if (orig) {
    ++truth_.orig_pkts;
    truth_.orig_ip_bytes += ip_len;
    truth_.orig_bytes += payload_len;
  } else {
    ++truth_.resp_pkts;
    truth_.resp_ip_bytes += ip_len;
    truth_.resp_bytes += payload_len;
  }
  now_ns_ += kPacketGapNs;
}

void Conversation::Emit(Side from, uint8_t flags, std::span<const uint8_t> payload) {
  const bool orig = from == Side::kOrig;
  const size_t i = Index(from);
  const size_t j = Index(Other(from));
  Bytes l4 =
      Tcp(orig ? orig_ip_ : resp_ip_, orig ? resp_ip_ : orig_ip_, orig ? orig_port_ : resp_port_,
          orig ? resp_port_ : orig_port_, seq_[i], seq_[j], flags, payload);
  seq_[i] += static_cast<uint32_t>(payload.size());
  if (flags & (tcp::kSyn | tcp::kFin)) seq_[i] += 1;
  Write(from, l4, payload.size());
}

void Conversation::Syn() {
  syn_seen_[0] = true;
  Emit(Side::kOrig, tcp::kSyn, {});
}
void Conversation::SynAck() {
  syn_seen_[1] = true;
  Emit(Side::kResp, tcp::kSyn | tcp::kAck, {});
}
void Conversation::Ack(Side from) { Emit(from, tcp::kAck, {}); }
void Conversation::Handshake() {
  Syn();
  SynAck();
  Ack(Side::kOrig);
}
void Conversation::Send(Side from, std::string_view payload, bool ack_back) {
  const Bytes data = ToBytes(payload);
  Emit(from, tcp::kPsh | tcp::kAck, data);
  if (ack_back) Ack(Other(from));
}
void Conversation::Fin(Side from) { Emit(from, tcp::kFin | tcp::kAck, {}); }
void Conversation::Close() {
  Fin(Side::kOrig);
  Fin(Side::kResp);
  Ack(Side::kOrig);
}
void Conversation::Rst(Side from) { Emit(from, tcp::kRst | tcp::kAck, {}); }

void Conversation::Datagram(Side from, std::span<const uint8_t> payload) {
  const bool orig = from == Side::kOrig;
  Bytes l4 = Udp(orig ? orig_ip_ : resp_ip_, orig ? resp_ip_ : orig_ip_,
                 orig ? orig_port_ : resp_port_, orig ? resp_port_ : orig_port_, payload);
  Write(from, l4, payload.size());
}

void Conversation::IcmpMessage(Side from, uint8_t type, uint8_t code, uint32_t rest,
                               std::span<const uint8_t> payload) {
  const bool orig = from == Side::kOrig;
  Bytes l4 =
      Icmp(orig ? orig_ip_ : resp_ip_, orig ? resp_ip_ : orig_ip_, type, code, rest, payload);
  // Zeek counts ICMP payload as IP payload minus the 8-byte ICMP header.
  Write(from, l4, payload.size());
}

}  // namespace vigil::testing
