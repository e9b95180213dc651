#include "transport/transport_error.h"

namespace vigil::transport {

std::string TransportError::ToString() const {
  if (file.empty()) return message;
  return file + ": " + message;
}

const char* CodeName(TransportError::Code code) {
  switch (code) {
    case TransportError::Code::kFileUnreadable:
      return "file_unreadable";
    case TransportError::Code::kFileUnwritable:
      return "file_unwritable";
    case TransportError::Code::kInvalidPem:
      return "invalid_pem";
    case TransportError::Code::kKeyMismatch:
      return "key_mismatch";
    case TransportError::Code::kNotACa:
      return "not_a_ca";
    case TransportError::Code::kInvalidArgument:
      return "invalid_argument";
    case TransportError::Code::kAlreadyExists:
      return "already_exists";
    case TransportError::Code::kNotFound:
      return "not_found";
    case TransportError::Code::kCrypto:
      return "crypto";
  }
  return "unknown";
}

}  // namespace vigil::transport
