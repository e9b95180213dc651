#pragma once
// DNS message parser (RFC 1035 and the DNSSEC/SSHFP/SRV/NAPTR/LOC record
// types Zeek renders). Parses the header, the question section and the
// answer section of one message, renders each answer the way Zeek's dns.log
// shows it, and stops there: like Zeek's default configuration, authority and
// additional records are not parsed (they never reach dns.log).
//
// Names are bounds-checked and loop-proof: a compression pointer must point
// strictly before every position the name has already visited, so parsing
// always terminates. Names are lower-cased (as Zeek logs them) and
// non-printable label bytes are rendered as `\xNN`.
//
// A failed parse keeps what was parsed before the failure (the header always,
// questions and answers up to the bad one) and says why, so the analyzer can
// still log what the message revealed, as Zeek does.
//
// Free functions over caller-owned bytes: thread-safe.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace vigil::agent::analyzers::dns {

inline constexpr size_t kHeaderSize = 12;

/// Why a message did not parse completely. Each value has a stable anomaly name.
enum class ParseError : uint8_t {
  kNone,
  kTruncatedHeader,        ///< fewer than 12 bytes
  kTruncatedQuestion,      ///< question name or type/class past the end
  kTruncatedAnswer,        ///< answer name, type/class/TTL/rdlength past the end
  kRdlengthOverrun,        ///< rdlength larger than what is left
  kCompressionLoop,        ///< pointer not strictly backwards: would loop
  kBadCompressionPointer,  ///< pointer past the end of the message
  kBadLabelType,           ///< label type 01/10 (RFC 6891 extended labels)
  kNameTooLong,            ///< more than 255 octets
  kMalformedRdata,         ///< rdata inconsistent with its type (A of 5 bytes, ...)
  kTooManyQuestions,       ///< more questions than any resolver sends (not DNS)
};

/// Stable snake_case anomaly name ("dns_truncated_header", ...); empty for kNone.
std::string_view AnomalyName(ParseError error);

struct Header {
  uint16_t id = 0;
  bool qr = false;
  uint8_t opcode = 0;
  bool aa = false;
  bool tc = false;
  bool rd = false;
  bool ra = false;
  uint8_t z = 0;  ///< the 3 bits between RA and RCODE (Z, AD, CD)
  uint8_t rcode = 0;
  uint16_t qdcount = 0;
  uint16_t ancount = 0;
  uint16_t nscount = 0;
  uint16_t arcount = 0;
};

struct Answer {
  std::string owner;  ///< the record's name (escaped, lower-cased)
  uint16_t type = 0;
  uint32_t ttl = 0;
  /// Zeek raises a reply event for this type: the answer updates the log
  /// entry (AA, RA, rtt, query) even when `text` is empty.
  bool logged = false;
  /// What dns.log's `answers` shows; empty when nothing is appended.
  std::string text;
};

struct Message {
  Header header;
  /// Number of questions parsed; `question_*` hold the last one (Zeek lets
  /// each question overwrite the previous one).
  uint16_t questions_parsed = 0;
  std::string question_name;  ///< escaped and lower-cased, as Zeek logs `query`
  uint16_t question_type = 0;
  uint16_t question_class = 0;
  std::vector<Answer> answers;  ///< answer section, in wire order
  /// Parse scratch (a name being read), kept for its capacity.
  std::string name_scratch;
  /// Answers of earlier messages kept for their strings' capacity (at most
  /// kMaxSpareAnswers).
  std::vector<Answer> spare_answers;
  static constexpr size_t kMaxSpareAnswers = 16;
  static constexpr size_t kMaxSpareTextCapacity = 1024;
};

/// Upper bound on the question count of a plausible message (Zeek's
/// dns_max_queries); more means the bytes are not DNS.
inline constexpr uint16_t kMaxQuestions = 25;

/// Parses `msg` (one DNS message, without the TCP length prefix) into `out`.
/// Returns kNone when the header, questions and answers all parsed.
ParseError ParseMessage(std::span<const uint8_t> msg, Message& out);

/// Zeek's decode_netbios_name(): the 32-letter first-level encoding of a
/// NetBIOS name (RFC 1001 14.1) decoded to its 15 printable characters;
/// empty when `name` is not such an encoding.
std::string DecodeNetbiosName(std::string_view name);

}  // namespace vigil::agent::analyzers::dns
