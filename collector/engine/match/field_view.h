#pragma once
// FieldView: how compiled rules read one event. Native fields are slot
// reads; derived fields (registered_domain, uri_path, ...) are computed on
// first use and cached for the rest of that event's evaluation. One per
// pipeline thread, reset per event: not thread-safe.

#include <array>
#include <cstdint>

#include "collector/engine/event.h"
#include "collector/engine/fields/derived_fields.h"
#include "collector/engine/fields/public_suffix.h"

namespace vigil::collector::engine {

class FieldView {
 public:
  FieldView(const Event& event, const PublicSuffixList& psl) : event_(&event), psl_(&psl) {}

  /// Points the view at the next event (keeps the cache's storage).
  void Reset(const Event& event, const PublicSuffixList& psl) {
    event_ = &event;
    psl_ = &psl;
    computed_ = 0;
  }
  const Event& event() const { return *event_; }

  const Value& Get(FieldRef ref) {
    switch (ref.kind) {
      case FieldRef::Kind::kSlot:
        return event_->Get(ref.index);
      case FieldRef::Kind::kDerived:
        if (!(computed_ & (1u << ref.index))) Compute(static_cast<DerivedField>(ref.index));
        return derived_[ref.index];
      case FieldRef::Kind::kNone:
        break;
    }
    return absent_;
  }

  /// The pre-parsed address of id.orig_h / id.resp_h, else nullptr.
  const IpAddress* KnownAddress(FieldRef ref) const {
    if (ref.kind != FieldRef::Kind::kSlot) return nullptr;
    if (ref.index == kSlotOrigH && event_->orig_addr().valid()) return &event_->orig_addr();
    if (ref.index == kSlotRespH && event_->resp_addr().valid()) return &event_->resp_addr();
    return nullptr;
  }

 private:
  static_assert(kDerivedFieldCount <= 32);

  static bool InDomainGroup(DerivedField f) {
    return f == DerivedField::kRegisteredDomain || f == DerivedField::kPublicSuffix ||
           f == DerivedField::kSubdomain || f == DerivedField::kSubdomainLength ||
           f == DerivedField::kDomainEntropy;
  }
  static size_t Index(DerivedField f) { return static_cast<size_t>(f); }

  void Compute(DerivedField f) {
    if (!InDomainGroup(f)) {
      derived_[Index(f)] = ComputeDerived(f, *event_, *psl_);
      computed_ |= 1u << Index(f);
      return;
    }
    // One public-suffix split serves all five domain fields.
    ComputeDomainFields(*event_, *psl_, domain_);
    derived_[Index(DerivedField::kRegisteredDomain)] = std::move(domain_.registered_domain);
    derived_[Index(DerivedField::kPublicSuffix)] = std::move(domain_.public_suffix);
    derived_[Index(DerivedField::kSubdomain)] = std::move(domain_.subdomain);
    derived_[Index(DerivedField::kSubdomainLength)] = std::move(domain_.subdomain_length);
    derived_[Index(DerivedField::kDomainEntropy)] = std::move(domain_.entropy);
    for (DerivedField g :
         {DerivedField::kRegisteredDomain, DerivedField::kPublicSuffix, DerivedField::kSubdomain,
          DerivedField::kSubdomainLength, DerivedField::kDomainEntropy}) {
      computed_ |= 1u << Index(g);
    }
  }

  const Event* event_;
  const PublicSuffixList* psl_;
  uint32_t computed_ = 0;
  std::array<Value, kDerivedFieldCount> derived_;
  DomainFields domain_;
  Value absent_;
};

}  // namespace vigil::collector::engine
