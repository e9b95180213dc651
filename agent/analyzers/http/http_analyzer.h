#pragma once
// HttpAnalyzer: HTTP/0.9, 1.0 and 1.1 over TCP, both directions. Produces one
// HttpRecord per request/response transaction (Zeek's http.log): request
// line and the headers Zeek logs, Basic-auth user name (never the password),
// status and last 1xx, body lengths after transfer decoding (Content-Length,
// chunked, read-until-close; none for HEAD/1xx/204/304), pipelining with
// trans_depth, a few MIME types sniffed from the first body bytes, and the
// request header names. After a successful CONNECT the tunnelled stream is
// handed to nested analyzers (TLS, HTTP) found by dynamic detection, whose
// services are added to the flow as Zeek does (`http,ssl`); a 101 upgrade
// ends HTTP parsing.
//
// Bounds: a message's start line plus header section is at most
// kMaxHeaderSection bytes and kMaxHeaders fields (anomalies, then that side
// is no longer parsed); at most kMaxPendingRequests transactions wait for a
// response. Body bytes are counted, never stored (only kSniffBytes of each
// body are kept to guess its type).
//
// Owned by the flow table. Not thread-safe: every call for one flow comes
// from the capture thread.

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "agent/analyzers/analyzer.h"
#include "agent/analyzers/http/body_inflater.h"
#include "agent/analyzers/pooled_allocation.h"
#include "agent/analyzers/registry.h"
#include "vigil/v1/records.pb.h"

namespace vigil::agent::analyzers::http {

/// Registry factory: an HttpAnalyzer on HTTP ports, or when the first payload
/// may start an HTTP request (or response); else nullptr.
std::unique_ptr<Analyzer> MaybeCreate(const FlowInfo& flow, AnalyzerContext& ctx);

// Pooled: one is created per flow that may speak the protocol.
class HttpAnalyzer final : public Analyzer, public PooledAllocation<HttpAnalyzer> {
 public:
  enum class Mode : uint8_t {
    kPort,    ///< well-known HTTP port: a valid request line confirms
    kDetect,  ///< any port: a request and an "HTTP/" response must both be seen
  };
  static constexpr size_t kMaxHeaderSection = 64 * 1024;
  /// Before anything was recognised, a first line longer than this means the
  /// flow is not HTTP (browsers cap request lines well below it).
  static constexpr size_t kMaxFirstLine = 16 * 1024;
  static constexpr size_t kMaxHeaders = 256;
  static constexpr size_t kMaxPendingRequests = 100;
  static constexpr size_t kSniffBytes = 64;
  /// Bytes a client may send after CONNECT before the proxy answers.
  static constexpr size_t kMaxEarlyTunnelBytes = 16 * 1024;
  /// CONNECT inside CONNECT is followed this deep, no further.
  static constexpr uint8_t kMaxTunnelDepth = 2;

  HttpAnalyzer(Mode mode, const FlowInfo& flow, AnalyzerContext& ctx);
  ~HttpAnalyzer() override;

  // vigil::agent::analyzers::Analyzer
  std::string_view Service() const override { return "http"; }
  bool SkipsPartialTcp() const override { return true; }
  Verdict OnData(Direction dir, std::span<const uint8_t> data, int64_t ts_ns) override;
  void OnGap(Direction dir, uint64_t len) override;
  void OnEndOfData(Direction dir) override;
  void OnFlowEnd(int64_t ts_ns) override;

