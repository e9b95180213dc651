#pragma once
// TlsAnalyzer: the unencrypted part of a TLS (SSLv3 .. TLS 1.3) handshake over
// TCP. Reassembles records across TCP deliveries and handshake messages
// across records, parses ClientHello/ServerHello/ServerKeyExchange, follows
// ChangeCipherSpec and encryption state like Zeek's SSL analyzer, and writes
// one TlsRecord (Zeek's ssl.log plus JA3/JA4 and the offered ALPN) when the
// handshake is established, or when the flow ends.
//
// Buffers only what must be whole to be parsed: a partial record header,
// and the body of a ClientHello, ServerHello or ServerKeyExchange (at most
// kMaxHandshakeMessage bytes); every other message is skipped in place.
//
// Owned by the flow table (one per candidate TCP flow). Not thread-safe:
// every call for one flow comes from the capture thread.

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "agent/analyzers/analyzer.h"
#include "agent/analyzers/pooled_allocation.h"
#include "agent/analyzers/registry.h"
#include "agent/analyzers/tls/hello.h"
#include "vigil/v1/records.pb.h"

namespace vigil::agent::analyzers::tls {

/// Registry factory: a TlsAnalyzer on TLS ports, STARTTLS ports, or when the
/// first payload looks like a TLS handshake; else nullptr.
std::unique_ptr<Analyzer> MaybeCreate(const FlowInfo& flow, AnalyzerContext& ctx);

// Pooled: one is created per flow that may speak the protocol.
class TlsAnalyzer final : public Analyzer, public PooledAllocation<TlsAnalyzer> {
 public:
  enum class Mode : uint8_t {
    kPort,  ///< well-known TLS port: a valid ClientHello (or ServerHello) confirms
    /// Any port: each side must open with its hello (no server-first
    /// protocol); a valid ClientHello confirms, as Zeek's client signature
    /// enables its SSL analyzer on its own.
    kDetect,
    kStartTls,  ///< plaintext protocol that may upgrade: look for the handshake
  };
  /// Handshake messages larger than this are not buffered (anomaly
  /// `tls_handshake_message_too_long`); hellos are far smaller in practice.
  static constexpr size_t kMaxHandshakeMessage = 64 * 1024;
  /// STARTTLS mode gives up when no handshake starts within this many bytes.
  static constexpr size_t kMaxPlaintextBeforeTls = 64 * 1024;
  /// Zeek's max_ssl_history_length.
  static constexpr size_t kMaxHistory = 100;

  TlsAnalyzer(Mode mode, AnalyzerContext& ctx);

  // vigil::agent::analyzers::Analyzer
  std::string_view Service() const override { return "ssl"; }
  bool SkipsPartialTcp() const override { return true; }
  Verdict OnData(Direction dir, std::span<const uint8_t> data, int64_t ts_ns) override;
  void OnGap(Direction dir, uint64_t len) override;
  void OnFlowEnd(int64_t ts_ns) override;

 private:
  struct Side {
    std::array<uint8_t, 5> record_header{};
    uint8_t record_header_len = 0;
    uint8_t record_type = 0;
    uint32_t record_remaining = 0;
    std::array<uint8_t, 4> hs_header{};
    uint8_t hs_header_len = 0;
    uint8_t hs_type = 0;
    uint32_t hs_remaining = 0;
    bool hs_buffering = false;
    std::vector<uint8_t> hs_body;
    bool encrypted = false;
    bool dead = false;
    // STARTTLS: plaintext seen before the handshake, and the last bytes
    // of it (a record header may straddle two deliveries).
    bool started = false;
    uint32_t plaintext_seen = 0;
    std::array<uint8_t, 5> tail{};
    uint8_t tail_len = 0;
  };

  void Feed(Direction dir, std::span<const uint8_t> data);
  void FeedStartTls(Direction dir, std::span<const uint8_t> data);
  bool FeedRecords(Side& side, Direction dir, std::span<const uint8_t> data);
  bool RecordBody(Side& side, Direction dir, std::span<const uint8_t> chunk, bool record_done);
  bool HandshakeBytes(Side& side, Direction dir, std::span<const uint8_t> data);
  void HandshakeMessage(Side& side, Direction dir, uint8_t type, std::span<const uint8_t> body);
  void OnClientHello(Direction dir, std::span<const uint8_t> body);
  void OnServerHello(Direction dir, std::span<const uint8_t> body);
  void OnServerKeyExchange(std::span<const uint8_t> body);
  void OnCiphertext();
  void AddHistory(Direction dir, char letter);
  bool IsClient(Direction dir) const;
  void Fail(std::string_view anomaly);
  void Emit();
  Verdict Status();

  AnalyzerContext& ctx_;
  Mode mode_;
  bool recognized_ = false;
  bool reported_recognized_ = false;
  bool gave_up_ = false;
  bool emitted_ = false;
  bool seen_any_hello_ = false;
  bool seen_client_hello_ = false;
  bool seen_server_hello_ = false;
  bool flipped_ = false;  // the ClientHello came from the responder
  bool established_ = false;
  bool tls13_ = false;
  bool hrr_pending_ = false;
  bool client_key_exchange_seen_ = false;
  bool client_ticket_resumption_ = false;
  bool client_psk_ = false;
  int64_t first_ts_ns_ = 0;
  int64_t now_ns_ = 0;
  std::vector<uint8_t> client_session_id_;
  vigil::v1::TlsRecord record_;
  std::array<Side, 2> sides_;  // [orig, resp]; inline: no allocation per candidate flow
};

}  // namespace vigil::agent::analyzers::tls
