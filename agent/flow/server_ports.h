#pragma once
// Zeek's likely_server_ports: the ports of the protocol analyzers Zeek loads
// by default. A flow that starts without a SYN (TCP) or at a UDP port pair
// where only the source is a known service is oriented so that the service
// side is the responder, as Zeek does.
//
// Free function over a constant table: thread-safe.

#include <cstdint>

namespace vigil::agent::flow {

bool IsLikelyServerPort(uint8_t proto, uint16_t port);

}  // namespace vigil::agent::flow
