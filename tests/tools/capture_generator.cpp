// vigil-capgen: writes deterministic test captures and their ground truth.
//
//   vigil-capgen --scenario demo|mixed|alert-storm --seed N --pcap OUT.pcap --truth OUT.jsonl
//                [--flows N] [--start-time EPOCH_SECONDS]
//
// The same arguments always produce the same bytes. The truth file has one
// JSON object per line: {"type":"flow",...} for every connection with the
// counts an accurate sensor must report, {"type":"dns",...} for every DNS
// exchange, and {"type":"attack",...} for every attack the capture contains
// (name, source, target) so tests can predict the alerts.

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "tests/support/conversation.h"

namespace {

using vigil::testing::Bytes;
using vigil::testing::Conversation;
using vigil::testing::DnsAnswer;
using vigil::testing::DnsMessage;
using vigil::testing::DnsQuestion;
using vigil::testing::L2;
using vigil::testing::PcapWriter;
using vigil::testing::Side;

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kMillisecond = 1'000'000;

struct Options {
  std::string scenario = "demo";
  uint64_t seed = 1;
  std::string pcap_path;
  std::string truth_path;
  int flows = 200;
  int64_t start_s = 1768442400;  // 2026-01-15T02:00:00Z
};

std::string JsonEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out;
}

class Generator {
 public:
  Generator(const Options& opt, PcapWriter& pcap, std::FILE* truth)
      : opt_(opt), pcap_(pcap), truth_(truth), rng_(opt.seed), now_(opt.start_s * kSecond) {}

  void Run() {
    if (opt_.scenario == "demo") {
      Demo();
    } else if (opt_.scenario == "mixed") {
      Mixed(opt_.flows);
    } else if (opt_.scenario == "alert-storm") {
      AlertStorm(opt_.flows);
    } else {
      std::fprintf(stderr, "vigil-capgen: unknown scenario '%s'\n", opt_.scenario.c_str());
      std::exit(2);
    }
  }

 private:
  // --- building blocks, each writes one connection and its truth ---------

  void FlowTruth(const Conversation& c, const char* proto, std::string_view orig, uint16_t oport,
                 std::string_view resp, uint16_t rport, const char* state, const char* service,
                 const char* note = "") {
    const auto& t = c.truth();
    std::fprintf(
        truth_,
        "{\"type\":\"flow\",\"proto\":\"%s\",\"id.orig_h\":\"%.*s\",\"id.orig_p\":%u,"
        "\"id.resp_h\":\"%.*s\",\"id.resp_p\":%u,\"conn_state\":\"%s\",\"service\":\"%s\","
        "\"orig_pkts\":%" PRIu64 ",\"resp_pkts\":%" PRIu64 ",\"orig_bytes\":%" PRIu64
        ",\"resp_bytes\":%" PRIu64 ",\"orig_ip_bytes\":%" PRIu64 ",\"resp_ip_bytes\":%" PRIu64
        ",\"first_ns\":%" PRId64 ",\"last_ns\":%" PRId64 ",\"note\":\"%s\"}\n",
        proto, static_cast<int>(orig.size()), orig.data(), oport, static_cast<int>(resp.size()),
        resp.data(), rport, state, service, t.orig_pkts, t.resp_pkts, t.orig_bytes, t.resp_bytes,
        t.orig_ip_bytes, t.resp_ip_bytes, t.first_ns, t.last_ns, note);
  }

  void Attack(const char* name, std::string_view src, std::string_view dst, const char* detail) {
    std::fprintf(truth_,
                 "{\"type\":\"attack\",\"name\":\"%s\",\"src\":\"%.*s\",\"dst\":\"%.*s\","
                 "\"detail\":\"%s\",\"ts_ns\":%" PRId64 "}\n",
                 name, static_cast<int>(src.size()), src.data(), static_cast<int>(dst.size()),
                 dst.data(), JsonEscape(detail).c_str(), now_);
  }

  uint16_t EphemeralPort() { return static_cast<uint16_t>(32768 + rng_() % 28000); }

