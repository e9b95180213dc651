#include "tests/support/packet_builder.h"

#include <arpa/inet.h>

#include <cstdio>
#include <cstdlib>

namespace vigil::testing {
namespace {

void Put16(Bytes& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}
void Put32(Bytes& b, uint32_t v) {
  Put16(b, static_cast<uint16_t>(v >> 16));
  Put16(b, static_cast<uint16_t>(v));
}
void Append(Bytes& b, std::span<const uint8_t> s) { b.insert(b.end(), s.begin(), s.end()); }
void Set16(Bytes& b, size_t at, uint16_t v) {
  b[at] = static_cast<uint8_t>(v >> 8);
  b[at + 1] = static_cast<uint8_t>(v);
}

// RFC 1071 one's-complement sum.
uint32_t SumWords(std::span<const uint8_t> data, uint32_t sum = 0) {
  size_t i = 0;
  for (; i + 1 < data.size(); i += 2) sum += static_cast<uint32_t>(data[i] << 8 | data[i + 1]);
  if (i < data.size()) sum += static_cast<uint32_t>(data[i] << 8);
  return sum;
}
uint16_t Fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}
uint16_t PseudoChecksum(std::span<const uint8_t> src, std::span<const uint8_t> dst, uint8_t proto,
                        std::span<const uint8_t> segment) {
  uint32_t sum = SumWords(src);
  sum = SumWords(dst, sum);
  sum += proto;
  sum += static_cast<uint32_t>(segment.size() & 0xffff);
  sum += static_cast<uint32_t>(segment.size() >> 16);
  sum = SumWords(segment, sum);
  return Fold(sum);
}

}  // namespace

Bytes ParseIp(std::string_view text) {
  std::string s(text);
  Bytes out(16);
  if (inet_pton(AF_INET, s.c_str(), out.data()) == 1) {
    out.resize(4);
    return out;
  }
  if (inet_pton(AF_INET6, s.c_str(), out.data()) == 1) return out;
  std::fprintf(stderr, "packet_builder: bad address '%s'\n", s.c_str());
  std::abort();
}

Bytes ToBytes(std::string_view text) { return Bytes(text.begin(), text.end()); }

Bytes Ethernet(const L2& l2, uint16_t ethertype, std::span<const uint8_t> payload) {
  Bytes b;
  b.reserve(14 + 4 * l2.vlans.size() + payload.size());
  Append(b, l2.dst);
  Append(b, l2.src);
  for (size_t i = 0; i < l2.vlans.size(); ++i) {
    Put16(b, (l2.qinq && i == 0 && l2.vlans.size() > 1) ? 0x88a8 : 0x8100);
    Put16(b, l2.vlans[i] & 0x0fff);
  }
  Put16(b, ethertype);
  Append(b, payload);
  return b;
}

Bytes Ipv4(std::span<const uint8_t> src, std::span<const uint8_t> dst, uint8_t proto,
           std::span<const uint8_t> payload, const Ipv4Options& opt) {
  Bytes options = opt.options;
  while (options.size() % 4 != 0) options.push_back(0);  // end-of-options padding
  const size_t header = 20 + options.size();
  Bytes b;
  b.reserve(header + payload.size());
  b.push_back(static_cast<uint8_t>(0x40 | (header / 4)));
  b.push_back(0);
  Put16(b, static_cast<uint16_t>(header + payload.size()));
  Put16(b, opt.id);
  uint16_t frag = static_cast<uint16_t>(opt.fragment_offset / 8);
  if (opt.dont_fragment) frag |= 0x4000;
  if (opt.more_fragments) frag |= 0x2000;
  Put16(b, frag);
  b.push_back(opt.ttl);
  b.push_back(proto);
  Put16(b, 0);
  Append(b, src);
  Append(b, dst);
  Append(b, options);
  Set16(b, 10, Fold(SumWords(std::span(b).first(header))));
  Append(b, payload);
  return b;
}

