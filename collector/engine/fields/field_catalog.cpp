#include "collector/engine/fields/field_catalog.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <unordered_map>

namespace vigil::collector::engine {
namespace {

using T = FieldType;

// The leading fields every record has (docs/records.md), then the log's own
// fields in Zeek's column order, then the identity the collector adds.
constexpr FieldDef kConnFields[] = {
    {"ts", T::kTime},
    {"uid", T::kString},
    {"id.orig_h", T::kAddr},
    {"id.orig_p", T::kPort},
    {"id.resp_h", T::kAddr},
    {"id.resp_p", T::kPort},
    {"proto", T::kString},
    {"service", T::kString},
    {"duration", T::kInterval},
    {"orig_bytes", T::kCount},
    {"resp_bytes", T::kCount},
    {"conn_state", T::kString},
    {"local_orig", T::kBool},
    {"local_resp", T::kBool},
    {"missed_bytes", T::kCount},
    {"history", T::kString},
    {"orig_pkts", T::kCount},
    {"orig_ip_bytes", T::kCount},
    {"resp_pkts", T::kCount},
    {"resp_ip_bytes", T::kCount},
    {"tunnel_parents", T::kStringVector},
    {"ip_proto", T::kCount},
    {"vlan", T::kInt},
    {"inner_vlan", T::kInt},
    {"community_id", T::kString},
    {"end_reason", T::kString},
    {"interim", T::kBool},
    {"delta_orig_bytes", T::kCount},
    {"delta_resp_bytes", T::kCount},
    {"delta_orig_pkts", T::kCount},
    {"delta_orig_ip_bytes", T::kCount},
    {"delta_resp_pkts", T::kCount},
    {"delta_resp_ip_bytes", T::kCount},
    {"vigil.agent", T::kString},
    {"vigil.agency", T::kString},
};

constexpr FieldDef kDnsFields[] = {
    {"ts", T::kTime},
    {"uid", T::kString},
    {"id.orig_h", T::kAddr},
    {"id.orig_p", T::kPort},
    {"id.resp_h", T::kAddr},
    {"id.resp_p", T::kPort},
    {"proto", T::kString},
    {"trans_id", T::kCount},
    {"rtt", T::kInterval},
    {"query", T::kString},
    {"qclass", T::kCount},
    {"qclass_name", T::kString},
    {"qtype", T::kCount},
    {"qtype_name", T::kString},
    {"rcode", T::kCount},
    {"rcode_name", T::kString},
    {"AA", T::kBool},
    {"TC", T::kBool},
    {"RD", T::kBool},
    {"RA", T::kBool},
    {"Z", T::kCount},
    {"answers", T::kStringVector},
    {"TTLs", T::kIntervalVector},
    {"rejected", T::kBool},
    {"vigil.agent", T::kString},
    {"vigil.agency", T::kString},
};

constexpr FieldDef kSslFields[] = {
    {"ts", T::kTime},
    {"uid", T::kString},
    {"id.orig_h", T::kAddr},
    {"id.orig_p", T::kPort},
    {"id.resp_h", T::kAddr},
    {"id.resp_p", T::kPort},
    {"version", T::kString},
    {"cipher", T::kString},
    {"curve", T::kString},
    {"server_name", T::kString},
    {"resumed", T::kBool},
    {"next_protocol", T::kString},
    {"established", T::kBool},
    {"ssl_history", T::kString},
    {"ja3", T::kString},
    {"ja4", T::kString},
    {"client_alpn", T::kStringVector},
    {"vigil.agent", T::kString},
    {"vigil.agency", T::kString},
};

constexpr FieldDef kHttpFields[] = {
    {"ts", T::kTime},
    {"uid", T::kString},
    {"id.orig_h", T::kAddr},
    {"id.orig_p", T::kPort},
    {"id.resp_h", T::kAddr},
    {"id.resp_p", T::kPort},
    {"trans_depth", T::kCount},
    {"method", T::kString},
    {"host", T::kString},
    {"uri", T::kString},
    {"referrer", T::kString},
    {"version", T::kString},
    {"user_agent", T::kString},
    {"origin", T::kString},
    {"request_body_len", T::kCount},
    {"response_body_len", T::kCount},
    {"status_code", T::kCount},
    {"status_msg", T::kString},
    {"info_code", T::kCount},
    {"info_msg", T::kString},
    {"username", T::kString},
    {"orig_mime_types", T::kStringVector},
    {"resp_mime_types", T::kStringVector},
    {"client_header_names", T::kStringVector},
    {"vigil.agent", T::kString},
    {"vigil.agency", T::kString},
};

constexpr uint8_t kConn = 1 << 0;
constexpr uint8_t kDns = 1 << 1;
constexpr uint8_t kSsl = 1 << 2;
constexpr uint8_t kHttp = 1 << 3;
constexpr uint8_t kAll = kConn | kDns | kSsl | kHttp;

uint8_t Bit(LogType log) { return static_cast<uint8_t>(1u << static_cast<unsigned>(log)); }

struct DerivedDef {
  DerivedField field;
  std::string_view name;
  uint8_t logs;
  FieldType type;
};

constexpr DerivedDef kDerived[] = {
    {DerivedField::kQueryLength, "query_length", kDns, T::kCount},
    {DerivedField::kRegisteredDomain, "registered_domain", kDns | kSsl | kHttp, T::kString},
    {DerivedField::kPublicSuffix, "public_suffix", kDns | kSsl | kHttp, T::kString},
    {DerivedField::kSubdomain, "subdomain", kDns | kSsl | kHttp, T::kString},
    {DerivedField::kSubdomainLength, "subdomain_length", kDns | kSsl | kHttp, T::kCount},
    {DerivedField::kLabelCount, "query_label_count", kDns, T::kCount},
    {DerivedField::kMaxLabelLength, "query_max_label_length", kDns, T::kCount},
    {DerivedField::kDomainEntropy, "domain_entropy", kDns | kSsl | kHttp, T::kDouble},
    {DerivedField::kDnsHeaderFlags, "dns.header_flags", kDns, T::kStringVector},
    {DerivedField::kUriPath, "uri_path", kHttp, T::kString},
    {DerivedField::kUriQuery, "uri_query", kHttp, T::kString},
    {DerivedField::kUriExtension, "uri_extension", kHttp, T::kString},
    {DerivedField::kAction, "action", kConn, T::kString},
    {DerivedField::kBlocked, "blocked", kConn, T::kBool},
    {DerivedField::kNewOrigBytes, "new_orig_bytes", kConn, T::kCount},
    {DerivedField::kNewRespBytes, "new_resp_bytes", kConn, T::kCount},
    {DerivedField::kDurationNs, "event.duration", kConn, T::kCount},
};

// The alias table (sigma-notes §8): generic taxonomy names on the left, the
// Vigil field (native or derived) each means in the logs on the right. One
// name may mean different fields in different logs (DestinationHostname).
struct AliasDef {
  std::string_view alias;
  std::string_view target;
  uint8_t logs;
};

constexpr AliasDef kAliases[] = {
    // Addresses and ports: firewall/proxy taxonomy, ECS, Sysmon-style.
    {"src_ip", "id.orig_h", kAll},
    {"src_port", "id.orig_p", kAll},
    {"dst_ip", "id.resp_h", kAll},
    {"dst_port", "id.resp_p", kAll},
    {"source.ip", "id.orig_h", kAll},
    {"source.port", "id.orig_p", kAll},
    {"destination.ip", "id.resp_h", kAll},
    {"destination.port", "id.resp_p", kAll},
    {"SourceIp", "id.orig_h", kAll},
    {"SourcePort", "id.orig_p", kAll},
    {"DestinationIp", "id.resp_h", kAll},
    {"DestinationPort", "id.resp_p", kAll},
    {"network_protocol", "proto", kConn | kDns},
    {"network.transport", "proto", kConn | kDns},
    // category: network / service: connection (ECS names).
    {"network.protocol", "service", kConn},
    {"network.community_id", "community_id", kConn},
    {"network.state", "conn_state", kConn},
    {"network.history", "history", kConn},
    {"source.bytes", "orig_bytes", kConn},
    {"destination.bytes", "resp_bytes", kConn},
    {"source.packets", "orig_pkts", kConn},
    {"destination.packets", "resp_pkts", kConn},
    // category: dns, and ECS dns.*.
    {"answer", "answers", kDns},
    {"record_type", "qtype_name", kDns},
    {"ttl", "TTLs", kDns},
    {"parent_domain", "registered_domain", kDns},
    {"query_etld_plus_one", "registered_domain", kDns},
    {"question_length", "query_length", kDns},
    {"dns.question.name", "query", kDns},
    {"dns.question.type", "qtype_name", kDns},
    {"dns.question.class", "qclass_name", kDns},
    {"dns.question.registered_domain", "registered_domain", kDns},
    {"dns.question.subdomain", "subdomain", kDns},
    {"dns.question.top_level_domain", "public_suffix", kDns},
    {"dns.answers.data", "answers", kDns},
    {"dns.answers.ttl", "TTLs", kDns},
    {"dns.response_code", "rcode_name", kDns},
    {"dns.id", "trans_id", kDns},
    {"dns.header.flags", "dns.header_flags", kDns},
    // category: proxy / webserver (W3C names).
    {"c-uri", "uri", kHttp},
    {"cs-uri", "uri", kHttp},
    {"c-uri-stem", "uri_path", kHttp},
    {"cs-uri-stem", "uri_path", kHttp},
    {"c-uri-query", "uri_query", kHttp},
    {"cs-uri-query", "uri_query", kHttp},
    {"c-uri-extension", "uri_extension", kHttp},
    {"c-useragent", "user_agent", kHttp},
    {"cs-user-agent", "user_agent", kHttp},
    {"cs-host", "host", kHttp},
    {"r-dns", "host", kHttp},
    {"cs-method", "method", kHttp},
    {"cs-referer", "referrer", kHttp},
    {"cs-referrer", "referrer", kHttp},
    {"cs-version", "version", kHttp},
    {"sc-status", "status_code", kHttp},
    {"cs-bytes", "request_body_len", kHttp},
    {"sc-bytes", "response_body_len", kHttp},
    {"cs-username", "username", kHttp},
    // "The host the client wanted", wherever the log records it.
    {"DestinationHostname", "host", kHttp},
    {"DestinationHostname", "query", kDns},
    {"DestinationHostname", "server_name", kSsl},
    {"dest_domain", "host", kHttp},
    {"dest_domain", "query", kDns},
    {"dest_domain", "server_name", kSsl},
    {"tls.client.server_name", "server_name", kSsl},
    {"tls.client.ja3", "ja3", kSsl},
    {"tls.next_protocol", "next_protocol", kSsl},
};

// Taxonomy fields Vigil does not produce: a rule that needs one cannot work
// and is loaded inactive with this reason rather than failing as a typo.
struct UnavailableDef {
  std::string_view name;
  uint8_t logs;
};

constexpr UnavailableDef kUnavailable[] = {
    {"cs-cookie", kHttp},
    {"c-cookie", kHttp},
    {"cs-content-type", kHttp},
    {"sc-content-type", kHttp},
    {"cs-referer-host", kHttp},
    {"c-ip", kHttp},
    {"s-ip", kHttp},
    {"dns.answers.name", kDns},
    {"dns.answers.type", kDns},
    {"dns.answers.class", kDns},
    {"username", kConn},
    {"mime_types", kHttp},
    {"filetype", kHttp},
};

std::span<const FieldDef> FieldsOf(LogType log) {
  switch (log) {
    case LogType::kConn:
      return kConnFields;
    case LogType::kDns:
      return kDnsFields;
    case LogType::kSsl:
      return kSslFields;
    case LogType::kHttp:
      return kHttpFields;
  }
  return {};
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace

struct FieldCatalog::Impl {
  std::array<std::unordered_map<std::string_view, uint16_t>, kLogTypeCount> slots;
};

const FieldCatalog& FieldCatalog::Instance() {
  static const FieldCatalog catalog;
  return catalog;
}

FieldCatalog::FieldCatalog() {
  auto* impl = new Impl;  // lives for the process, like the catalog itself
  for (LogType log : kAllLogTypes) {
    auto fields = FieldsOf(log);
    for (size_t i = 0; i < fields.size(); ++i) {
      impl->slots[static_cast<size_t>(log)].emplace(fields[i].name, static_cast<uint16_t>(i));
    }
  }
  impl_ = impl;
}

std::span<const FieldDef> FieldCatalog::Fields(LogType log) const { return FieldsOf(log); }

std::optional<uint16_t> FieldCatalog::Slot(LogType log, std::string_view name) const {
  const auto& m = impl_->slots[static_cast<size_t>(log)];
  auto it = m.find(name);
  if (it == m.end()) return std::nullopt;
  return it->second;
}

uint16_t FieldCatalog::AgentSlot(LogType log) const {
  return static_cast<uint16_t>(FieldsOf(log).size() - 2);
}

uint16_t FieldCatalog::AgencySlot(LogType log) const {
  return static_cast<uint16_t>(FieldsOf(log).size() - 1);
}

std::string_view FieldCatalog::DerivedName(DerivedField f) const {
  return kDerived[static_cast<size_t>(f)].name;
}

FieldType FieldCatalog::DerivedType(DerivedField f) const {
  return kDerived[static_cast<size_t>(f)].type;
}

std::string_view FieldCatalog::Name(LogType log, FieldRef ref) const {
  switch (ref.kind) {
    case FieldRef::Kind::kSlot:
      return FieldsOf(log)[ref.index].name;
    case FieldRef::Kind::kDerived:
      return kDerived[ref.index].name;
    case FieldRef::Kind::kNone:
      break;
  }
  return {};
}

FieldResolution FieldCatalog::Resolve(LogType log, std::string_view name) const {
  FieldResolution r;
  // Native names win over aliases and derived names.
  auto resolve_direct = [&](std::string_view n, LogType l) -> std::optional<FieldRef> {
    if (auto slot = Slot(l, n)) return FieldRef{FieldRef::Kind::kSlot, *slot};
    for (const auto& d : kDerived) {
      if (d.name == n && (d.logs & Bit(l))) {
        return FieldRef{FieldRef::Kind::kDerived, static_cast<uint16_t>(d.field)};
      }
    }
    return std::nullopt;
  };
  if (auto ref = resolve_direct(name, log)) {
    r.status = FieldResolution::Status::kFound;
    r.ref = *ref;
    r.event_name = std::string(name);
    return r;
  }
  for (const auto& a : kAliases) {
    if (a.alias == name && (a.logs & Bit(log))) {
      if (auto ref = resolve_direct(a.target, log)) {
        r.status = FieldResolution::Status::kFound;
        r.ref = *ref;
        r.event_name = std::string(a.target);
        return r;
      }
    }
  }
  for (const auto& u : kUnavailable) {
    if (u.name == name && (u.logs & Bit(log))) {
      r.status = FieldResolution::Status::kUnavailable;
      r.detail = "Vigil's " + std::string(LogTypeName(log)) + " records have no field '" +
                 std::string(name) + "'";
      return r;
    }
  }
  // Known elsewhere? Then a rule of this log can never see it.
  std::string others;
  for (LogType other : kAllLogTypes) {
    if (other == log) continue;
    bool known = resolve_direct(name, other).has_value();
    for (const auto& a : kAliases) {
      if (a.alias == name && (a.logs & Bit(other))) known = true;
    }
    if (known) {
      if (!others.empty()) others += ", ";
      others += LogTypeName(other);
    }
  }
  if (!others.empty()) {
    r.status = FieldResolution::Status::kOtherLog;
    r.detail = others;
    return r;
  }
  r.status = FieldResolution::Status::kUnknown;
  // Suggest the closest accepted name (typos are the usual cause).
  size_t best = 4;
  for (const auto& candidate : AcceptedNames(log)) {
    // Field names are exact; a name that differs only in case is the
    // likeliest intent.
    const bool same_folded =
        std::equal(name.begin(), name.end(), candidate.begin(), candidate.end(),
                   [](char a, char b) { return std::tolower(a) == std::tolower(b); });
    const size_t d = same_folded ? 0 : EditDistance(name, candidate);
    if (d < best) {
      best = d;
      r.detail = candidate;
    }
  }
  return r;
}

std::vector<std::string> FieldCatalog::AcceptedNames(LogType log) const {
  std::vector<std::string> names;
  for (const auto& f : FieldsOf(log)) names.emplace_back(f.name);
  for (const auto& d : kDerived) {
    if (d.logs & Bit(log)) names.emplace_back(d.name);
  }
  for (const auto& a : kAliases) {
    if (a.logs & Bit(log)) names.emplace_back(a.alias);
  }
  return names;
}

std::string_view LogTypeName(LogType log) {
  switch (log) {
    case LogType::kConn:
      return "conn";
    case LogType::kDns:
      return "dns";
    case LogType::kSsl:
      return "ssl";
    case LogType::kHttp:
      return "http";
  }
  return "?";
}

std::optional<LogType> ParseLogType(std::string_view name) {
  for (LogType log : kAllLogTypes) {
    if (LogTypeName(log) == name) return log;
  }
  return std::nullopt;
}

}  // namespace vigil::collector::engine
