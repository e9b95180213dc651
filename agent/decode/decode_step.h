#pragma once
// The uniform decoder interface behind Decoder (internal to agent/decode).
// A decoder consumes its own header from `data`, records what it found in the
// Context, and answers with a Step: the key that selects the next decoder in
// the registry table (an ethertype, an IP protocol, a UDP port, ...) and the
// bytes that decoder gets. Decoders never name their children; the table in
// registry.cpp does. No decoder allocates, throws or keeps state beyond the
// Context (IP fragments go to the FragmentReassembler the Context points to).
//
// Used by the capture thread only. Not thread-safe.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "agent/decode/anomaly.h"
#include "agent/decode/bytes.h"
#include "agent/decode/decoder.h"
#include "agent/decode/packet.h"

namespace vigil::agent::decode {

class FragmentReassembler;

enum class Protocol : uint8_t {
  kEthernet,
  kLlc,  ///< 802.3 length frame with LLC (and possibly SNAP)
  kVlan,
  kMpls,
  kPppoe,
  kPpp,  ///< PPP frame (inside PPTP GRE)
  kSll,
  kSll2,
  kNull,  ///< DLT_NULL (host byte order family)
  kLoop,  ///< DLT_LOOP (network byte order family)
  kRawIp,
  kIpv4,
  kIpv6,
  kTcp,
  kUdp,
  kIcmp,
  kIcmpv6,
  kSctp,
  kGre,
  kErspan2,
  kErspan3,
  kVxlan,
  kGeneve,
  kTeredo,
  kGtpU,
  kNonIp,  ///< terminal: a well-formed frame carrying no IP
  kCount
};

struct Context {
  DecodedPacket& pkt;
  const DecoderOptions& options;
  DecodeStats& stats;
  FragmentReassembler& fragments;
  int64_t ts_ns = 0;
  /// Bytes on the wire from the start of the data handed to the decoder
  /// (differs from data.size() when the snap length cut the frame).
  uint32_t wire_remaining = 0;
  /// Set by a tunnel decoder; the next IP layer is marked as carried by it.
  TunnelType pending_tunnel = TunnelType::kNone;
  /// The data being decoded is a reassembled datagram.
  bool reassembled = false;
  uint8_t vlan_depth = 0;

  void Note(Anomaly a) { ++stats.anomalies[static_cast<size_t>(a)]; }
  bool HasLayer() const { return pkt.layer_count > 0; }
  Layer& CurrentLayer() { return pkt.layers[pkt.layer_count - 1]; }
};

struct Step {
  enum class Kind : uint8_t {
    kByKey,    ///< look up (this protocol, key) [or alt_key] in the registry
    kByProto,  ///< continue with `proto` directly (e.g. a reassembled datagram)
    kDone,     ///< nothing further to decode; the packet is complete
    kNonIp,    ///< a well-formed frame without IP
    kFail,     ///< malformed: count `anomaly`, keep the layers completed so far
    kPending,  ///< an IP fragment was stored for reassembly
    kNotMine,  ///< a UDP-port tunnel decoder found no such tunnel: plain UDP
  };
  Kind kind = Kind::kDone;
  bool has_alt_key = false;
  Protocol proto = Protocol::kNonIp;
  Anomaly anomaly = Anomaly::kCount;
  uint32_t key = 0;
  uint32_t alt_key = 0;
  uint32_t next_wire = 0;
  std::span<const uint8_t> next;

