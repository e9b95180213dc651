#include "agent/analyzers/tls/tls_analyzer.h"

#include <algorithm>
#include <cctype>
#include <cstring>

#include "agent/analyzers/record_recycler.h"
#include "agent/analyzers/record_time.h"
#include "agent/analyzers/text_escape.h"
#include "agent/analyzers/tls/fingerprint.h"
#include "proto/vigil/v1/zeek/wire_names.h"

namespace vigil::agent::analyzers::tls {
namespace {

using Recycler = RecordRecycler<vigil::v1::TlsRecord>;

// RFC 5246 6.2: record content types.
constexpr uint8_t kChangeCipherSpec = 20;
constexpr uint8_t kAlert = 21;
constexpr uint8_t kHandshake = 22;
constexpr uint8_t kApplicationData = 23;
constexpr uint8_t kHeartbeat = 24;
constexpr size_t kRecordHeader = 5;
constexpr size_t kHandshakeHeader = 4;
// RFC 5246 6.2.3: TLSCiphertext.length is at most 2^14 + 2048.
constexpr uint32_t kMaxRecordLength = (1u << 14) + 2048;

// Handshake message types (IANA TLS HandshakeType).
constexpr uint8_t kClientHello = 1;
constexpr uint8_t kServerHello = 2;
constexpr uint8_t kClientKeyExchange = 16;
constexpr uint8_t kServerKeyExchange = 12;

// RFC 8422 5.4: ECParameters.curve_type named_curve.
constexpr uint8_t kNamedCurve = 3;

constexpr uint16_t kTls13 = 0x0304;

size_t Index(Direction dir) { return static_cast<size_t>(dir); }

bool VersionOk(uint16_t v) {
  // SSLv3 .. TLS 1.3, TLS 1.3 drafts (0x7fxx), DTLS (0xfexx).
  return (v >= 0x0300 && v <= 0x0304) || (v >> 8) == 0x7f || (v >> 8) == 0xfe;
}

bool IsTls13(uint16_t v) { return v == kTls13 || (v >> 8) == 0x7f; }

// Zeek's ssl_history letters (scripts/base/protocols/ssl/main.zeek).
char HandshakeLetter(uint8_t type) {
  switch (type) {
    case 0:
      return 'h';  // hello_request
    case 1:
      return 'c';
    case 2:
      return 's';
    case 3:
      return 'v';  // hello_verify_request
    case 4:
      return 't';  // new_session_ticket
    case 5:
      return 'e';  // end_of_early_data
    case 6:
      return 'j';  // hello_retry_request (drafts)
    case 8:
      return 'o';  // encrypted_extensions
    case 11:
      return 'x';
    case 12:
      return 'k';
    case 13:
      return 'r';
    case 14:
      return 'n';
    case 15:
      return 'y';
    case 16:
      return 'g';
    case 20:
      return 'f';
    case 21:
      return 'w';
    case 22:
      return 'u';
    case 23:
      return 'a';
    case 24:
      return 'p';
    case 254:
      return 'm';
    default:
      return 'z';
  }
}

// A record header at `p` (6 bytes available) that starts a handshake record
// whose first message has type `hs_type`.
bool LooksLikeHandshake(const uint8_t* p, uint8_t hs_type) {
  if (p[0] != kHandshake || p[1] != 0x03 || p[2] > 0x04) return false;
  const uint32_t len = (uint32_t{p[3]} << 8) | p[4];
  return len >= kHandshakeHeader && len <= kMaxRecordLength && p[5] == hs_type;
}

// Whether a stream prefix (possibly shorter than a header) can still become
// a handshake record carrying `hs_type`.
bool PrefixMayBeHandshake(std::span<const uint8_t> p, uint8_t hs_type) {
  if (p.size() > 0 && p[0] != kHandshake) return false;
  if (p.size() > 1 && p[1] != 0x03) return false;
  if (p.size() > 2 && p[2] > 0x04) return false;
  if (p.size() > 5 && p[5] != hs_type) return false;
  return true;
}

constexpr uint16_t kTlsPorts[] = {443, 563, 585, 614, 636, 989, 990, 992, 993, 995, 5223};
// Plaintext protocols with a STARTTLS-style upgrade: FTP, SMTP, POP3, NNTP,
// IMAP, LDAP, submission, MySQL, ManageSieve, XMPP client/server, PostgreSQL.
constexpr uint16_t kStartTlsPorts[] = {21,  25,   110,  119,  143,  389,
                                       587, 3306, 4190, 5222, 5269, 5432};

template <size_t N>
bool Contains(const uint16_t (&ports)[N], uint16_t port) {
  return std::find(std::begin(ports), std::end(ports), port) != std::end(ports);
}

std::string Escaped(const std::string& raw) {
  std::string out;
  AppendEscapedUtf8(out, {reinterpret_cast<const uint8_t*>(raw.data()), raw.size()});
  return out;
}

}  // namespace

std::unique_ptr<Analyzer> MaybeCreate(const FlowInfo& flow, AnalyzerContext& ctx) {
  if (flow.transport != vigil::v1::TRANSPORT_TCP) return nullptr;
  if (Contains(kTlsPorts, flow.resp_port)) {
    return std::make_unique<TlsAnalyzer>(TlsAnalyzer::Mode::kPort, ctx);
  }
  if (Contains(kStartTlsPorts, flow.resp_port)) {
    return std::make_unique<TlsAnalyzer>(TlsAnalyzer::Mode::kStartTls, ctx);
  }
  if (!flow.first_payload.empty()) {
    const uint8_t expected = flow.first_dir == Direction::kOrig ? kClientHello : kServerHello;
    if (!PrefixMayBeHandshake(flow.first_payload, expected)) return nullptr;
  }
  return std::make_unique<TlsAnalyzer>(TlsAnalyzer::Mode::kDetect, ctx);
}

TlsAnalyzer::TlsAnalyzer(Mode mode, AnalyzerContext& ctx) : ctx_(ctx), mode_(mode) {
  Recycler::Local().Reuse(&record_);
  if (mode_ != Mode::kStartTls) {
    sides_[0].started = true;
    sides_[1].started = true;
  }
}

Verdict TlsAnalyzer::Status() {
  if (recognized_ && !reported_recognized_) {
    reported_recognized_ = true;
    return Verdict::kRecognized;
  }
  // Established (logged, nothing more to learn) or not TLS: stop feeding.
  if (gave_up_ || emitted_) return Verdict::kGiveUp;
  return Verdict::kContinue;
}

Verdict TlsAnalyzer::OnData(Direction dir, std::span<const uint8_t> data, int64_t ts_ns) {
  if (!gave_up_ && !emitted_) {
    now_ns_ = ts_ns;
    Feed(dir, data);
  }
  return Status();
}

void TlsAnalyzer::Feed(Direction dir, std::span<const uint8_t> data) {
  Side& side = sides_[Index(dir)];
  if (side.dead || data.empty()) return;
  if (!side.started) {
    FeedStartTls(dir, data);
    return;
  }
  FeedRecords(side, dir, data);
}

void TlsAnalyzer::FeedStartTls(Direction dir, std::span<const uint8_t> data) {
  Side& side = sides_[Index(dir)];
  // The client opens the handshake; the server's ServerHello can only follow.
  const bool client_side = dir == Direction::kOrig;
  const Side& orig = sides_[Index(Direction::kOrig)];
  auto give_up_if_exhausted = [&] {
    side.plaintext_seen += static_cast<uint32_t>(std::min<size_t>(data.size(), UINT32_MAX));
    if (side.plaintext_seen > kMaxPlaintextBeforeTls && !seen_any_hello_) gave_up_ = true;
  };
  if (!client_side && !orig.started) {
    give_up_if_exhausted();
    return;
  }
  const uint8_t hs_type = client_side ? kClientHello : kServerHello;

  // Candidates straddling the previous delivery: tail + head of `data`.
  std::array<uint8_t, 2 * kRecordHeader + 1> joint{};
  const size_t head = std::min(data.size(), kRecordHeader + 1);
  std::memcpy(joint.data(), side.tail.data(), side.tail_len);
  std::memcpy(joint.data() + side.tail_len, data.data(), head);
  const size_t joint_len = side.tail_len + head;
  for (size_t i = 0; i < side.tail_len && i + kRecordHeader + 1 <= joint_len; ++i) {
    if (LooksLikeHandshake(joint.data() + i, hs_type)) {
      side.started = true;
      std::array<uint8_t, kRecordHeader> carried{};
      const size_t carried_len = side.tail_len - i;
      std::memcpy(carried.data(), side.tail.data() + i, carried_len);
      side.tail_len = 0;
      if (FeedRecords(side, dir, std::span<const uint8_t>(carried.data(), carried_len))) {
        FeedRecords(side, dir, data);
      }
      return;
    }
  }
  for (size_t i = 0; i + kRecordHeader + 1 <= data.size(); ++i) {
    const void* hit = std::memchr(data.data() + i, kHandshake, data.size() - i - kRecordHeader);
    if (hit == nullptr) break;
    i = static_cast<size_t>(static_cast<const uint8_t*>(hit) - data.data());
    if (LooksLikeHandshake(data.data() + i, hs_type)) {
      side.started = true;
      side.tail_len = 0;
      FeedRecords(side, dir, data.subspan(i));
      return;
    }
  }
  // Keep the last bytes: a header may continue in the next delivery.
  if (data.size() >= kRecordHeader) {
    std::memcpy(side.tail.data(), data.data() + data.size() - kRecordHeader, kRecordHeader);
    side.tail_len = kRecordHeader;
  } else {
    const size_t keep = std::min<size_t>(side.tail_len, kRecordHeader - data.size());
    std::memmove(side.tail.data(), side.tail.data() + side.tail_len - keep, keep);
    std::memcpy(side.tail.data() + keep, data.data(), data.size());
    side.tail_len = static_cast<uint8_t>(keep + data.size());
  }
  give_up_if_exhausted();
}

bool TlsAnalyzer::FeedRecords(Side& side, Direction dir, std::span<const uint8_t> data) {
  while (!data.empty() && !gave_up_ && !emitted_ && !side.dead) {
    if (side.record_header_len < kRecordHeader) {
      const size_t take = std::min(kRecordHeader - side.record_header_len, data.size());
      std::memcpy(side.record_header.data() + side.record_header_len, data.data(), take);
      side.record_header_len = static_cast<uint8_t>(side.record_header_len + take);
      data = data.subspan(take);
      if (side.record_header_len < kRecordHeader) break;
      const auto& h = side.record_header;
      const uint32_t len = (uint32_t{h[3]} << 8) | h[4];
      const bool valid_type = h[0] >= kChangeCipherSpec && h[0] <= kHeartbeat;
      if (!valid_type || h[1] != 0x03 || h[2] > 0x04 || len > kMaxRecordLength) {
        Fail(recognized_ ? "tls_invalid_record" : "");
        return false;
      }
      // Before any hello, the first record of a side must open a handshake
      // with the hello that side sends; anything else is not TLS.
      if (!seen_any_hello_ && h[0] != kHandshake) {
        Fail("");
        return false;
      }
      side.record_type = h[0];
      side.record_remaining = len;
      if (len == 0) {
        RecordBody(side, dir, {}, true);
        side.record_header_len = 0;
      }
      continue;
    }
    const size_t take = std::min<size_t>(side.record_remaining, data.size());
    side.record_remaining -= static_cast<uint32_t>(take);
    const bool done = side.record_remaining == 0;
    if (!RecordBody(side, dir, data.first(take), done)) return false;
    data = data.subspan(take);
    if (done) side.record_header_len = 0;
  }
  return !gave_up_ && !side.dead;
}

bool TlsAnalyzer::RecordBody(Side& side, Direction dir, std::span<const uint8_t> chunk,
                             bool record_done) {
  const uint8_t type = side.record_type;
  // TLS 1.3 middlebox-compatibility ChangeCipherSpec records are always
  // plaintext (RFC 8446 D.4); before 1.3 a CCS after encryption is ciphertext.
  if (side.encrypted && !(type == kChangeCipherSpec && tls13_)) {
    if (record_done) OnCiphertext();
    return true;
  }
  switch (type) {
    case kChangeCipherSpec:
      if (record_done) {
        AddHistory(dir, 'i');
        // In TLS 1.3 the compatibility CCS changes nothing (RFC 8446 D.4):
        // a second ClientHello or ServerHello may still follow in plaintext.
        if (!tls13_) {
          side.encrypted = true;
          side.hs_header_len = 0;
          side.hs_remaining = 0;
        }
        if (IsClient(dir) && client_ticket_resumption_ && !client_key_exchange_seen_) {
          record_.set_resumed(true);
        }
      }
      return true;
    case kAlert:
      if (record_done) AddHistory(dir, 'l');
      return true;
    case kHeartbeat:
      if (record_done) AddHistory(dir, 'b');
      return true;
    case kApplicationData:
      // After a TLS 1.3 ServerHello everything is encrypted even without a
      // compatibility ChangeCipherSpec; earlier it is 0-RTT or plaintext data.
      if (tls13_ && seen_server_hello_) {
        side.encrypted = true;
        if (record_done) OnCiphertext();
      }
      return true;
    case kHandshake:
      return HandshakeBytes(side, dir, chunk);
    default:
      return true;
  }
}

bool TlsAnalyzer::HandshakeBytes(Side& side, Direction dir, std::span<const uint8_t> data) {
  while (!data.empty() && !gave_up_ && !emitted_) {
    if (side.hs_header_len < kHandshakeHeader) {
      const size_t take = std::min(kHandshakeHeader - side.hs_header_len, data.size());
      std::memcpy(side.hs_header.data() + side.hs_header_len, data.data(), take);
      side.hs_header_len = static_cast<uint8_t>(side.hs_header_len + take);
      data = data.subspan(take);
      if (side.hs_header_len < kHandshakeHeader) break;
      const auto& h = side.hs_header;
      side.hs_type = h[0];
      side.hs_remaining = (uint32_t{h[1]} << 16) | (uint32_t{h[2]} << 8) | h[3];
      const bool wanted = side.hs_type == kClientHello || side.hs_type == kServerHello ||
                          side.hs_type == kServerKeyExchange;
      if (!seen_any_hello_) {
        // A handshake that does not open with the hello this side sends is
        // not TLS (in detection mode the roles must also be right).
        const bool hello = side.hs_type == kClientHello || side.hs_type == kServerHello;
        const bool right_role =
            mode_ != Mode::kDetect ||
            side.hs_type == (dir == Direction::kOrig ? kClientHello : kServerHello);
        if (!hello || !right_role) {
          Fail("");
          return false;
        }
      }
      side.hs_buffering = wanted && side.hs_remaining <= kMaxHandshakeMessage;
      if (wanted && !side.hs_buffering) ctx_.Anomaly("tls_handshake_message_too_long");
      side.hs_body.clear();
      if (side.hs_remaining == 0) {
        side.hs_header_len = 0;
        HandshakeMessage(side, dir, side.hs_type, {});
      }
      continue;
    }
    const size_t take = std::min<size_t>(side.hs_remaining, data.size());
    if (side.hs_buffering) {
      if (side.hs_body.empty() && take == side.hs_remaining) {
        // Whole message in this delivery: parse in place, no copy.
        side.hs_remaining = 0;
        side.hs_header_len = 0;
        HandshakeMessage(side, dir, side.hs_type, data.first(take));
        data = data.subspan(take);
        continue;
      }
      side.hs_body.insert(side.hs_body.end(), data.begin(), data.begin() + take);
    }
    side.hs_remaining -= static_cast<uint32_t>(take);
    data = data.subspan(take);
    if (side.hs_remaining == 0) {
      side.hs_header_len = 0;
      HandshakeMessage(
          side, dir, side.hs_type,
          side.hs_buffering ? std::span<const uint8_t>(side.hs_body) : std::span<const uint8_t>());
      side.hs_body.clear();
      side.hs_body.shrink_to_fit();
    }
  }
  return !gave_up_;
}

void TlsAnalyzer::HandshakeMessage(Side& side, Direction dir, uint8_t type,
                                   std::span<const uint8_t> body) {
  const bool parsed = side.hs_buffering;
  char letter = HandshakeLetter(type);
  switch (type) {
    case kClientHello:
      if (!parsed) {
        Fail("");  // counted as tls_handshake_message_too_long
        return;
      }
      OnClientHello(dir, body);
      break;
    case kServerHello:
      if (!parsed) {
        Fail("");  // counted as tls_handshake_message_too_long
        return;
      }
      OnServerHello(dir, body);
      if (hrr_pending_) {
        letter = 'j';
        hrr_pending_ = false;
      }
      break;
    case kServerKeyExchange:
      if (parsed) OnServerKeyExchange(body);
      break;
    case kClientKeyExchange:
      if (IsClient(dir)) client_key_exchange_seen_ = true;
      break;
    default:
      break;
  }
  if (gave_up_) return;
  AddHistory(dir, letter);
}

void TlsAnalyzer::OnClientHello(Direction dir, std::span<const uint8_t> body) {
  // One parse at a time per thread: the scratch keeps its capacity.
  thread_local ClientHello hello;
  if (ParseClientHello(body, false, hello) != HelloError::kNone) {
    Fail("tls_malformed_client_hello");
    return;
  }
  if (!VersionOk(hello.legacy_version)) {
    Fail("tls_unsupported_version");
    return;
  }
  if (seen_client_hello_) return;  // e.g. the second hello after a HelloRetryRequest
  if (dir == Direction::kResp && !seen_server_hello_) {
    // The responder opened the handshake: Zeek flips roles and marks it.
    flipped_ = true;
    record_.mutable_ssl_history()->push_back('^');
  }
  if (!seen_any_hello_) first_ts_ns_ = now_ns_;
  seen_any_hello_ = true;
  seen_client_hello_ = true;

  if (hello.server_name) {
    std::string* sni = record_.mutable_server_name();
    sni->clear();
    AppendEscapedUtf8(*sni, {reinterpret_cast<const uint8_t*>(hello.server_name->data()),
                             hello.server_name->size()});
  }
  record_.set_client_legacy_version(hello.legacy_version);
  for (uint16_t v : hello.supported_versions) {
    if (!v1::zeek::IsTlsGrease(v)) record_.add_client_supported_versions(v);
  }
  for (const std::string& p : hello.alpn) record_.add_client_alpn(Escaped(p));
  Ja3To(hello, *record_.mutable_ja3());
  Ja4To(hello, Ja4Transport::kTcp, *record_.mutable_ja4());

  // A session id of 32 zero bytes is a placeholder, not a resumption attempt.
  const bool real_session_id =
      !hello.session_id.empty() && !std::all_of(hello.session_id.begin(), hello.session_id.end(),
                                                [](uint8_t b) { return b == 0; });
  if (real_session_id) client_session_id_ = hello.session_id;
  client_ticket_resumption_ = hello.session_ticket_nonempty && !real_session_id;
  client_psk_ = hello.has_pre_shared_key;
  recognized_ = true;
}

void TlsAnalyzer::OnServerHello(Direction dir, std::span<const uint8_t> body) {
  ServerHello hello;
  if (ParseServerHello(body, hello) != HelloError::kNone) {
    Fail("tls_malformed_server_hello");
    return;
  }
  const uint16_t version = hello.selected_version.value_or(hello.legacy_version);
  if (!VersionOk(version)) {
    Fail("tls_unsupported_version");
    return;
  }
  if (!seen_any_hello_) first_ts_ns_ = now_ns_;
  seen_any_hello_ = true;
  seen_server_hello_ = true;
  hrr_pending_ = hello.IsHelloRetryRequest();

  record_.set_version(version);
  record_.set_cipher(hello.cipher_suite);
  if (hello.selected_version) record_.set_server_supported_version(*hello.selected_version);
  if (hello.key_share_group) record_.set_curve(*hello.key_share_group);
  if (hello.alpn) record_.set_next_protocol(Escaped(*hello.alpn));
  tls13_ = IsTls13(version);
  if (!tls13_ && !client_session_id_.empty() && hello.session_id == client_session_id_) {
    record_.set_resumed(true);
  }
  if (client_psk_ && hello.has_pre_shared_key) record_.set_resumed(true);
  // Everything the server sends after a TLS 1.3 ServerHello is encrypted
  // (a HelloRetryRequest is followed by another plaintext ServerHello).
  if (tls13_ && !hrr_pending_) sides_[Index(dir)].encrypted = true;
  if (seen_client_hello_ || mode_ != Mode::kDetect) recognized_ = true;  // else await the client
}

void TlsAnalyzer::OnServerKeyExchange(std::span<const uint8_t> body) {
  // Only (EC)DHE suites carry ECParameters first (RFC 8422 5.4).
  const std::string_view cipher = v1::zeek::TlsCipherName(record_.cipher());
  const bool ecdhe = cipher.starts_with("TLS_ECDHE_") || cipher.starts_with("TLS_ECDH_anon_");
  if (!ecdhe || body.size() < 3 || body[0] != kNamedCurve) return;
  record_.set_curve((uint32_t{body[1]} << 8) | body[2]);
}

void TlsAnalyzer::OnCiphertext() {
  if (established_ || !recognized_) return;
  if (sides_[0].encrypted && sides_[1].encrypted) {
    established_ = true;
    Emit();
  }
}

bool TlsAnalyzer::IsClient(Direction dir) const {
  return flipped_ ? dir == Direction::kResp : dir == Direction::kOrig;
}

void TlsAnalyzer::AddHistory(Direction dir, char letter) {
  std::string* history = record_.mutable_ssl_history();
  if (history->size() >= kMaxHistory) return;
  history->push_back(IsClient(dir) ? static_cast<char>(std::toupper(letter))
                                   : static_cast<char>(std::tolower(letter)));
  if (history->size() == kMaxHistory) ctx_.Anomaly("tls_max_history_length_reached");
}

void TlsAnalyzer::Fail(std::string_view anomaly) {
  if (!anomaly.empty()) ctx_.Anomaly(anomaly);
  if (recognized_ && !emitted_) Emit();
  gave_up_ = true;
}

void TlsAnalyzer::Emit() {
  if (emitted_) return;
  emitted_ = true;
  record_.set_established(established_);
  Recycler::Local().Emit(ctx_, first_ts_ns_, &record_,
                         [](vigil::v1::Event& e) { return e.mutable_tls(); });
}

void TlsAnalyzer::OnGap(Direction dir, uint64_t len) {
  (void)len;
  Side& side = sides_[Index(dir)];
  if (side.dead || emitted_ || gave_up_) return;
  // Record boundaries are lost with the missing bytes.
  if (seen_any_hello_) ctx_.Anomaly("tls_content_gap");
  side.dead = true;
  side.hs_body.clear();
  side.hs_body.shrink_to_fit();
  if (!seen_any_hello_) gave_up_ = true;
}

void TlsAnalyzer::OnFlowEnd(int64_t ts_ns) {
  (void)ts_ns;
  // Unconfirmed (detection mode without both hellos): Zeek would not have
  // attached its analyzer, so there is no ssl.log entry either.
  if (recognized_ && !emitted_) Emit();
}

}  // namespace vigil::agent::analyzers::tls