  void DnsLookup(std::string_view client, std::string_view server, std::string_view name,
                 std::string_view answer_ip, uint32_t ttl = 300, const char* note = "") {
    const uint16_t port = EphemeralPort();
    Conversation c(pcap_, l2_, client, port, server, 53, vigil::testing::kProtoUdp, now_);
    DnsMessage q;
    q.id = static_cast<uint16_t>(rng_());
    q.questions.push_back(DnsQuestion{std::string(name), 1, 1});
    c.Datagram(Side::kOrig, vigil::testing::EncodeDns(q));
    c.Advance(2 * kMillisecond);
    DnsMessage r = q;
    r.response = true;
    r.ra = true;
    if (answer_ip.empty()) {
      r.rcode = 3;  // NXDOMAIN
    } else {
      r.answers.push_back(
          DnsAnswer{std::string(name), 1, 1, ttl, vigil::testing::ParseIp(answer_ip)});
    }
    c.Datagram(Side::kResp, vigil::testing::EncodeDns(r));
    FlowTruth(c, "udp", client, port, server, 53, "SF", "dns", note);
    std::fprintf(truth_,
                 "{\"type\":\"dns\",\"id.orig_h\":\"%.*s\",\"query\":\"%.*s\",\"qtype_name\":\"A\","
                 "\"rcode_name\":\"%s\",\"answers\":[%s%.*s%s]}\n",
                 static_cast<int>(client.size()), client.data(), static_cast<int>(name.size()),
                 name.data(), answer_ip.empty() ? "NXDOMAIN" : "NOERROR",
                 answer_ip.empty() ? "" : "\"", static_cast<int>(answer_ip.size()),
                 answer_ip.data(), answer_ip.empty() ? "" : "\"");
    now_ = c.now_ns();
  }

  void Https(std::string_view client, std::string_view server, std::string_view sni,
             const char* note = "") {
    const uint16_t port = EphemeralPort();
    Conversation c(pcap_, l2_, client, port, server, 443, vigil::testing::kProtoTcp, now_,
                   static_cast<uint32_t>(rng_()), static_cast<uint32_t>(rng_()));
    c.Handshake();
    vigil::testing::ClientHelloSpec hello;
    hello.sni = std::string(sni);
    hello.alpn = {"h2", "http/1.1"};
    for (auto& b : hello.random) b = static_cast<uint8_t>(rng_());
    const Bytes ch = vigil::testing::EncodeClientHelloRecord(hello);
    c.Send(Side::kOrig, std::string_view(reinterpret_cast<const char*>(ch.data()), ch.size()));
    const Bytes sh = vigil::testing::EncodeServerHelloRecord(0x1301, true, "h2");
    c.Send(Side::kResp, std::string_view(reinterpret_cast<const char*>(sh.data()), sh.size()));
    // Encrypted application data: opaque records.
    std::string app(200 + rng_() % 800, '\x17');
    c.Send(Side::kOrig, app);
    std::string resp(1000 + rng_() % 3000, '\x17');
    c.Send(Side::kResp, resp);
    c.Close();
    FlowTruth(c, "tcp", client, port, server, 443, "SF", "ssl", note);
    now_ = c.now_ns();
  }

  void Http(std::string_view client, std::string_view server, std::string_view host,
            std::string_view uri, const char* note = "") {
    const uint16_t port = EphemeralPort();
    Conversation c(pcap_, l2_, client, port, server, 80, vigil::testing::kProtoTcp, now_,
                   static_cast<uint32_t>(rng_()), static_cast<uint32_t>(rng_()));
    c.Handshake();
    std::string req = "GET " + std::string(uri) + " HTTP/1.1\r\nHost: " + std::string(host) +
                      "\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\nAccept: */*\r\n\r\n";
    c.Send(Side::kOrig, req);
    std::string body(300 + rng_() % 2000, 'x');
    std::string resp = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: " +
                       std::to_string(body.size()) + "\r\n\r\n" + body;
    c.Send(Side::kResp, resp);
    c.Close();
    FlowTruth(c, "tcp", client, port, server, 80, "SF", "http", note);
    now_ = c.now_ns();
  }

  void Ping(std::string_view client, std::string_view server) {
    Conversation c(pcap_, l2_, client, 8, server, 0, vigil::testing::kProtoIcmp, now_);
    const uint32_t rest = static_cast<uint32_t>(rng_() & 0xffff) << 16 | 1;
    Bytes payload(56, 0x61);
    const bool v6 = vigil::testing::ParseIp(client).size() == 16;
    c.IcmpMessage(Side::kOrig, v6 ? 128 : 8, 0, rest, payload);
    c.Advance(kMillisecond);
    c.IcmpMessage(Side::kResp, v6 ? 129 : 0, 0, rest, payload);
    FlowTruth(c, "icmp", client, v6 ? 128 : 8, server, v6 ? 129 : 0, "OTH", "");
    now_ = c.now_ns();
  }

