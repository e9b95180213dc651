#pragma once
// TLS/DTLS ClientHello and ServerHello parsers (RFC 8446 4.1.2-4.1.3, RFC
// 5246 7.4.1, RFC 6347 4.2.1). They take the handshake message *body* (after
// the 4-byte TLS or 12-byte DTLS handshake header) and decode what Vigil
// records and fingerprints: versions, cipher suites, and the extensions SNI,
// ALPN, supported_groups, ec_point_formats, signature_algorithms,
// supported_versions, key_share, session_ticket and pre_shared_key.
//
// Extension lists are kept in wire order with GREASE values included; the
// fingerprint code decides what to drop. All decoded values are copies: the
// result does not borrow the input.
//
// Free functions: thread-safe.

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace vigil::agent::analyzers::tls {

// Extension code points (IANA TLS ExtensionType Values).
inline constexpr uint16_t kExtServerName = 0x0000;
inline constexpr uint16_t kExtSupportedGroups = 0x000a;
inline constexpr uint16_t kExtEcPointFormats = 0x000b;
inline constexpr uint16_t kExtSignatureAlgorithms = 0x000d;
inline constexpr uint16_t kExtAlpn = 0x0010;
inline constexpr uint16_t kExtSessionTicket = 0x0023;
inline constexpr uint16_t kExtPreSharedKey = 0x0029;
inline constexpr uint16_t kExtSupportedVersions = 0x002b;
inline constexpr uint16_t kExtKeyShare = 0x0033;

struct ClientHello {
  uint16_t legacy_version = 0;
  std::vector<uint8_t> session_id;
  std::vector<uint16_t> cipher_suites;
  std::vector<uint8_t> compression_methods;
  std::vector<uint16_t> extension_types;  ///< in wire order
  /// First host_name of server_name, raw bytes (not escaped).
  std::optional<std::string> server_name;
  /// ALPN protocol names offered, raw bytes, in order; the extension may be
  /// present with an empty list (`has_alpn`).
  bool has_alpn = false;
  std::vector<std::string> alpn;
  std::vector<uint16_t> supported_versions;
  std::vector<uint16_t> supported_groups;
  std::vector<uint8_t> ec_point_formats;
  std::vector<uint16_t> signature_algorithms;
  /// The session_ticket extension carried a ticket (resumption attempt).
  bool session_ticket_nonempty = false;
  bool has_pre_shared_key = false;
};

struct ServerHello {
  uint16_t legacy_version = 0;
  std::array<uint8_t, 32> random{};
  std::vector<uint8_t> session_id;
  uint16_t cipher_suite = 0;
  uint8_t compression_method = 0;
  /// supported_versions: the version the server selected (TLS 1.3).
  std::optional<uint16_t> selected_version;
  /// key_share: the group of the server's share (or, in a HelloRetryRequest,
  /// the group it asks for).
  std::optional<uint16_t> key_share_group;
  /// ALPN: the protocol the server chose (raw bytes).
  std::optional<std::string> alpn;
  bool has_pre_shared_key = false;

  /// RFC 8446 4.1.3: a HelloRetryRequest is a ServerHello with this random.
  bool IsHelloRetryRequest() const;
};

enum class HelloError : uint8_t {
  kNone,
  kTruncated,      ///< a length field points past the message
  kBadCipherList,  ///< odd length or empty
  kBadExtensions,  ///< extension block inconsistent with its length
};

/// `body` is the ClientHello body; `dtls` adds the cookie field (RFC 6347).
/// Extension contents that are malformed are ignored (the extension type
/// still counts), as fingerprinting tools do. `out` is overwritten entirely
/// (reusing its capacity, so a caller may keep one ClientHello for parsing).
HelloError ParseClientHello(std::span<const uint8_t> body, bool dtls, ClientHello& out);
HelloError ParseServerHello(std::span<const uint8_t> body, ServerHello& out);

}  // namespace vigil::agent::analyzers::tls
