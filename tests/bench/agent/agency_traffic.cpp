// The "agency" mix (see traffic_generator.h for the model and its sources):
// conversations arrive as Poisson processes per class, each is scripted on
// its own timeline (RTTs, TCP slow start, delayed ACKs, think times, idle
// persistent connections), and all packets are written in time order.

#include <algorithm>
#include <array>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "tests/bench/agent/traffic_generator.h"
#include "tests/support/packet_builder.h"
#include "tests/support/pcap_writer.h"

namespace vigil::bench {
namespace {

namespace tb = vigil::testing;
using tb::Bytes;

constexpr int64_t kUs = 1'000;
constexpr int64_t kMs = 1'000'000;
constexpr int64_t kS = 1'000'000'000;
constexpr uint32_t kMss = 1460;
// Back-to-back full-size frames at 1 Gbit/s.
constexpr int64_t kSerialization = 12 * kUs;

enum class Kind : uint8_t {
  kDns,
  kNtp,
  kSyslog,
  kTls,
  kHttp,
  kSmallTcp,  // LDAP/SMB/SSH-like request/response protocols the agent does not analyze
  kBulk,
  kFailedTcp,
  kQuic,
  kIcmp,
};

// What a packet carries; the bytes are produced when it is written.
enum class Payload : uint8_t {
  kNone,
  kDnsQuery,
  kDnsResponse,
  kNtp,
  kSyslog,
  kClientHello,
  kServerFlight,  // ServerHello + encrypted handshake (TLS 1.3)
  kTlsData,       // application data records
  kHttpRequest,
  kHttpResponse,  // header, then body bytes (`offset` into the response)
  kOpaque,        // bytes of a protocol the agent does not analyze
  kQuic,
  kIcmpEcho,
};

struct Conv {
  explicit Conv(Kind k) : kind(k) {}
  Kind kind;
  bool v6 = false;
  uint16_t vlan = 0;
  Bytes client, server;
  uint16_t cport = 0, sport = 0;
  uint32_t name = 0;  // DNS name / HTTP host / TLS SNI index
};

struct Pkt {
  int64_t ts;
  uint32_t conv;
  uint32_t seq = 0, ack = 0;
  uint32_t offset = 0;  // into the payload stream of this message
  uint32_t aux = 0;     // HTTP body length / DNS answers / echo sequence
  uint16_t len = 0;     // payload bytes
  uint8_t flags = 0;
  bool from_client = true;
  Payload payload = Payload::kNone;
};

class Generator {
 public:
  Generator(const AgencySpec& spec) : spec_(spec), rng_(spec.seed) {}

  std::vector<Conv> convs;
  std::vector<Pkt> pkts;

  void Arrivals(Kind kind, double per_second) {
    if (per_second <= 0) return;
    std::exponential_distribution<double> gap(per_second);
    double t = gap(rng_);
    while (t < spec_.duration_s) {
      Start(kind, spec_.start_ns + static_cast<int64_t>(t * kS));
      t += gap(rng_);
    }
  }

 private:
  double U() { return std::uniform_real_distribution<double>(0, 1)(rng_); }
  uint32_t Pick(uint32_t n) { return static_cast<uint32_t>(rng_() % n); }
  // Lognormal with the given median and sigma, clamped.
  double LogNormal(double median, double sigma, double lo, double hi) {
    std::lognormal_distribution<double> d(std::log(median), sigma);
    return std::clamp(d(rng_), lo, hi);
  }
  int64_t Ns(double seconds) { return static_cast<int64_t>(seconds * kS); }

  Bytes V4(uint32_t a) {
    return {static_cast<uint8_t>(a >> 24), static_cast<uint8_t>(a >> 16),
            static_cast<uint8_t>(a >> 8), static_cast<uint8_t>(a)};
  }
  Bytes V6(uint32_t site, uint32_t a) {
    Bytes b = tb::ParseIp("2001:db8::");
    b[4] = static_cast<uint8_t>(site >> 8);
    b[5] = static_cast<uint8_t>(site);
    for (int i = 0; i < 4; ++i) b[12 + i] = static_cast<uint8_t>(a >> (24 - 8 * i));
    return b;
  }

