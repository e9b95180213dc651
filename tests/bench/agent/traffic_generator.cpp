#include "tests/bench/agent/traffic_generator.h"

#include <algorithm>
#include <random>
#include <vector>

#include "tests/support/packet_builder.h"
#include "tests/support/pcap_writer.h"

namespace vigil::bench {
namespace {

namespace tb = vigil::testing;
using tb::Bytes;

enum class Kind : uint8_t { kHttp, kTls, kBulk, kDns, kIcmp };

struct Conv {
  Kind kind;
  bool v6;
  uint16_t vlan;
  Bytes client, server;
  uint16_t cport, sport;
  uint32_t cseq, sseq;
  uint32_t step = 0;
};

Bytes V4(uint32_t a) {
  return {static_cast<uint8_t>(a >> 24), static_cast<uint8_t>(a >> 16),
          static_cast<uint8_t>(a >> 8), static_cast<uint8_t>(a)};
}
Bytes V6(uint32_t a) {
  Bytes b = tb::ParseIp("2001:db8:1::");
  b[12] = static_cast<uint8_t>(a >> 24);
  b[13] = static_cast<uint8_t>(a >> 16);
  b[14] = static_cast<uint8_t>(a >> 8);
  b[15] = static_cast<uint8_t>(a);
  return b;
}

class Writer {
 public:
  Writer(tb::PcapWriter& w, const TrafficSpec& spec) : w_(w), spec_(spec), ts_(spec.start_ns) {}

  void Tcp(Conv& c, bool from_client, uint8_t flags, const Bytes& payload) {
    uint32_t& seq = from_client ? c.cseq : c.sseq;
    const uint32_t ack = from_client ? c.sseq : c.cseq;
    const Bytes& src = from_client ? c.client : c.server;
    const Bytes& dst = from_client ? c.server : c.client;
    const Bytes l4 = tb::Tcp(src, dst, from_client ? c.cport : c.sport,
                             from_client ? c.sport : c.cport, seq, ack, flags, payload);
    seq +=
        static_cast<uint32_t>(payload.size()) + ((flags & (tb::tcp::kSyn | tb::tcp::kFin)) ? 1 : 0);
    Emit(c, src, dst, tb::kProtoTcp, l4);
  }
  void Udp(Conv& c, bool from_client, const Bytes& payload) {
    const Bytes& src = from_client ? c.client : c.server;
    const Bytes& dst = from_client ? c.server : c.client;
    Emit(c, src, dst, tb::kProtoUdp,
         tb::Udp(src, dst, from_client ? c.cport : c.sport, from_client ? c.sport : c.cport,
                 payload));
  }
  void Icmp(Conv& c, bool from_client, uint8_t type) {
    const Bytes& src = from_client ? c.client : c.server;
    const Bytes& dst = from_client ? c.server : c.client;
    Emit(c, src, dst, c.v6 ? tb::kProtoIcmp6 : tb::kProtoIcmp,
         tb::Icmp(src, dst, c.v6 ? static_cast<uint8_t>(type == 8 ? 128 : 129) : type, 0, c.cport,
                  Bytes(56, 0x61)));
  }
  const TrafficSummary& summary() const { return summary_; }
  TrafficSummary& summary() { return summary_; }

 private:
  void Emit(const Conv& c, const Bytes& src, const Bytes& dst, uint8_t proto, const Bytes& l4) {
    tb::L2 l2;
    if (c.vlan != 0) l2.vlans = {c.vlan};
    const Bytes frame = tb::Frame(l2, src, dst, proto, l4);
    w_.Write(ts_, frame);
    ts_ += spec_.gap_ns;
    ++summary_.packets;
    summary_.bytes += frame.size();
    if (proto == tb::kProtoTcp) ++summary_.tcp_packets;
  }

