#include "agent/export/zeek_json.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

#include "agent/analyzers/dns/dns_names.h"
#include "agent/analyzers/tls/tls_names.h"

namespace vigil::agent::exporter {
namespace {

class JsonLine {
 public:
  explicit JsonLine(std::string& out) : out_(out) { out_.push_back('{'); }
  void Close() { out_.push_back('}'); }

  void Key(std::string_view key) {
    if (!first_) out_.push_back(',');
    first_ = false;
    out_.push_back('"');
    out_.append(key);
    out_.append("\":");
  }
  void String(std::string_view key, std::string_view value) {
    Key(key);
    AppendString(value);
  }
  void Uint(std::string_view key, uint64_t value) {
    Key(key);
    AppendUint(value);
  }
  void Bool(std::string_view key, bool value) {
    Key(key);
    out_.append(value ? "true" : "false");
  }
  /// Seconds with microsecond precision, as Zeek writes `ts`.
  void Time(std::string_view key, int64_t seconds, int32_t nanos) {
    Key(key);
    AppendSeconds(seconds, nanos, /*trim=*/false);
  }
  /// An interval in seconds (microsecond precision, trailing zeros dropped).
  void Interval(std::string_view key, int64_t seconds, int32_t nanos) {
    Key(key);
    AppendSeconds(seconds, nanos, /*trim=*/true);
  }
  void BeginArray(std::string_view key) {
    Key(key);
    out_.push_back('[');
    first_in_array_ = true;
  }
  void ArrayString(std::string_view value) {
    ArraySep();
    AppendString(value);
  }
  void ArrayInterval(int64_t seconds, int32_t nanos) {
    ArraySep();
    AppendSeconds(seconds, nanos, /*trim=*/true);
  }
  void EndArray() { out_.push_back(']'); }

  void AppendUint(uint64_t v) {
    char buf[24];
    auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
    (void)ec;
    out_.append(buf, end);
  }

 private:
  void ArraySep() {
    if (!first_in_array_) out_.push_back(',');
    first_in_array_ = false;
  }

  void AppendSeconds(int64_t seconds, int32_t nanos, bool trim) {
    // Round to microseconds without going through floating point.
    int64_t total_us = seconds * 1'000'000 + (nanos + (nanos >= 0 ? 500 : -500)) / 1000;
    if (total_us < 0) {
      out_.push_back('-');
      total_us = -total_us;
    }
    AppendUint(static_cast<uint64_t>(total_us / 1'000'000));
    char frac[7];
    int64_t us = total_us % 1'000'000;
    for (int i = 5; i >= 0; --i) {
      frac[i] = static_cast<char>('0' + us % 10);
      us /= 10;
    }
    int len = 6;
    if (trim) {
      while (len > 0 && frac[len - 1] == '0') --len;
      if (len == 0) return;
    }
    out_.push_back('.');
    out_.append(frac, static_cast<size_t>(len));
  }

  // JSON string; bytes that are not valid UTF-8 are written as the text
  // "\xNN" (Zeek's rendering) so every line stays valid JSON.
  void AppendString(std::string_view s) {
    static constexpr char kHex[] = "0123456789abcdef";
    out_.push_back('"');
    size_t i = 0;
    while (i < s.size()) {
      const auto c = static_cast<unsigned char>(s[i]);
      if (c == '"' || c == '\\') {
        out_.push_back('\\');
        out_.push_back(static_cast<char>(c));
        ++i;
      } else if (c == '\n' || c == '\r' || c == '\t') {
        out_.push_back('\\');
        out_.push_back(c == '\n' ? 'n' : c == '\r' ? 'r' : 't');
        ++i;
      } else if (c < 0x20 || c == 0x7f) {
        out_.append("\\u00");
        out_.push_back(kHex[c >> 4]);
        out_.push_back(kHex[c & 0xF]);
        ++i;
      } else if (c < 0x80) {
        out_.push_back(static_cast<char>(c));
        ++i;
      } else {
        const size_t n = Utf8Length(s, i);
        if (n == 0) {
          out_.append("\\\\x");
          out_.push_back(kHex[c >> 4]);
          out_.push_back(kHex[c & 0xF]);
          ++i;
        } else {
          out_.append(s.substr(i, n));
          i += n;
        }
      }
    }
    out_.push_back('"');
  }

