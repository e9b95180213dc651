#include "collector/engine/match/item.h"

#include <re2/re2.h>

#include <algorithm>
#include <charconv>
#include <cmath>

namespace vigil::collector::engine {
namespace {

// Enough plain values that hashing beats testing them one by one.
constexpr size_t kFastPathMinValues = 4;

thread_local std::string t_folded;

std::optional<double> NumericValue(const Value& v) {
  if (v.is_number()) return v.number();
  if (!v.is_string()) return std::nullopt;
  const std::string& s = v.string_value();
  double d = 0;
  auto res = std::from_chars(s.data(), s.data() + s.size(), d);
  if (s.empty() || res.ec != std::errc() || res.ptr != s.data() + s.size()) return std::nullopt;
  return d;
}

// The text of a scalar; strings are returned without copying.
std::string_view ScalarText(const Value& v, std::string& scratch) {
  if (v.is_string()) return v.string_value();
  scratch.clear();
  v.AppendText(scratch);
  return scratch;
}

bool TestScalar(const ValueTest& test, const Value& v, FieldView& view, FieldRef field) {
  if (v.is_null()) return false;  // null only satisfies NullTest (handled by the caller)
  return std::visit(
      [&](const auto& t) -> bool {
        using T = std::decay_t<decltype(t)>;
        if constexpr (std::is_same_v<T, StringTest>) {
          std::string scratch;
          return t.matcher.Match(ScalarText(v, scratch));
        } else if constexpr (std::is_same_v<T, NumberTest>) {
          if (v.is_number()) return v.number() == t.value;
          if (v.is_string()) return EqualsFolded(v.string_value(), t.text);
          return false;
        } else if constexpr (std::is_same_v<T, BoolTest>) {
          if (v.kind() == Value::Kind::kBool) return v.bool_value() == t.value;
          if (v.is_string()) return EqualsFolded(v.string_value(), t.value ? "true" : "false");
          return false;
        } else if constexpr (std::is_same_v<T, NullTest>) {
          return false;
        } else if constexpr (std::is_same_v<T, RegexTest>) {
          std::string scratch;
          const std::string_view text = ScalarText(v, scratch);
          return RE2::PartialMatch(re2::StringPiece(text.data(), text.size()), *t.re);
        } else if constexpr (std::is_same_v<T, CidrTest>) {
          if (const IpAddress* known = view.KnownAddress(field)) return t.network.Contains(*known);
          if (!v.is_string()) return false;
          auto addr = IpAddress::Parse(v.string_value());
          return addr && t.network.Contains(*addr);
        } else if constexpr (std::is_same_v<T, CompareTest>) {
          auto n = NumericValue(v);
          if (!n) return false;
          switch (t.op) {
            case CompareTest::Op::kGt:
              return *n > t.value;
            case CompareTest::Op::kGte:
              return *n >= t.value;
            case CompareTest::Op::kLt:
              return *n < t.value;
            case CompareTest::Op::kLte:
              return *n <= t.value;
          }
          return false;
        } else if constexpr (std::is_same_v<T, FieldRefTest>) {
          if (t.never) return false;
          const Value& other = view.Get(t.other);
          if (!other.present() || other.is_null()) return false;
          std::string a_scratch;
          const std::string_view a = ScalarText(v, a_scratch);
          auto compare = [&](const Value& o) {
            if (o.is_null() || o.is_array()) return false;
            std::string b_scratch;
            std::string b(ScalarText(o, b_scratch));
            if (!t.cased) b = FoldCase(b);
            SigmaPattern p;
            if (t.op == StringMatcher::Op::kSuffix || t.op == StringMatcher::Op::kContains)
              p.AddStar();
            p.AddLiteral(b);
            if (t.op == StringMatcher::Op::kPrefix || t.op == StringMatcher::Op::kContains)
              p.AddStar();
            return StringMatcher(p, t.cased).Match(a);
          };
          if (other.is_array()) {
            return std::any_of(other.array().begin(), other.array().end(), compare);
          }
          return compare(other);
        }
        return false;
      },
      test);
}

bool TestValue(const ValueTest& test, const Value& v, FieldView& view, FieldRef field) {
  if (std::holds_alternative<NullTest>(test)) return !v.present() || v.is_null();
  if (!v.present()) return false;
  if (v.is_array()) {
    for (const auto& element : v.array()) {
      if (TestScalar(test, element, view, field)) return true;
    }
    return false;
  }
  return TestScalar(test, v, view, field);
}

bool GroupMatches(const ValueGroup& g, const Value& v, FieldView& view, FieldRef field) {
  for (const auto& alt : g.alternatives) {
    if (TestValue(alt, v, view, field)) return true;
  }
  return false;
}

bool FastMatchScalar(const FastPath& fast, const Value& v, FieldView& view, FieldRef field) {
  if (v.is_null()) return false;
  if (fast.has_networks) {
    if (const IpAddress* known = view.KnownAddress(field)) {
      if (fast.networks.Contains(*known)) return true;
    } else if (v.is_string()) {
      if (auto addr = IpAddress::Parse(v.string_value()); addr && fast.networks.Contains(*addr)) {
        return true;
      }
    }
  }
  if (fast.size == 0) return false;
  std::string scratch;
  const std::string_view text = ScalarText(v, scratch);
  t_folded.assign(text.begin(), text.end());
  for (char& c : t_folded) c = FoldCase(c);
  return fast.MatchFolded(t_folded);
}

bool FastMatch(const FastPath& fast, const Value& v, FieldView& view, FieldRef field) {
  if (!v.present()) return false;
  if (v.is_array()) {
    for (const auto& element : v.array()) {
      if (FastMatchScalar(fast, element, view, field)) return true;
    }
    return false;
  }
  return FastMatchScalar(fast, v, view, field);
}

// Keyword search: every value of the event (recursively into arrays).
template <class F>
bool AnyEventValue(const Event& e, F&& pred) {
  for (size_t i = 0; i < e.slot_count(); ++i) {
    const Value& v = e.Get(static_cast<uint16_t>(i));
    if (!v.present()) continue;
    if (v.is_array()) {
      for (const auto& el : v.array()) {
        if (pred(el)) return true;
      }
    } else if (pred(v)) {
      return true;
    }
  }
  for (const auto& [k, v] : e.extras()) {
    if (v.is_array()) {
      for (const auto& el : v.array()) {
        if (pred(el)) return true;
      }
    } else if (pred(v)) {
      return true;
    }
  }
  return false;
}

bool EvaluateKeyword(const CompiledItem& item, FieldView& view) {
  auto group_hits = [&](const ValueGroup& g) {
    return AnyEventValue(view.event(),
                         [&](const Value& v) { return GroupMatches(g, v, view, FieldRef{}); });
  };
  bool r;
  if (item.all) {
    r = std::all_of(item.groups.begin(), item.groups.end(), group_hits);
  } else {
    r = std::any_of(item.groups.begin(), item.groups.end(), group_hits);
  }
  return item.negate ? !r : r;
}

}  // namespace

bool FastPath::MatchFolded(std::string_view s) const {
  if (!exact.empty() && exact.find(s) != exact.end()) return true;
  for (size_t len : suffix_lengths) {
    if (len <= s.size() && suffixes.find(s.substr(s.size() - len)) != suffixes.end()) return true;
  }
  for (size_t len : prefix_lengths) {
    if (len <= s.size() && prefixes.find(s.substr(0, len)) != prefixes.end()) return true;
  }
  return !contains.empty() && contains.Contains(s);
}

void CompiledItem::Optimise() {
  slow.clear();
  fast.reset();
  auto eligible = [](const ValueGroup& g) {
    if (g.alternatives.size() != 1) return false;
    if (const auto* s = std::get_if<StringTest>(&g.alternatives[0])) {
      const auto op = s->matcher.op();
      return !s->matcher.cased() && op != StringMatcher::Op::kGlob &&
             op != StringMatcher::Op::kAny && !s->matcher.literal().empty();
    }
    return std::holds_alternative<CidrTest>(g.alternatives[0]);
  };
  size_t count = 0;
  if (!all && !keyword) {
    for (const auto& g : groups) count += eligible(g) ? 1 : 0;
  }
  if (count < kFastPathMinValues) {
    for (uint32_t i = 0; i < groups.size(); ++i) slow.push_back(i);
    return;
  }
  fast = std::make_unique<FastPath>();
  auto add_length = [](std::vector<size_t>& lengths, size_t n) {
    if (std::find(lengths.begin(), lengths.end(), n) == lengths.end()) lengths.push_back(n);
  };
  for (uint32_t i = 0; i < groups.size(); ++i) {
    const ValueGroup& g = groups[i];
    if (!eligible(g)) {
      slow.push_back(i);
      continue;
    }
    if (const auto* c = std::get_if<CidrTest>(&g.alternatives[0])) {
      fast->networks.Insert(c->network, i);
      fast->has_networks = true;
      continue;
    }
    const auto& m = std::get<StringTest>(g.alternatives[0]).matcher;
    ++fast->size;
    switch (m.op()) {
      case StringMatcher::Op::kExact:
        fast->exact.insert(m.literal());
        break;
      case StringMatcher::Op::kPrefix:
        fast->prefixes.insert(m.literal());
        add_length(fast->prefix_lengths, m.literal().size());
        break;
      case StringMatcher::Op::kSuffix:
        fast->suffixes.insert(m.literal());
        add_length(fast->suffix_lengths, m.literal().size());
        break;
      case StringMatcher::Op::kContains:
        fast->contains.Add(m.literal(), i);
        break;
      default:
        break;
    }
  }
  fast->contains.Build();
}

bool EvaluateItem(const CompiledItem& item, FieldView& view) {
  if (item.keyword) return EvaluateKeyword(item, view);
  static const Value kAbsent;
  const Value& v = item.never ? kAbsent : view.Get(item.field);
  if (item.exists) return v.present() == *item.exists;
  bool r;
  if (item.all) {
    r = !item.groups.empty();
    for (const auto& g : item.groups) {
      if (!GroupMatches(g, v, view, item.field)) {
        r = false;
        break;
      }
    }
  } else {
    r = item.fast && FastMatch(*item.fast, v, view, item.field);
    if (!r) {
      for (uint32_t i : item.slow) {
        if (GroupMatches(item.groups[i], v, view, item.field)) {
          r = true;
          break;
        }
      }
    }
  }
  return item.negate ? !r : r;
}

void ValueText(const Value& v, std::string& out) { v.AppendText(out); }

}  // namespace vigil::collector::engine
