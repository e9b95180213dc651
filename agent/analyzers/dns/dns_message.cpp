#include "agent/analyzers/dns/dns_message.h"

#include <arpa/inet.h>

#include <array>
#include <cctype>

#include "agent/analyzers/text_escape.h"
#include "agent/analyzers/wire_reader.h"
#include "proto/vigil/v1/zeek/zeek_view.h"

namespace vigil::agent::analyzers::dns {
namespace {

// RFC 1035 section 2.3.4: names are at most 255 octets on the wire.
constexpr size_t kMaxNameOctets = 255;

// RR types Zeek parses and logs (src/analyzer/protocol/dns/DNS.h).
enum RrType : uint16_t {
  kA = 1,
  kNs = 2,
  kCname = 5,
  kSoa = 6,
  kWks = 11,
  kPtr = 12,
  kHinfo = 13,
  kMx = 15,
  kTxt = 16,
  kAaaa = 28,
  kLoc = 29,
  kNb = 32,  // NetBIOS name service (Zeek's TYPE_NBS)
  kSrv = 33,
  kNaptr = 35,
  kA6 = 38,
  kOpt = 41,
  kDs = 43,
  kSshfp = 44,
  kRrsig = 46,
  kNsec = 47,
  kDnskey = 48,
  kNsec3 = 50,
  kNsec3param = 51,
  kSvcb = 64,
  kHttps = 65,
  kSpf = 99,
  kTsig = 250,
  kCaa = 257,
  kBinds = 65534,  // BIND9's private signing-state record
};

// Reads a possibly compressed name starting at `reader.pos()` and leaves the
// reader after the name's in-place bytes. Appends the escaped text
// (labels joined by '.', no trailing dot, root = "") to `out`: labels are
// lower-cased (names are case-insensitive, RFC 4343, and Zeek logs them
// lower-cased) and bytes outside printable ASCII written as `\xNN`
// (AppendEscapedAscii()). The text is built in a local buffer and appended
// once: a name is a handful of short labels, and per-label string appends
// cost more than the bytes.
ParseError ReadName(WireReader& reader, std::string& out, ParseError truncated) {
  static constexpr char kHex[] = "0123456789abcdef";
  // 255 octets, each at most 4 characters escaped.
  char text[4 * kMaxNameOctets];
  size_t n = 0;
  const std::span<const uint8_t> msg = reader.data();
  size_t pos = reader.pos();
  size_t resume = 0;  // where the reader continues once a pointer was followed
  bool jumped = false;
  // Every pointer must land strictly before all offsets already visited, so
  // the walk is strictly decreasing across jumps and cannot loop.
  size_t lowest = pos;
  size_t octets = 0;
  auto fail = [&](ParseError e) {
    out.append(text, n);  // what was read before the error
    return e;
  };
  while (true) {
    if (pos >= msg.size()) return fail(truncated);
    const uint8_t len = msg[pos];
    if ((len & 0xc0) == 0xc0) {
      if (pos + 1 >= msg.size()) return fail(truncated);
      const size_t target = (static_cast<size_t>(len & 0x3f) << 8) | msg[pos + 1];
      if (target >= msg.size()) return fail(ParseError::kBadCompressionPointer);
      if (target >= lowest) return fail(ParseError::kCompressionLoop);
      if (!jumped) {
        resume = pos + 2;
        jumped = true;
      }
      lowest = target;
      pos = target;
      continue;
    }
    if ((len & 0xc0) != 0) return fail(ParseError::kBadLabelType);
    if (len == 0) {
      ++pos;
      break;
    }
    const bool first = octets == 0;
    octets += 1 + len;
    if (octets + 1 > kMaxNameOctets) return fail(ParseError::kNameTooLong);
    if (msg.size() - pos - 1 < len) return fail(truncated);
    if (!first) text[n++] = '.';
    for (const uint8_t raw : msg.subspan(pos + 1, len)) {
      const uint8_t b =
          static_cast<unsigned>(raw - 'A') < 26u ? static_cast<uint8_t>(raw + ('a' - 'A')) : raw;
      if (b >= 0x20 && b < 0x7f) {
        text[n++] = static_cast<char>(b);
      } else {
        text[n++] = '\\';
        text[n++] = 'x';
        text[n++] = kHex[b >> 4];
        text[n++] = kHex[b & 0xf];
      }
    }
    pos += 1 + len;
  }
  out.append(text, n);
  const size_t end = jumped ? resume : pos;
  reader.Skip(end - reader.pos());
  return ParseError::kNone;
}

// Answers render addresses as inet_ntop() does (Zeek's text) through the
// same formatter as the records' addresses, without inet_ntop's cost.
void AppendAddress(std::string& out, int family, const uint8_t* bytes) {
  char text[v1::zeek::kAddressTextMax];
  const std::string_view raw(reinterpret_cast<const char*>(bytes), family == AF_INET ? 4 : 16);
  out.append(text, v1::zeek::FormatAddress(raw, text));
}

void AppendHex(std::string& out, std::span<const uint8_t> bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (uint8_t b : bytes) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xf]);
  }
}