  // Length of the valid UTF-8 sequence at s[i] (0 if invalid).
  static size_t Utf8Length(std::string_view s, size_t i) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t n;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      n = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 4;
      cp = c & 0x07;
    } else {
      return 0;
    }
    if (i + n > s.size()) return 0;
    for (size_t k = 1; k < n; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return 0;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Reject overlong forms, surrogates and values beyond Unicode.
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return 0;
    }
    return n;
  }

  std::string& out_;
  bool first_ = true;
  bool first_in_array_ = true;
};

std::string_view ProtoName(vigil::v1::Transport t) {
  switch (t) {
    case vigil::v1::TRANSPORT_TCP:
      return "tcp";
    case vigil::v1::TRANSPORT_UDP:
      return "udp";
    case vigil::v1::TRANSPORT_ICMP:
      return "icmp";
    default:
      return "unknown_transport";
  }
}

std::string_view ConnStateName(vigil::v1::ConnState s) {
  switch (s) {
    case vigil::v1::CONN_STATE_S0:
      return "S0";
    case vigil::v1::CONN_STATE_S1:
      return "S1";
    case vigil::v1::CONN_STATE_SF:
      return "SF";
    case vigil::v1::CONN_STATE_REJ:
      return "REJ";
    case vigil::v1::CONN_STATE_S2:
      return "S2";
    case vigil::v1::CONN_STATE_S3:
      return "S3";
    case vigil::v1::CONN_STATE_RSTO:
      return "RSTO";
    case vigil::v1::CONN_STATE_RSTR:
      return "RSTR";
    case vigil::v1::CONN_STATE_RSTOS0:
      return "RSTOS0";
    case vigil::v1::CONN_STATE_RSTRH:
      return "RSTRH";
    case vigil::v1::CONN_STATE_SH:
      return "SH";
    case vigil::v1::CONN_STATE_SHR:
      return "SHR";
    default:
      return "OTH";
  }
}

std::string_view EndReasonName(vigil::v1::EndReason r) {
  switch (r) {
    case vigil::v1::END_REASON_CLOSED:
      return "closed";
    case vigil::v1::END_REASON_IDLE_TIMEOUT:
      return "idle_timeout";
    case vigil::v1::END_REASON_ACTIVE_TIMEOUT:
      return "active_timeout";
    case vigil::v1::END_REASON_EVICTED:
      return "evicted";
    case vigil::v1::END_REASON_SHUTDOWN:
      return "shutdown";
    default:
      return "";
  }
}

void Address(JsonLine& j, std::string_view key, const std::string& bytes) {
  char text[INET6_ADDRSTRLEN] = "";
  if (bytes.size() == 4) {
    inet_ntop(AF_INET, bytes.data(), text, sizeof(text));
  } else if (bytes.size() == 16) {
    inet_ntop(AF_INET6, bytes.data(), text, sizeof(text));
  }
  j.String(key, text);
}