Bytes Ipv6(std::span<const uint8_t> src, std::span<const uint8_t> dst, uint8_t next_header,
           std::span<const uint8_t> payload, uint8_t hop_limit) {
  Bytes b;
  b.reserve(40 + payload.size());
  Put32(b, 0x60000000);
  Put16(b, static_cast<uint16_t>(payload.size()));
  b.push_back(next_header);
  b.push_back(hop_limit);
  Append(b, src);
  Append(b, dst);
  Append(b, payload);
  return b;
}

Bytes Tcp(std::span<const uint8_t> src, std::span<const uint8_t> dst, uint16_t sport,
          uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags,
          std::span<const uint8_t> payload, uint16_t window) {
  Bytes b;
  b.reserve(20 + payload.size());
  Put16(b, sport);
  Put16(b, dport);
  Put32(b, seq);
  Put32(b, (flags & tcp::kAck) ? ack : 0);
  b.push_back(5 << 4);
  b.push_back(flags);
  Put16(b, window);
  Put16(b, 0);
  Put16(b, 0);
  Append(b, payload);
  Set16(b, 16, PseudoChecksum(src, dst, kProtoTcp, b));
  return b;
}

Bytes Udp(std::span<const uint8_t> src, std::span<const uint8_t> dst, uint16_t sport,
          uint16_t dport, std::span<const uint8_t> payload) {
  Bytes b;
  b.reserve(8 + payload.size());
  Put16(b, sport);
  Put16(b, dport);
  Put16(b, static_cast<uint16_t>(8 + payload.size()));
  Put16(b, 0);
  Append(b, payload);
  uint16_t sum = PseudoChecksum(src, dst, kProtoUdp, b);
  Set16(b, 6, sum == 0 ? 0xffff : sum);
  return b;
}

Bytes Icmp(std::span<const uint8_t> src, std::span<const uint8_t> dst, uint8_t type, uint8_t code,
           uint32_t rest, std::span<const uint8_t> payload) {
  Bytes b;
  b.push_back(type);
  b.push_back(code);
  Put16(b, 0);
  Put32(b, rest);
  Append(b, payload);
  const bool v6 = src.size() == 16;
  Set16(b, 2, v6 ? PseudoChecksum(src, dst, kProtoIcmp6, b) : Fold(SumWords(b)));
  return b;
}

Bytes Frame(const L2& l2, std::span<const uint8_t> src, std::span<const uint8_t> dst, uint8_t proto,
            std::span<const uint8_t> l4, uint8_t ttl) {
  if (src.size() == 16) return Ethernet(l2, 0x86dd, Ipv6(src, dst, proto, l4, ttl));
  Ipv4Options opt;
  opt.ttl = ttl;
  return Ethernet(l2, 0x0800, Ipv4(src, dst, proto, l4, opt));
}

Bytes EncodeDnsName(std::string_view name) {
  Bytes b;
  size_t start = 0;
  while (start < name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string_view::npos) dot = name.size();
    const size_t len = dot - start;
    b.push_back(static_cast<uint8_t>(len));
    b.insert(b.end(), name.begin() + static_cast<long>(start),
             name.begin() + static_cast<long>(dot));
    start = dot + 1;
  }
  b.push_back(0);
  return b;
}

Bytes EncodeDns(const DnsMessage& m) {
  Bytes b;
  Put16(b, m.id);
  uint16_t flags = static_cast<uint16_t>((m.opcode & 0xf) << 11 | (m.rcode & 0xf));
  if (m.response) flags |= 0x8000;
  if (m.aa) flags |= 0x0400;
  if (m.tc) flags |= 0x0200;
  if (m.rd) flags |= 0x0100;
  if (m.ra) flags |= 0x0080;
  Put16(b, flags);
  Put16(b, static_cast<uint16_t>(m.questions.size()));
  Put16(b, static_cast<uint16_t>(m.answers.size()));
  Put16(b, 0);
  Put16(b, 0);
  for (const auto& q : m.questions) {
    Append(b, EncodeDnsName(q.name));
    Put16(b, q.qtype);
    Put16(b, q.qclass);
  }
  for (const auto& a : m.answers) {
    Append(b, EncodeDnsName(a.name));
    Put16(b, a.type);
    Put16(b, a.rclass);
    Put32(b, a.ttl);
    Put16(b, static_cast<uint16_t>(a.rdata.size()));
    Append(b, a.rdata);
  }
  return b;
}

