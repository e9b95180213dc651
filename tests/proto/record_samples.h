#pragma once
// Wire records of every kind for the Zeek view's tests, the agreement test,
// the benchmark and the fuzz seed corpus: each field set and unset, the
// fallbacks of every name table, edge values (zero and negative durations,
// counts past int64, IPv6 forms, bytes that are not UTF-8). Plain values.

#include <string>
#include <vector>

#include "vigil/v1/records.pb.h"

namespace vigil::test {

struct RecordSample {
  std::string name;  ///< short snake_case label, also the corpus file name
  vigil::v1::Event event;
};

/// Network-order bytes of an IPv4 or IPv6 address in text form (aborts on bad text).
std::string AddressBytes(const char* text);

/// An envelope (uid, ts, 5-tuple) with no record set.
vigil::v1::Event Envelope(const char* orig, uint32_t orig_port, const char* resp,
                          uint32_t resp_port, vigil::v1::Transport transport, uint32_t ip_proto);

/// Every sample, in a fixed order.
std::vector<RecordSample> RecordSamples();

}  // namespace vigil::test