  void Telnet(std::string_view client, std::string_view server) {
    const uint16_t port = EphemeralPort();
    Conversation c(pcap_, l2_, client, port, server, 23, vigil::testing::kProtoTcp, now_,
                   static_cast<uint32_t>(rng_()), static_cast<uint32_t>(rng_()));
    c.Handshake();
    c.Send(Side::kResp, "\r\nUbuntu 22.04 LTS\r\nlogin: ");
    c.Send(Side::kOrig, "admin\r\n");
    c.Send(Side::kResp, "Password: ");
    c.Send(Side::kOrig, "hunter2\r\n");
    c.Send(Side::kResp, "\r\nLast login: Mon Jan 12 09:14:01\r\n$ ");
    c.Send(Side::kOrig, "exit\r\n");
    c.Close();
    FlowTruth(c, "tcp", client, port, server, 23, "SF", "", "telnet");
    now_ = c.now_ns();
  }

  // One SYN per port; closed ports answer RST (REJ), open ports SYN-ACK then
  // the scanner resets (RSTO... as a half-open scan).
  void PortScan(std::string_view scanner, std::string_view target, int first, int last,
                const std::vector<int>& open) {
    for (int p = first; p <= last; ++p) {
      const uint16_t sport = EphemeralPort();
      Conversation c(pcap_, l2_, scanner, sport, target, static_cast<uint16_t>(p),
                     vigil::testing::kProtoTcp, now_, static_cast<uint32_t>(rng_()),
                     static_cast<uint32_t>(rng_()));
      c.Syn();
      const bool is_open = std::find(open.begin(), open.end(), p) != open.end();
      if (is_open) {
        c.SynAck();
        c.Rst(Side::kOrig);
        FlowTruth(c, "tcp", scanner, sport, target, static_cast<uint16_t>(p), "RSTO", "",
                  "port_scan");
      } else {
        c.Rst(Side::kResp);
        FlowTruth(c, "tcp", scanner, sport, target, static_cast<uint16_t>(p), "REJ", "",
                  "port_scan");
      }
      now_ = c.now_ns() + 3 * kMillisecond;
    }
  }

  void SshAttempts(std::string_view attacker, std::string_view server, int attempts) {
    for (int i = 0; i < attempts; ++i) {
      const uint16_t port = EphemeralPort();
      Conversation c(pcap_, l2_, attacker, port, server, 22, vigil::testing::kProtoTcp, now_,
                     static_cast<uint32_t>(rng_()), static_cast<uint32_t>(rng_()));
      c.Handshake();
      c.Send(Side::kResp, "SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n");
      c.Send(Side::kOrig, "SSH-2.0-libssh2_1.10.0\r\n");
      std::string kex(600, '\x14');
      c.Send(Side::kOrig, kex);
      c.Send(Side::kResp, kex);
      c.Close();
      FlowTruth(c, "tcp", attacker, port, server, 22, "SF", "", "ssh_bruteforce");
      now_ = c.now_ns() + 1500 * kMillisecond;
    }
  }

  void Background(int rounds) {
    static const char* kSites[] = {"portal.gov.example", "mail.gov.example", "intranet.gov.example",
                                   "updates.vendor.example"};
    for (int i = 0; i < rounds; ++i) {
      const std::string client = "10.20.1." + std::to_string(10 + rng_() % 40);
      const char* site = kSites[rng_() % 4];
      const std::string server_ip = "10.20.5." + std::to_string(5 + rng_() % 4);
      DnsLookup(client, "10.20.0.53", site, server_ip);
      now_ += 5 * kMillisecond;
      switch (rng_() % 3) {
        case 0:
          Https(client, server_ip, site);
          break;
        case 1:
          Http(client, server_ip, site, "/index.html");
          break;
        default:
          Ping(client, server_ip);
          break;
      }
      now_ += 200 * kMillisecond + static_cast<int64_t>(rng_() % 800) * kMillisecond;
    }
  }

  // --- scenarios -----------------------------------------------------------