// <character-string>s (RFC 1035 3.3): "TXT 5 hello TXT 3 foo" as Zeek renders
// TXT/SPF rdata.
ParseError RenderStrings(std::span<const uint8_t> rdata, std::string_view tag, std::string& out) {
  WireReader r(rdata);
  bool first = true;
  while (!r.AtEnd()) {
    const uint8_t len = r.U8();
    auto bytes = r.Bytes(len);
    if (!r.ok()) return ParseError::kMalformedRdata;
    if (!first) out.push_back(' ');
    first = false;
    out += tag;
    out.push_back(' ');
    out += std::to_string(len);
    out.push_back(' ');
    AppendEscapedAscii(out, bytes);
  }
  return ParseError::kNone;
}

// One character-string as raw text (NAPTR flags/service/regexp).
bool ReadCharString(WireReader& r, std::string& out) {
  const uint8_t len = r.U8();
  auto bytes = r.Bytes(len);
  if (!r.ok()) return false;
  AppendEscapedAscii(out, bytes);
  return true;
}

// Renders the rdata of `answer` (type already set) from `reader`, which is
// positioned at the rdata start; the rdata spans `rdlength` bytes. Names in
// rdata may use compression, so they are read against the whole message.
ParseError RenderRdata(WireReader& reader, uint16_t rdlength, Answer& answer) {
  const size_t start = reader.pos();
  const size_t end = start + rdlength;
  const auto rdata = reader.data().subspan(start, rdlength);
  ParseError err = ParseError::kNone;
  auto name_at = [&](WireReader& r, std::string& out) {
    if (!r.ok() || r.pos() >= end) return ParseError::kMalformedRdata;
    ParseError e = ReadName(r, out, ParseError::kMalformedRdata);
    if (e == ParseError::kNone && r.pos() > end) e = ParseError::kMalformedRdata;
    return e;
  };
  WireReader r(reader.data(), start);
  answer.logged = true;
  switch (answer.type) {
    case kA:
      if (rdlength != 4) return ParseError::kMalformedRdata;
      AppendAddress(answer.text, AF_INET, rdata.data());
      break;
    case kAaaa:
      if (rdlength != 16) return ParseError::kMalformedRdata;
      AppendAddress(answer.text, AF_INET6, rdata.data());
      break;
    case kA6: {
      // RFC 2874: prefix length, then the address suffix (128 - prefix bits).
      if (rdlength < 1) return ParseError::kMalformedRdata;
      const uint8_t prefix = rdata[0];
      if (prefix > 128) return ParseError::kMalformedRdata;
      const size_t suffix = (128 - prefix + 7) / 8;
      if (rdlength < 1 + suffix) return ParseError::kMalformedRdata;
      std::array<uint8_t, 16> addr{};
      for (size_t i = 0; i < suffix; ++i) addr[16 - suffix + i] = rdata[1 + i];
      AppendAddress(answer.text, AF_INET6, addr.data());
      break;
    }
    case kNs:
    case kCname:
    case kPtr:
      err = name_at(r, answer.text);
      break;
    case kMx:
      r.Skip(2);  // preference
      err = name_at(r, answer.text);
      break;
    case kSoa:
      err = name_at(r, answer.text);  // MNAME; the rest is not logged
      break;
    case kSrv:
      r.Skip(6);  // priority, weight, port
      err = name_at(r, answer.text);
      break;
    case kWks:
      break;  // Zeek raises the event with an empty rendering
    case kTxt:
      err = RenderStrings(rdata, "TXT", answer.text);
      break;
    case kSpf:
      err = RenderStrings(rdata, "SPF", answer.text);
      break;
    case kNaptr: {
      // RFC 3403: order, preference, flags, service, regexp, replacement.
      WireReader n(rdata);
      const uint16_t order = n.U16();
      const uint16_t preference = n.U16();
      std::string flags, service, regexp;
      if (!ReadCharString(n, flags) || !ReadCharString(n, service) || !ReadCharString(n, regexp)) {
        return ParseError::kMalformedRdata;
      }
      std::string replacement;
      WireReader rn(reader.data(), start + n.pos());
      err = name_at(rn, replacement);
      if (err != ParseError::kNone) return err;
      std::string tail = regexp;
      if (!replacement.empty()) {
        if (!tail.empty()) tail.push_back(' ');
        tail += replacement;
      }
      answer.text = "NAPTR " + std::to_string(order) + " " + std::to_string(preference) + " " +
                    flags + " " + service + " " + tail;
      break;
    }
    case kRrsig: {
      // RFC 4034 3.1: type covered, algorithm, labels, original TTL,
      // expiration, inception, key tag, signer's name, signature.
      const uint16_t covered = r.U16();
      r.Skip(2 + 4 + 4 + 4 + 2);
      if (!r.ok() || r.pos() > end) return ParseError::kMalformedRdata;
      std::string signer;
      err = name_at(r, signer);
      if (err != ParseError::kNone) return err;
      answer.text = "RRSIG " + std::to_string(covered) + " " + (signer.empty() ? "<Root>" : signer);
      break;
    }
    case kDnskey:
      // RFC 4034 2.1: flags (2), protocol (1), algorithm (1), key.
      if (rdlength < 4) return ParseError::kMalformedRdata;
      answer.text = "DNSKEY " + std::to_string(rdata[3]);
      break;
    case kDs:
      // RFC 4034 5.1: key tag (2), algorithm (1), digest type (1), digest.
      if (rdlength < 4) return ParseError::kMalformedRdata;
      answer.text = "DS " + std::to_string(rdata[2]) + " " + std::to_string(rdata[3]);
      break;
    case kNsec: {
      std::string next;
      err = name_at(r, next);
      if (err != ParseError::kNone) return err;
      answer.text = "NSEC " + answer.owner + " " + next;
      break;
    }
    case kNsec3:
      answer.text = "NSEC3";
      break;
    case kNsec3param:
      answer.text = "NSEC3PARAM";
      break;
    case kBinds:
      answer.text = "BIND9 signing signal";
      break;
    case kSshfp:
      // RFC 4255: algorithm (1), fingerprint type (1), fingerprint.
      if (rdlength < 2) return ParseError::kMalformedRdata;
      answer.text = "SSHFP: ";
      AppendHex(answer.text, rdata.subspan(2));
      break;
    case kLoc:
      // RFC 1876: version, size, horizontal and vertical precision, ...
      if (rdlength < 4) return ParseError::kMalformedRdata;
      answer.text = "LOC:  " + std::to_string(rdata[1]) + " " + std::to_string(rdata[2]) + " " +
                    std::to_string(rdata[3]);
      break;
    // Parsed by Zeek but not written to dns.log: no effect on the entry.
    // NB: ParseRR_NBS() skips the data and raises no event at all.
    case kNb:
    case kHinfo:
    case kOpt:
    case kTsig:
    case kCaa:
    case kSvcb:
    case kHttps:
      answer.logged = false;
      break;
    default:
      answer.text = "<unknown type=" + std::to_string(answer.type) + ">";
      break;
  }
  if (err != ParseError::kNone) return err;
  reader.Skip(rdlength);
  return ParseError::kNone;
}

}  // namespace

