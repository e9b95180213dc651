#pragma once
// SHA-1 (FIPS 180-4) of a message that fits one 64-byte block (at most 55
// bytes), for Community ID, which hashes at most 40 bytes once per conn
// record. Through OpenSSL's EVP layer (context init, provider dispatch, final
// cleanse) one such hash costs ~2,000 instructions, almost all of it
// overhead; here it is the compression function alone, with the x86 SHA
// extensions when the CPU has them (checked once) and portable code
// otherwise. SHA-1's weaknesses do not matter: the Community ID spec fixes
// the algorithm and the value is an identifier, not a security property.
//
// Free functions: thread-safe.

#include <cstddef>
#include <cstdint>
#include <span>

namespace vigil::agent::flow {

/// Longest message Sha1Short() accepts: 64 - the 0x80 marker - 8 length bytes.
inline constexpr size_t kSha1ShortMax = 55;

/// SHA-1 of `message` (at most kSha1ShortMax bytes; longer aborts) into `out`.
void Sha1Short(std::span<const uint8_t> message, uint8_t out[20]);

/// The portable implementation, whatever the CPU (for tests).
void Sha1ShortPortable(std::span<const uint8_t> message, uint8_t out[20]);
/// The SHA-extension implementation; false (and nothing written) when the
/// CPU lacks the SHA extensions (for tests).
bool Sha1ShortShaNi(std::span<const uint8_t> message, uint8_t out[20]);

}  // namespace vigil::agent::flow
