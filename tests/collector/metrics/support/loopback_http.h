#pragma once
// A minimal HTTP/1.0 client for tests that talk to servers on 127.0.0.1:
// our /metrics exposers and a Prometheus started by the test. HTTP/1.0 keeps
// it simple: no chunked encoding, the server closes the connection. Not for
// production use. Thread-safe (no shared state).

#include <chrono>
#include <expected>
#include <string>
#include <string_view>

namespace vigil::testing {

struct HttpResponse {
  int status = 0;
  std::string body;
};

/// GET http://127.0.0.1:<port><target>.
std::expected<HttpResponse, std::string> HttpGet(
    int port, std::string_view target,
    std::chrono::milliseconds timeout = std::chrono::milliseconds(10000));

/// Percent-encodes a query parameter value (RFC 3986 unreserved kept).
std::string UrlEncode(std::string_view text);

/// A TCP port on 127.0.0.1 that was free a moment ago (for programs that
/// cannot bind port 0 and report it back, like Prometheus).
int FreeLoopbackPort();

}  // namespace vigil::testing