void Conn(JsonLine& j, const vigil::v1::Event& e) {
  const vigil::v1::FlowRecord& r = e.flow();
  j.String("proto", ProtoName(e.id().transport()));
  if (r.services_size() > 0) {
    std::string services;
    for (int i = 0; i < r.services_size(); ++i) {
      if (i > 0) services.push_back(',');
      services += r.services(i);
    }
    j.String("service", services);
  }
  const bool has_duration =
      r.has_duration() && (r.duration().seconds() != 0 || r.duration().nanos() != 0);
  if (has_duration) {
    j.Interval("duration", r.duration().seconds(), r.duration().nanos());
    j.Uint("orig_bytes", r.totals().orig_bytes());
    j.Uint("resp_bytes", r.totals().resp_bytes());
  }
  j.String("conn_state", ConnStateName(r.conn_state()));
  j.Bool("local_orig", r.local_orig());
  j.Bool("local_resp", r.local_resp());
  j.Uint("missed_bytes", r.totals().missed_bytes());
  if (!r.history().empty()) j.String("history", r.history());
  j.Uint("orig_pkts", r.totals().orig_pkts());
  j.Uint("orig_ip_bytes", r.totals().orig_ip_bytes());
  j.Uint("resp_pkts", r.totals().resp_pkts());
  j.Uint("resp_ip_bytes", r.totals().resp_ip_bytes());
  if (r.tunnel_parents_size() > 0) {
    j.BeginArray("tunnel_parents");
    for (const std::string& p : r.tunnel_parents()) j.ArrayString(p);
    j.EndArray();
  }
  j.Uint("ip_proto", e.id().ip_proto());
  if (r.vlans_size() > 0) j.Uint("vlan", r.vlans(0));
  if (r.vlans_size() > 1) j.Uint("inner_vlan", r.vlans(1));
  if (!r.community_id().empty()) j.String("community_id", r.community_id());
  const std::string_view reason = EndReasonName(r.end_reason());
  if (!reason.empty()) j.String("end_reason", reason);
  if (r.interim()) j.Bool("interim", true);
  if (r.has_delta()) {
    const vigil::v1::FlowCounters& d = r.delta();
    j.Uint("delta_orig_bytes", d.orig_bytes());
    j.Uint("delta_resp_bytes", d.resp_bytes());
    j.Uint("delta_orig_pkts", d.orig_pkts());
    j.Uint("delta_orig_ip_bytes", d.orig_ip_bytes());
    j.Uint("delta_resp_pkts", d.resp_pkts());
    j.Uint("delta_resp_ip_bytes", d.resp_ip_bytes());
  }
}

void Dns(JsonLine& j, const vigil::v1::Event& e) {
  namespace dn = analyzers::dns;
  const vigil::v1::DnsRecord& r = e.dns();
  j.String("proto", r.transport() == vigil::v1::TRANSPORT_TCP ? "tcp" : "udp");
  j.Uint("trans_id", r.trans_id());
  if (r.has_rtt()) j.Interval("rtt", r.rtt().seconds(), r.rtt().nanos());
  if (r.has_query()) j.String("query", r.query());
  const bool netbios = e.id().resp_port() == 137;
  if (r.has_qclass()) {
    j.Uint("qclass", r.qclass());
    j.String("qclass_name", dn::QclassLabel(r.qclass()));
  }
  if (r.has_qtype()) {
    j.Uint("qtype", r.qtype());
    j.String("qtype_name", dn::QtypeLabel(r.qtype(), netbios));
  }
  if (r.has_rcode()) {
    j.Uint("rcode", r.rcode());
    j.String("rcode_name", dn::RcodeLabel(r.rcode()));
  }
  j.Bool("AA", r.aa());
  j.Bool("TC", r.tc());
  j.Bool("RD", r.rd());
  j.Bool("RA", r.ra());
  j.Uint("Z", r.z());
  if (r.answers_size() > 0) {
    j.BeginArray("answers");
    for (const std::string& a : r.answers()) j.ArrayString(a);
    j.EndArray();
  }
  if (r.ttls_size() > 0) {
    j.BeginArray("TTLs");
    for (const auto& t : r.ttls()) j.ArrayInterval(t.seconds(), t.nanos());
    j.EndArray();
  }
  j.Bool("rejected", r.rejected());
}

