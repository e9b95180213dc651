#pragma once
// ZeekView: the one definition of how a wire record (vigil::v1::Event) reads
// as a row of Zeek's conn, dns, ssl or http log (docs/records.md): which
// fields, in Zeek's column order, under Zeek's names, with Zeek's types, and
// Zeek's rules applied once, here:
//   - unset fields are omitted (optional fields without presence, empty
//     strings and vectors, enums left UNSPECIFIED, a uid that is empty);
//   - conn: `duration`, `orig_bytes` and `resp_bytes` only when the duration
//     is positive; `service` is the services comma-joined; `vlan` and
//     `inner_vlan` are the first two tags;
//   - dns: `rtt` omitted when zero (Zeek deletes it); `*_name` from
//     wire_names.h, with NetBIOS's NBSTAT on UDP port 137; TTLs are intervals;
//   - times and intervals are rounded to the microsecond (half away from
//     zero), as Zeek's logs carry them;
//   - addresses are dotted quads or RFC 5952 text (exactly what inet_ntop
//     writes, and so what Zeek writes);
//   - strings are valid UTF-8: bytes that are not are rendered as the text
//     "\xNN", as Zeek's JSON writer does, so every consumer sees the same text.
//
// Each rendering of a record is a visitor of this view: the agent's JSON
// lines (agent/export/zeek_json.cpp) and the collector's rule events
// (collector/engine/event_proto.cpp). A ZeekView borrows the Event it was
// made from and must not outlive it. Visit() allocates nothing in steady
// state: names, addresses and joined services are formatted on the stack or
// into per-thread scratch, so a string_view handed to a visitor is valid
// only during that call (copy it to keep it). Thread-safe for const events.

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <expected>
#include <string>
#include <string_view>

#include "proto/vigil/v1/zeek/wire_names.h"
#include "vigil/v1/records.pb.h"

namespace vigil::v1::zeek {

/// The Zeek log a record belongs to.
enum class ZeekLog : uint8_t { kConn, kDns, kSsl, kHttp };
/// Its `_path`: "conn", "dns", "ssl", "http".
std::string_view ZeekLogPath(ZeekLog log);

/// Why a record has no Zeek view.
enum class ZeekViewError : uint8_t {
  kRecordWithoutPayload,  ///< the Event's `record` oneof is unset (or a kind this build lacks)
  kBadAddressLength,      ///< id.orig_addr or id.resp_addr is not 4 or 16 bytes
};
/// Stable snake_case name ("record_without_payload", "bad_address_length")
/// for counters and metric labels.
std::string_view ZeekViewErrorCode(ZeekViewError error);
std::string_view ZeekViewErrorMessage(ZeekViewError error);

/// Zeek `time`: seconds since the Unix epoch, here in whole microseconds.
struct ZeekTime {
  int64_t micros = 0;
  friend bool operator==(ZeekTime, ZeekTime) = default;
};
/// Zeek `interval`: seconds, here in whole microseconds.
struct ZeekInterval {
  int64_t micros = 0;
  friend bool operator==(ZeekInterval, ZeekInterval) = default;
};

/// Protobuf seconds + nanos to microseconds, rounded half away from zero;
/// saturates at the int64 range instead of overflowing.
int64_t RoundToMicros(int64_t seconds, int32_t nanos);

/// Zeek `addr`: the text Zeek writes, and the network-order bytes (4 or 16).
struct ZeekAddress {
  std::string_view text;
  std::string_view bytes;
};

/// Longest address text, "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255", plus one.
inline constexpr size_t kAddressTextMax = 46;
/// Writes the text of a 4- or 16-byte network-order address to `out` and
/// returns its length: a dotted quad, or RFC 5952 IPv6 text identical to
/// glibc's inet_ntop (lowercase, no leading zeros, the longest run of two or
/// more zero groups as "::", the first on a tie, and the last 32 bits as a
/// dotted quad for IPv4-mapped ::ffff:0:0/96 and IPv4-compatible ::/96
/// addresses other than :: and ::1). Returns 0 for any other length.
size_t FormatAddress(std::string_view bytes, char (&out)[kAddressTextMax]);

/// `raw` if it is valid UTF-8 (no overlong forms, surrogates or values past
/// U+10FFFF), else the same text with each offending byte as "\xNN" written
/// to `scratch` (which is then returned).
std::string_view ZeekText(std::string_view raw, std::string& scratch);

/// Zeek `vector of string` / `set[string]`: a view over a repeated string
/// field whose elements read as ZeekText (valid until the next element is read).
class ZeekStringVector {
 public:
  explicit ZeekStringVector(const google::protobuf::RepeatedPtrField<std::string>& items)
      : items_(&items) {}
  size_t size() const { return static_cast<size_t>(items_->size()); }
  std::string_view operator[](size_t i) const;