 private:
  enum class State : uint8_t {
    kStartLine,
    kHeaders,
    kBody,  // `remaining` bytes of Content-Length body
    kChunkSize,
    kChunkData,
    kChunkDataEnd,  // the CRLF after chunk data
    kChunkTrailer,
    kUntilClose,   // body ends with the connection
    kAwaitTunnel,  // client side after CONNECT, until the proxy answers
    kTunnel,
    kIgnore,
  };
  enum class Field : uint8_t {
    kNone,
    kHost,
    kReferer,
    kUserAgent,
    kOrigin,
    kAuthorization,
    kContentLength,
    kTransferEncoding,
    kContentEncoding,
    kConnection,
    kUpgrade,
  };
  struct Side {
    State state = State::kStartLine;
    std::string line;  // a line split across deliveries
    size_t header_bytes = 0;
    size_t header_count = 0;
    Field pending_field = Field::kNone;
    std::string pending_value;
    uint32_t txn = 0;  // trans_depth of the transaction this message belongs to
    uint8_t major = 1;
    uint8_t minor = 1;
    uint64_t remaining = 0;
    uint64_t body_len = 0;
    int64_t content_length = -1;
    bool chunked = false;
    // Content-Encoding gzip/x-gzip/deflate: the body is counted and sniffed
    // after decompression, as Zeek does (other encodings: as sent).
    bool inflate = false;
    bool inflate_done = false;  // stream ended or failed: later bytes not counted
    std::unique_ptr<BodyInflater> inflater;
    bool connection_close = false;  // response side: "Connection: close"
    bool upgrade = false;           // response side: "Connection: upgrade" (first token)
    bool upgrade_protocol = false;  // response side: an Upgrade header
    bool message_active = false;
    std::array<uint8_t, kSniffBytes> sniff{};
    uint8_t sniff_len = 0;
  };
  struct Transaction {
    uint32_t depth = 0;
    int64_t ts_ns = 0;
    bool head = false;
    bool connect = false;
    bool final_status = false;
    vigil::v1::HttpRecord record;
  };

  void Feed(Direction dir, std::span<const uint8_t> data);
  void ClearBody(Side& side, std::span<const uint8_t> bytes);
  void BodyGap(Side& side, uint64_t len);
  bool TakeLine(Side& side, std::span<const uint8_t>& data, std::string_view& line);
  void HandleLine(Direction dir, std::string_view line);
  void RequestLine(std::string_view line);
  void StatusLine(std::string_view line);
  void HeaderLine(Direction dir, std::string_view line);
  void FlushHeader(Direction dir);
  void EndOfHeaders(Direction dir);
  void ChunkSizeLine(Direction dir, std::string_view line);
  void Body(Side& side, std::span<const uint8_t> bytes);
  void MessageDone(Direction dir);
  void StartTunnel();
  void FeedTunnel(Direction dir, std::span<const uint8_t> data);
  void Sniff(Side& side, Transaction& txn, bool request);
  Transaction* FindTxn(uint32_t depth);
  Transaction& NewTxn();
  void Emit(Transaction&& txn);
  void EmitAll();
  void StopSide(Direction dir, std::string_view anomaly);
  void NotHttp();
  Verdict Status();

  AnalyzerContext& ctx_;
  Mode mode_;
  uint8_t ip_version_;
  uint8_t tunnel_depth_;
  bool recognized_ = false;
  bool reported_recognized_ = false;
  bool gave_up_ = false;
  bool done_ = false;
  bool request_seen_ = false;
  bool response_seen_ = false;
  bool http09_ = false;  // the last request was HTTP/0.9: raw response
  uint32_t depth_ = 0;
  int64_t now_ns_ = 0;
  std::array<Side, 2> sides_;
  std::vector<Transaction> txns_;  // oldest first
  std::vector<uint8_t> early_tunnel_;
  std::vector<std::unique_ptr<Analyzer>> tunnel_;
  bool tunnel_started_ = false;
};

/// The URI as Zeek logs it: %XX (and %uXXXX) escapes decoded.
std::string UnescapeUri(std::string_view uri);
/// The same into `out` (replaced), keeping its capacity.
void UnescapeUriTo(std::string_view uri, std::string& out);
/// The user name of an HTTP Basic Authorization value, or nullopt-like empty
/// result with `ok` false when the value is not Basic or does not decode.
/// The password is wiped from memory and never returned.
std::string BasicAuthUser(std::string_view value, bool& is_basic);
/// MIME type guessed from the first bytes of a body ("text/html"), or empty.
std::string_view SniffMimeType(std::span<const uint8_t> head);

}  // namespace vigil::agent::analyzers::http