std::string_view AnomalyName(ParseError error) {
  switch (error) {
    case ParseError::kNone:
      return {};
    case ParseError::kTruncatedHeader:
      return "dns_truncated_header";
    case ParseError::kTruncatedQuestion:
      return "dns_truncated_question";
    case ParseError::kTruncatedAnswer:
      return "dns_truncated_answer";
    case ParseError::kRdlengthOverrun:
      return "dns_rdlength_overrun";
    case ParseError::kCompressionLoop:
      return "dns_compression_loop";
    case ParseError::kBadCompressionPointer:
      return "dns_bad_compression_pointer";
    case ParseError::kBadLabelType:
      return "dns_bad_label_type";
    case ParseError::kNameTooLong:
      return "dns_name_too_long";
    case ParseError::kMalformedRdata:
      return "dns_malformed_rdata";
    case ParseError::kTooManyQuestions:
      return "dns_too_many_questions";
  }
  return "dns_parse_error";
}

ParseError ParseMessage(std::span<const uint8_t> msg, Message& out) {
  // Reset without freeing: callers reuse one Message across messages.
  out.header = Header{};
  out.questions_parsed = 0;
  out.question_name.clear();
  out.question_type = 0;
  out.question_class = 0;
  // The previous message's answers become spares: their strings keep their
  // buffers for this message's names and texts (no allocation per answer).
  for (Answer& a : out.answers) {
    if (out.spare_answers.size() >= Message::kMaxSpareAnswers) break;
    // A huge rendering (a long TXT record) is not worth pinning.
    if (a.text.capacity() > Message::kMaxSpareTextCapacity) continue;
    out.spare_answers.push_back(std::move(a));
  }
  out.answers.clear();
  WireReader r(msg);
  if (msg.size() < kHeaderSize) return ParseError::kTruncatedHeader;
  Header& h = out.header;
  h.id = r.U16();
  const uint16_t flags = r.U16();
  h.qr = (flags & 0x8000) != 0;
  h.opcode = static_cast<uint8_t>((flags >> 11) & 0xf);
  h.aa = (flags & 0x0400) != 0;
  h.tc = (flags & 0x0200) != 0;
  h.rd = (flags & 0x0100) != 0;
  h.ra = (flags & 0x0080) != 0;
  h.z = static_cast<uint8_t>((flags >> 4) & 0x7);
  h.rcode = static_cast<uint8_t>(flags & 0xf);
  h.qdcount = r.U16();
  h.ancount = r.U16();
  h.nscount = r.U16();
  h.arcount = r.U16();
  if (h.qdcount > kMaxQuestions) return ParseError::kTooManyQuestions;

  for (uint16_t i = 0; i < h.qdcount; ++i) {
    // Read into a spare buffer: question_name keeps the last complete one.
    std::string& name = out.name_scratch;
    name.clear();
    ParseError err = ReadName(r, name, ParseError::kTruncatedQuestion);
    if (err != ParseError::kNone) return err;
    const uint16_t qtype = r.U16();
    const uint16_t qclass = r.U16();
    if (!r.ok()) return ParseError::kTruncatedQuestion;
    out.question_name.swap(name);  // both keep their capacity
    out.question_type = qtype;
    out.question_class = qclass;
    ++out.questions_parsed;
  }

  // Bounded by the message size: every answer consumes at least 11 bytes.
  out.answers.reserve(std::min<size_t>(h.ancount, r.remaining() / 11));
  for (uint16_t i = 0; i < h.ancount; ++i) {
    Answer answer;
    if (!out.spare_answers.empty()) {
      answer = std::move(out.spare_answers.back());
      out.spare_answers.pop_back();
      answer.owner.clear();
      answer.text.clear();
      answer.type = 0;
      answer.ttl = 0;
      answer.logged = false;
    }
    ParseError err = ReadName(r, answer.owner, ParseError::kTruncatedAnswer);
    if (err != ParseError::kNone) return err;
    answer.type = r.U16();
    r.U16();  // class
    answer.ttl = r.U32();
    const uint16_t rdlength = r.U16();
    if (!r.ok()) return ParseError::kTruncatedAnswer;
    if (rdlength > r.remaining()) return ParseError::kRdlengthOverrun;
    err = RenderRdata(r, rdlength, answer);
    if (err != ParseError::kNone) return err;
    out.answers.push_back(std::move(answer));
  }
  return ParseError::kNone;
}