  // Clients: a few thousand hosts of the agency; servers: internal ones
  // (resolvers, directory, file servers) or anywhere on the Internet.
  void Endpoints(Conv& c, bool internal_server) {
    const uint32_t client = 0x0A000000u | (1 + Pick(6000));  // 10.0.0.0/8
    // Public servers in the address blocks of large hosting and CDN operators.
    static constexpr uint8_t kPublic[] = {13, 20, 23, 34, 35, 40, 52, 104, 142, 151, 185, 199, 216};
    const uint32_t server =
        internal_server ? 0x0AC80000u | (1 + Pick(40))  // 10.200.0.0/16
                        : (uint32_t{kPublic[Pick(std::size(kPublic))]} << 24) | Pick(1u << 24);
    c.v6 = U() * 100 < spec_.ipv6_percent;
    c.client = c.v6 ? V6(0xa, client) : V4(client);
    c.server = c.v6 ? V6(internal_server ? 0xa : 0xf, server) : V4(server);
    c.cport = static_cast<uint16_t>(32768 + Pick(28232));
    c.vlan = U() * 100 < spec_.vlan_percent ? static_cast<uint16_t>(100 + Pick(4)) : 0;
  }

  uint32_t NewConv(Conv c) {
    convs.push_back(std::move(c));
    return static_cast<uint32_t>(convs.size() - 1);
  }

  void Add(uint32_t conv, int64_t ts, bool from_client, uint8_t flags, Payload payload,
           uint16_t len, uint32_t seq = 0, uint32_t ack = 0, uint32_t offset = 0,
           uint32_t aux = 0) {
    Pkt p;
    p.ts = ts;
    p.conv = conv;
    p.from_client = from_client;
    p.flags = flags;
    p.payload = payload;
    p.len = len;
    p.seq = seq;
    p.ack = ack;
    p.offset = offset;
    p.aux = aux;
    pkts.push_back(p);
  }

  void Start(Kind kind, int64_t t) {
    switch (kind) {
      case Kind::kDns:
        return Dns(t);
      case Kind::kNtp:
      case Kind::kSyslog:
        return SmallUdp(kind, t);
      case Kind::kQuic:
        return Quic(t);
      case Kind::kIcmp:
        return Icmp(t);
      case Kind::kFailedTcp:
        return FailedTcp(t);
      default:
        return Tcp(kind, t);
    }
  }

  void Dns(int64_t t) {
    Conv c(Kind::kDns);
    Endpoints(c, /*internal_server=*/true);
    c.sport = 53;
    c.name = Pick(2000);  // a working set of names: lookups repeat
    const uint32_t id = NewConv(std::move(c));
    Add(id, t, true, 0, Payload::kDnsQuery, 0, 0, 0, 0, Pick(65536));
    if (U() < 0.03) return;  // unanswered
    const int64_t rtt = Ns(LogNormal(0.002, 1.0, 0.0002, 0.2));
    Add(id, t + rtt, false, 0, Payload::kDnsResponse, 0, 0, 0, 0, 1 + Pick(3));
  }

  void SmallUdp(Kind kind, int64_t t) {
    Conv c(kind);
    Endpoints(c, true);
    c.sport = kind == Kind::kNtp ? 123 : 514;
    const uint32_t id = NewConv(std::move(c));
    if (kind == Kind::kSyslog) {
      const int n = 1 + static_cast<int>(Pick(6));
      for (int i = 0; i < n; ++i) Add(id, t + i * Ns(U()), true, 0, Payload::kSyslog, 0);
      return;
    }
    Add(id, t, true, 0, Payload::kNtp, 48);
    Add(id, t + Ns(LogNormal(0.01, 0.8, 0.0005, 0.3)), false, 0, Payload::kNtp, 48);
  }

  void Quic(int64_t t) {
    Conv c(Kind::kQuic);
    Endpoints(c, false);
    c.sport = 443;
    const uint32_t id = NewConv(std::move(c));
    const int64_t rtt = Ns(LogNormal(0.02, 0.6, 0.002, 0.3));
    const int packets = static_cast<int>(LogNormal(80, 1.0, 6, 2000));
    int64_t ts = t;
    for (int i = 0; i < packets; ++i) {
      // Mostly downstream full-size datagrams, an acknowledgment now and then.
      const bool up = i % 8 == 0;
      Add(id, ts, up, 0, Payload::kQuic, static_cast<uint16_t>(up ? 60 : 1250), 0, 0, 0, i);
      ts += (i % 16 == 15) ? rtt : kSerialization;
    }
  }

