#pragma once
// The one error type of vigil_transport's control-plane functions (loading
// PEM files, building credentials, certificate authority operations). It
// names the file it is about so an operator can act on it without reading
// code. A plain value type: copy it freely.

#include <cstdint>
#include <string>

namespace vigil::transport {

struct TransportError {
  enum class Code : uint8_t {
    kFileUnreadable,   ///< open/read failed (missing, permissions)
    kFileUnwritable,   ///< create/write/rename failed
    kInvalidPem,       ///< the file is not the PEM object expected
    kKeyMismatch,      ///< certificate and private key do not belong together
    kNotACa,           ///< the CA file holds a certificate without CA:TRUE
    kInvalidArgument,  ///< a caller-supplied value is unusable (name, SAN, validity)
    kAlreadyExists,    ///< refusing to overwrite (pki init on an existing CA)
    kNotFound,         ///< no such certificate / CA directory
    kCrypto,           ///< OpenSSL failed where it should not (key generation, signing)
  };
  Code code = Code::kInvalidArgument;
  std::string file;  ///< the file concerned, "" if none
  std::string message;

  /// "file: message" (or just the message when no file is concerned).
  std::string ToString() const;
};

/// Stable snake_case name of a code, for logs and tests.
const char* CodeName(TransportError::Code code);

}  // namespace vigil::transport
