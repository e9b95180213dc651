#pragma once
// PublicSuffixList: the Mozilla Public Suffix List (ICANN and private
// sections, wildcard and exception rules) used to derive a name's registered
// domain (eTLD+1), e.g. "a.b.example.co.uk" -> "example.co.uk". Loaded with
// the rule set (Debian's publicsuffix package by default) and immutable
// afterwards: safe to share between threads.

#include <expected>
#include <string>
#include <string_view>
#include <unordered_set>

namespace vigil::collector::engine {

class PublicSuffixList {
 public:
  /// Parses the list's text format. Never fails on content: comments, blank
  /// lines and rules with spaces are skipped as the format requires.
  static PublicSuffixList Parse(std::string_view text);
  /// A small built-in list (generic TLDs and common two-level suffixes) for
  /// when no list file is installed; the loader warns when it falls back.
  static const PublicSuffixList& BuiltIn();

  struct Split {
    std::string_view public_suffix;      ///< "co.uk" (empty when the name is invalid)
    std::string_view registered_domain;  ///< "example.co.uk" (empty when the name is a suffix)
    std::string_view subdomain;          ///< "a.b" (empty when none)
  };
  /// Splits a lower-case name without a trailing dot. The views point into
  /// `name`.
  Split SplitName(std::string_view name) const;

  size_t rule_count() const { return rules_.size() + wildcards_.size() + exceptions_.size(); }

 private:
  // Transparent hashing: lookups by string_view allocate nothing.
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using Set = std::unordered_set<std::string, Hash, std::equal_to<>>;
  Set rules_;
  Set wildcards_;   // "*.ck" stored as "ck"
  Set exceptions_;  // "!www.ck" stored as "www.ck"
};

}  // namespace vigil::collector::engine
