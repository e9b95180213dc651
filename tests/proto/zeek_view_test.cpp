// The Zeek view of a wire record (proto/vigil/v1/zeek/zeek_view.h): Zeek's
// field order and types for every record kind, each omission rule, the
// rounding of times, address text, UTF-8 text, errors, and that visiting
// allocates nothing once warm.

#include "proto/vigil/v1/zeek/zeek_view.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <limits>
#include <new>
#include <random>
#include <string>
#include <vector>

#include "tests/proto/record_samples.h"

// Counts heap allocations while `g_counting` is set (the whole test binary
// shares this operator new; only the allocation test switches it on).
namespace {
std::atomic<bool> g_counting{false};
std::atomic<uint64_t> g_allocations{0};
}  // namespace

void* operator new(std::size_t n) {
  if (g_counting.load(std::memory_order_relaxed)) g_allocations.fetch_add(1);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
// Not inlined: g++ 12 at -O2 would otherwise pair the inlined free() with the
// builtin operator new at each call site and warn (-Wmismatched-new-delete).
[[gnu::noinline]] void operator delete(void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace vigil::v1::zeek {
namespace {

using vigil::test::Envelope;
using vigil::test::RecordSamples;

// One visited field: its name, Zeek type and value as text.
struct Field {
  std::string name;
  std::string type;
  std::string value;
  friend bool operator==(const Field&, const Field&) = default;
};

std::ostream& operator<<(std::ostream& os, const Field& f) {
  return os << f.name << ":" << f.type << "=" << f.value;
}

class Recorder {
 public:
  void String(std::string_view n, std::string_view v) { Add(n, "string", std::string(v)); }
  void Count(std::string_view n, uint64_t v) { Add(n, "count", std::to_string(v)); }
  void Int(std::string_view n, int64_t v) { Add(n, "int", std::to_string(v)); }
  void Double(std::string_view n, double v) { Add(n, "double", std::to_string(v)); }
  void Bool(std::string_view n, bool v) { Add(n, "bool", v ? "T" : "F"); }
  void Time(std::string_view n, ZeekTime t) { Add(n, "time", std::to_string(t.micros)); }
  void Interval(std::string_view n, ZeekInterval d) {
    Add(n, "interval", std::to_string(d.micros));
  }
  void Address(std::string_view n, const ZeekAddress& a) {
    Add(n, "addr", std::string(a.text));
    EXPECT_TRUE(a.bytes.size() == 4 || a.bytes.size() == 16);
  }
  void Port(std::string_view n, uint32_t p) { Add(n, "port", std::to_string(p)); }
  void StringVector(std::string_view n, const ZeekStringVector& v) {
    std::string all;
    for (size_t i = 0; i < v.size(); ++i) all += (i ? "|" : "") + std::string(v[i]);
    Add(n, "vector[string]", all);
  }
  void IntervalVector(std::string_view n, const ZeekIntervalVector& v) {
    std::string all;
    for (size_t i = 0; i < v.size(); ++i) all += (i ? "|" : "") + std::to_string(v[i].micros);
    Add(n, "vector[interval]", all);
  }

  std::vector<Field> fields;
  std::vector<std::string> Names() const {
    std::vector<std::string> out;
    for (const auto& f : fields) out.push_back(f.name);
    return out;
  }
  const Field* Find(std::string_view name) const {
    for (const auto& f : fields) {
      if (f.name == name) return &f;
    }
    return nullptr;
  }
  std::string Value(std::string_view name) const {
    const Field* f = Find(name);
    return f ? f->value : "<absent>";
  }

 private:
  void Add(std::string_view n, const char* type, std::string v) {
    fields.push_back({std::string(n), type, std::move(v)});
  }
};
static_assert(ZeekFieldVisitor<Recorder>);

Recorder Visit(const vigil::v1::Event& e) {
  auto view = ZeekView::Of(e);
  EXPECT_TRUE(view.has_value());
  Recorder r;
  if (view) view->Visit(r);
  return r;
}

vigil::v1::Event Sample(std::string_view name) {
  for (auto& s : RecordSamples()) {
    if (s.name == name) return s.event;
  }
  ADD_FAILURE() << "no sample " << name;
  return {};
}

const std::vector<std::string> kHeader = {"ts",        "uid",       "id.orig_h",
                                          "id.orig_p", "id.resp_h", "id.resp_p"};

std::vector<std::string> WithHeader(std::vector<std::string> rest) {
  std::vector<std::string> all = kHeader;
  all.insert(all.end(), rest.begin(), rest.end());
  return all;
}

TEST(ZeekView, ConnFieldsInZeeksOrderWithZeeksTypes) {
  auto e = Sample("conn_full");
  ASSERT_EQ(ZeekView::Of(e)->log(), ZeekLog::kConn);
  EXPECT_EQ(ZeekView::Of(e)->path(), "conn");
  const Recorder r = Visit(e);
  const std::vector<Field> expected = {
      {"ts", "time", "1700000000123457"},
      {"uid", "string", "CHhAvVGS1DHFjwGM9"},
      {"id.orig_h", "addr", "10.0.0.1"},
      {"id.orig_p", "port", "51000"},
      {"id.resp_h", "addr", "2001:db8::1"},
      {"id.resp_p", "port", "443"},
      {"proto", "string", "tcp"},
      {"service", "string", "ssl,http"},
      {"duration", "interval", "2500000"},
      {"orig_bytes", "count", "101"},
      {"resp_bytes", "count", "102"},
      {"conn_state", "string", "SF"},
      {"local_orig", "bool", "T"},
      {"local_resp", "bool", "F"},
      {"missed_bytes", "count", "107"},
      {"history", "string", "ShADadFf"},
      {"orig_pkts", "count", "103"},
      {"orig_ip_bytes", "count", "104"},
      {"resp_pkts", "count", "105"},
      {"resp_ip_bytes", "count", "106"},
      {"ip_proto", "count", "6"},
      {"vlan", "int", "100"},
      {"inner_vlan", "int", "7"},
      {"community_id", "string", "1:LQU9qZlK+B5F3KDmev6m5PMibrg="},
      {"end_reason", "string", "closed"},
  };
  EXPECT_EQ(r.fields, expected);
}

TEST(ZeekView, ConnInterimCarriesDeltasTunnelsAndOneVlan) {
  const Recorder r = Visit(Sample("conn_interim"));
  EXPECT_EQ(r.Names(), WithHeader({"proto",
                                   "duration",
                                   "orig_bytes",
                                   "resp_bytes",
                                   "conn_state",
                                   "local_orig",
                                   "local_resp",
                                   "missed_bytes",
                                   "orig_pkts",
                                   "orig_ip_bytes",
                                   "resp_pkts",
                                   "resp_ip_bytes",
                                   "tunnel_parents",
                                   "ip_proto",
                                   "vlan",
                                   "end_reason",
                                   "interim",
                                   "delta_orig_bytes",
                                   "delta_resp_bytes",
                                   "delta_orig_pkts",
                                   "delta_orig_ip_bytes",
                                   "delta_resp_pkts",
                                   "delta_resp_ip_bytes"}));
  EXPECT_EQ(*r.Find("tunnel_parents"),
            (Field{"tunnel_parents", "vector[string]", "CabcDEF1|CghiJKL2"}));
  EXPECT_EQ(r.Value("interim"), "T");
  EXPECT_EQ(r.Value("delta_orig_bytes"), "11");
  EXPECT_EQ(r.Value("delta_resp_ip_bytes"), "16");
  EXPECT_EQ(r.Value("proto"), "udp");
}

TEST(ZeekView, ZeroOrNegativeDurationOmitsDurationAndByteCounts) {
  for (const char* name :
       {"conn_zero_duration_icmp6", "conn_negative_duration", "conn_edge_values"}) {
    const Recorder r = Visit(Sample(name));
    EXPECT_EQ(r.Find("duration"), nullptr) << name;
    EXPECT_EQ(r.Find("orig_bytes"), nullptr) << name;
    EXPECT_EQ(r.Find("resp_bytes"), nullptr) << name;
    EXPECT_NE(r.Find("orig_pkts"), nullptr) << name;  // packet counts stay
  }
  // A duration that is not set at all.
  auto e = Sample("conn_full");
  e.mutable_flow()->clear_duration();
  EXPECT_EQ(Visit(e).Find("orig_bytes"), nullptr);
  // One microsecond is enough.
  e.mutable_flow()->mutable_duration()->set_nanos(500);
  EXPECT_EQ(Visit(e).Value("duration"), "1");
}

TEST(ZeekView, UnsetAndUnspecifiedFieldsAreOmitted) {
  const Recorder r = Visit(Sample("conn_unspecified"));
  EXPECT_EQ(r.Find("uid"), nullptr);         // empty uid
  EXPECT_EQ(r.Find("conn_state"), nullptr);  // a state this build does not know
  EXPECT_EQ(r.Find("end_reason"), nullptr);  // END_REASON_UNSPECIFIED
  EXPECT_EQ(r.Find("history"), nullptr);     // empty
  EXPECT_EQ(r.Find("community_id"), nullptr);
  EXPECT_EQ(r.Find("vlan"), nullptr);
  EXPECT_EQ(r.Find("tunnel_parents"), nullptr);
  EXPECT_EQ(r.Find("interim"), nullptr);  // false is not logged
  EXPECT_EQ(r.Find("delta_orig_bytes"), nullptr);
  EXPECT_EQ(r.Value("proto"), "unknown_transport");
  EXPECT_EQ(r.Value("ip_proto"), "47");
  EXPECT_EQ(r.Value("service"), ",gre");  // an empty service keeps its place
  for (const Field& f : r.fields) EXPECT_NE(f.value, "") << f.name << " rendered empty";
}

TEST(ZeekView, DnsFieldsInZeeksOrderWithZeeksTypes) {
  const Recorder r = Visit(Sample("dns_full"));
  EXPECT_EQ(ZeekView::Of(Sample("dns_full"))->path(), "dns");
  const std::vector<Field> expected = {
      {"proto", "string", "udp"},
      {"trans_id", "count", "4242"},
      {"rtt", "interval", "1500"},
      {"query", "string", "www.example.com"},
      {"qclass", "count", "1"},
      {"qclass_name", "string", "C_INTERNET"},
      {"qtype", "count", "28"},
      {"qtype_name", "string", "AAAA"},
      {"rcode", "count", "3"},
      {"rcode_name", "string", "NXDOMAIN"},
      {"AA", "bool", "T"},
      {"TC", "bool", "T"},
      {"RD", "bool", "T"},
      {"RA", "bool", "T"},
      {"Z", "count", "2"},
      {"answers", "vector[string]", "www.cdn.example.com|2001:db8::5"},
      {"TTLs", "vector[interval]", "300000000|60000000"},
      {"rejected", "bool", "T"},
  };
  ASSERT_EQ(r.fields.size(), kHeader.size() + expected.size());
  EXPECT_EQ(std::vector<Field>(r.fields.begin() + 6, r.fields.end()), expected);
}

TEST(ZeekView, DnsFallbackNamesNetbiosAndOmissions) {
  const Recorder unknown = Visit(Sample("dns_unknown_names"));
  EXPECT_EQ(unknown.Value("proto"), "tcp");
  EXPECT_EQ(unknown.Value("qclass_name"), "qclass-77");
  EXPECT_EQ(unknown.Value("qtype_name"), "query-65000");
  EXPECT_EQ(unknown.Value("rcode_name"), "rcode-99");
  EXPECT_EQ(unknown.Find("rtt"), nullptr);
  EXPECT_EQ(unknown.Find("answers"), nullptr);
  EXPECT_EQ(unknown.Find("TTLs"), nullptr);

  const Recorder netbios = Visit(Sample("dns_netbios"));
  EXPECT_EQ(netbios.Value("qtype_name"), "NBSTAT");
  EXPECT_EQ(netbios.Value("rcode_name"), "NXRRSet");
  // Zeek's `137/udp`: the same message over TCP, or to another port, is SRV.
  auto tcp = Sample("dns_netbios");
  tcp.mutable_dns()->set_transport(vigil::v1::TRANSPORT_TCP);
  EXPECT_EQ(Visit(tcp).Value("qtype_name"), "SRV");
  auto other_port = Sample("dns_netbios");
  other_port.mutable_id()->set_resp_port(53);
  EXPECT_EQ(Visit(other_port).Value("qtype_name"), "SRV");

  const Recorder query_only = Visit(Sample("dns_query_only"));
  EXPECT_EQ(query_only.Value("proto"), "unknown_transport");  // transport left unset
  EXPECT_EQ(query_only.Find("rcode"), nullptr);
  EXPECT_EQ(query_only.Find("rcode_name"), nullptr);
  EXPECT_EQ(query_only.Value("qtype_name"), "*");
  EXPECT_EQ(query_only.Value("rejected"), "F");

  const Recorder zero_rtt = Visit(Sample("dns_zero_rtt"));
  EXPECT_EQ(zero_rtt.Find("rtt"), nullptr);  // Zeek deletes a zero rtt
  EXPECT_EQ(zero_rtt.Find("query"), nullptr);
  EXPECT_EQ(zero_rtt.Value("rcode_name"), "BADSIG");
}

TEST(ZeekView, SslFieldsInZeeksOrder) {
  const Recorder r = Visit(Sample("ssl_full"));
  EXPECT_EQ(r.Names(),
            WithHeader({"version", "cipher", "curve", "server_name", "resumed", "next_protocol",
                        "established", "ssl_history", "ja3", "ja4", "client_alpn"}));
  EXPECT_EQ(r.Value("version"), "TLSv13");
  EXPECT_EQ(r.Value("cipher"), "TLS_AES_128_GCM_SHA256");
  EXPECT_EQ(r.Value("curve"), "X25519MLKEM768");
  EXPECT_EQ(*r.Find("client_alpn"), (Field{"client_alpn", "vector[string]", "h2|http/1.1"}));
  EXPECT_EQ(r.Value("resumed"), "T");

  const Recorder unknown = Visit(Sample("ssl_unknown_values"));
  EXPECT_EQ(unknown.Value("version"), "TLSv13-draft23");
  EXPECT_EQ(unknown.Value("cipher"), "unknown-16962");
  EXPECT_EQ(unknown.Value("curve"), "unknown-2570");
  EXPECT_EQ(unknown.Value("server_name"), "");  // set, even if empty: it has presence
  EXPECT_EQ(unknown.Find("next_protocol"), nullptr);

  // No ServerHello: version, cipher and curve are 0 on the wire, not logged.
  const Recorder client = Visit(Sample("ssl_client_only"));
  EXPECT_EQ(client.Names(),
            WithHeader({"server_name", "resumed", "established", "ssl_history", "ja3"}));
}

TEST(ZeekView, HttpFieldsInZeeksOrder) {
  const Recorder r = Visit(Sample("http_full"));
  EXPECT_EQ(r.Names(), WithHeader({"trans_depth", "method", "host", "uri", "referrer", "version",
                                   "user_agent", "origin", "request_body_len", "response_body_len",
                                   "status_code", "status_msg", "info_code", "info_msg", "username",
                                   "orig_mime_types", "resp_mime_types", "client_header_names"}));
  EXPECT_EQ(*r.Find("status_code"), (Field{"status_code", "count", "200"}));
  EXPECT_EQ(r.Value("resp_mime_types"), "text/html|image/png");
  EXPECT_EQ(r.Value("client_header_names"), "HOST|CONTENT-TYPE");

  EXPECT_EQ(Visit(Sample("http_minimal")).Names(),
            WithHeader({"trans_depth", "request_body_len", "response_body_len"}));
}

TEST(ZeekView, StringsAreValidUtf8WithZeeksEscapes) {
  const Recorder r = Visit(Sample("http_hostile_text"));
  // Valid UTF-8, controls and JSON specials pass as they are (escaping them
  // is the JSON writer's business); bytes that are not UTF-8 become "\xNN".
  EXPECT_EQ(r.Value("uri"),
            std::string("/a\"b\\c\n\r\t\x01\x7f\\xff\xc3\xa9\\xc0\\xaf\\xed\\xa0\\x80") +
                std::string(1, '\0') + "end");
  EXPECT_EQ(r.Value("user_agent"), "\xf0\x9f\x98\x80 \\xf4\\x90\\x80\\x80");
  EXPECT_EQ(r.Value("status_msg"), "");
  EXPECT_EQ(r.Value("resp_mime_types"), "");
  auto conn = Visit(Sample("conn_edge_values"));
  EXPECT_EQ(conn.Value("history"), "^h\\xff");
}

TEST(ZeekView, ZeekTextReturnsValidInputWithoutCopying) {
  std::string scratch;
  const std::string ascii = "plain ascii text, longer than eight bytes";
  EXPECT_EQ(ZeekText(ascii, scratch).data(), ascii.data());
  const std::string utf8 = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80";
  EXPECT_EQ(ZeekText(utf8, scratch).data(), utf8.data());
  EXPECT_EQ(ZeekText("\xe2\x82", scratch), "\\xe2\\x82");                    // truncated sequence
  EXPECT_EQ(ZeekText("\xc0\xaf", scratch), "\\xc0\\xaf");                    // overlong '/'
  EXPECT_EQ(ZeekText("\xed\xa0\x80", scratch), "\\xed\\xa0\\x80");           // surrogate
  EXPECT_EQ(ZeekText("\xf4\x90\x80\x80", scratch), "\\xf4\\x90\\x80\\x80");  // > U+10FFFF
  EXPECT_EQ(ZeekText("12345678\x80", scratch), "12345678\\x80");             // after the fast path
  EXPECT_EQ(ZeekText("", scratch), "");
}

TEST(ZeekView, TimesRoundToTheMicrosecondHalfAwayFromZero) {
  EXPECT_EQ(RoundToMicros(1, 123456499), 1123456);
  EXPECT_EQ(RoundToMicros(1, 123456500), 1123457);
  EXPECT_EQ(RoundToMicros(0, 999999500), 1000000);
  EXPECT_EQ(RoundToMicros(0, -500), -1);
  EXPECT_EQ(RoundToMicros(0, -499), 0);
  EXPECT_EQ(RoundToMicros(-1, -500000000), -1500000);
  EXPECT_EQ(RoundToMicros(std::numeric_limits<int64_t>::max(), 0),
            std::numeric_limits<int64_t>::max());
  EXPECT_EQ(RoundToMicros(std::numeric_limits<int64_t>::min(), 0),
            std::numeric_limits<int64_t>::min());
  EXPECT_EQ(Visit(Sample("conn_edge_values")).Value("ts"), "0");  // -1 s + 999999.5 us
  EXPECT_EQ(Visit(Sample("dns_full")).Value("TTLs"), "300000000|60000000");
}

std::string Ntop(const std::string& bytes) {
  char buf[INET6_ADDRSTRLEN];
  EXPECT_NE(inet_ntop(bytes.size() == 4 ? AF_INET : AF_INET6, bytes.data(), buf, sizeof buf),
            nullptr);
  return buf;
}

std::string Format(const std::string& bytes) {
  char buf[kAddressTextMax];
  return std::string(buf, FormatAddress(bytes, buf));
}

TEST(ZeekView, AddressTextIsRfc5952AsInetNtopWritesIt) {
  using vigil::test::AddressBytes;
  const std::vector<std::pair<const char*, const char*>> cases = {
      {"0.0.0.0", "0.0.0.0"},
      {"255.255.255.255", "255.255.255.255"},
      {"10.0.0.1", "10.0.0.1"},
      {"::", "::"},
      {"::1", "::1"},
      {"1::", "1::"},
      {"2001:DB8:0:0:0:0:0:1", "2001:db8::1"},
      {"2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"},  // one zero group: not "::"
      {"2001:0:0:1:0:0:0:1", "2001:0:0:1::1"},           // the longer run
      {"2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"},     // a tie: the first run
      {"fe80::c801:eff:fe88:8", "fe80::c801:eff:fe88:8"},
      {"::ffff:192.0.2.1", "::ffff:192.0.2.1"},     // IPv4-mapped
      {"::192.0.2.2", "::192.0.2.2"},               // IPv4-compatible (as glibc)
      {"::ffff:0:192.0.2.1", "::ffff:0:c000:201"},  // RFC 2765: hex, as glibc
      {"0:0:0:0:0:1:0:0", "::1:0:0"},
      {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
  };
  for (const auto& [in, out] : cases) {
    const std::string bytes = AddressBytes(in);
    EXPECT_EQ(Format(bytes), out) << in;
    EXPECT_EQ(Format(bytes), Ntop(bytes)) << in;
  }
  // Addresses with random runs of zero groups, against the C library.
  std::mt19937 rng(5952);
  for (int i = 0; i < 20000; ++i) {
    std::string bytes(16, '\0');
    for (int g = 0; g < 8; ++g) {
      const uint32_t kind = rng() % 4;  // mostly zero groups, to make runs
      const uint16_t w = kind < 2    ? 0
                         : kind == 2 ? static_cast<uint16_t>(rng() % 16)
                                     : static_cast<uint16_t>(rng());
      bytes[2 * g] = static_cast<char>(w >> 8);
      bytes[2 * g + 1] = static_cast<char>(w & 0xff);
    }
    ASSERT_EQ(Format(bytes), Ntop(bytes)) << i;
  }
  char buf[kAddressTextMax];
  EXPECT_EQ(FormatAddress(std::string(3, '\1'), buf), 0u);
  EXPECT_EQ(FormatAddress("", buf), 0u);
}

TEST(ZeekView, RecordsWithoutAViewAreNamedErrors) {
  vigil::v1::Event empty = Envelope("10.0.0.1", 1, "10.0.0.2", 2, vigil::v1::TRANSPORT_TCP, 6);
  auto none = ZeekView::Of(empty);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error(), ZeekViewError::kRecordWithoutPayload);
  EXPECT_EQ(ZeekViewErrorCode(none.error()), "record_without_payload");

  for (std::string bad : {std::string(), std::string("abc"), std::string(17, '\0')}) {
    auto orig = Sample("conn_full");
    orig.mutable_id()->set_orig_addr(bad);
    ASSERT_FALSE(ZeekView::Of(orig));
    EXPECT_EQ(ZeekView::Of(orig).error(), ZeekViewError::kBadAddressLength);
    auto resp = Sample("dns_full");
    resp.mutable_id()->set_resp_addr(bad);
    EXPECT_EQ(ZeekView::Of(resp).error(), ZeekViewError::kBadAddressLength);
  }
  EXPECT_EQ(ZeekViewErrorCode(ZeekViewError::kBadAddressLength), "bad_address_length");
  EXPECT_FALSE(ZeekViewErrorMessage(ZeekViewError::kBadAddressLength).empty());
}

// Counts calls only: what the JSON writer's per-field cost is on top of.
struct NullVisitor {
  void String(std::string_view, std::string_view s) { bytes += s.size(); }
  void Count(std::string_view, uint64_t) { ++n; }
  void Int(std::string_view, int64_t) { ++n; }
  void Double(std::string_view, double) { ++n; }
  void Bool(std::string_view, bool) { ++n; }
  void Time(std::string_view, ZeekTime) { ++n; }
  void Interval(std::string_view, ZeekInterval) { ++n; }
  void Address(std::string_view, const ZeekAddress& a) { bytes += a.text.size(); }
  void Port(std::string_view, uint32_t) { ++n; }
  void StringVector(std::string_view, const ZeekStringVector& v) {
    for (size_t i = 0; i < v.size(); ++i) bytes += v[i].size();
  }
  void IntervalVector(std::string_view, const ZeekIntervalVector& v) { n += v.size(); }
  size_t n = 0;
  size_t bytes = 0;
};

TEST(ZeekView, VisitingAllocatesNothingOnceWarm) {
  // The counter itself sees allocations (else the test could not fail).
  g_allocations = 0;
  g_counting = true;
  auto* probe = new std::string(100, 'x');
  g_counting = false;
  delete probe;
  ASSERT_GT(g_allocations.load(), 0u);

  const auto samples = RecordSamples();
  std::vector<ZeekView> views;
  for (const auto& s : samples) views.push_back(*ZeekView::Of(s.event));
  NullVisitor warm;
  for (const auto& v : views) v.Visit(warm);  // sizes the per-thread scratch
  NullVisitor v;
  g_allocations = 0;
  g_counting = true;
  for (int round = 0; round < 3; ++round) {
    for (const auto& view : views) view.Visit(v);
  }
  g_counting = false;
  EXPECT_EQ(g_allocations.load(), 0u);
  EXPECT_EQ(v.bytes, 3 * warm.bytes);
}

}  // namespace
}  // namespace vigil::v1::zeek