  tb::PcapWriter& w_;
  const TrafficSpec& spec_;
  int64_t ts_;
  TrafficSummary summary_;
};

// Emits the next packet of `c`; returns false once the conversation is over.
bool Step(Writer& w, Conv& c, uint32_t bulk_segments, const Bytes& client_hello,
          const Bytes& server_hello, const Bytes& dns_query, const Bytes& dns_answer) {
  using namespace tb::tcp;
  const uint32_t s = c.step++;
  switch (c.kind) {
    case Kind::kHttp: {
      static const Bytes req = tb::ToBytes(
          "GET /index.html HTTP/1.1\r\nHost: portal.province.gov\r\nUser-Agent: bench/1.0\r\n\r\n");
      static const Bytes resp =
          tb::ToBytes("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 64\r\n\r\n" +
                      std::string(64, 'x'));
      switch (s) {
        case 0:
          w.Tcp(c, true, kSyn, {});
          return true;
        case 1:
          w.Tcp(c, false, kSyn | kAck, {});
          return true;
        case 2:
          w.Tcp(c, true, kAck, {});
          return true;
        case 3:
          w.Tcp(c, true, kPsh | kAck, req);
          return true;
        case 4:
          w.Tcp(c, false, kAck, {});
          return true;
        case 5:
          w.Tcp(c, false, kPsh | kAck, resp);
          return true;
        case 6:
          w.Tcp(c, true, kAck, {});
          return true;
        case 7:
          w.Tcp(c, true, kFin | kAck, {});
          return true;
        case 8:
          w.Tcp(c, false, kFin | kAck, {});
          return true;
        default:
          w.Tcp(c, true, kAck, {});
          return false;
      }
    }
    case Kind::kTls:
      switch (s) {
        case 0:
          w.Tcp(c, true, kSyn, {});
          return true;
        case 1:
          w.Tcp(c, false, kSyn | kAck, {});
          return true;
        case 2:
          w.Tcp(c, true, kAck, {});
          return true;
        case 3:
          w.Tcp(c, true, kPsh | kAck, client_hello);
          return true;
        case 4:
          w.Tcp(c, false, kPsh | kAck, server_hello);
          return true;
        case 5:
        case 6:
        case 7:
          w.Tcp(c, true, kPsh | kAck, Bytes(300, 0x17));
          return true;
        case 8:
        case 9:
          w.Tcp(c, false, kPsh | kAck, Bytes(1200, 0x17));
          return true;
        case 10:
          w.Tcp(c, true, kFin | kAck, {});
          return true;
        case 11:
          w.Tcp(c, false, kFin | kAck, {});
          return true;
        default:
          w.Tcp(c, true, kAck, {});
          return false;
      }
    case Kind::kBulk:
      if (s == 0) {
        w.Tcp(c, true, kSyn, {});
        return true;
      }
      if (s == 1) {
        w.Tcp(c, false, kSyn | kAck, {});
        return true;
      }
      if (s == 2) {
        w.Tcp(c, true, kAck, {});
        return true;
      }
      if (s < 3 + 2 * bulk_segments) {
        if ((s - 3) % 2 == 0) {
          w.Tcp(c, false, kAck, Bytes(1400, 0x42));
        } else {
          w.Tcp(c, true, kAck, {});
        }
        return true;
      }
      if (s == 3 + 2 * bulk_segments) {
        w.Tcp(c, false, kFin | kAck, {});
        return true;
      }
      w.Tcp(c, true, kFin | kAck, {});
      return false;
    case Kind::kDns:
      if (s == 0) {
        w.Udp(c, true, dns_query);
        return true;
      }
      w.Udp(c, false, dns_answer);
      return false;
    case Kind::kIcmp:
      if (s == 0) {
        w.Icmp(c, true, 8);
        return true;
      }
      w.Icmp(c, false, 0);
      return false;
  }
  return false;
}

}  // namespace

TrafficSummary WriteMixedCapture(const std::string& path, const TrafficSpec& spec) {
  tb::PcapWriter pcap;
  if (!pcap.Open(path)) return {};
  std::mt19937_64 rng(spec.seed);
  std::vector<Conv> convs;
  auto add = [&](Kind kind, uint32_t n, uint16_t sport) {
    for (uint32_t i = 0; i < n; ++i) {
      Conv c;
      c.kind = kind;
      const uint32_t client = 0x0A000000u | static_cast<uint32_t>(rng() & 0xFFFFFF);  // 10.0.0.0/8
      const uint32_t server = 0xC6330000u | static_cast<uint32_t>(rng() & 0xFFFF);  // 198.51.0.0/16
      c.v6 = (kind == Kind::kDns || kind == Kind::kIcmp) && rng() % 100 < spec.ipv6_percent;
      c.client = c.v6 ? V6(client) : V4(client);
      c.server = c.v6 ? V6(server) : V4(server);
      c.cport = static_cast<uint16_t>(1024 + rng() % 60000);
      c.sport = sport;
      c.cseq = static_cast<uint32_t>(rng());
      c.sseq = static_cast<uint32_t>(rng());
      c.vlan = rng() % 100 < spec.vlan_percent ? static_cast<uint16_t>(1 + rng() % 4000) : 0;
      convs.push_back(std::move(c));
    }
  };
  add(Kind::kHttp, spec.http_flows, 80);
  add(Kind::kTls, spec.tls_flows, 443);
  add(Kind::kBulk, spec.bulk_flows, 445);
  add(Kind::kDns, spec.dns_flows, 53);
  add(Kind::kIcmp, spec.icmp_flows, 0);
  std::shuffle(convs.begin(), convs.end(), rng);

  tb::ClientHelloSpec hello;
  hello.sni = "portal.province.gov";
  hello.alpn = {"h2", "http/1.1"};
  const Bytes client_hello = tb::EncodeClientHelloRecord(hello);
  const Bytes server_hello = tb::EncodeServerHelloRecord(0x1301, true, "h2");
  tb::DnsMessage q;
  q.id = 0x4242;
  q.questions.push_back({"intranet.province.gov", 1, 1});
  tb::DnsMessage a = q;
  a.response = true;
  a.answers.push_back({"intranet.province.gov", 1, 1, 300, {10, 1, 2, 3}});
  const Bytes dns_query = tb::EncodeDns(q), dns_answer = tb::EncodeDns(a);

  Writer w(pcap, spec);
  // Short conversations start in waves (a DNS lookup does not wait for the
  // bulk transfers); every round emits one packet of every open conversation.
  std::vector<size_t> open;
  size_t next = 0;
  const size_t wave = 12000;
  while (next < convs.size() || !open.empty()) {
    for (size_t i = 0; i < wave && next < convs.size(); ++i) open.push_back(next++);
    w.summary().peak_open = std::max<uint64_t>(w.summary().peak_open, open.size());
    std::vector<size_t> still;
    still.reserve(open.size());
    for (size_t i : open) {
      if (Step(w, convs[i], spec.bulk_segments, client_hello, server_hello, dns_query,
               dns_answer)) {
        still.push_back(i);
      }
    }
    open.swap(still);
  }
  pcap.Close();
  w.summary().flows = convs.size();
  for (const Conv& c : convs) {
    if (c.kind == Kind::kHttp || c.kind == Kind::kTls || c.kind == Kind::kBulk) {
      ++w.summary().tcp_flows;
    }
  }
  return w.summary();
}

}  // namespace vigil::bench