  void Demo() {
    Background(12);
    Attack("bad_domain_lookup", "10.20.1.23", "update.malware-c2.example",
           "lookup of a listed malicious domain");
    DnsLookup("10.20.1.23", "10.20.0.53", "update.malware-c2.example", "203.0.113.66", 60,
              "bad_domain_lookup");
    now_ += 300 * kMillisecond;
    Attack("c2_session", "10.20.1.23", "203.0.113.66",
           "TLS session with the listed address the bad domain resolved to");
    Https("10.20.1.23", "203.0.113.66", "update.malware-c2.example", "c2_session");
    Background(6);
    Attack("telnet_session", "10.20.1.30", "10.20.9.9", "cleartext telnet login");
    Telnet("10.20.1.30", "10.20.9.9");
    Background(6);
    Attack("port_scan", "198.51.100.77", "10.20.5.5", "SYN scan of ports 1-120");
    PortScan("198.51.100.77", "10.20.5.5", 1, 120, {22, 80, 443});
    Background(6);
    Attack("ssh_bruteforce", "198.51.100.88", "10.20.5.10", "30 SSH connections in 60 s");
    SshAttempts("198.51.100.88", "10.20.5.10", 30);
    Background(8);
  }

  // `lookups` hosts each resolve a listed bad domain once: one alert each,
  // for tests that need many alerts (crash safety under heavy writing).
  void AlertStorm(int lookups) {
    for (int i = 0; i < lookups; ++i) {
      const std::string client =
          "10.50." + std::to_string(i / 250) + "." + std::to_string(1 + i % 250);
      const std::string name = "h" + std::to_string(i) + ".malware-c2.example";
      Attack("bad_domain_lookup", client, name, "lookup of a listed malicious domain");
      DnsLookup(client, "10.50.255.53", name, "203.0.113.66", 60, "bad_domain_lookup");
      now_ += 10 * kMillisecond;
    }
  }

  void Mixed(int flows) {
    for (int i = 0; i < flows; ++i) {
      const std::string client =
          "10.30." + std::to_string(rng_() % 4) + "." + std::to_string(10 + rng_() % 200);
      const std::string server = "10.40.0." + std::to_string(1 + rng_() % 50);
      switch (rng_() % 4) {
        case 0:
          DnsLookup(client, "10.40.0.53", "host" + std::to_string(rng_() % 1000) + ".gov.example",
                    server);
          break;
        case 1:
          Https(client, server, "svc" + std::to_string(rng_() % 50) + ".gov.example");
          break;
        case 2:
          Http(client, server, "web.gov.example", "/page/" + std::to_string(rng_() % 100));
          break;
        default:
          Ping(client, server);
          break;
      }
      now_ += static_cast<int64_t>(rng_() % 50) * kMillisecond;
    }
  }

  const Options& opt_;
  PcapWriter& pcap_;
  std::FILE* truth_;
  std::mt19937_64 rng_;
  int64_t now_;
  L2 l2_;
};

bool ParseArgs(int argc, char** argv, Options& opt) {
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "vigil-capgen: %s needs a value\n", argv[i]);
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--scenario") {
      opt.scenario = value();
    } else if (a == "--seed") {
      opt.seed = std::strtoull(value(), nullptr, 10);
    } else if (a == "--pcap") {
      opt.pcap_path = value();
    } else if (a == "--truth") {
      opt.truth_path = value();
    } else if (a == "--flows") {
      opt.flows = std::atoi(value());
    } else if (a == "--start-time") {
      opt.start_s = std::strtoll(value(), nullptr, 10);
    } else {
      std::fprintf(stderr, "vigil-capgen: unknown argument '%s'\n", argv[i]);
      return false;
    }
  }
  return !opt.pcap_path.empty() && !opt.truth_path.empty();
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  if (!ParseArgs(argc, argv, opt)) {
    std::fprintf(
        stderr,
        "usage: vigil-capgen --scenario demo|mixed|alert-storm --seed N --pcap OUT --truth OUT "
        "[--flows N] [--start-time S]\n");
    return 2;
  }
  PcapWriter pcap;
  if (!pcap.Open(opt.pcap_path)) {
    std::perror(opt.pcap_path.c_str());
    return 1;
  }
  std::FILE* truth = std::fopen(opt.truth_path.c_str(), "w");
  if (truth == nullptr) {
    std::perror(opt.truth_path.c_str());
    return 1;
  }
  Generator(opt, pcap, truth).Run();
  const bool ok = pcap.Close() && std::fclose(truth) == 0;
  if (!ok) {
    std::perror("vigil-capgen: write");
    return 1;
  }
  std::fprintf(stderr, "vigil-capgen: %s: %" PRIu64 " packets\n", opt.pcap_path.c_str(),
               pcap.packets());
  return 0;
}