  void Icmp(int64_t t) {
    Conv c(Kind::kIcmp);
    Endpoints(c, U() < 0.5);
    const uint32_t id = NewConv(std::move(c));
    const int64_t rtt = Ns(LogNormal(0.01, 1.0, 0.0002, 0.3));
    const int n = 1 + static_cast<int>(Pick(4));
    for (int i = 0; i < n; ++i) {
      Add(id, t + i * kS, true, 0, Payload::kIcmpEcho, 56, 0, 0, 0, i);
      Add(id, t + i * kS + rtt, false, 0, Payload::kIcmpEcho, 56, 0, 0, 0, i);
    }
  }

  void FailedTcp(int64_t t) {
    Conv c(Kind::kFailedTcp);
    Endpoints(c, U() < 0.3);
    c.sport = static_cast<uint16_t>(std::array<uint16_t, 5>{443, 80, 22, 8443, 3389}[Pick(5)]);
    const uint32_t id = NewConv(std::move(c));
    const uint32_t isn = static_cast<uint32_t>(rng_());
    if (U() < 0.5) {  // nobody answers: the SYN and its retransmissions (S0)
      Add(id, t, true, tb::tcp::kSyn, Payload::kNone, 0, isn);
      Add(id, t + kS, true, tb::tcp::kSyn, Payload::kNone, 0, isn);
      Add(id, t + 3 * kS, true, tb::tcp::kSyn, Payload::kNone, 0, isn);
    } else {  // refused (REJ)
      Add(id, t, true, tb::tcp::kSyn, Payload::kNone, 0, isn);
      Add(id, t + Ns(LogNormal(0.01, 1.0, 0.0002, 0.3)), false, tb::tcp::kRst | tb::tcp::kAck,
          Payload::kNone, 0, 0, isn + 1);
    }
  }

  // A server's response of `bytes`, sent in slow-start windows starting at
  // `t` (10 segments, doubling per round trip up to 64); the client
  // acknowledges every second segment. Returns when the last ACK was sent.
  int64_t Download(uint32_t id, int64_t t, int64_t rtt, uint32_t& sseq, uint32_t cseq,
                   uint32_t bytes, Payload payload, uint32_t aux) {
    uint32_t sent = 0;
    uint32_t cwnd = 10;
    int64_t window_start = t;
    int64_t last = t;
    uint32_t unacked = 0;
    while (sent < bytes) {
      int64_t ts = window_start;
      for (uint32_t i = 0; i < cwnd && sent < bytes; ++i) {
        const uint32_t n = std::min(kMss, bytes - sent);
        const uint8_t flags = tb::tcp::kAck | (sent + n == bytes ? tb::tcp::kPsh : 0);
        Add(id, ts, false, flags, payload, static_cast<uint16_t>(n), sseq, cseq, sent, aux);
        sseq += n;
        sent += n;
        if (++unacked == 2 || sent == bytes) {
          Add(id, ts + 100 * kUs, true, tb::tcp::kAck, Payload::kNone, 0, cseq, sseq);
          unacked = 0;
          last = ts + 100 * kUs;
        }
        ts += kSerialization;
      }
      window_start += rtt;
      cwnd = std::min<uint32_t>(cwnd * 2, 64);
    }
    return last;
  }

  // A client's request of `bytes` (usually one segment), acknowledged by the
  // server with its response or an ACK.
  int64_t Upload(uint32_t id, int64_t t, uint32_t& cseq, uint32_t sseq, uint32_t bytes,
                 Payload payload, uint32_t aux) {
    uint32_t sent = 0;
    while (sent < bytes) {
      const uint32_t n = std::min(kMss, bytes - sent);
      Add(id, t, true, tb::tcp::kAck | tb::tcp::kPsh, payload, static_cast<uint16_t>(n), cseq, sseq,
          sent, aux);
      cseq += n;
      sent += n;
      t += kSerialization;
    }
    return t;
  }

