#pragma once
// WireReader: a bounds-checked big-endian cursor over untrusted bytes, shared
// by the binary protocol parsers (DNS, TLS). Reading past the end never
// touches memory outside the span: it returns zeros and latches !ok(), so a
// parser can read a whole structure and check once.
//
// A value type that borrows the bytes it reads; the caller keeps them alive.
// Not thread-safe (no shared state).

#include <cstddef>
#include <cstdint>
#include <span>

namespace vigil::agent::analyzers {

class WireReader {
 public:
  explicit WireReader(std::span<const uint8_t> data, size_t pos = 0)
      : data_(data), pos_(pos <= data.size() ? pos : data.size()), ok_(pos <= data.size()) {}

  bool ok() const { return ok_; }
  size_t pos() const { return pos_; }
  size_t remaining() const { return data_.size() - pos_; }
  bool AtEnd() const { return pos_ == data_.size(); }
  std::span<const uint8_t> data() const { return data_; }

  uint8_t U8() {
    if (!Need(1)) return 0;
    return data_[pos_++];
  }
  uint16_t U16() {
    if (!Need(2)) return 0;
    uint16_t v = static_cast<uint16_t>((data_[pos_] << 8) | data_[pos_ + 1]);
    pos_ += 2;
    return v;
  }
  uint32_t U24() {
    if (!Need(3)) return 0;
    uint32_t v = (uint32_t{data_[pos_]} << 16) | (uint32_t{data_[pos_ + 1]} << 8) | data_[pos_ + 2];
    pos_ += 3;
    return v;
  }
  uint32_t U32() {
    if (!Need(4)) return 0;
    uint32_t v = (uint32_t{data_[pos_]} << 24) | (uint32_t{data_[pos_ + 1]} << 16) |
                 (uint32_t{data_[pos_ + 2]} << 8) | data_[pos_ + 3];
    pos_ += 4;
    return v;
  }
  /// The next `n` bytes, or an empty span (and !ok()) if fewer remain.
  std::span<const uint8_t> Bytes(size_t n) {
    if (!Need(n)) return {};
    auto out = data_.subspan(pos_, n);
    pos_ += n;
    return out;
  }
  void Skip(size_t n) {
    if (Need(n)) pos_ += n;
  }

 private:
  bool Need(size_t n) {
    if (!ok_ || data_.size() - pos_ < n) {
      ok_ = false;
      return false;
    }
    return true;
  }

  std::span<const uint8_t> data_;
  size_t pos_;
  bool ok_;
};

}  // namespace vigil::agent::analyzers
