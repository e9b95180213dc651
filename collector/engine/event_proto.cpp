#include "collector/engine/event_proto.h"

#include "collector/engine/fields/protocol_names.h"
#include "vigil/v1/records.pb.h"

namespace vigil::collector::engine {
namespace {

// Protobuf Timestamp/Duration to microseconds, rounded to the nearest
// microsecond as the JSON writer prints six decimals.
int64_t Micros(int64_t seconds, int32_t nanos) {
  return seconds * 1'000'000 + (nanos >= 0 ? (nanos + 500) / 1000 : (nanos - 500) / 1000);
}

Value Seconds(int64_t seconds, int32_t nanos) {
  return Value::Double(MicrosToSeconds(Micros(seconds, nanos)));
}

Value Count(uint64_t v) {
  if (v > static_cast<uint64_t>(INT64_MAX)) return Value::Double(static_cast<double>(v));
  return Value::Int(static_cast<int64_t>(v));
}

Value Str(const std::string& s) { return Value::String(s); }

Value StringArray(const google::protobuf::RepeatedPtrField<std::string>& items) {
  std::vector<Value> out;
  out.reserve(static_cast<size_t>(items.size()));
  for (const auto& s : items) out.push_back(Value::String(s));
  return Value::Array(std::move(out));
}

std::string_view TransportName(vigil::v1::Transport t) {
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
    case vigil::v1::CONN_STATE_OTH:
      return "OTH";
    default:
      return {};
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
      return {};
  }
}

class Builder {
 public:
  explicit Builder(Event& e) : e_(e), catalog_(FieldCatalog::Instance()) {}
  void Set(std::string_view name, Value v) {
    auto slot = catalog_.Slot(e_.log(), name);
    // Every name used below is in the catalog; a miss is a programming error.
    if (!slot) std::abort();
    e_.Mutable(*slot) = std::move(v);
  }

 private:
  Event& e_;
  const FieldCatalog& catalog_;
};

void FillConn(const vigil::v1::FlowRecord& f, vigil::v1::Transport transport, uint32_t ip_proto,
              Builder& b) {
  b.Set("proto", Str(std::string(TransportName(transport))));
  if (!f.services().empty()) {
    std::string joined;
    for (const auto& s : f.services()) {
      if (!joined.empty()) joined += ',';
      joined += s;
    }
    b.Set("service", Value::String(std::move(joined)));
  }
  // Zeek leaves duration and the byte counts unset for zero-length flows.
  if (f.has_duration()) {
    b.Set("duration", Seconds(f.duration().seconds(), f.duration().nanos()));
    b.Set("orig_bytes", Count(f.totals().orig_bytes()));
    b.Set("resp_bytes", Count(f.totals().resp_bytes()));
  }
  if (auto state = ConnStateName(f.conn_state()); !state.empty()) {
    b.Set("conn_state", Str(std::string(state)));
  }
  b.Set("local_orig", Value::Bool(f.local_orig()));
  b.Set("local_resp", Value::Bool(f.local_resp()));
  b.Set("missed_bytes", Count(f.totals().missed_bytes()));
  if (!f.history().empty()) b.Set("history", Str(f.history()));
  b.Set("orig_pkts", Count(f.totals().orig_pkts()));
  b.Set("orig_ip_bytes", Count(f.totals().orig_ip_bytes()));
  b.Set("resp_pkts", Count(f.totals().resp_pkts()));
  b.Set("resp_ip_bytes", Count(f.totals().resp_ip_bytes()));
  if (!f.tunnel_parents().empty()) b.Set("tunnel_parents", StringArray(f.tunnel_parents()));
  b.Set("ip_proto", Count(ip_proto));
  if (f.vlans_size() > 0) b.Set("vlan", Count(f.vlans(0)));
  if (f.vlans_size() > 1) b.Set("inner_vlan", Count(f.vlans(1)));
  if (!f.community_id().empty()) b.Set("community_id", Str(f.community_id()));
  if (auto reason = EndReasonName(f.end_reason()); !reason.empty()) {
    b.Set("end_reason", Str(std::string(reason)));
  }
  if (f.interim()) b.Set("interim", Value::Bool(true));
  if (f.has_delta()) {
    const auto& d = f.delta();
    b.Set("delta_orig_bytes", Count(d.orig_bytes()));
    b.Set("delta_resp_bytes", Count(d.resp_bytes()));
    b.Set("delta_orig_pkts", Count(d.orig_pkts()));
    b.Set("delta_orig_ip_bytes", Count(d.orig_ip_bytes()));
    b.Set("delta_resp_pkts", Count(d.resp_pkts()));
    b.Set("delta_resp_ip_bytes", Count(d.resp_ip_bytes()));
  }
}

void FillDns(const vigil::v1::DnsRecord& d, Builder& b) {
  b.Set("proto", Str(std::string(TransportName(d.transport()))));
  b.Set("trans_id", Count(d.trans_id()));
  if (d.has_rtt()) b.Set("rtt", Seconds(d.rtt().seconds(), d.rtt().nanos()));
  if (d.has_query()) b.Set("query", Str(d.query()));
  if (d.has_qclass()) {
    b.Set("qclass", Count(d.qclass()));
    b.Set("qclass_name", Value::String(DnsQclassName(d.qclass())));
  }
  if (d.has_qtype()) {
    b.Set("qtype", Count(d.qtype()));
    b.Set("qtype_name", Value::String(DnsQtypeName(d.qtype())));
  }
  if (d.has_rcode()) {
    b.Set("rcode", Count(d.rcode()));
    b.Set("rcode_name", Value::String(DnsRcodeName(d.rcode())));
  }
  b.Set("AA", Value::Bool(d.aa()));
  b.Set("TC", Value::Bool(d.tc()));
  b.Set("RD", Value::Bool(d.rd()));
  b.Set("RA", Value::Bool(d.ra()));
  b.Set("Z", Count(d.z()));
  if (!d.answers().empty()) b.Set("answers", StringArray(d.answers()));
  if (!d.ttls().empty()) {
    std::vector<Value> ttls;
    for (const auto& t : d.ttls()) ttls.push_back(Seconds(t.seconds(), t.nanos()));
    b.Set("TTLs", Value::Array(std::move(ttls)));
  }
  b.Set("rejected", Value::Bool(d.rejected()));
}

void FillSsl(const vigil::v1::TlsRecord& t, Builder& b) {
  if (t.version() != 0) b.Set("version", Value::String(TlsVersionName(t.version())));
  if (t.cipher() != 0) b.Set("cipher", Value::String(TlsCipherName(t.cipher())));
  if (t.curve() != 0) b.Set("curve", Value::String(TlsGroupName(t.curve())));
  if (t.has_server_name()) b.Set("server_name", Str(t.server_name()));
  b.Set("resumed", Value::Bool(t.resumed()));
  if (t.has_next_protocol()) b.Set("next_protocol", Str(t.next_protocol()));
  b.Set("established", Value::Bool(t.established()));
  if (!t.ssl_history().empty()) b.Set("ssl_history", Str(t.ssl_history()));
  if (!t.ja3().empty()) b.Set("ja3", Str(t.ja3()));
  if (!t.ja4().empty()) b.Set("ja4", Str(t.ja4()));
  if (!t.client_alpn().empty()) b.Set("client_alpn", StringArray(t.client_alpn()));
}

void FillHttp(const vigil::v1::HttpRecord& h, Builder& b) {
  b.Set("trans_depth", Count(h.trans_depth()));
  if (h.has_method()) b.Set("method", Str(h.method()));
  if (h.has_host()) b.Set("host", Str(h.host()));
  if (h.has_uri()) b.Set("uri", Str(h.uri()));
  if (h.has_referrer()) b.Set("referrer", Str(h.referrer()));
  if (h.has_version()) b.Set("version", Str(h.version()));
  if (h.has_user_agent()) b.Set("user_agent", Str(h.user_agent()));
  if (h.has_origin()) b.Set("origin", Str(h.origin()));
  b.Set("request_body_len", Count(h.request_body_len()));
  b.Set("response_body_len", Count(h.response_body_len()));
  if (h.has_status_code()) b.Set("status_code", Count(h.status_code()));
  if (h.has_status_msg()) b.Set("status_msg", Str(h.status_msg()));
  if (h.has_info_code()) b.Set("info_code", Count(h.info_code()));
  if (h.has_info_msg()) b.Set("info_msg", Str(h.info_msg()));
  if (h.has_username()) b.Set("username", Str(h.username()));
  if (!h.orig_mime_types().empty()) b.Set("orig_mime_types", StringArray(h.orig_mime_types()));
  if (!h.resp_mime_types().empty()) b.Set("resp_mime_types", StringArray(h.resp_mime_types()));
  if (!h.client_header_names().empty()) {
    b.Set("client_header_names", StringArray(h.client_header_names()));
  }
}

}  // namespace