  void Tcp(Kind kind, int64_t t) {
    Conv c(kind);
    const bool internal = kind == Kind::kSmallTcp || kind == Kind::kBulk || U() < 0.15;
    Endpoints(c, internal);
    switch (kind) {
      case Kind::kTls:
        c.sport = 443;
        break;
      case Kind::kHttp:
        c.sport = 80;
        break;
      case Kind::kBulk:
        c.sport = 445;
        break;
      default:
        c.sport = std::array<uint16_t, 4>{389, 445, 22, 3389}[Pick(4)];
        break;
    }
    c.name = Pick(500);
    const uint32_t id = NewConv(std::move(c));
    const int64_t rtt =
        internal ? Ns(LogNormal(0.001, 0.7, 0.0001, 0.05)) : Ns(LogNormal(0.025, 0.7, 0.002, 0.4));
    uint32_t cseq = static_cast<uint32_t>(rng_()), sseq = static_cast<uint32_t>(rng_());
    using namespace tb::tcp;
    Add(id, t, true, kSyn, Payload::kNone, 0, cseq++);
    t += rtt;
    Add(id, t, false, kSyn | kAck, Payload::kNone, 0, sseq++, cseq);
    t += 100 * kUs;
    Add(id, t, true, kAck, Payload::kNone, 0, cseq, sseq);

    int exchanges = 1;
    if (kind == Kind::kTls) {
      // TLS 1.3: ClientHello; the server's flight (ServerHello and the
      // encrypted certificate, ~4 KB); the client's Finished.
      t += 50 * kUs;
      Add(id, t, true, kAck | kPsh, Payload::kClientHello, 0, cseq, sseq);
      cseq += ClientHelloSize(convs[id].name);
      t = Download(id, t + rtt, rtt, sseq, cseq, ServerFlightSize(), Payload::kServerFlight, 0);
      t += 200 * kUs;
      t = Upload(id, t, cseq, sseq, 80, Payload::kTlsData, 80);
      // Persistent connections: several requests, then idle before closing.
      exchanges = 1 + static_cast<int>(std::min(19.0, -std::log(1 - U()) * 2.0));
    } else if (kind == Kind::kHttp) {
      exchanges = 1 + static_cast<int>(Pick(3));
    } else if (kind == Kind::kSmallTcp) {
      exchanges = 1 + static_cast<int>(Pick(8));
    }

    for (int e = 0; e < exchanges; ++e) {
      if (e > 0) t += Ns(LogNormal(1.0, 1.2, 0.01, 30));  // think time
      uint32_t request = 0, response = 0;
      Payload req_payload = Payload::kTlsData, resp_payload = Payload::kTlsData;
      switch (kind) {
        case Kind::kTls:
          request = static_cast<uint32_t>(LogNormal(500, 0.6, 100, 8000));
          response = static_cast<uint32_t>(LogNormal(3000, 1.8, 100, 3'000'000));
          break;
        case Kind::kHttp:
          req_payload = Payload::kHttpRequest;
          resp_payload = Payload::kHttpResponse;
          response = static_cast<uint32_t>(LogNormal(5000, 1.5, 0, 3'000'000));
          break;
        case Kind::kBulk:
          req_payload = resp_payload = Payload::kOpaque;
          request = 200;
          response = static_cast<uint32_t>(LogNormal(3e6, 1.0, 2e5, 3e7));
          break;
        default:
          req_payload = resp_payload = Payload::kOpaque;
          request = static_cast<uint32_t>(LogNormal(300, 0.8, 40, 4000));
          response = static_cast<uint32_t>(LogNormal(800, 1.2, 40, 60000));
          break;
      }
      if (kind == Kind::kHttp) {
        const uint32_t req_len = HttpRequestSize(convs[id], e);
        t = Upload(id, t + 50 * kUs, cseq, sseq, req_len, req_payload, static_cast<uint32_t>(e));
        const uint32_t total = HttpResponseHeaderSize(response) + response;
        t = Download(id, t + rtt, rtt, sseq, cseq, total, resp_payload, response);
      } else {
        t = Upload(id, t + 50 * kUs, cseq, sseq, request, req_payload, request);
        t = Download(id, t + rtt + Ns(LogNormal(0.002, 1.0, 0, 0.5)), rtt, sseq, cseq, response,
                     resp_payload, response);
      }
    }
    // Persistent TLS connections idle before they are closed.
    if (kind == Kind::kTls) t += Ns(LogNormal(8, 1.0, 0.1, 120));
    t += 100 * kUs;
    if (U() < 0.1) {
      Add(id, t, true, kRst | kAck, Payload::kNone, 0, cseq, sseq);
      return;
    }
    Add(id, t, true, kFin | kAck, Payload::kNone, 0, cseq++, sseq);
    t += rtt;
    Add(id, t, false, kFin | kAck, Payload::kNone, 0, sseq++, cseq);
    Add(id, t + 100 * kUs, true, kAck, Payload::kNone, 0, cseq, sseq);
  }