namespace {

Bytes TlsRecord(uint8_t handshake_type, const Bytes& body) {
  Bytes hs;
  hs.push_back(handshake_type);
  hs.push_back(static_cast<uint8_t>(body.size() >> 16));
  Put16(hs, static_cast<uint16_t>(body.size()));
  Append(hs, body);
  Bytes rec;
  rec.push_back(22);  // handshake
  Put16(rec, 0x0301);
  Put16(rec, static_cast<uint16_t>(hs.size()));
  Append(rec, hs);
  return rec;
}

void Extension(Bytes& exts, uint16_t type, const Bytes& data) {
  Put16(exts, type);
  Put16(exts, static_cast<uint16_t>(data.size()));
  Append(exts, data);
}

Bytes AlpnList(const std::vector<std::string>& protos) {
  Bytes list;
  for (const auto& p : protos) {
    list.push_back(static_cast<uint8_t>(p.size()));
    list.insert(list.end(), p.begin(), p.end());
  }
  Bytes data;
  Put16(data, static_cast<uint16_t>(list.size()));
  Append(data, list);
  return data;
}

}  // namespace

Bytes EncodeClientHelloRecord(const ClientHelloSpec& spec) {
  Bytes body;
  Put16(body, 0x0303);
  Append(body, spec.random);
  body.push_back(0);  // empty session id
  Put16(body, static_cast<uint16_t>(spec.ciphers.size() * 2));
  for (uint16_t c : spec.ciphers) Put16(body, c);
  body.push_back(1);  // one compression method: null
  body.push_back(0);
  Bytes exts;
  if (!spec.sni.empty()) {
    Bytes sni;
    Put16(sni, static_cast<uint16_t>(spec.sni.size() + 3));
    sni.push_back(0);  // host_name
    Put16(sni, static_cast<uint16_t>(spec.sni.size()));
    sni.insert(sni.end(), spec.sni.begin(), spec.sni.end());
    Extension(exts, 0x0000, sni);
  }
  Extension(exts, 0x000a, Bytes{0x00, 0x04, 0x00, 0x1d, 0x00, 0x17});  // groups x25519, secp256r1
  Extension(exts, 0x000b, Bytes{0x01, 0x00});                          // ec_point_formats
  Extension(exts, 0x000d, Bytes{0x00, 0x04, 0x04, 0x03, 0x08, 0x04});  // signature_algorithms
  if (!spec.alpn.empty()) Extension(exts, 0x0010, AlpnList(spec.alpn));
  if (spec.tls13) {
    Extension(exts, 0x002b, Bytes{0x04, 0x03, 0x04, 0x03, 0x03});  // supported_versions 1.3, 1.2
    Bytes key_share{0x00, 0x24, 0x00, 0x1d, 0x00, 0x20};
    key_share.resize(key_share.size() + 32, 0x11);
    Extension(exts, 0x0033, key_share);
  }
  Put16(body, static_cast<uint16_t>(exts.size()));
  Append(body, exts);
  return TlsRecord(1, body);
}

Bytes EncodeServerHelloRecord(uint16_t cipher, bool tls13, std::string_view alpn) {
  Bytes body;
  Put16(body, 0x0303);
  body.resize(body.size() + 32, 0x22);
  body.push_back(0);
  Put16(body, cipher);
  body.push_back(0);
  Bytes exts;
  if (tls13) {
    Extension(exts, 0x002b, Bytes{0x03, 0x04});
    Bytes key_share{0x00, 0x1d, 0x00, 0x20};
    key_share.resize(key_share.size() + 32, 0x33);
    Extension(exts, 0x0033, key_share);
  }
  if (!alpn.empty()) Extension(exts, 0x0010, AlpnList({std::string(alpn)}));
  Put16(body, static_cast<uint16_t>(exts.size()));
  Append(body, exts);
  return TlsRecord(2, body);
}

}  // namespace vigil::testing