std::expected<Event, AdapterError> EventFromProto(const vigil::v1::Event& record,
                                                  const EventOrigin& origin) {
  LogType log;
  switch (record.record_case()) {
    case vigil::v1::Event::kFlow:
      log = LogType::kConn;
      break;
    case vigil::v1::Event::kDns:
      log = LogType::kDns;
      break;
    case vigil::v1::Event::kTls:
      log = LogType::kSsl;
      break;
    case vigil::v1::Event::kHttp:
      log = LogType::kHttp;
      break;
    default:
      return std::unexpected(
          AdapterError{"record_without_payload", "event carries no flow/dns/tls/http record", 0});
  }
  const auto& key = record.id();
  auto orig = IpAddress::FromBytes(key.orig_addr());
  auto resp = IpAddress::FromBytes(key.resp_addr());
  if (!orig || !resp) {
    return std::unexpected(
        AdapterError{"bad_address_length", "flow key addresses must be 4 or 16 bytes", 0});
  }
  Event e(log);
  Builder b(e);
  const int64_t micros = Micros(record.ts().seconds(), record.ts().nanos());
  e.set_time_ns(micros * 1000);
  if (!record.uid().empty()) b.Set("uid", Str(record.uid()));
  b.Set("id.orig_h", Value::String(orig->ToString()));
  b.Set("id.orig_p", Count(key.orig_port()));
  b.Set("id.resp_h", Value::String(resp->ToString()));
  b.Set("id.resp_p", Count(key.resp_port()));
  switch (log) {
    case LogType::kConn:
      FillConn(record.flow(), key.transport(), key.ip_proto(), b);
      break;
    case LogType::kDns:
      FillDns(record.dns(), b);
      break;
    case LogType::kSsl:
      FillSsl(record.tls(), b);
      break;
    case LogType::kHttp:
      FillHttp(record.http(), b);
      break;
  }
  e.RefreshAddresses();
  e.SetOrigin(origin);
  return e;
}

}  // namespace vigil::collector::engine