void Ssl(JsonLine& j, const vigil::v1::Event& e) {
  namespace tn = analyzers::tls;
  const vigil::v1::TlsRecord& r = e.tls();
  if (r.version() != 0) j.String("version", tn::TlsVersionLabel(r.version()));
  if (r.cipher() != 0) j.String("cipher", tn::CipherSuiteLabel(r.cipher()));
  if (r.curve() != 0) j.String("curve", tn::GroupLabel(r.curve()));
  if (r.has_server_name()) j.String("server_name", r.server_name());
  j.Bool("resumed", r.resumed());
  if (r.has_next_protocol()) j.String("next_protocol", r.next_protocol());
  j.Bool("established", r.established());
  if (!r.ssl_history().empty()) j.String("ssl_history", r.ssl_history());
  if (!r.ja3().empty()) j.String("ja3", r.ja3());
  if (!r.ja4().empty()) j.String("ja4", r.ja4());
  if (r.client_alpn_size() > 0) {
    j.BeginArray("client_alpn");
    for (const std::string& a : r.client_alpn()) j.ArrayString(a);
    j.EndArray();
  }
}

void Http(JsonLine& j, const vigil::v1::Event& e) {
  const vigil::v1::HttpRecord& r = e.http();
  j.Uint("trans_depth", r.trans_depth());
  if (r.has_method()) j.String("method", r.method());
  if (r.has_host()) j.String("host", r.host());
  if (r.has_uri()) j.String("uri", r.uri());
  if (r.has_referrer()) j.String("referrer", r.referrer());
  if (r.has_version()) j.String("version", r.version());
  if (r.has_user_agent()) j.String("user_agent", r.user_agent());
  if (r.has_origin()) j.String("origin", r.origin());
  j.Uint("request_body_len", r.request_body_len());
  j.Uint("response_body_len", r.response_body_len());
  if (r.has_status_code()) j.Uint("status_code", r.status_code());
  if (r.has_status_msg()) j.String("status_msg", r.status_msg());
  if (r.has_info_code()) j.Uint("info_code", r.info_code());
  if (r.has_info_msg()) j.String("info_msg", r.info_msg());
  if (r.has_username()) j.String("username", r.username());
  if (r.orig_mime_types_size() > 0) {
    j.BeginArray("orig_mime_types");
    for (const std::string& m : r.orig_mime_types()) j.ArrayString(m);
    j.EndArray();
  }
  if (r.resp_mime_types_size() > 0) {
    j.BeginArray("resp_mime_types");
    for (const std::string& m : r.resp_mime_types()) j.ArrayString(m);
    j.EndArray();
  }
}

}  // namespace

bool RenderZeekJson(const vigil::v1::Event& event, std::string& out) {
  std::string_view path;
  switch (event.record_case()) {
    case vigil::v1::Event::kFlow:
      path = "conn";
      break;
    case vigil::v1::Event::kDns:
      path = "dns";
      break;
    case vigil::v1::Event::kTls:
      path = "ssl";
      break;
    case vigil::v1::Event::kHttp:
      path = "http";
      break;
    default:
      return false;
  }
  JsonLine j(out);
  j.String("_path", path);
  j.Time("ts", event.ts().seconds(), event.ts().nanos());
  j.String("uid", event.uid());
  Address(j, "id.orig_h", event.id().orig_addr());
  j.Uint("id.orig_p", event.id().orig_port());
  Address(j, "id.resp_h", event.id().resp_addr());
  j.Uint("id.resp_p", event.id().resp_port());
  switch (event.record_case()) {
    case vigil::v1::Event::kFlow:
      Conn(j, event);
      break;
    case vigil::v1::Event::kDns:
      Dns(j, event);
      break;
    case vigil::v1::Event::kTls:
      Ssl(j, event);
      break;
    default:
      Http(j, event);
      break;
  }
  j.Close();
  return true;
}

ZeekJsonSink::ZeekJsonSink(std::FILE* out) : out_(out) { line_.reserve(1024); }

void ZeekJsonSink::Emit(vigil::v1::Event&& event) {
  line_.clear();
  if (!RenderZeekJson(event, line_)) {
    ++stats_.records_unrenderable;
    return;
  }
  line_.push_back('\n');
  if (std::fwrite(line_.data(), 1, line_.size(), out_) != line_.size()) {
    ++stats_.write_errors;
    return;
  }
  ++stats_.records_written;
}

bool ZeekJsonSink::Flush(int timeout_ms) {
  (void)timeout_ms;
  return std::fflush(out_) == 0;
}

}  // namespace vigil::agent::exporter
