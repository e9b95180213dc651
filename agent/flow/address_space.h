#pragma once
// Zeek's Site::private_address_space (IANA special-purpose IPv4 and IPv6
// blocks, with their 6to4 equivalents), which Zeek treats as local by
// default (Site::private_address_space_is_local): the source of conn.log's
// local_orig / local_resp.
//
// Free functions over constant tables: thread-safe.

#include "agent/decode/packet.h"

namespace vigil::agent::flow {

bool IsPrivateAddress(const decode::IpAddr& addr);
bool IsMulticastAddress(const decode::IpAddr& addr);

}  // namespace vigil::agent::flow
