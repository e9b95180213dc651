#include "agent/analyzers/http/body_inflater.h"

#include <zlib.h>

#include <atomic>

namespace vigil::agent::analyzers::http {
namespace {
std::atomic<int> g_live{0};
}  // namespace

struct BodyInflater::Stream {
  z_stream z{};
  bool initialised = false;
};

std::unique_ptr<BodyInflater> BodyInflater::Create() {
  if (g_live.fetch_add(1, std::memory_order_relaxed) >= kMaxLive) {
    g_live.fetch_sub(1, std::memory_order_relaxed);
    return nullptr;
  }
  return std::unique_ptr<BodyInflater>(new BodyInflater());
}

int BodyInflater::Live() { return g_live.load(std::memory_order_relaxed); }

BodyInflater::BodyInflater() : stream_(std::make_unique<Stream>()) {}

BodyInflater::~BodyInflater() {
  if (stream_->initialised) inflateEnd(&stream_->z);
  g_live.fetch_sub(1, std::memory_order_relaxed);
}

size_t BodyInflater::Run(std::span<const uint8_t>& in, std::span<uint8_t> out) {
  z_stream& z = stream_->z;
  z.next_in = const_cast<Bytef*>(in.data());
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = inflate(&z, Z_SYNC_FLUSH);
  in = in.subspan(in.size() - z.avail_in);
  const size_t produced = out.size() - z.avail_out;
  if (rc == Z_STREAM_END) {
    status_ = Status::kEnd;
  } else if (rc != Z_OK && rc != Z_BUF_ERROR) {  // BUF_ERROR: wants more input
    status_ = Status::kFailed;
  }
  if (status_ != Status::kOk) {
    inflateEnd(&z);
    stream_->initialised = false;
  }
  return produced;
}

size_t BodyInflater::Step(std::span<const uint8_t>& in, std::span<uint8_t> out) {
  if (status_ != Status::kOk || out.empty()) return 0;
  size_t produced = 0;
  if (!stream_->initialised) {
    // The format is chosen from the first two bytes: a gzip member, a zlib
    // stream, or else raw deflate (what many servers send as "deflate";
    // Zeek's ZIP analyzer gets the same result by retrying as raw deflate
    // when zlib rejects the header).
    while (head_len_ < head_.size() && !in.empty()) {
      head_[head_len_++] = in.front();
      in = in.subspan(1);
    }
    if (head_len_ < head_.size()) return 0;
    int bits = -15;
    if (head_[0] == 0x1f && head_[1] == 0x8b) {
      bits = 15 + 16;
    } else if ((head_[0] & 0x0f) == Z_DEFLATED && ((head_[0] << 8) | head_[1]) % 31 == 0) {
      bits = 15;
    }
    if (inflateInit2(&stream_->z, bits) != Z_OK) {
      status_ = Status::kFailed;
      return 0;
    }
    stream_->initialised = true;
    std::span<const uint8_t> head(head_.data(), head_.size());
    produced = Run(head, out);
    if (status_ != Status::kOk) return produced;
  }
  return produced + Run(in, out.subspan(produced));
}

}  // namespace vigil::agent::analyzers::http
