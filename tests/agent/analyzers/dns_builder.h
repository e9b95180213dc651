#pragma once
// Builds DNS messages byte by byte for tests (RFC 1035 wire format).

#include <cstdint>
#include <initializer_list>
#include <string_view>
#include <vector>

namespace vigil::testing {

class DnsBuilder {
 public:
  /// Header with the given id and flags word, counts as given.
  DnsBuilder(uint16_t id, uint16_t flags, uint16_t qd, uint16_t an, uint16_t ns = 0,
             uint16_t ar = 0) {
    U16(id);
    U16(flags);
    U16(qd);
    U16(an);
    U16(ns);
    U16(ar);
  }
  /// A dotted name as labels ("" is the root).
  DnsBuilder& Name(std::string_view dotted) {
    while (!dotted.empty()) {
      const size_t dot = dotted.find('.');
      const std::string_view label = dotted.substr(0, dot);
      bytes.push_back(static_cast<uint8_t>(label.size()));
      bytes.insert(bytes.end(), label.begin(), label.end());
      if (dot == std::string_view::npos) break;
      dotted.remove_prefix(dot + 1);
    }
    bytes.push_back(0);
    return *this;
  }
  DnsBuilder& Pointer(uint16_t offset) {
    U16(static_cast<uint16_t>(0xc000 | offset));
    return *this;
  }
  DnsBuilder& Question(std::string_view name, uint16_t type, uint16_t cls = 1) {
    Name(name);
    U16(type);
    U16(cls);
    return *this;
  }
  /// Resource record header (name already written) + rdata.
  DnsBuilder& Rr(uint16_t type, uint32_t ttl, std::initializer_list<uint8_t> rdata) {
    return Rr(type, ttl, std::vector<uint8_t>(rdata));
  }
  DnsBuilder& Rr(uint16_t type, uint32_t ttl, const std::vector<uint8_t>& rdata) {
    U16(type);
    U16(1);
    U32(ttl);
    U16(static_cast<uint16_t>(rdata.size()));
    bytes.insert(bytes.end(), rdata.begin(), rdata.end());
    return *this;
  }
  DnsBuilder& U16(uint16_t v) {
    bytes.push_back(static_cast<uint8_t>(v >> 8));
    bytes.push_back(static_cast<uint8_t>(v));
    return *this;
  }
  DnsBuilder& U32(uint32_t v) {
    U16(static_cast<uint16_t>(v >> 16));
    return U16(static_cast<uint16_t>(v));
  }
  DnsBuilder& Raw(std::initializer_list<uint8_t> raw) {
    bytes.insert(bytes.end(), raw.begin(), raw.end());
    return *this;
  }
  /// The message with its RFC 1035 4.2.2 TCP length prefix.
  std::vector<uint8_t> Framed() const {
    std::vector<uint8_t> out{static_cast<uint8_t>(bytes.size() >> 8),
                             static_cast<uint8_t>(bytes.size())};
    out.insert(out.end(), bytes.begin(), bytes.end());
    return out;
  }

  std::vector<uint8_t> bytes;
};

// Flags words.
inline constexpr uint16_t kQueryRd = 0x0100;
inline constexpr uint16_t kResponse = 0x8000;
inline constexpr uint16_t kAa = 0x0400;
inline constexpr uint16_t kRa = 0x0080;
inline constexpr uint16_t kRd = 0x0100;

}  // namespace vigil::testing
