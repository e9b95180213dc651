#pragma once
// Computes the derived fields of an event (docs/rules.md "Derived fields"):
// values Zeek does not log but rules need, such as the registered domain of
// a DNS query or the extension of an HTTP URI. Pure functions of the event
// and the public suffix list: thread-safe.

#include "collector/engine/event.h"
#include "collector/engine/fields/public_suffix.h"

namespace vigil::collector::engine {

/// The five fields that come from splitting one name with the public
/// suffix list, computed together (one split instead of five).
struct DomainFields {
  Value registered_domain, public_suffix, subdomain, subdomain_length, entropy;
};
void ComputeDomainFields(const Event& event, const PublicSuffixList& psl, DomainFields& out);

/// The derived value, or an absent Value when the event has no source for it
/// (a DNS record without a query has no query_length).
Value ComputeDerived(DerivedField field, const Event& event, const PublicSuffixList& psl);

}  // namespace vigil::collector::engine
