#pragma once
// The compiled form of one Sigma detection item (`field|modifiers: values`
// or a keyword), and its evaluation against an event. Sigma's semantics
// live here: lists OR'ed (AND with `all`), any array element matches,
// missing fields fail every value test, numbers compare numerically or by
// their decimal text, booleans match "true"/"false", `neq` negates the whole
// item. Built by the compiler, immutable afterwards: thread-safe to share;
// evaluation uses the caller's FieldView.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <variant>
#include <vector>

#include "collector/engine/match/aho_corasick.h"
#include "collector/engine/match/field_view.h"
#include "collector/engine/match/ip_set.h"
#include "collector/engine/match/string_pattern.h"

namespace re2 {
class RE2;
}

namespace vigil::collector::engine {

struct StringTest {
  StringMatcher matcher;
};
struct NumberTest {
  double value;
  std::string text;  ///< canonical decimal form, compared with string fields
};
struct BoolTest {
  bool value;
};
/// `field: null`: the field is absent or null.
struct NullTest {};
struct RegexTest {
  std::shared_ptr<const re2::RE2> re;
  std::string pattern;
};
struct CidrTest {
  IpNetwork network;
};
struct CompareTest {
  enum class Op : uint8_t { kGt, kGte, kLt, kLte };
  Op op;
  double value;
};
/// `fieldref`: compare with another field of the same event.
struct FieldRefTest {
  FieldRef other;
  StringMatcher::Op op;  ///< kExact, kPrefix, kSuffix or kContains
  bool cased;
  bool never;  ///< the other field does not exist in this log
};
using ValueTest = std::variant<StringTest, NumberTest, BoolTest, NullTest, RegexTest, CidrTest,
                               CompareTest, FieldRefTest>;

/// One rule value after modifiers: an OR over its variants (base64offset
/// and windash make several; most values have one).
struct ValueGroup {
  std::vector<ValueTest> alternatives;
};

/// Transparent hashing so string_view lookups need no allocation.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using StringSet = std::unordered_set<std::string, StringHash, std::equal_to<>>;

/// Many OR'ed plain values of one item, tested with hash sets and one
/// automaton instead of one by one (lists of domains, addresses).
struct FastPath {
  StringSet exact;  // folded
  StringSet prefixes;
  std::vector<size_t> prefix_lengths;
  StringSet suffixes;
  std::vector<size_t> suffix_lengths;
  AhoCorasick contains;
  IpTrie networks;
  bool has_networks = false;
  size_t size = 0;

  bool MatchFolded(std::string_view folded) const;
};

struct CompiledItem {
  FieldRef field;           ///< kNone for keyword items
  std::string field_name;   ///< as the rule wrote it
  std::string event_field;  ///< the event field it resolved to
  bool keyword = false;
  bool all = false;            ///< `all`: every group must hold
  bool negate = false;         ///< `neq`
  std::optional<bool> exists;  ///< `exists`
  bool never = false;          ///< the field is not in this log: no value test can hold
  std::vector<ValueGroup> groups;
  std::unique_ptr<FastPath> fast;  ///< OR-linked plain values (groups not in `slow`)
  std::vector<uint32_t> slow;      ///< groups evaluated one by one

  /// Moves eligible groups into a FastPath when there are enough of them.
  void Optimise();
};

bool EvaluateItem(const CompiledItem& item, FieldView& view);

/// The text a value shows to string tests (strings as is, numbers canonical).
void ValueText(const Value& v, std::string& out);

}  // namespace vigil::collector::engine
