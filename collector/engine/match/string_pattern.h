#pragma once
// Sigma string values: the escaping algorithm (only \*, \? and \\ escape),
// the wildcards * and ?, and StringMatcher, the compiled form a rule uses to
// test an event string (exact, prefix, suffix, substring or glob;
// ASCII-case-insensitive unless `cased`). Immutable after construction:
// thread-safe.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace vigil::collector::engine {

/// One piece of a Sigma string after unescaping.
struct PatternPart {
  enum class Kind : uint8_t { kLiteral, kStar, kQuestion };
  Kind kind = Kind::kLiteral;
  std::string text;  ///< for kLiteral
  friend bool operator==(const PatternPart&, const PatternPart&) = default;
};

/// A Sigma string: literals and wildcards, adjacent literals merged and runs
/// of `*` collapsed.
class SigmaPattern {
 public:
  SigmaPattern() = default;
  /// Applies Sigma's escaping to a value as YAML delivered it.
  static SigmaPattern Parse(std::string_view raw);
  static SigmaPattern Literal(std::string_view text);

  void AddLiteral(std::string_view text);
  void AddStar();
  void AddQuestion();
  void Append(const SigmaPattern& other);

  const std::vector<PatternPart>& parts() const { return parts_; }
  bool has_wildcards() const;
  bool starts_with_star() const;
  bool ends_with_star() const;
  /// The pattern as Sigma text again (literals re-escaped).
  std::string ToSigma() const;
  /// Concatenated literal text (only meaningful without wildcards).
  std::string LiteralText() const;
  /// Longest literal run, the best substring for a prefilter.
  std::string LongestLiteral() const;

  friend bool operator==(const SigmaPattern&, const SigmaPattern&) = default;

 private:
  std::vector<PatternPart> parts_;
};

/// ASCII lower-casing; bytes >= 0x80 are left alone.
inline char FoldCase(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }
std::string FoldCase(std::string_view s);
bool EqualsFolded(std::string_view s, std::string_view folded_literal);
/// Offset of `folded_needle` in `haystack` compared case-insensitively, or npos.
size_t FindFolded(std::string_view haystack, std::string_view folded_needle);

class StringMatcher {
 public:
  enum class Op : uint8_t { kExact, kPrefix, kSuffix, kContains, kGlob, kAny };

  StringMatcher(const SigmaPattern& pattern, bool cased);

  bool Match(std::string_view s) const;
  Op op() const { return op_; }
  bool cased() const { return cased_; }
  /// The literal of kExact/kPrefix/kSuffix/kContains (folded unless cased).
  const std::string& literal() const { return literal_; }
  /// A literal every matching string contains (folded), for prefilters;
  /// empty when there is none worth indexing.
  std::string RequiredSubstring() const;

 private:
  bool GlobMatch(std::string_view s) const;

  Op op_ = Op::kExact;
  bool cased_ = false;
  std::string literal_;
  // kGlob: one code per element: 0..255 a byte, kAnyChar '?', kAnyRun '*'.
  std::vector<int16_t> glob_;
  std::string longest_literal_;
};

}  // namespace vigil::collector::engine
