#include "agent/analyzers/tls/hello.h"

#include <algorithm>

#include "agent/analyzers/wire_reader.h"

namespace vigil::agent::analyzers::tls {
namespace {

constexpr size_t kRandomSize = 32;
constexpr size_t kMaxSessionId = 32;

// SHA-256("HelloRetryRequest"), RFC 8446 4.1.3.
constexpr std::array<uint8_t, 32> kHelloRetryRandom = {
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c};

std::string AsString(std::span<const uint8_t> bytes) {
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

// A u16-length-prefixed list of u16 values; false if malformed.
bool ReadU16List(std::span<const uint8_t> data, size_t prefix_bytes, std::vector<uint16_t>& out) {
  WireReader r(data);
  const size_t len = prefix_bytes == 1 ? r.U8() : r.U16();
  if (!r.ok() || len % 2 != 0 || len > r.remaining()) return false;
  out.reserve(len / 2);
  for (size_t i = 0; i < len / 2; ++i) out.push_back(r.U16());
  return true;
}

void DecodeClientExtension(uint16_t type, std::span<const uint8_t> data, ClientHello& out) {
  switch (type) {
    case kExtServerName: {
      // RFC 6066 3: list of (name_type, name); the first host_name wins.
      WireReader r(data);
      const size_t list_len = r.U16();
      if (!r.ok() || list_len > r.remaining()) return;
      WireReader list(r.Bytes(list_len));
      while (!list.AtEnd()) {
        const uint8_t name_type = list.U8();
        const uint16_t len = list.U16();
        auto name = list.Bytes(len);
        if (!list.ok()) return;
        if (name_type == 0 && !out.server_name) out.server_name = AsString(name);
      }
      break;
    }
    case kExtAlpn: {
      // RFC 7301 3.1: u16 list length, then u8-prefixed protocol names.
      out.has_alpn = true;
      WireReader r(data);
      const size_t list_len = r.U16();
      if (!r.ok() || list_len > r.remaining()) return;
      WireReader list(r.Bytes(list_len));
      while (!list.AtEnd()) {
        const uint8_t len = list.U8();
        auto name = list.Bytes(len);
        if (!list.ok()) return;
        out.alpn.push_back(AsString(name));
      }
      break;
    }
    case kExtSupportedGroups:
      ReadU16List(data, 2, out.supported_groups);
      break;
    case kExtEcPointFormats: {
      WireReader r(data);
      const uint8_t len = r.U8();
      auto formats = r.Bytes(len);
      if (r.ok()) out.ec_point_formats.assign(formats.begin(), formats.end());
      break;
    }
    case kExtSignatureAlgorithms:
      ReadU16List(data, 2, out.signature_algorithms);
      break;
    case kExtSupportedVersions:
      ReadU16List(data, 1, out.supported_versions);
      break;
    case kExtSessionTicket:
      out.session_ticket_nonempty = !data.empty();
      break;
    case kExtPreSharedKey:
      out.has_pre_shared_key = true;
      break;
    default:
      break;
  }
}

void DecodeServerExtension(uint16_t type, std::span<const uint8_t> data, ServerHello& out) {
  WireReader r(data);
  switch (type) {
    case kExtSupportedVersions: {
      const uint16_t v = r.U16();
      if (r.ok()) out.selected_version = v;
      break;
    }
    case kExtKeyShare: {
      // ServerHello: KeyShareEntry (group, key); HelloRetryRequest: group only.
      const uint16_t group = r.U16();
      if (r.ok()) out.key_share_group = group;
      break;
    }
    case kExtAlpn: {
      const size_t list_len = r.U16();
      const uint8_t len = r.U8();
      auto name = r.Bytes(len);
      if (r.ok() && list_len >= size_t{len} + 1) out.alpn = AsString(name);
      break;
    }
    case kExtPreSharedKey:
      out.has_pre_shared_key = true;
      break;
    default:
      break;
  }
}

// Walks an extensions block (after the u16 total length). Calls `decode` for
// each; false if the block is inconsistent.
template <typename Decode>
bool WalkExtensions(WireReader& r, Decode&& decode) {
  if (r.AtEnd()) return true;  // extensions are optional before TLS 1.2
  const size_t total = r.U16();
  if (!r.ok() || total > r.remaining()) return false;
  WireReader block(r.Bytes(total));
  while (!block.AtEnd()) {
    const uint16_t type = block.U16();
    const uint16_t len = block.U16();
    auto data = block.Bytes(len);
    if (!block.ok()) return false;
    decode(type, data);
  }
  return true;
}

}  // namespace

bool ServerHello::IsHelloRetryRequest() const { return random == kHelloRetryRandom; }

HelloError ParseClientHello(std::span<const uint8_t> body, bool dtls, ClientHello& out) {
  // Reset field by field: a reused ClientHello keeps its vectors' capacity.
  out.legacy_version = 0;
  out.session_id.clear();
  out.cipher_suites.clear();
  out.compression_methods.clear();
  out.extension_types.clear();
  out.server_name.reset();
  out.has_alpn = false;
  out.alpn.clear();
  out.supported_versions.clear();
  out.supported_groups.clear();
  out.ec_point_formats.clear();
  out.signature_algorithms.clear();
  out.session_ticket_nonempty = false;
  out.has_pre_shared_key = false;
  WireReader r(body);
  out.legacy_version = r.U16();
  r.Skip(kRandomSize);
  const uint8_t sid_len = r.U8();
  auto sid = r.Bytes(sid_len);
  if (!r.ok() || sid_len > kMaxSessionId) return HelloError::kTruncated;
  out.session_id.assign(sid.begin(), sid.end());
  if (dtls) {
    const uint8_t cookie_len = r.U8();
    r.Skip(cookie_len);
  }
  const uint16_t cs_len = r.U16();
  if (!r.ok() || cs_len > r.remaining()) return HelloError::kTruncated;
  if (cs_len % 2 != 0 || cs_len == 0) return HelloError::kBadCipherList;
  out.cipher_suites.reserve(cs_len / 2);
  for (size_t i = 0; i < cs_len / 2; ++i) out.cipher_suites.push_back(r.U16());
  const uint8_t comp_len = r.U8();
  auto comp = r.Bytes(comp_len);
  if (!r.ok()) return HelloError::kTruncated;
  out.compression_methods.assign(comp.begin(), comp.end());
  const bool ok = WalkExtensions(r, [&](uint16_t type, std::span<const uint8_t> data) {
    out.extension_types.push_back(type);
    DecodeClientExtension(type, data, out);
  });
  return ok ? HelloError::kNone : HelloError::kBadExtensions;
}

HelloError ParseServerHello(std::span<const uint8_t> body, ServerHello& out) {
  out = ServerHello{};
  WireReader r(body);
  out.legacy_version = r.U16();
  auto random = r.Bytes(kRandomSize);
  const uint8_t sid_len = r.U8();
  auto sid = r.Bytes(sid_len);
  out.cipher_suite = r.U16();
  out.compression_method = r.U8();
  if (!r.ok() || sid_len > kMaxSessionId) return HelloError::kTruncated;
  std::copy(random.begin(), random.end(), out.random.begin());
  out.session_id.assign(sid.begin(), sid.end());
  const bool ok = WalkExtensions(r, [&](uint16_t type, std::span<const uint8_t> data) {
    DecodeServerExtension(type, data, out);
  });
  return ok ? HelloError::kNone : HelloError::kBadExtensions;
}

}  // namespace vigil::agent::analyzers::tls