 public:
  // Payload bytes, deterministic from the packet and its conversation.
  static uint32_t ClientHelloSize(uint32_t name);
  static uint32_t ServerFlightSize();
  static uint32_t HttpRequestSize(const Conv& c, uint32_t exchange);
  static uint32_t HttpResponseHeaderSize(uint32_t body);

 private:
  const AgencySpec& spec_;
  std::mt19937_64 rng_;
};

std::string HostName(uint32_t i) { return "svc" + std::to_string(i) + ".agency.gov.example"; }

std::string HttpRequest(const Conv& c, uint32_t exchange) {
  return "GET /portal/page" + std::to_string(c.name % 97) + "/item" + std::to_string(exchange) +
         "?lang=en HTTP/1.1\r\nHost: " + HostName(c.name) +
         "\r\nUser-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
         "(KHTML, like Gecko) Chrome/124.0 Safari/537.36\r\nAccept: text/html,*/*\r\n"
         "Accept-Encoding: gzip, deflate\r\nConnection: keep-alive\r\n\r\n";
}

std::string HttpResponseHeader(uint32_t body) {
  return "HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: text/html; charset=utf-8\r\n"
         "Content-Length: " +
         std::to_string(body) + "\r\nCache-Control: no-cache\r\n\r\n";
}

const Bytes& ClientHello(uint32_t name) {
  static std::vector<Bytes> hellos = [] {
    std::vector<Bytes> v;
    for (uint32_t i = 0; i < 500; ++i) {
      tb::ClientHelloSpec s;
      s.sni = HostName(i);
      s.alpn = {"h2", "http/1.1"};
      v.push_back(tb::EncodeClientHelloRecord(s));
    }
    return v;
  }();
  return hellos[name % hellos.size()];
}

const Bytes& ServerFlight() {
  static const Bytes flight = [] {
    Bytes b = tb::EncodeServerHelloRecord(0x1301, true, "h2");
    const Bytes ccs = {0x14, 0x03, 0x03, 0x00, 0x01, 0x01};
    b.insert(b.end(), ccs.begin(), ccs.end());
    // Encrypted extensions, certificate, verify and finished: application
    // data records as TLS 1.3 sends them.
    for (int r = 0; r < 3; ++r) {
      const uint16_t len = 1200;
      b.insert(b.end(), {0x17, 0x03, 0x03, static_cast<uint8_t>(len >> 8),
                         static_cast<uint8_t>(len & 0xff)});
      b.insert(b.end(), len, static_cast<uint8_t>(0x5a + r));
    }
    return b;
  }();
  return flight;
}

uint32_t Generator::ClientHelloSize(uint32_t name) {
  return static_cast<uint32_t>(ClientHello(name).size());
}
uint32_t Generator::ServerFlightSize() { return static_cast<uint32_t>(ServerFlight().size()); }
uint32_t Generator::HttpRequestSize(const Conv& c, uint32_t exchange) {
  return static_cast<uint32_t>(HttpRequest(c, exchange).size());
}
uint32_t Generator::HttpResponseHeaderSize(uint32_t body) {
  return static_cast<uint32_t>(HttpResponseHeader(body).size());
}

Bytes DnsMessage(const Conv& c, bool response, uint32_t aux) {
  tb::DnsMessage m;
  m.id = static_cast<uint16_t>(c.name * 7919 + c.cport);
  const std::string name = "host" + std::to_string(c.name) + ".agency.gov.example";
  const uint16_t qtype = c.name % 4 == 0 ? 28 : 1;  // a quarter AAAA
  m.questions.push_back({name, qtype, 1});
  if (response) {
    m.response = true;
    m.ra = true;
    for (uint32_t i = 0; i < aux; ++i) {
      Bytes rdata = qtype == 28 ? tb::ParseIp("2001:db8:f::10") : Bytes{192, 0, 2, 10};
      rdata.back() = static_cast<uint8_t>(rdata.back() + i);
      m.answers.push_back({name, qtype, 1, 300, rdata});
    }
  }
  return tb::EncodeDns(m);
}

// The bytes of `p`: a slice of its message at p.offset, p.len long (0 =
// the whole message).
Bytes PayloadOf(const Conv& c, const Pkt& p) {
  auto slice = [&](const auto& whole) {
    const size_t from = std::min<size_t>(p.offset, whole.size());
    const size_t n =
        p.len == 0 ? whole.size() - from : std::min<size_t>(p.len, whole.size() - from);
    return Bytes(whole.begin() + static_cast<ptrdiff_t>(from),
                 whole.begin() + static_cast<ptrdiff_t>(from + n));
  };
  switch (p.payload) {
    case Payload::kNone:
      return {};
    case Payload::kDnsQuery:
      return DnsMessage(c, false, 0);
    case Payload::kDnsResponse:
      return DnsMessage(c, true, p.aux);
    case Payload::kNtp:
      return Bytes(48, 0x23);
    case Payload::kSyslog:
      return tb::ToBytes("<134>1 2024-05-01T10:00:00Z host app - - - user login ok");
    case Payload::kClientHello:
      return ClientHello(c.name);
    case Payload::kServerFlight:
      return slice(ServerFlight());
    case Payload::kTlsData: {
      // Application data records of at most 16 KiB (+ 5 bytes of header)
      // covering the message (`aux` bytes, the upload/download total).
      constexpr uint32_t kRecord = 16384 + 5;
      Bytes b(p.len, static_cast<uint8_t>(0xa0 | (p.seq & 0x0f)));
      for (uint32_t i = 0; i < p.len; ++i) {
        const uint32_t o = p.offset + i;
        const uint32_t in_record = o % kRecord;
        if (in_record >= 5) continue;
        const uint32_t total = p.aux != 0 ? p.aux : p.offset + p.len;
        const uint32_t body = std::min(kRecord, total - (o - in_record)) - 5;
        const uint8_t header[5] = {0x17, 0x03, 0x03, static_cast<uint8_t>(body >> 8),
                                   static_cast<uint8_t>(body & 0xff)};
        b[i] = header[in_record];
      }
      return b;
    }
    case Payload::kHttpRequest:
      return slice(tb::ToBytes(HttpRequest(c, p.aux)));
    case Payload::kHttpResponse: {
      const std::string header = HttpResponseHeader(p.aux);
      Bytes b(p.len, 'x');
      for (size_t i = 0; i < b.size() && p.offset + i < header.size(); ++i) {
        b[i] = static_cast<uint8_t>(header[p.offset + i]);
      }
      // The body starts like an HTML page (the analyzer sniffs its type).
      static constexpr std::string_view kHtml = "<!DOCTYPE html><html><head>";
      for (size_t k = 0; k < kHtml.size(); ++k) {
        const size_t at = header.size() + k;
        if (at >= p.offset && at < p.offset + b.size() && k < p.aux) {
          b[at - p.offset] = static_cast<uint8_t>(kHtml[k]);
        }
      }
      return b;
    }
    case Payload::kOpaque:
    case Payload::kQuic:
      return Bytes(p.len, static_cast<uint8_t>(0x40 | (p.seq & 0x3f)));
    case Payload::kIcmpEcho:
      return Bytes(p.len, 0x61);
  }
  return {};
}

}  // namespace

TrafficSummary WriteAgencyCapture(const std::string& path, const AgencySpec& spec) {
  Generator g(spec);
  g.Arrivals(Kind::kDns, spec.dns_per_s);
  g.Arrivals(Kind::kNtp, spec.other_udp_per_s / 2);
  g.Arrivals(Kind::kSyslog, spec.other_udp_per_s / 2);
  g.Arrivals(Kind::kTls, spec.tls_per_s);
  g.Arrivals(Kind::kHttp, spec.http_per_s);
  g.Arrivals(Kind::kSmallTcp, spec.other_tcp_per_s);
  g.Arrivals(Kind::kBulk, spec.bulk_per_s);
  g.Arrivals(Kind::kFailedTcp, spec.failed_tcp_per_s);
  g.Arrivals(Kind::kQuic, spec.quic_per_s);
  g.Arrivals(Kind::kIcmp, spec.icmp_per_s);
  std::stable_sort(g.pkts.begin(), g.pkts.end(),
                   [](const Pkt& a, const Pkt& b) { return a.ts < b.ts; });

  tb::PcapWriter pcap;
  if (!pcap.Open(path, tb::kLinkEthernet, /*nanosecond=*/true)) return {};
  TrafficSummary s;
  // Conversations in progress: between their first and last packet.
  std::vector<int64_t> first(g.convs.size(), INT64_MAX), last(g.convs.size(), 0);
  for (const Pkt& p : g.pkts) {
    first[p.conv] = std::min(first[p.conv], p.ts);
    last[p.conv] = std::max(last[p.conv], p.ts);
  }
  std::vector<int64_t> ends;
  ends.reserve(g.convs.size());
  std::vector<bool> started(g.convs.size(), false);
  for (const Pkt& p : g.pkts) {
    const Conv& c = g.convs[p.conv];
    if (!started[p.conv]) {
      started[p.conv] = true;
      ends.push_back(last[p.conv]);
      std::push_heap(ends.begin(), ends.end(), std::greater<>());
    }
    while (!ends.empty() && ends.front() < p.ts) {
      std::pop_heap(ends.begin(), ends.end(), std::greater<>());
      ends.pop_back();
    }
    s.peak_open = std::max<uint64_t>(s.peak_open, ends.size());
    const Bytes& src = p.from_client ? c.client : c.server;
    const Bytes& dst = p.from_client ? c.server : c.client;
    const uint16_t sport = p.from_client ? c.cport : c.sport;
    const uint16_t dport = p.from_client ? c.sport : c.cport;
    const Bytes payload = PayloadOf(c, p);
    Bytes l4;
    uint8_t proto = tb::kProtoTcp;
    switch (c.kind) {
      case Kind::kDns:
      case Kind::kNtp:
      case Kind::kSyslog:
      case Kind::kQuic:
        proto = tb::kProtoUdp;
        l4 = tb::Udp(src, dst, sport, dport, payload);
        break;
      case Kind::kIcmp:
        proto = c.v6 ? tb::kProtoIcmp6 : tb::kProtoIcmp;
        l4 = tb::Icmp(src, dst,
                      c.v6 ? static_cast<uint8_t>(p.from_client ? 128 : 129)
                           : static_cast<uint8_t>(p.from_client ? 8 : 0),
                      0, (uint32_t{c.cport} << 16) | p.aux, payload);
        break;
      default:
        l4 = tb::Tcp(src, dst, sport, dport, p.seq, p.ack, p.flags, payload);
        break;
    }
    tb::L2 l2;
    if (c.vlan != 0) l2.vlans = {c.vlan};
    const Bytes frame = tb::Frame(l2, src, dst, proto, l4);
    pcap.Write(p.ts, frame);
    ++s.packets;
    s.bytes += frame.size();
    if (proto == tb::kProtoTcp) ++s.tcp_packets;
  }
  pcap.Close();
  s.flows = g.convs.size();
  for (const Conv& c : g.convs) {
    if (c.kind != Kind::kDns && c.kind != Kind::kNtp && c.kind != Kind::kSyslog &&
        c.kind != Kind::kQuic && c.kind != Kind::kIcmp) {
      ++s.tcp_flows;
    }
  }
  return s;
}

}  // namespace vigil::bench
