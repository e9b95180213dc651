#include "collector/engine/fields/derived_fields.h"

#include <array>
#include <cmath>

namespace vigil::collector::engine {
namespace {

// Slots of the fields derivations read, per log (-1: not in that log),
// resolved once instead of by name for every event.
struct Slots {
  int query = -1, server_name = -1, host = -1, uri = -1, conn_state = -1, proto = -1,
      resp_pkts = -1, orig_bytes = -1, resp_bytes = -1, delta_orig_bytes = -1,
      delta_resp_bytes = -1, duration = -1, aa = -1, tc = -1, rd = -1, ra = -1;
};

const Slots& SlotsFor(LogType log) {
  static const std::array<Slots, kLogTypeCount> table = [] {
    std::array<Slots, kLogTypeCount> t;
    const auto& c = FieldCatalog::Instance();
    for (LogType l : kAllLogTypes) {
      auto slot = [&](std::string_view n) {
        auto s = c.Slot(l, n);
        return s ? static_cast<int>(*s) : -1;
      };
      Slots& x = t[static_cast<size_t>(l)];
      x.query = slot("query");
      x.server_name = slot("server_name");
      x.host = slot("host");
      x.uri = slot("uri");
      x.conn_state = slot("conn_state");
      x.proto = slot("proto");
      x.resp_pkts = slot("resp_pkts");
      x.orig_bytes = slot("orig_bytes");
      x.resp_bytes = slot("resp_bytes");
      x.delta_orig_bytes = slot("delta_orig_bytes");
      x.delta_resp_bytes = slot("delta_resp_bytes");
      x.duration = slot("duration");
      x.aa = slot("AA");
      x.tc = slot("TC");
      x.rd = slot("RD");
      x.ra = slot("RA");
    }
    return t;
  }();
  return table[static_cast<size_t>(log)];
}

const Value* Field(const Event& e, int slot) {
  if (slot < 0) return nullptr;
  const Value& v = e.Get(static_cast<uint16_t>(slot));
  return v.present() ? &v : nullptr;
}

std::string_view StringField(const Event& e, int slot) {
  const Value* v = Field(e, slot);
  return v && v->is_string() ? std::string_view(v->string_value()) : std::string_view{};
}

// The DNS name a record is about: query for dns, SNI for ssl, Host for http
// (without a port; an address literal has no domain).
std::string DomainOf(const Event& e) {
  const Slots& slots = SlotsFor(e.log());
  std::string_view name;
  switch (e.log()) {
    case LogType::kDns:
      name = StringField(e, slots.query);
      break;
    case LogType::kSsl:
      name = StringField(e, slots.server_name);
      break;
    case LogType::kHttp: {
      name = StringField(e, slots.host);
      if (!name.empty() && name.front() == '[') return {};  // IPv6 literal
      const size_t colon = name.rfind(':');
      if (colon != std::string_view::npos) name = name.substr(0, colon);
      break;
    }
    case LogType::kConn:
      return {};
  }
  while (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (name.empty() || IpAddress::Parse(name)) return {};
  std::string out(name);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

double Entropy(std::string_view s) {
  if (s.empty()) return 0;
  std::array<uint32_t, 256> counts{};
  for (unsigned char c : s) ++counts[c];
  double h = 0;
  const double n = static_cast<double>(s.size());
  for (uint32_t c : counts) {
    if (c == 0) continue;
    const double p = c / n;
    h -= p * std::log2(p);
  }
  return h;
}

// The path part of a request target: origin-form "/a/b?q" or absolute-form
// "http://host/a/b?q" (proxy requests).
std::string_view UriPathAndQuery(std::string_view uri) {
  const size_t scheme = uri.find("://");
  if (scheme != std::string_view::npos && scheme < uri.find_first_of("/?")) {
    const size_t path = uri.find_first_of("/?", scheme + 3);
    return path == std::string_view::npos ? std::string_view{} : uri.substr(path);
  }
  return uri;
}

Value FromConnState(const Event& e, bool want_action) {
  const Slots& slots = SlotsFor(e.log());
  const std::string_view state = StringField(e, slots.conn_state);
  const std::string_view proto = StringField(e, slots.proto);
  if (state.empty()) return {};
  std::string_view action;
  if (state == "REJ") {
    action = "reject";
  } else if (proto == "tcp") {
    // A SYN nobody answered (S0), answered only by our own RST (RSTOS0), or
    // a half-open originator without SYN-ACK (SH): dropped on the way.
    action = (state == "S0" || state == "RSTOS0" || state == "SH") ? "drop" : "accept";
  } else {
    const Value* resp_pkts = Field(e, slots.resp_pkts);
    if (!resp_pkts || !resp_pkts->is_number()) return {};
    // A UDP/ICMP flow without any reply may be one-way by design: unknown.
    if (resp_pkts->number() <= 0) return {};
    action = "accept";
  }
  if (want_action) return Value::String(std::string(action));
  return Value::Bool(action != "accept");
}

}  // namespace

void ComputeDomainFields(const Event& e, const PublicSuffixList& psl, DomainFields& out) {
  out = DomainFields{};
  const std::string name = DomainOf(e);
  if (name.empty()) return;
  const auto split = psl.SplitName(name);
  if (!split.public_suffix.empty())
    out.public_suffix = Value::String(std::string(split.public_suffix));
  if (split.registered_domain.empty()) return;
  out.registered_domain = Value::String(std::string(split.registered_domain));
  if (!split.subdomain.empty()) out.subdomain = Value::String(std::string(split.subdomain));
  out.subdomain_length = Value::Int(static_cast<int64_t>(split.subdomain.size()));
  const auto label = split.registered_domain.substr(
      0, split.registered_domain.size() - split.public_suffix.size() - 1);
  out.entropy = Value::Double(Entropy(label));
}

Value ComputeDerived(DerivedField field, const Event& e, const PublicSuffixList& psl) {
  const Slots& slots = SlotsFor(e.log());
  switch (field) {
    case DerivedField::kQueryLength: {
      const Value* q = Field(e, slots.query);
      if (!q || !q->is_string()) return {};
      return Value::Int(static_cast<int64_t>(q->string_value().size()));
    }
    case DerivedField::kRegisteredDomain:
    case DerivedField::kPublicSuffix:
    case DerivedField::kSubdomain:
    case DerivedField::kSubdomainLength:
    case DerivedField::kDomainEntropy: {
      const std::string name = DomainOf(e);
      if (name.empty()) return {};
      const auto split = psl.SplitName(name);
      switch (field) {
        case DerivedField::kPublicSuffix:
          return split.public_suffix.empty() ? Value()
                                             : Value::String(std::string(split.public_suffix));
        case DerivedField::kRegisteredDomain:
          return split.registered_domain.empty()
                     ? Value()
                     : Value::String(std::string(split.registered_domain));
        case DerivedField::kSubdomain:
          return split.subdomain.empty() ? Value() : Value::String(std::string(split.subdomain));
        case DerivedField::kSubdomainLength:
          if (split.registered_domain.empty()) return {};
          return Value::Int(static_cast<int64_t>(split.subdomain.size()));
        default: {
          if (split.registered_domain.empty()) return {};
          // The registrable label: "example" of "example.co.uk".
          const auto label = split.registered_domain.substr(
              0, split.registered_domain.size() - split.public_suffix.size() - 1);
          return Value::Double(Entropy(label));
        }
      }
    }
    case DerivedField::kLabelCount:
    case DerivedField::kMaxLabelLength: {
      std::string_view q = StringField(e, slots.query);
      if (q.empty()) return {};
      while (!q.empty() && q.back() == '.') q.remove_suffix(1);
      int64_t labels = 0;
      int64_t longest = 0;
      size_t start = 0;
      while (start <= q.size()) {
        size_t dot = q.find('.', start);
        if (dot == std::string_view::npos) dot = q.size();
        ++labels;
        longest = std::max<int64_t>(longest, static_cast<int64_t>(dot - start));
        start = dot + 1;
      }
      return Value::Int(field == DerivedField::kLabelCount ? labels : longest);
    }
    case DerivedField::kDnsHeaderFlags: {
      std::vector<Value> flags;
      const std::pair<std::string_view, int> kFlags[] = {
          {"AA", slots.aa}, {"TC", slots.tc}, {"RD", slots.rd}, {"RA", slots.ra}};
      for (const auto& [name, slot] : kFlags) {
        const Value* v = Field(e, slot);
        if (v && v->kind() == Value::Kind::kBool && v->bool_value()) {
          flags.push_back(Value::String(std::string(name)));
        }
      }
      return Value::Array(std::move(flags));
    }
    case DerivedField::kUriPath:
    case DerivedField::kUriQuery:
    case DerivedField::kUriExtension: {
      const Value* uri = Field(e, slots.uri);
      if (!uri || !uri->is_string()) return {};
      std::string_view target = UriPathAndQuery(uri->string_value());
      const size_t hash = target.find('#');
      if (hash != std::string_view::npos) target = target.substr(0, hash);
      const size_t q = target.find('?');
      const std::string_view path = target.substr(0, q);
      if (field == DerivedField::kUriPath) return Value::String(std::string(path));
      if (field == DerivedField::kUriQuery) {
        if (q == std::string_view::npos) return {};
        return Value::String(std::string(target.substr(q + 1)));
      }
      const size_t slash = path.rfind('/');
      const std::string_view segment =
          slash == std::string_view::npos ? path : path.substr(slash + 1);
      const size_t dot = segment.rfind('.');
      if (dot == std::string_view::npos || dot + 1 == segment.size()) return {};
      return Value::String(std::string(segment.substr(dot + 1)));
    }
    case DerivedField::kAction:
      return FromConnState(e, true);
    case DerivedField::kBlocked:
      return FromConnState(e, false);
    case DerivedField::kNewOrigBytes:
    case DerivedField::kNewRespBytes: {
      const bool orig = field == DerivedField::kNewOrigBytes;
      const Value* delta = Field(e, orig ? slots.delta_orig_bytes : slots.delta_resp_bytes);
      if (delta && delta->is_number()) return *delta;
      const Value* total = Field(e, orig ? slots.orig_bytes : slots.resp_bytes);
      if (total && total->is_number()) return *total;
      return {};
    }
    case DerivedField::kDurationNs: {
      const Value* d = Field(e, slots.duration);
      if (!d || !d->is_number()) return {};
      return Value::Int(std::llround(d->number() * 1e9));
    }
    case DerivedField::kCount:
      break;
  }
  return {};
}

}  // namespace vigil::collector::engine
