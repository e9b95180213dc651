#include "collector/engine/fields/derived_fields.h"

#include <array>
#include <cmath>

namespace vigil::collector::engine {
namespace {

const Value* Field(const Event& e, std::string_view name) { return e.Find(name); }

std::string_view StringField(const Event& e, std::string_view name) {
  const Value* v = Field(e, name);
  return v && v->is_string() ? std::string_view(v->string_value()) : std::string_view{};
}

// The DNS name a record is about: query for dns, SNI for ssl, Host for http
// (without a port; an address literal has no domain).
std::string DomainOf(const Event& e) {
  std::string_view name;
  switch (e.log()) {
    case LogType::kDns:
      name = StringField(e, "query");
      break;
    case LogType::kSsl:
      name = StringField(e, "server_name");
      break;
    case LogType::kHttp: {
      name = StringField(e, "host");
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
  const std::string_view state = StringField(e, "conn_state");
  const std::string_view proto = StringField(e, "proto");
  if (state.empty()) return {};
  std::string_view action;
  if (state == "REJ") {
    action = "reject";
  } else if (proto == "tcp") {
    // A SYN nobody answered (S0), answered only by our own RST (RSTOS0), or
    // a half-open originator without SYN-ACK (SH): dropped on the way.
    action = (state == "S0" || state == "RSTOS0" || state == "SH") ? "drop" : "accept";
  } else {
    const Value* resp_pkts = Field(e, "resp_pkts");
    if (!resp_pkts || !resp_pkts->is_number()) return {};
    // A UDP/ICMP flow without any reply may be one-way by design: unknown.
    if (resp_pkts->number() <= 0) return {};
    action = "accept";
  }
  if (want_action) return Value::String(std::string(action));
  return Value::Bool(action != "accept");
}

}  // namespace

Value ComputeDerived(DerivedField field, const Event& e, const PublicSuffixList& psl) {
  switch (field) {
    case DerivedField::kQueryLength: {
      const Value* q = Field(e, "query");
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
      std::string_view q = StringField(e, "query");
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
      for (std::string_view f : {"AA", "TC", "RD", "RA"}) {
        const Value* v = Field(e, f);
        if (v && v->kind() == Value::Kind::kBool && v->bool_value()) {
          flags.push_back(Value::String(std::string(f)));
        }
      }
      return Value::Array(std::move(flags));
    }
    case DerivedField::kUriPath:
    case DerivedField::kUriQuery:
    case DerivedField::kUriExtension: {
      const Value* uri = Field(e, "uri");
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
      const Value* delta = Field(e, orig ? "delta_orig_bytes" : "delta_resp_bytes");
      if (delta && delta->is_number()) return *delta;
      const Value* total = Field(e, orig ? "orig_bytes" : "resp_bytes");
      if (total && total->is_number()) return *total;
      return {};
    }
    case DerivedField::kDurationNs: {
      const Value* d = Field(e, "duration");
      if (!d || !d->is_number()) return {};
      return Value::Int(std::llround(d->number() * 1e9));
    }
    case DerivedField::kCount:
      break;
  }
  return {};
}

}  // namespace vigil::collector::engine
