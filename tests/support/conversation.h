#pragma once
// Writes one connection's packets into a PcapWriter while tracking what an
// accurate sensor must report for it (packets, payload bytes, IP bytes per
// direction): the capture generator turns that into its ground-truth file.
// TCP sequence numbers advance as real stacks do, so byte counts derived from
// sequence numbers match the payload actually sent. Not thread-safe.

#include <cstdint>
#include <string>

#include "tests/support/packet_builder.h"
#include "tests/support/pcap_writer.h"

namespace vigil::testing {

enum class Side { kOrig, kResp };

struct ConversationTruth {
  uint64_t orig_pkts = 0, resp_pkts = 0;
  uint64_t orig_bytes = 0, resp_bytes = 0;        ///< payload
  uint64_t orig_ip_bytes = 0, resp_ip_bytes = 0;  ///< IP total length
  int64_t first_ns = 0, last_ns = 0;
};

class Conversation {
 public:
  /// `proto` is kProtoTcp, kProtoUdp or kProtoIcmp (ICMPv6 when addresses are IPv6).
  Conversation(PcapWriter& out, const L2& l2, std::string_view orig_ip, uint16_t orig_port,
               std::string_view resp_ip, uint16_t resp_port, uint8_t proto, int64_t start_ns,
               uint32_t orig_isn = 1000, uint32_t resp_isn = 5000);

  /// Moves the clock forward; the next packet is stamped at the new time.
  void Advance(int64_t ns) { now_ns_ += ns; }
  int64_t now_ns() const { return now_ns_; }

  // TCP
  void Syn();
  void SynAck();
  void Ack(Side from);
  void Handshake();  ///< S, SA, A
  void Send(Side from, std::string_view payload, bool ack_back = true);
  void Fin(Side from);
  void Close();  ///< orig FIN, resp FIN+ACK, orig ACK
  void Rst(Side from);

  // UDP and ICMP
  void Datagram(Side from, std::span<const uint8_t> payload);
  void IcmpMessage(Side from, uint8_t type, uint8_t code, uint32_t rest,
                   std::span<const uint8_t> payload = {});

  const ConversationTruth& truth() const { return truth_; }

 private:
  void Emit(Side from, uint8_t flags, std::span<const uint8_t> payload);
  void Write(Side from, const Bytes& l4, size_t payload_len);

  PcapWriter& out_;
  L2 l2_;
  Bytes orig_ip_, resp_ip_;
  uint16_t orig_port_, resp_port_;
  uint8_t proto_;
  int64_t now_ns_;
  uint32_t seq_[2];
  bool syn_seen_[2] = {false, false};
  ConversationTruth truth_;
};

}  // namespace vigil::testing
