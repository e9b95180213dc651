#pragma once
// Zeek-style connection uids: "C" followed by base62 digits of 96 bits.
// Derived from a keyed hash of the flow key and its start time, so they are
// unique per flow, reproducible for a given seed (tests, replays) and need no
// per-flow storage; the seed comes from the OS at startup in production.
//
// Free functions: thread-safe.

#include <cstddef>
#include <cstdint>
#include <string>

#include "agent/flow/flow_key.h"

namespace vigil::agent::flow {

/// Longest uid: prefix + 11 base62 digits of 64 bits + 6 of 32 bits.
inline constexpr size_t kMaxUidLength = 18;

/// "C" + base62 of (hi, lo).
std::string FormatUid(uint64_t hi, uint32_t lo, char prefix = 'C');

/// The uid of the flow `key` that started at `start_ns`.
std::string FlowUid(uint64_t seed, const FlowKey& key, int64_t start_ns);
/// The same, written to `out` (at least kMaxUidLength bytes) without
/// allocating; returns its length. For the record path.
size_t FlowUidTo(char* out, uint64_t seed, const FlowKey& key, int64_t start_ns);

/// A uid for something that is not a flow (an IP tunnel), from a counter.
std::string SerialUid(uint64_t seed, uint64_t serial);

}  // namespace vigil::agent::flow
