// Decompresses an HTTP body sent with Content-Encoding gzip, x-gzip or
// deflate, as Zeek's HTTP analyzer does through its ZIP analyzer, so that
// request_body_len/response_body_len count uncompressed bytes (Zeek's
// "actual uncompressed content size") and MIME types are sniffed from the
// content rather than from compressed bytes.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

namespace vigil::agent::analyzers::http {

class BodyInflater {
 public:
  enum class Status : uint8_t {
    kOk,      ///< more input welcome
    kEnd,     ///< the compressed stream ended; later bytes are ignored
    kFailed,  ///< not a stream zlib can read (Zeek's "inflate_failed")
  };

  /// At most this many inflaters exist at once in the process (each holds
  /// zlib's 32 KiB window and ~7 KiB of state). Past it Create() returns
  /// nullptr and the body is counted as sent, with an anomaly.
  static constexpr int kMaxLive = 1024;
  static std::unique_ptr<BodyInflater> Create();
  static int Live();

  ~BodyInflater();
  BodyInflater(const BodyInflater&) = delete;
  BodyInflater& operator=(const BodyInflater&) = delete;

  /// Consumes compressed bytes from the front of `in` and writes up to
  /// `out.size()` decompressed bytes to `out`; returns how many. Call again
  /// while `in` is not empty or the output was full and the status is kOk.
  size_t Step(std::span<const uint8_t>& in, std::span<uint8_t> out);
  Status status() const { return status_; }

 private:
  BodyInflater();
  size_t Run(std::span<const uint8_t>& in, std::span<uint8_t> out);
  struct Stream;
  std::unique_ptr<Stream> stream_;
  Status status_ = Status::kOk;
  std::array<uint8_t, 2> head_{};  // the first two bytes, which name the format
  size_t head_len_ = 0;
};

}  // namespace vigil::agent::analyzers::http
