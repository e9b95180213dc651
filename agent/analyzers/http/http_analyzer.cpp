#include "agent/analyzers/http/http_analyzer.h"

#include <string.h>  // explicit_bzero

#include <algorithm>
#include <cctype>
#include <cstring>
#include <string_view>

#include "agent/analyzers/record_recycler.h"
#include "agent/analyzers/record_time.h"
#include "agent/analyzers/text_escape.h"

namespace vigil::agent::analyzers::http {
namespace {

constexpr uint16_t kHttpPorts[] = {80, 81, 631, 1080, 3128, 8000, 8080, 8888};

// Methods Zeek's dynamic protocol detection accepts at the start of a stream.
constexpr std::string_view kDetectMethods[] = {
    "GET",      "HEAD",      "POST",  "PUT",  "DELETE", "OPTIONS", "TRACE",  "CONNECT", "PATCH",
    "PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE",   "LOCK",    "UNLOCK", "SEARCH",
};

size_t Index(Direction dir) { return static_cast<size_t>(dir); }

bool IsWs(char c) { return c == ' ' || c == '\t'; }

// RFC 2616 token characters (Zeek's is_HTTP_token_char).
bool IsTokenChar(unsigned char c) {
  if (c <= 31 || c >= 127) return false;
  return std::strchr(" \t()<>@,;:\\\"/[]?={}", c) == nullptr;
}

// RFC 3986 reserved and unreserved characters, plus '%'.
bool IsUriChar(unsigned char c) {
  return std::isalnum(c) || std::strchr(":/?#[]@!$&'()*+,;=-_.~%", c) != nullptr;
}

size_t SkipWs(std::string_view s, size_t i) {
  while (i < s.size() && IsWs(s[i])) ++i;
  return i;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsWs(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsWs(s.back())) s.remove_suffix(1);
  return s;
}

bool EqualsNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

// The first token of a header value ("chunked" of "chunked, gzip").
std::string_view FirstToken(std::string_view v) {
  v = Trim(v);
  size_t end = 0;
  while (end < v.size() && v[end] != ',' && v[end] != ';' && !IsWs(v[end])) ++end;
  return v.substr(0, end);
}

bool HasToken(std::string_view v, std::string_view token) {
  while (!v.empty()) {
    const size_t comma = v.find(',');
    if (EqualsNoCase(Trim(v.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    v.remove_prefix(comma + 1);
  }
  return false;
}

// "d.d" (Zeek's HTTP_Version): false if the text is not a version.
bool ParseVersion(std::string_view v, uint8_t& major, uint8_t& minor) {
  if (v.size() < 3 || !std::isdigit(static_cast<unsigned char>(v[0])) || v[1] != '.' ||
      !std::isdigit(static_cast<unsigned char>(v[2]))) {
    return false;
  }
  major = static_cast<uint8_t>(v[0] - '0');
  minor = static_cast<uint8_t>(v[2] - '0');
  return true;
}

std::string Escaped(std::string_view raw) {
  std::string out;
  AppendEscapedUtf8(out, {reinterpret_cast<const uint8_t*>(raw.data()), raw.size()});
  return out;
}

// Replaces `*out` (a record field, kept allocated across recycled records)
// with the escaped text, reusing its capacity.
void AssignEscaped(std::string* out, std::string_view raw) {
  out->clear();
  AppendEscapedUtf8(*out, {reinterpret_cast<const uint8_t*>(raw.data()), raw.size()});
}

using Recycler = RecordRecycler<vigil::v1::HttpRecord>;

template <size_t N>
bool Contains(const uint16_t (&ports)[N], uint16_t port) {
  return std::find(std::begin(ports), std::end(ports), port) != std::end(ports);
}

// Whether a stream prefix can still start a request Zeek's signature accepts
// (optional whitespace, then one of kDetectMethods).
bool MayStartRequest(std::span<const uint8_t> p) {
  std::string_view s(reinterpret_cast<const char*>(p.data()), p.size());
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  if (s.empty()) return true;
  for (std::string_view m : kDetectMethods) {
    const size_t n = std::min(m.size(), s.size());
    if (s.substr(0, n) == m.substr(0, n)) return true;
  }
  return false;
}

bool IsDetectMethod(std::string_view method) {
  return std::find(std::begin(kDetectMethods), std::end(kDetectMethods), method) !=
         std::end(kDetectMethods);
}

// Whether the first bytes of a side (`buffered` then `data`) can still begin
// an HTTP request (orig) or status line (resp).
bool PlausibleStart(Direction dir, std::string_view buffered, std::span<const uint8_t> data) {
  constexpr size_t kLookahead = 24;
  char head[kLookahead];
  const size_t have = std::min(buffered.size(), kLookahead);
  std::memcpy(head, buffered.data(), have);
  const size_t more = std::min(kLookahead - have, data.size());
  std::memcpy(head + have, data.data(), more);
  std::string_view s(head, have + more);
  while (!s.empty() && (s.front() == '\r' || s.front() == '\n')) s.remove_prefix(1);
  if (s.empty()) return true;
  if (dir == Direction::kResp) {
    constexpr std::string_view kPrefix = "HTTP/";
    const size_t n = std::min(s.size(), kPrefix.size());
    return s.substr(0, n) == kPrefix.substr(0, n);
  }
  size_t i = 0;
  while (i < s.size() && IsTokenChar(static_cast<unsigned char>(s[i]))) ++i;
  if (i == 0) return false;
  return i == s.size() || IsWs(s[i]);
}

}  // namespace

std::unique_ptr<Analyzer> MaybeCreate(const FlowInfo& flow, AnalyzerContext& ctx) {
  if (flow.transport != vigil::v1::TRANSPORT_TCP) return nullptr;
  if (flow.tunnel_depth > HttpAnalyzer::kMaxTunnelDepth) return nullptr;
  if (flow.tunnel_depth == 0 && Contains(kHttpPorts, flow.resp_port)) {
    return std::make_unique<HttpAnalyzer>(HttpAnalyzer::Mode::kPort, flow, ctx);
  }
  if (!flow.first_payload.empty()) {
    if (flow.first_dir == Direction::kOrig) {
      if (!MayStartRequest(flow.first_payload)) return nullptr;
    } else {
      constexpr std::string_view kStatusPrefix = "HTTP/";
      const std::string_view s(reinterpret_cast<const char*>(flow.first_payload.data()),
                               std::min(flow.first_payload.size(), kStatusPrefix.size()));
      if (s != kStatusPrefix.substr(0, s.size())) return nullptr;
    }
  }
  return std::make_unique<HttpAnalyzer>(HttpAnalyzer::Mode::kDetect, flow, ctx);
}

HttpAnalyzer::HttpAnalyzer(Mode mode, const FlowInfo& flow, AnalyzerContext& ctx)
    : ctx_(ctx), mode_(mode), ip_version_(flow.ip_version), tunnel_depth_(flow.tunnel_depth) {}

HttpAnalyzer::~HttpAnalyzer() = default;

Verdict HttpAnalyzer::Status() {
  if (recognized_ && !reported_recognized_) {
    reported_recognized_ = true;
    return Verdict::kRecognized;
  }
  if (gave_up_ || done_) return Verdict::kGiveUp;
  return Verdict::kContinue;
}

Verdict HttpAnalyzer::OnData(Direction dir, std::span<const uint8_t> data, int64_t ts_ns) {
  if (!gave_up_ && !done_) {
    now_ns_ = ts_ns;
    Feed(dir, data);
  }
  return Status();
}

void HttpAnalyzer::Feed(Direction dir, std::span<const uint8_t> data) {
  Side& side = sides_[Index(dir)];
  while (!data.empty() && !gave_up_ && !done_) {
    switch (side.state) {
      case State::kIgnore:
        return;
      case State::kTunnel:
        FeedTunnel(dir, data);
        return;
      case State::kAwaitTunnel:
        if (early_tunnel_.size() + data.size() > kMaxEarlyTunnelBytes) {
          StopSide(dir, "http_tunnel_early_data_overflow");
          return;
        }
        early_tunnel_.insert(early_tunnel_.end(), data.begin(), data.end());
        return;
      case State::kUntilClose:
        Body(side, data);
        return;
      case State::kBody:
      case State::kChunkData: {
        const size_t take = static_cast<size_t>(std::min<uint64_t>(side.remaining, data.size()));
        Body(side, data.first(take));
        side.remaining -= take;
        data = data.subspan(take);
        if (side.remaining == 0) {
          if (side.state == State::kBody) {
            MessageDone(dir);
          } else {
            side.state = State::kChunkDataEnd;
          }
        }
        break;
      }
      case State::kStartLine:
        if (dir == Direction::kResp && http09_ && !side.message_active) {
          // HTTP/0.9: the response is the raw body, no status line, no headers.
          Transaction* txn = nullptr;
          for (Transaction& t : txns_) {
            if (!t.final_status) {
              txn = &t;
              break;
            }
          }
          if (txn == nullptr) txn = &NewTxn();
          txn->final_status = true;
          txn->record.set_status_code(0);
          txn->record.set_status_msg("<empty>");
          txn->record.set_version("0.9");
          side = Side{};
          side.txn = txn->depth;
          side.message_active = true;
          side.state = State::kUntilClose;
          response_seen_ = true;
          continue;
        }
        [[fallthrough]];
      default: {
        if (side.state == State::kStartLine && !recognized_ &&
            !(dir == Direction::kOrig ? request_seen_ : response_seen_) &&
            !PlausibleStart(dir, side.line, data)) {
          // Another protocol: reject on its first bytes instead of waiting
          // for a line that may never come.
          NotHttp();
          return;
        }
        std::string_view line;
        if (!TakeLine(side, data, line)) return;
        HandleLine(dir, line);
        side.line.clear();
        if (side.line.capacity() > 1024) side.line.shrink_to_fit();
        break;
      }
    }
  }
}

bool HttpAnalyzer::TakeLine(Side& side, std::span<const uint8_t>& data, std::string_view& line) {
  const bool in_header = side.state == State::kStartLine || side.state == State::kHeaders;
  const auto* nl = static_cast<const uint8_t*>(std::memchr(data.data(), '\n', data.size()));
  const size_t len = nl ? static_cast<size_t>(nl - data.data()) : data.size();
  const size_t line_total = side.line.size() + len;
  if (!recognized_ && !request_seen_ && !response_seen_ && line_total > kMaxFirstLine) {
    NotHttp();  // no request line is this long: not HTTP
    return false;
  }
  if ((in_header ? side.header_bytes : 0) + line_total > kMaxHeaderSection) {
    const Direction dir = &side == &sides_[0] ? Direction::kOrig : Direction::kResp;
    StopSide(dir, "http_header_too_long");
    return false;
  }
  if (nl == nullptr) {
    side.line.append(reinterpret_cast<const char*>(data.data()), data.size());
    data = {};
    return false;
  }
  if (side.line.empty()) {
    line = std::string_view(reinterpret_cast<const char*>(data.data()), len);
  } else {
    side.line.append(reinterpret_cast<const char*>(data.data()), len);
    line = side.line;
  }
  data = data.subspan(len + 1);
  if (in_header) side.header_bytes += line_total + 1;
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return true;
}

void HttpAnalyzer::HandleLine(Direction dir, std::string_view line) {
  Side& side = sides_[Index(dir)];
  switch (side.state) {
    case State::kStartLine:
      if (line.empty()) return;  // stray CRLF between messages
      if (dir == Direction::kOrig) {
        RequestLine(line);
      } else {
        StatusLine(line);
      }
      return;
    case State::kHeaders:
      if (line.empty()) {
        EndOfHeaders(dir);
      } else {
        HeaderLine(dir, line);
      }
      return;
    case State::kChunkSize:
      ChunkSizeLine(dir, line);
      return;
    case State::kChunkDataEnd:
      if (!line.empty()) ctx_.Anomaly("http_chunk_size_mismatch");
      side.state = State::kChunkSize;
      return;
    case State::kChunkTrailer:
      if (line.empty()) MessageDone(dir);
      return;
    default:
      return;
  }
}

void HttpAnalyzer::RequestLine(std::string_view line) {
  Side& side = sides_[Index(Direction::kOrig)];
  // Zeek's HTTP_RequestLine()/ParseRequest(): method token, whitespace, URI,
  // and the version after the last whitespace that precedes "HTTP/".
  const size_t n = line.size();
  size_t m = 0;
  while (m < n && IsTokenChar(static_cast<unsigned char>(line[m]))) ++m;
  const size_t rest = SkipWs(line, m);
  bool ok = m > 0 && rest > m;
  size_t end_of_uri = rest;
  bool has_version = false;
  uint8_t major = 0, minor = 0;
  bool version_known = false;
  if (ok) {
    while (end_of_uri < n && IsUriChar(static_cast<unsigned char>(line[end_of_uri]))) ++end_of_uri;
    if (end_of_uri >= n && line.substr(rest).starts_with("HTTP/")) end_of_uri = rest;
    size_t vs = end_of_uri;
    for (; vs < n; ++vs) {
      end_of_uri = vs;
      vs = SkipWs(line, vs);
      if (line.substr(vs).starts_with("HTTP/")) {
        has_version = true;
        break;
      }
    }
    if (has_version) {
      version_known = vs + 8 <= n && ParseVersion(line.substr(vs + 5), major, minor);
    } else {
      major = 0;
      minor = 9;
      version_known = true;
      // HTTP/0.9 only knows GET: demand a plausible method and a URI.
      ok = m >= 3 && end_of_uri > rest;
    }
  }
  const std::string_view method = line.substr(0, m);
  if (ok && mode_ == Mode::kDetect && !request_seen_ && !IsDetectMethod(method)) ok = false;
  if (!ok) {
    if (!recognized_ && !request_seen_) {
      NotHttp();
    } else {
      StopSide(Direction::kOrig, "http_bad_request_line");
    }
    return;
  }

  request_seen_ = true;
  if (mode_ == Mode::kPort || response_seen_) recognized_ = true;
  if (txns_.size() >= kMaxPendingRequests) {
    ctx_.Anomaly("http_excessive_pipelining");
    Transaction oldest = std::move(txns_.front());
    txns_.erase(txns_.begin());
    Emit(std::move(oldest));
  }
  Transaction& txn = NewTxn();
  AssignEscaped(txn.record.mutable_method(), method);
  thread_local std::string uri;
  UnescapeUriTo(line.substr(rest, end_of_uri - rest), uri);
  AssignEscaped(txn.record.mutable_uri(), uri);
  txn.head = EqualsNoCase(method, "HEAD");
  txn.connect = EqualsNoCase(method, "CONNECT");

  side = Side{};
  side.txn = txn.depth;
  side.message_active = true;
  side.major = version_known ? major : 0;
  side.minor = version_known ? minor : 0;
  if (version_known && major == 0 && minor == 9) {
    // No headers and no body in HTTP/0.9; the response is raw until close.
    http09_ = true;
    MessageDone(Direction::kOrig);
    return;
  }
  side.state = State::kHeaders;
}

void HttpAnalyzer::StatusLine(std::string_view line) {
  Side& side = sides_[Index(Direction::kResp)];
  const size_t n = line.size();
  bool ok = line.starts_with("HTTP/");
  uint8_t major = 0, minor = 0;
  uint32_t code = 0;
  bool has_reason = false;
  std::string_view reason;
  if (ok && mode_ == Mode::kDetect && !response_seen_) {
    ok = n > 5 && std::isdigit(static_cast<unsigned char>(line[5]));
  }
  if (ok) {
    ParseVersion(line.substr(5), major, minor);
    size_t i = 5;
    while (i < n && !IsWs(line[i])) ++i;
    i = SkipWs(line, i);
    ok = i + 3 <= n;
    if (ok) {
      if (std::isdigit(static_cast<unsigned char>(line[i])) &&
          std::isdigit(static_cast<unsigned char>(line[i + 1])) &&
          std::isdigit(static_cast<unsigned char>(line[i + 2]))) {
        code = static_cast<uint32_t>((line[i] - '0') * 100 + (line[i + 1] - '0') * 10 +
                                     (line[i + 2] - '0'));
      }
      i += 3;
      while (i < n && !IsWs(line[i])) ++i;
      if (i < n) {
        has_reason = true;
        reason = line.substr(SkipWs(line, i));
      }
    }
  }
  if (!ok) {
    if (!recognized_ && !response_seen_) {
      NotHttp();
    } else {
      StopSide(Direction::kResp, "http_bad_status_line");
    }
    return;
  }

  response_seen_ = true;
  if (request_seen_) recognized_ = true;
  Transaction* txn = nullptr;
  for (Transaction& t : txns_) {
    if (!t.final_status) {
      txn = &t;
      break;
    }
  }
  if (txn == nullptr) {
    // A response without its request (lost, or the capture began mid-flow).
    if (txns_.size() >= kMaxPendingRequests) {
      ctx_.Anomaly("http_excessive_pipelining");
      Transaction oldest = std::move(txns_.front());
      txns_.erase(txns_.begin());
      Emit(std::move(oldest));
    }
    txn = &NewTxn();
  }
  vigil::v1::HttpRecord& rec = txn->record;
  rec.set_status_code(code);
  if (has_reason) {
    AssignEscaped(rec.mutable_status_msg(), reason);
  } else {
    rec.mutable_status_msg()->assign("<empty>");
  }
  // ParseVersion() yields single digits.
  const char version[3] = {static_cast<char>('0' + major % 10), '.',
                           static_cast<char>('0' + minor % 10)};
  rec.mutable_version()->assign(version, sizeof(version));
  if (code >= 100 && code < 200) {
    rec.set_info_code(code);
    rec.set_info_msg(rec.status_msg());
  } else {
    txn->final_status = true;
  }
  side = Side{};
  side.txn = txn->depth;
  side.message_active = true;
  side.major = major;
  side.minor = minor;
  side.state = State::kHeaders;
}

void HttpAnalyzer::HeaderLine(Direction dir, std::string_view line) {
  Side& side = sides_[Index(dir)];
  if (IsWs(line.front())) {
    // obs-fold continuation (RFC 7230 3.2.4) of the previous field.
    if (side.pending_field != Field::kNone) {
      side.pending_value.push_back(' ');
      side.pending_value.append(Trim(line));
    }
    return;
  }
  FlushHeader(dir);
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) {
    ctx_.Anomaly("http_header_without_colon");
    return;
  }
  if (side.header_count >= kMaxHeaders) {
    if (side.header_count == kMaxHeaders) ctx_.Anomaly("http_too_many_headers");
    ++side.header_count;
    return;
  }
  ++side.header_count;
  const std::string_view name = Trim(line.substr(0, colon));
  const std::string_view value = Trim(line.substr(colon + 1));
  Transaction* txn = FindTxn(side.txn);
  const bool request = dir == Direction::kOrig;
  if (request && txn != nullptr) {
    std::string* upper = txn->record.add_client_header_names();
    AssignEscaped(upper, name);
    for (char& c : *upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  Field field = Field::kNone;
  if (EqualsNoCase(name, "content-length")) {
    field = Field::kContentLength;
  } else if (EqualsNoCase(name, "transfer-encoding")) {
    field = Field::kTransferEncoding;
  } else if (EqualsNoCase(name, "content-encoding")) {
    field = Field::kContentEncoding;
  } else if (request) {
    if (EqualsNoCase(name, "host")) {
      field = Field::kHost;
    } else if (EqualsNoCase(name, "referer")) {
      field = Field::kReferer;
    } else if (EqualsNoCase(name, "user-agent")) {
      field = Field::kUserAgent;
    } else if (EqualsNoCase(name, "origin")) {
      field = Field::kOrigin;
    } else if (EqualsNoCase(name, "authorization") || EqualsNoCase(name, "proxy-authorization")) {
      field = Field::kAuthorization;
    }
  } else if (EqualsNoCase(name, "connection")) {
    field = Field::kConnection;
  } else if (EqualsNoCase(name, "upgrade")) {
    field = Field::kUpgrade;
  }
  if (field == Field::kNone) return;
  side.pending_field = field;
  side.pending_value.assign(value);
}

void HttpAnalyzer::FlushHeader(Direction dir) {
  Side& side = sides_[Index(dir)];
  const Field field = side.pending_field;
  if (field == Field::kNone) return;
  side.pending_field = Field::kNone;
  const std::string_view value = Trim(side.pending_value);
  Transaction* txn = FindTxn(side.txn);
  switch (field) {
    case Field::kHost:
      if (txn) AssignEscaped(txn->record.mutable_host(), value);
      break;
    case Field::kReferer:
      if (txn) AssignEscaped(txn->record.mutable_referrer(), value);
      break;
    case Field::kUserAgent:
      if (txn) AssignEscaped(txn->record.mutable_user_agent(), value);
      break;
    case Field::kOrigin:
      if (txn) AssignEscaped(txn->record.mutable_origin(), value);
      break;
    case Field::kAuthorization: {
      bool basic = false;
      std::string user = BasicAuthUser(value, basic);
      if (basic && txn) txn->record.set_username(Escaped(user));
      // Credentials never outlive this function.
      explicit_bzero(side.pending_value.data(), side.pending_value.size());
      break;
    }
    case Field::kContentLength: {
      // Zeek reads the leading digits of the value (atoi_n: "123abc" is
      // 123) and takes a value without any as 0; both are anomalies here.
      uint64_t n = 0;
      size_t digits = 0;
      while (digits < value.size() && std::isdigit(static_cast<unsigned char>(value[digits]))) {
        n = n * 10 + static_cast<uint64_t>(value[digits] - '0');
        if (++digits > 18) break;
      }
      if (digits == 0 || digits > 18) {
        ctx_.Anomaly("http_bad_content_length");
        n = 0;
      } else if (digits < value.size()) {
        ctx_.Anomaly("http_bad_content_length");
      }
      side.content_length = static_cast<int64_t>(n);
      break;
    }
    case Field::kTransferEncoding:
      side.chunked = EqualsNoCase(FirstToken(value), "chunked");
      break;
    case Field::kContentEncoding: {
      // Zeek's HTTP_Entity: only the first token, and only these three.
      const std::string_view coding = FirstToken(value);
      side.inflate = EqualsNoCase(coding, "gzip") || EqualsNoCase(coding, "x-gzip") ||
                     EqualsNoCase(coding, "deflate");
    } break;
    case Field::kConnection:
      if (HasToken(value, "close")) side.connection_close = true;
      // Zeek looks at the first token only.
      if (EqualsNoCase(FirstToken(value), "upgrade")) side.upgrade = true;
      break;
    case Field::kUpgrade:
      if (!value.empty()) side.upgrade_protocol = true;
      break;
    case Field::kNone:
      break;
  }
  side.pending_value.clear();
}

void HttpAnalyzer::EndOfHeaders(Direction dir) {
  FlushHeader(dir);
  Side& side = sides_[Index(dir)];
  Transaction* txn = FindTxn(side.txn);
  // Zeek honours chunked transfer coding only in HTTP/1.1 messages.
  const bool chunked = side.chunked && side.major == 1 && side.minor == 1;
  auto framed_body = [&] {
    if (chunked) {
      side.state = State::kChunkSize;
    } else if (side.content_length > 0) {
      side.state = State::kBody;
      side.remaining = static_cast<uint64_t>(side.content_length);
    } else {
      return false;
    }
    return true;
  };
  if (dir == Direction::kOrig) {
    if (txn != nullptr && txn->connect) {
      MessageDone(dir);
      return;
    }
    if (!framed_body()) MessageDone(dir);
    return;
  }
  const uint32_t code = txn ? txn->record.status_code() : 0;
  const bool no_body = (txn && txn->head) || (code >= 100 && code < 200) || code == 204 ||
                       code == 304 || (txn && txn->connect && code == 200);
  if (no_body) {
    MessageDone(dir);
    return;
  }
  if (framed_body()) return;
  if (side.content_length == 0) {
    MessageDone(dir);
    return;
  }
  side.state = State::kUntilClose;
}

void HttpAnalyzer::ChunkSizeLine(Direction dir, std::string_view line) {
  Side& side = sides_[Index(dir)];
  line = Trim(line);
  uint64_t size = 0;
  size_t digits = 0;
  bool overflow = false;
  for (char c : line) {
    int v;
    if (c >= '0' && c <= '9') {
      v = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      v = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      v = c - 'A' + 10;
    } else {
      break;
    }
    if (size >> 60) overflow = true;
    size = (size << 4) | static_cast<uint64_t>(v);
    ++digits;
  }
  if (digits == 0 || overflow) {
    ctx_.Anomaly("http_bad_chunk_size");
    size = 0;  // as Zeek: treat it as the last chunk
  }
  if (size > 0) {
    side.state = State::kChunkData;
    side.remaining = size;
  } else {
    side.state = State::kChunkTrailer;
  }
}

void HttpAnalyzer::Body(Side& side, std::span<const uint8_t> bytes) {
  if (!side.inflate) {
    ClearBody(side, bytes);
    return;
  }
  if (side.inflate_done) return;
  if (!side.inflater) {
    side.inflater = BodyInflater::Create();
    if (!side.inflater) {
      // Too many compressed bodies in flight at once: count this one as sent.
      ctx_.Anomaly("http_inflate_budget_exhausted");
      side.inflate = false;
      ClearBody(side, bytes);
      return;
    }
  }
  std::array<uint8_t, 4096> out;
  for (;;) {
    const size_t before = bytes.size();
    const size_t n = side.inflater->Step(bytes, out);
    if (n > 0) ClearBody(side, std::span<const uint8_t>(out.data(), n));
    const BodyInflater::Status st = side.inflater->status();
    if (st != BodyInflater::Status::kOk) {
      if (st == BodyInflater::Status::kFailed) ctx_.Anomaly("http_inflate_failed");
      side.inflater.reset();
      side.inflate_done = true;
      return;
    }
    if (n < out.size() && (bytes.empty() || bytes.size() == before)) return;
  }
}

void HttpAnalyzer::BodyGap(Side& side, uint64_t len) {
  if (!side.inflate) {
    side.body_len += len;
    return;
  }
  // A hole in a compressed stream: nothing after it can be decompressed.
  side.inflater.reset();
  side.inflate_done = true;
}

void HttpAnalyzer::ClearBody(Side& side, std::span<const uint8_t> bytes) {
  side.body_len += bytes.size();
  if (side.sniff_len < kSniffBytes) {
    const size_t take = std::min(bytes.size(), kSniffBytes - side.sniff_len);
    std::memcpy(side.sniff.data() + side.sniff_len, bytes.data(), take);
    side.sniff_len = static_cast<uint8_t>(side.sniff_len + take);
  }
}

void HttpAnalyzer::Sniff(Side& side, Transaction& txn, bool request) {
  if (side.sniff_len == 0) return;
  const std::string_view type = SniffMimeType({side.sniff.data(), side.sniff_len});
  if (type.empty()) return;
  if (request) {
    txn.record.add_orig_mime_types()->assign(type);
  } else {
    txn.record.add_resp_mime_types()->assign(type);
  }
}

void HttpAnalyzer::MessageDone(Direction dir) {
  Side& side = sides_[Index(dir)];
  if (!side.message_active) return;
  FlushHeader(dir);
  side.message_active = false;
  Transaction* txn = FindTxn(side.txn);
  const bool request = dir == Direction::kOrig;
  State next = State::kStartLine;
  if (request) {
    if (txn != nullptr) {
      txn->record.set_request_body_len(side.body_len);
      Sniff(side, *txn, true);
      if (txn->connect) next = State::kAwaitTunnel;
    }
  } else if (txn != nullptr) {
    txn->record.set_response_body_len(side.body_len);
    Sniff(side, *txn, false);
    const uint32_t code = txn->record.status_code();
    if (txn->final_status) {
      const bool connect = txn->connect;
      const uint32_t depth = txn->depth;
      auto it = std::find_if(txns_.begin(), txns_.end(),
                             [&](const Transaction& t) { return t.depth == depth; });
      Transaction finished = std::move(*it);
      txns_.erase(it);
      Emit(std::move(finished));
      if (connect && code == 200) {
        StartTunnel();
        return;
      }
      if (connect && sides_[0].state == State::kAwaitTunnel) {
        // The proxy refused: what the client sent meanwhile is HTTP again.
        sides_[0].state = State::kStartLine;
        std::vector<uint8_t> replay;
        replay.swap(early_tunnel_);
        Feed(Direction::kOrig, replay);
      }
    } else if (code == 101 && side.upgrade && side.upgrade_protocol) {
      // Switching protocols: whatever follows is not HTTP. Zeek stops only
      // when the reply names the upgrade (Connection: upgrade first, and an
      // Upgrade header); a bare 101 is an interim reply like any 1xx.
      EmitAll();
      done_ = true;
      sides_[0].state = State::kIgnore;
      sides_[1].state = State::kIgnore;
      return;
    }
  }
  const State keep_state = side.state == State::kIgnore ? State::kIgnore : next;
  const uint32_t keep_txn = side.txn;
  const uint8_t major = side.major, minor = side.minor;
  side = Side{};
  side.state = keep_state;
  side.txn = keep_txn;
  side.major = major;
  side.minor = minor;
}

void HttpAnalyzer::StartTunnel() {
  sides_[0].line.clear();
  sides_[1].line.clear();
  sides_[0].state = State::kTunnel;
  sides_[1].state = State::kTunnel;
  if (tunnel_depth_ >= kMaxTunnelDepth) {
    // Nested too deep: stop here rather than recurse.
    ctx_.Anomaly("http_tunnel_too_deep");
    EmitAll();
    done_ = true;
    return;
  }
  if (!early_tunnel_.empty()) {
    std::vector<uint8_t> early;
    early.swap(early_tunnel_);
    FeedTunnel(Direction::kOrig, early);
  }
}

void HttpAnalyzer::FeedTunnel(Direction dir, std::span<const uint8_t> data) {
  if (!tunnel_started_) {
    tunnel_started_ = true;
    FlowInfo inner;
    inner.transport = vigil::v1::TRANSPORT_TCP;
    inner.ip_version = ip_version_;
    inner.first_dir = dir;
    inner.first_payload = data;
    inner.tunnel_depth = static_cast<uint8_t>(tunnel_depth_ + 1);
    tunnel_ = CreateCandidates(inner, ctx_);
  }
  for (auto it = tunnel_.begin(); it != tunnel_.end();) {
    const Verdict v = (*it)->OnData(dir, data, now_ns_);
    if (v == Verdict::kRecognized) ctx_.AddService((*it)->Service());
    if (v == Verdict::kGiveUp) {
      it = tunnel_.erase(it);
    } else {
      ++it;
    }
  }
  if (tunnel_.empty()) {
    // Nothing we understand inside the tunnel: HTTP's part is over.
    EmitAll();
    done_ = true;
  }
}

HttpAnalyzer::Transaction* HttpAnalyzer::FindTxn(uint32_t depth) {
  for (Transaction& t : txns_) {
    if (t.depth == depth) return &t;
  }
  return nullptr;
}

HttpAnalyzer::Transaction& HttpAnalyzer::NewTxn() {
  Transaction& txn = txns_.emplace_back();
  Recycler::Local().Reuse(&txn.record);
  txn.depth = ++depth_;
  txn.ts_ns = now_ns_;
  txn.record.set_trans_depth(txn.depth);
  return txn;
}

void HttpAnalyzer::Emit(Transaction&& txn) {
  // Without both signatures Zeek's detection never attaches HTTP: no entry.
  if (mode_ == Mode::kDetect && !recognized_) return;
  Recycler::Local().Emit(ctx_, txn.ts_ns, &txn.record,
                         [](vigil::v1::Event& e) { return e.mutable_http(); });
}

void HttpAnalyzer::EmitAll() {
  for (Transaction& t : txns_) Emit(std::move(t));
  txns_.clear();
}

void HttpAnalyzer::StopSide(Direction dir, std::string_view anomaly) {
  ctx_.Anomaly(anomaly);
  Side& side = sides_[Index(dir)];
  // Keep what the interrupted message revealed.
  if (side.message_active) MessageDone(dir);
  side.state = State::kIgnore;
  side.line.clear();
  side.line.shrink_to_fit();
  if (sides_[0].state == State::kIgnore && sides_[1].state == State::kIgnore) {
    EmitAll();
    done_ = true;
  }
}

void HttpAnalyzer::NotHttp() {
  if (mode_ == Mode::kPort) {
    EmitAll();
  } else {
    txns_.clear();
  }
  gave_up_ = true;
}

void HttpAnalyzer::OnGap(Direction dir, uint64_t len) {
  if (gave_up_ || done_) return;
  Side& side = sides_[Index(dir)];
  switch (side.state) {
    case State::kTunnel:
      for (auto& a : tunnel_) a->OnGap(dir, len);
      return;
    case State::kIgnore:
      return;
    case State::kUntilClose:
      BodyGap(side, len);
      return;
    case State::kBody:
    case State::kChunkData:
      // A hole inside a body of known size: count it and carry on.
      if (side.remaining >= len) {
        BodyGap(side, len);
        side.remaining -= len;
        if (side.remaining == 0) {
          if (side.state == State::kBody) {
            MessageDone(dir);
          } else {
            side.state = State::kChunkDataEnd;
          }
        }
        return;
      }
      break;
    default:
      break;
  }
  StopSide(dir, "http_content_gap");
  // Response framing depends on the requests (HEAD, CONNECT): without them
  // the responses cannot be followed either.
  if (dir == Direction::kOrig && sides_[1].state != State::kIgnore && !done_) {
    StopSide(Direction::kResp, "http_content_gap");
  }
}

void HttpAnalyzer::OnEndOfData(Direction dir) {
  if (gave_up_ || done_) return;
  Side& side = sides_[Index(dir)];
  if (side.state == State::kTunnel) {
    for (auto& a : tunnel_) a->OnEndOfData(dir);
    return;
  }
  // A body read until close ends here; anything else was interrupted.
  if (side.message_active) MessageDone(dir);
}

void HttpAnalyzer::OnFlowEnd(int64_t ts_ns) {
  for (auto& a : tunnel_) a->OnFlowEnd(ts_ns);
  tunnel_.clear();
  if (gave_up_) return;
  if (!done_) {
    if (sides_[0].message_active) MessageDone(Direction::kOrig);
    if (sides_[1].message_active) MessageDone(Direction::kResp);
  }
  EmitAll();
  done_ = true;
}

}  // namespace vigil::agent::analyzers::http