std::string DecodeNetbiosName(std::string_view name) {
  constexpr size_t kEncodedLength = 32;
  if (name.size() != kEncodedLength) return {};
  std::array<uint8_t, 16> raw{};
  for (size_t i = 0; i < raw.size(); ++i) {
    const int hi = std::toupper(static_cast<unsigned char>(name[2 * i]));
    const int lo = std::toupper(static_cast<unsigned char>(name[2 * i + 1]));
    if (hi < 'A' || hi > 'P' || lo < 'A' || lo > 'P') return {};
    raw[i] = static_cast<uint8_t>(((hi - 'A') << 4) | (lo - 'A'));
  }
  // The 16th byte is the service suffix; the name is space padded. Zeek keeps
  // alphanumerics, punctuation and bytes below 3 (seen in the wild as the
  // first two bytes) or above 0x7f, and stops at anything else.
  std::string decoded;
  for (size_t i = 0; i < 15; ++i) {
    const uint8_t b = raw[i];
    if (std::isalnum(b) || std::ispunct(b) || b < 3 || b >= 0x80) {
      decoded.push_back(static_cast<char>(b));
    } else {
      break;
    }
  }
  std::string out;
  AppendEscapedAscii(out, {reinterpret_cast<const uint8_t*>(decoded.data()), decoded.size()});
  return out;
}

}  // namespace vigil::agent::analyzers::dns