  static Step ByKey(uint32_t key, std::span<const uint8_t> next, uint32_t next_wire) {
    Step s;
    s.kind = Kind::kByKey;
    s.key = key;
    s.next = next;
    s.next_wire = next_wire;
    return s;
  }
  static Step ByProto(Protocol p, std::span<const uint8_t> next, uint32_t next_wire) {
    Step s;
    s.kind = Kind::kByProto;
    s.proto = p;
    s.next = next;
    s.next_wire = next_wire;
    return s;
  }
  static Step Done() { return Step{}; }
  static Step NonIp() {
    Step s;
    s.kind = Kind::kNonIp;
    return s;
  }
  static Step Fail(Anomaly a) {
    Step s;
    s.kind = Kind::kFail;
    s.anomaly = a;
    return s;
  }
  static Step Pending() {
    Step s;
    s.kind = Kind::kPending;
    return s;
  }
  /// For decoders selected by a UDP port: ports do not prove a protocol (a
  /// client's ephemeral port can equal a tunnel's), so a payload that is not
  /// the tunnel is ordinary UDP, not an anomaly.
  static Step NotMine() {
    Step s;
    s.kind = Kind::kNotMine;
    return s;
  }
};

/// Advances past `n` header bytes (n <= data.size()).
// A fresh IP layer from a checked IPv4 / IPv6 fixed header (the IPv6 next
// header after any extension chain): shared by the IP decoders and the
// decoder's one-pass path for common frames.
inline void StartIpv4Layer(Layer& layer, std::span<const uint8_t> header) {
  layer.Clear();
  layer.ip_version = 4;
  layer.src = IpAddr::FromV4(header.data() + 12);
  layer.dst = IpAddr::FromV4(header.data() + 16);
  layer.proto = header[9];
  layer.ttl = header[8];
}
inline void StartIpv6Layer(Layer& layer, std::span<const uint8_t> header, uint8_t next_header) {
  layer.Clear();
  layer.ip_version = 6;
  layer.src = IpAddr::FromV6(header.data() + 8);
  layer.dst = IpAddr::FromV6(header.data() + 24);
  layer.proto = next_header;
  layer.ttl = header[7];
}

// The TCP header fields of a header already checked to be `header_len` bytes
// (at least 20, within both the captured and the wire length): shared by
// DecodeTcp and the decoder's one-pass path for common frames.
inline void SetTcpFields(Layer& layer, std::span<const uint8_t> data, size_t header_len,
                         size_t wire) {
  layer.src_port = LoadBe16(data.data());
  layer.dst_port = LoadBe16(data.data() + 2);
  layer.tcp_seq = LoadBe32(data.data() + 4);
  layer.tcp_ack = LoadBe32(data.data() + 8);
  layer.tcp_flags = data[13];
  layer.tcp_window = LoadBe16(data.data() + 14);
  layer.tcp_header_len = static_cast<uint8_t>(header_len);
  layer.payload = data.subspan(header_len);
  layer.payload_len = static_cast<uint32_t>(wire - header_len);
}

inline Step NextByKey(const Context& ctx, std::span<const uint8_t> data, size_t n, uint32_t key) {
  uint32_t wire = ctx.wire_remaining > n ? ctx.wire_remaining - static_cast<uint32_t>(n) : 0;
  return Step::ByKey(key, data.subspan(n), wire);
}

using DecodeFn = Step (*)(Context& ctx, std::span<const uint8_t> data);

// One function per protocol, each in its own file.
Step DecodeEthernet(Context& ctx, std::span<const uint8_t> data);
Step DecodeLlc(Context& ctx, std::span<const uint8_t> data);
Step DecodeVlan(Context& ctx, std::span<const uint8_t> data);
Step DecodeMpls(Context& ctx, std::span<const uint8_t> data);
Step DecodePppoe(Context& ctx, std::span<const uint8_t> data);
Step DecodePpp(Context& ctx, std::span<const uint8_t> data);
Step DecodeSll(Context& ctx, std::span<const uint8_t> data);
Step DecodeSll2(Context& ctx, std::span<const uint8_t> data);
Step DecodeNull(Context& ctx, std::span<const uint8_t> data);
Step DecodeLoop(Context& ctx, std::span<const uint8_t> data);
Step DecodeRawIp(Context& ctx, std::span<const uint8_t> data);
Step DecodeIpv4(Context& ctx, std::span<const uint8_t> data);
Step DecodeIpv6(Context& ctx, std::span<const uint8_t> data);
Step DecodeTcp(Context& ctx, std::span<const uint8_t> data);
Step DecodeUdp(Context& ctx, std::span<const uint8_t> data);
Step DecodeIcmp(Context& ctx, std::span<const uint8_t> data);
Step DecodeIcmpv6(Context& ctx, std::span<const uint8_t> data);
Step DecodeSctp(Context& ctx, std::span<const uint8_t> data);
Step DecodeGre(Context& ctx, std::span<const uint8_t> data);
Step DecodeErspan2(Context& ctx, std::span<const uint8_t> data);
Step DecodeErspan3(Context& ctx, std::span<const uint8_t> data);
Step DecodeVxlan(Context& ctx, std::span<const uint8_t> data);
Step DecodeGeneve(Context& ctx, std::span<const uint8_t> data);
Step DecodeTeredo(Context& ctx, std::span<const uint8_t> data);
Step DecodeGtpU(Context& ctx, std::span<const uint8_t> data);

// The registry's tables (registry.cpp), exposed so the per-step lookups
// below inline into the decode loop (they run several times per packet).
namespace registry_detail {
struct ChildSlot {
  uint32_t key = 0;
  Protocol child = Protocol::kCount;  ///< kCount: empty
};
/// Per parent, an open-addressing table of (key, child), load <= 1/4.
struct ChildTable {
  const ChildSlot* slots = nullptr;  ///< null: the parent has no children
  uint32_t mask = 0;
};
inline uint32_t ChildHash(uint32_t key) { return (key * 0x9E3779B1u) >> 16; }
extern const std::array<DecodeFn, static_cast<size_t>(Protocol::kCount)> kDecoders;
extern const std::array<ChildTable, static_cast<size_t>(Protocol::kCount)> kChildren;
}  // namespace registry_detail

/// The decoder of protocol `p`.
inline DecodeFn DecoderFor(Protocol p) {
  return registry_detail::kDecoders[static_cast<size_t>(p)];
}
/// The child of `parent` for `key`, or false if the table has none.
inline bool LookupChild(Protocol parent, uint32_t key, Protocol* child) {
  const registry_detail::ChildTable& t = registry_detail::kChildren[static_cast<size_t>(parent)];
  if (t.slots == nullptr) return false;
  for (uint32_t i = registry_detail::ChildHash(key) & t.mask;; i = (i + 1) & t.mask) {
    if (t.slots[i].child == Protocol::kCount) return false;
    if (t.slots[i].key == key) {
      *child = t.slots[i].child;
      return true;
    }
  }
}
/// The anomaly counted when `parent` has no child for a key (kCount: none,
/// the packet simply ends there, e.g. a UDP port without a tunnel).
Anomaly UnknownChildAnomaly(Protocol parent);

}  // namespace vigil::agent::decode