 private:
  const google::protobuf::RepeatedPtrField<std::string>* items_;
};

/// Zeek `vector of interval`: a view over repeated Durations, read rounded.
class ZeekIntervalVector {
 public:
  explicit ZeekIntervalVector(
      const google::protobuf::RepeatedPtrField<google::protobuf::Duration>& items)
      : items_(&items) {}
  size_t size() const { return static_cast<size_t>(items_->size()); }
  ZeekInterval operator[](size_t i) const {
    const auto& d = (*items_)[static_cast<int>(i)];
    return ZeekInterval{RoundToMicros(d.seconds(), d.nanos())};
  }

 private:
  const google::protobuf::RepeatedPtrField<google::protobuf::Duration>* items_;
};

/// What a visitor of a ZeekView implements: one call per field present, in
/// Zeek's column order, with the Zeek field name (static storage) and the
/// value in Zeek's type. `port` is a count; `vlan` is an int.
template <typename V>
concept ZeekFieldVisitor = requires(V& v, std::string_view name, std::string_view text,
                                    ZeekAddress addr, const ZeekStringVector& strings,
                                    const ZeekIntervalVector& intervals) {
  v.String(name, text);
  v.Count(name, uint64_t{});
  v.Int(name, int64_t{});
  v.Double(name, double{});
  v.Bool(name, bool{});
  v.Time(name, ZeekTime{});
  v.Interval(name, ZeekInterval{});
  v.Address(name, addr);
  v.Port(name, uint32_t{});
  v.StringVector(name, strings);
  v.IntervalVector(name, intervals);
};

class ZeekView {
 public:
  /// The view of `event`, or why it has none. Checks everything Visit()
  /// relies on, so a visitor never sees half a record.
  static std::expected<ZeekView, ZeekViewError> Of(const vigil::v1::Event& event);

  ZeekLog log() const { return log_; }
  /// `_path`.
  std::string_view path() const { return ZeekLogPath(log_); }
  const vigil::v1::Event& event() const { return *event_; }

  /// Calls `visitor` once per field present, in Zeek's order, starting with
  /// ts, uid, id.orig_h, id.orig_p, id.resp_h, id.resp_p.
  template <ZeekFieldVisitor V>
  void Visit(V& visitor) const;

 private:
  ZeekView(const vigil::v1::Event& event, ZeekLog log) : event_(&event), log_(log) {}

  template <typename V>
  void VisitConn(V& v) const;
  template <typename V>
  void VisitDns(V& v) const;
  template <typename V>
  void VisitSsl(V& v) const;
  template <typename V>
  void VisitHttp(V& v) const;

