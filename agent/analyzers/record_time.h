#pragma once
// Conversions from capture time (int64 nanoseconds since the epoch) to the
// protobuf well-known types the records carry.
//
// Free functions: thread-safe.

#include <google/protobuf/duration.pb.h>
#include <google/protobuf/timestamp.pb.h>

#include <cstdint>

namespace vigil::agent::analyzers {

inline void SetTimestamp(google::protobuf::Timestamp* out, int64_t ns) {
  int64_t seconds = ns / 1'000'000'000;
  int64_t nanos = ns % 1'000'000'000;
  if (nanos < 0) {
    nanos += 1'000'000'000;
    --seconds;
  }
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>(nanos));
}

inline void SetDuration(google::protobuf::Duration* out, int64_t ns) {
  // Duration keeps seconds and nanos with the same sign.
  out->set_seconds(ns / 1'000'000'000);
  out->set_nanos(static_cast<int32_t>(ns % 1'000'000'000));
}

}  // namespace vigil::agent::analyzers
