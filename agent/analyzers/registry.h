#pragma once
// Analyzer selection. The flow table calls CreateCandidates() once per flow,
// when the flow's first payload appears, and feeds every returned analyzer
// until it answers kGiveUp. Selection never trusts the port alone: a port
// only makes a protocol a *candidate*; `service` in conn.log comes from the
// analyzers that answer kRecognized (each after validating real protocol
// bytes), as Zeek does:
//
//   dns   UDP/TCP 53, UDP 137, 5353, 5355 (by port, confirmed by a valid message)
//   http  dynamic protocol detection on any TCP port (request line from the
//         originator and "HTTP/" from the responder), plus its well-known
//         ports where a valid request line alone confirms it
//   ssl   dynamic protocol detection on any TCP port (a ClientHello opening
//         the originator's stream) and its well-known ports; a valid
//         ClientHello confirms it; STARTTLS ports (SMTP, IMAP, POP3, XMPP,
//         ...) watch for a TLS handshake after the plaintext upgrade
//
// The table of protocols lives in registry.cpp: adding a protocol is its own
// files plus one line there.
//
// Stateless functions: thread-safe.

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "agent/analyzers/analyzer.h"
#include "vigil/v1/records.pb.h"

namespace vigil::agent::analyzers {

/// What the flow table knows about a flow when its first payload appears.
struct FlowInfo {
  vigil::v1::Transport transport = vigil::v1::TRANSPORT_UNSPECIFIED;
  uint16_t orig_port = 0;
  uint16_t resp_port = 0;
  uint8_t ip_version = 4;  ///< 4 or 6
  /// The responder address is multicast (224.0.0.0/4, ff00::/8): mDNS/LLMNR
  /// style, where every DNS message stands alone (Zeek logs each one).
  bool resp_multicast = false;
  /// Optional: the first payload and who sent it. When given, candidates
  /// whose signature cannot match are not even allocated; when empty, every
  /// protocol that may apply is returned and each one checks the bytes.
  Direction first_dir = Direction::kOrig;
  std::span<const uint8_t> first_payload;
  /// 0 for the flow itself; 1 and more for a stream tunnelled inside it
  /// (e.g. after an HTTP CONNECT), which only dynamic detection may claim.
  uint8_t tunnel_depth = 0;
};

/// The analyzers that may parse this flow, each bound to `ctx` (which must
/// outlive them). Empty when no protocol applies (the common case for
/// unrelated UDP: no allocation).
std::vector<std::unique_ptr<Analyzer>> CreateCandidates(const FlowInfo& flow, AnalyzerContext& ctx);

/// Service names of every protocol in the table ("dns", "http", "ssl").
std::span<const std::string_view> KnownServices();

}  // namespace vigil::agent::analyzers
