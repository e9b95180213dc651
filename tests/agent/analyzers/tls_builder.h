#pragma once
// Builds TLS handshake bytes for tests (RFC 8446 / RFC 5246 wire format).

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vigil::testing::tls {

using Bytes = std::vector<uint8_t>;

inline void Put16(Bytes& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}
inline void Put24(Bytes& b, uint32_t v) {
  b.push_back(static_cast<uint8_t>(v >> 16));
  Put16(b, static_cast<uint16_t>(v));
}
inline void Append(Bytes& b, const Bytes& more) { b.insert(b.end(), more.begin(), more.end()); }

struct Extension {
  uint16_t type;
  Bytes data;
};

inline Extension Sni(std::string_view host) {
  Bytes d;
  Put16(d, static_cast<uint16_t>(host.size() + 3));
  d.push_back(0);
  Put16(d, static_cast<uint16_t>(host.size()));
  d.insert(d.end(), host.begin(), host.end());
  return {0x0000, d};
}
inline Extension Alpn(const std::vector<std::string>& protos) {
  Bytes list;
  for (const auto& p : protos) {
    list.push_back(static_cast<uint8_t>(p.size()));
    list.insert(list.end(), p.begin(), p.end());
  }
  Bytes d;
  Put16(d, static_cast<uint16_t>(list.size()));
  Append(d, list);
  return {0x0010, d};
}
inline Extension U16List(uint16_t type, const std::vector<uint16_t>& values, bool one_byte_len) {
  Bytes d;
  if (one_byte_len) {
    d.push_back(static_cast<uint8_t>(values.size() * 2));
  } else {
    Put16(d, static_cast<uint16_t>(values.size() * 2));
  }
  for (uint16_t v : values) Put16(d, v);
  return {type, d};
}
inline Extension Groups(const std::vector<uint16_t>& g) { return U16List(0x000a, g, false); }
inline Extension SigAlgs(const std::vector<uint16_t>& s) { return U16List(0x000d, s, false); }
inline Extension Versions(const std::vector<uint16_t>& v) { return U16List(0x002b, v, true); }
inline Extension PointFormats(const Bytes& f) {
  Bytes d{static_cast<uint8_t>(f.size())};
  Append(d, f);
  return {0x000b, d};
}
inline Extension ClientKeyShare(uint16_t group) {
  Bytes entry;
  Put16(entry, group);
  Put16(entry, 32);
  entry.insert(entry.end(), 32, 0x42);
  Bytes d;
  Put16(d, static_cast<uint16_t>(entry.size()));
  Append(d, entry);
  return {0x0033, d};
}
inline Extension ServerKeyShare(uint16_t group) {
  Bytes d;
  Put16(d, group);
  Put16(d, 32);
  d.insert(d.end(), 32, 0x24);
  return {0x0033, d};
}
inline Extension ServerVersion(uint16_t v) {
  Bytes d;
  Put16(d, v);
  return {0x002b, d};
}

inline Bytes ExtensionBlock(const std::vector<Extension>& exts) {
  size_t total = 0;
  for (const auto& e : exts) total += 4 + e.data.size();
  Bytes out;
  out.reserve(2 + total);
  Put16(out, static_cast<uint16_t>(total));
  for (const auto& e : exts) {
    Put16(out, e.type);
    Put16(out, static_cast<uint16_t>(e.data.size()));
    for (uint8_t b : e.data) out.push_back(b);
  }
  return out;
}

inline Bytes ClientHelloBody(uint16_t version, const Bytes& session_id,
                             const std::vector<uint16_t>& ciphers,
                             const std::vector<Extension>& exts) {
  Bytes b;
  Put16(b, version);
  b.insert(b.end(), 32, 0x11);  // random
  b.push_back(static_cast<uint8_t>(session_id.size()));
  Append(b, session_id);
  Put16(b, static_cast<uint16_t>(ciphers.size() * 2));
  for (uint16_t c : ciphers) Put16(b, c);
  b.push_back(1);  // compression methods: null
  b.push_back(0);
  if (!exts.empty()) Append(b, ExtensionBlock(exts));
  return b;
}

inline constexpr uint8_t kHrrRandom[32] = {
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c};

inline Bytes ServerHelloBody(uint16_t version, const Bytes& session_id, uint16_t cipher,
                             const std::vector<Extension>& exts, bool hrr = false) {
  Bytes b;
  // Reserving first also keeps g++ 12 -O2 from a false -Warray-bounds in the
  // reallocating range insert below.
  b.reserve(128);
  Put16(b, version);
  if (hrr) {
    b.insert(b.end(), std::begin(kHrrRandom), std::end(kHrrRandom));
  } else {
    b.insert(b.end(), 32, 0x22);
  }
  b.push_back(static_cast<uint8_t>(session_id.size()));
  Append(b, session_id);
  Put16(b, cipher);
  b.push_back(0);
  if (!exts.empty()) Append(b, ExtensionBlock(exts));
  return b;
}

/// A handshake message: type, 24-bit length, body.
inline Bytes Handshake(uint8_t type, const Bytes& body) {
  Bytes b{type};
  Put24(b, static_cast<uint32_t>(body.size()));
  Append(b, body);
  return b;
}

/// A TLS record of `type` carrying `payload`.
inline Bytes Record(uint8_t type, const Bytes& payload, uint16_t version = 0x0303) {
  Bytes b{type};
  Put16(b, version);
  Put16(b, static_cast<uint16_t>(payload.size()));
  Append(b, payload);
  return b;
}

inline Bytes HandshakeRecord(const Bytes& messages) { return Record(22, messages); }
inline Bytes Ccs() { return Record(20, {1}); }
inline Bytes Encrypted(uint8_t type = 23, size_t len = 40) {
  return Record(type, Bytes(len, 0xee));
}

inline Bytes Cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) Append(out, p);
  return out;
}

}  // namespace vigil::testing::tls