  const vigil::v1::Event* event_;
  ZeekLog log_;
};

// --- implementation ----------------------------------------------------------
// Visit() is a template so each rendering's calls inline; the helpers below
// are the non-template parts it shares.

namespace view_detail {
/// Per-thread scratch for strings that are rewritten (ZeekText) or built
/// (the joined services): reused, so steady state allocates nothing.
std::string& Scratch();
/// The services comma-joined (a single service is returned as is).
std::string_view JoinedServices(const google::protobuf::RepeatedPtrField<std::string>& services);
inline std::string_view Text(std::string_view raw) { return ZeekText(raw, Scratch()); }
/// Rounded, positive durations only: Zeek's `if ( c$duration > 0secs )`.
inline bool PositiveDuration(const google::protobuf::Duration& d, int64_t& micros) {
  micros = RoundToMicros(d.seconds(), d.nanos());
  return micros > 0;
}
}  // namespace view_detail

inline std::string_view ZeekStringVector::operator[](size_t i) const {
  return view_detail::Text((*items_)[static_cast<int>(i)]);
}

template <ZeekFieldVisitor V>
void ZeekView::Visit(V& v) const {
  const vigil::v1::Event& e = *event_;
  const vigil::v1::FlowKey& id = e.id();
  v.Time("ts", ZeekTime{RoundToMicros(e.ts().seconds(), e.ts().nanos())});
  if (!e.uid().empty()) v.String("uid", view_detail::Text(e.uid()));
  char text[kAddressTextMax];
  v.Address("id.orig_h", ZeekAddress{std::string_view(text, FormatAddress(id.orig_addr(), text)),
                                     id.orig_addr()});
  v.Port("id.orig_p", id.orig_port());
  v.Address("id.resp_h", ZeekAddress{std::string_view(text, FormatAddress(id.resp_addr(), text)),
                                     id.resp_addr()});
  v.Port("id.resp_p", id.resp_port());
  switch (log_) {
    case ZeekLog::kConn:
      VisitConn(v);
      break;
    case ZeekLog::kDns:
      VisitDns(v);
      break;
    case ZeekLog::kSsl:
      VisitSsl(v);
      break;
    case ZeekLog::kHttp:
      VisitHttp(v);
      break;
  }
}

template <typename V>
void ZeekView::VisitConn(V& v) const {
  const vigil::v1::FlowRecord& f = event_->flow();
  const vigil::v1::FlowCounters& t = f.totals();
  v.String("proto", TransportName(event_->id().transport()));
  if (!f.services().empty()) v.String("service", view_detail::JoinedServices(f.services()));
  int64_t duration = 0;
  if (f.has_duration() && view_detail::PositiveDuration(f.duration(), duration)) {
    v.Interval("duration", ZeekInterval{duration});
    v.Count("orig_bytes", t.orig_bytes());
    v.Count("resp_bytes", t.resp_bytes());
  }
  if (auto state = ConnStateName(f.conn_state()); !state.empty()) v.String("conn_state", state);
  v.Bool("local_orig", f.local_orig());
  v.Bool("local_resp", f.local_resp());
  v.Count("missed_bytes", t.missed_bytes());
  if (!f.history().empty()) v.String("history", view_detail::Text(f.history()));
  v.Count("orig_pkts", t.orig_pkts());
  v.Count("orig_ip_bytes", t.orig_ip_bytes());
  v.Count("resp_pkts", t.resp_pkts());
  v.Count("resp_ip_bytes", t.resp_ip_bytes());
  if (!f.tunnel_parents().empty()) {
    v.StringVector("tunnel_parents", ZeekStringVector(f.tunnel_parents()));
  }
  v.Count("ip_proto", event_->id().ip_proto());
  if (f.vlans_size() > 0) v.Int("vlan", f.vlans(0));
  if (f.vlans_size() > 1) v.Int("inner_vlan", f.vlans(1));
  if (!f.community_id().empty()) v.String("community_id", view_detail::Text(f.community_id()));
  if (auto reason = EndReasonName(f.end_reason()); !reason.empty()) v.String("end_reason", reason);
  if (f.interim()) v.Bool("interim", true);
  if (f.has_delta()) {
    const vigil::v1::FlowCounters& d = f.delta();
    v.Count("delta_orig_bytes", d.orig_bytes());
    v.Count("delta_resp_bytes", d.resp_bytes());
    v.Count("delta_orig_pkts", d.orig_pkts());
    v.Count("delta_orig_ip_bytes", d.orig_ip_bytes());
    v.Count("delta_resp_pkts", d.resp_pkts());
    v.Count("delta_resp_ip_bytes", d.resp_ip_bytes());
  }
}

template <typename V>
void ZeekView::VisitDns(V& v) const {
  const vigil::v1::DnsRecord& d = event_->dns();
  v.String("proto", TransportName(d.transport()));
  v.Count("trans_id", d.trans_id());
  if (d.has_rtt()) {
    // Zeek deletes a zero rtt (query and reply in the same packet time).
    const int64_t rtt = RoundToMicros(d.rtt().seconds(), d.rtt().nanos());
    if (rtt != 0) v.Interval("rtt", ZeekInterval{rtt});
  }
  if (d.has_query()) v.String("query", view_detail::Text(d.query()));
  // Zeek's `c$id$resp_p == 137/udp`: NetBIOS name service.
  const bool netbios = d.transport() == vigil::v1::TRANSPORT_UDP && event_->id().resp_port() == 137;
  if (d.has_qclass()) {
    v.Count("qclass", d.qclass());
    v.String("qclass_name", DnsQclassLabel(d.qclass()).view());
  }
  if (d.has_qtype()) {
    v.Count("qtype", d.qtype());
    v.String("qtype_name", DnsQtypeLabel(d.qtype(), netbios).view());
  }
  if (d.has_rcode()) {
    v.Count("rcode", d.rcode());
    v.String("rcode_name", DnsRcodeLabel(d.rcode()).view());
  }
  v.Bool("AA", d.aa());
  v.Bool("TC", d.tc());
  v.Bool("RD", d.rd());
  v.Bool("RA", d.ra());
  v.Count("Z", d.z());
  if (!d.answers().empty()) v.StringVector("answers", ZeekStringVector(d.answers()));
  if (!d.ttls().empty()) v.IntervalVector("TTLs", ZeekIntervalVector(d.ttls()));
  v.Bool("rejected", d.rejected());
}

template <typename V>
void ZeekView::VisitSsl(V& v) const {
  const vigil::v1::TlsRecord& t = event_->tls();
  // 0 is "no ServerHello seen" on the wire (and not a value Zeek would log).
  if (t.version() != 0) v.String("version", TlsVersionLabel(t.version()).view());
  if (t.cipher() != 0) v.String("cipher", TlsCipherLabel(t.cipher()).view());
  if (t.curve() != 0) v.String("curve", TlsGroupLabel(t.curve()).view());
  if (t.has_server_name()) v.String("server_name", view_detail::Text(t.server_name()));
  v.Bool("resumed", t.resumed());
  if (t.has_next_protocol()) v.String("next_protocol", view_detail::Text(t.next_protocol()));
  v.Bool("established", t.established());
  if (!t.ssl_history().empty()) v.String("ssl_history", view_detail::Text(t.ssl_history()));
  if (!t.ja3().empty()) v.String("ja3", view_detail::Text(t.ja3()));
  if (!t.ja4().empty()) v.String("ja4", view_detail::Text(t.ja4()));
  if (!t.client_alpn().empty()) v.StringVector("client_alpn", ZeekStringVector(t.client_alpn()));
}

template <typename V>
void ZeekView::VisitHttp(V& v) const {
  const vigil::v1::HttpRecord& h = event_->http();
  using view_detail::Text;
  v.Count("trans_depth", h.trans_depth());
  if (h.has_method()) v.String("method", Text(h.method()));
  if (h.has_host()) v.String("host", Text(h.host()));
  if (h.has_uri()) v.String("uri", Text(h.uri()));
  if (h.has_referrer()) v.String("referrer", Text(h.referrer()));
  if (h.has_version()) v.String("version", Text(h.version()));
  if (h.has_user_agent()) v.String("user_agent", Text(h.user_agent()));
  if (h.has_origin()) v.String("origin", Text(h.origin()));
  v.Count("request_body_len", h.request_body_len());
  v.Count("response_body_len", h.response_body_len());
  if (h.has_status_code()) v.Count("status_code", h.status_code());
  if (h.has_status_msg()) v.String("status_msg", Text(h.status_msg()));
  if (h.has_info_code()) v.Count("info_code", h.info_code());
  if (h.has_info_msg()) v.String("info_msg", Text(h.info_msg()));
  if (h.has_username()) v.String("username", Text(h.username()));
  if (!h.orig_mime_types().empty()) {
    v.StringVector("orig_mime_types", ZeekStringVector(h.orig_mime_types()));
  }
  if (!h.resp_mime_types().empty()) {
    v.StringVector("resp_mime_types", ZeekStringVector(h.resp_mime_types()));
  }
  // Zeek's policy/protocols/http/header-names.zeek column (Sigma rules use it).
  if (!h.client_header_names().empty()) {
    v.StringVector("client_header_names", ZeekStringVector(h.client_header_names()));
  }
}

}  // namespace vigil::v1::zeek
