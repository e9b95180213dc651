#include "collector/engine/match/string_pattern.h"

#include <cstring>

namespace vigil::collector::engine {
namespace {

constexpr int16_t kAnyChar = 256;
constexpr int16_t kAnyRun = 257;

}  // namespace

SigmaPattern SigmaPattern::Parse(std::string_view raw) {
  SigmaPattern p;
  std::string lit;
  auto flush = [&] {
    if (!lit.empty()) {
      p.AddLiteral(lit);
      lit.clear();
    }
  };
  for (size_t i = 0; i < raw.size(); ++i) {
    const char c = raw[i];
    if (c == '\\') {
      if (i + 1 < raw.size() && (raw[i + 1] == '*' || raw[i + 1] == '?' || raw[i + 1] == '\\')) {
        lit += raw[i + 1];
        ++i;
      } else {
        // A backslash before anything else (or at the end) is itself.
        lit += '\\';
      }
    } else if (c == '*') {
      flush();
      p.AddStar();
    } else if (c == '?') {
      flush();
      p.AddQuestion();
    } else {
      lit += c;
    }
  }
  flush();
  return p;
}

SigmaPattern SigmaPattern::Literal(std::string_view text) {
  SigmaPattern p;
  p.AddLiteral(text);
  return p;
}

void SigmaPattern::AddLiteral(std::string_view text) {
  if (text.empty()) return;
  if (!parts_.empty() && parts_.back().kind == PatternPart::Kind::kLiteral) {
    parts_.back().text += text;
  } else {
    parts_.push_back({PatternPart::Kind::kLiteral, std::string(text)});
  }
}

void SigmaPattern::AddStar() {
  if (!parts_.empty() && parts_.back().kind == PatternPart::Kind::kStar) return;
  parts_.push_back({PatternPart::Kind::kStar, {}});
}

void SigmaPattern::AddQuestion() { parts_.push_back({PatternPart::Kind::kQuestion, {}}); }

void SigmaPattern::Append(const SigmaPattern& other) {
  for (const auto& part : other.parts_) {
    switch (part.kind) {
      case PatternPart::Kind::kLiteral:
        AddLiteral(part.text);
        break;
      case PatternPart::Kind::kStar:
        AddStar();
        break;
      case PatternPart::Kind::kQuestion:
        AddQuestion();
        break;
    }
  }
}

bool SigmaPattern::has_wildcards() const {
  for (const auto& part : parts_) {
    if (part.kind != PatternPart::Kind::kLiteral) return true;
  }
  return false;
}

bool SigmaPattern::starts_with_star() const {
  return !parts_.empty() && parts_.front().kind == PatternPart::Kind::kStar;
}

bool SigmaPattern::ends_with_star() const {
  return !parts_.empty() && parts_.back().kind == PatternPart::Kind::kStar;
}

std::string SigmaPattern::ToSigma() const {
  std::string out;
  for (const auto& part : parts_) {
    switch (part.kind) {
      case PatternPart::Kind::kStar:
        out += '*';
        break;
      case PatternPart::Kind::kQuestion:
        out += '?';
        break;
      case PatternPart::Kind::kLiteral:
        for (char c : part.text) {
          if (c == '*' || c == '?' || c == '\\') out += '\\';
          out += c;
        }
        break;
    }
  }
  return out;
}

std::string SigmaPattern::LiteralText() const {
  std::string out;
  for (const auto& part : parts_) {
    if (part.kind == PatternPart::Kind::kLiteral) out += part.text;
  }
  return out;
}

std::string SigmaPattern::LongestLiteral() const {
  std::string best;
  for (const auto& part : parts_) {
    if (part.kind == PatternPart::Kind::kLiteral && part.text.size() > best.size())
      best = part.text;
  }
  return best;
}

std::string FoldCase(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = FoldCase(c);
  return out;
}

bool EqualsFolded(std::string_view s, std::string_view folded) {
  if (s.size() != folded.size()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (FoldCase(s[i]) != folded[i]) return false;
  }
  return true;
}

size_t FindFolded(std::string_view hay, std::string_view needle) {
  if (needle.empty()) return 0;
  if (needle.size() > hay.size()) return std::string_view::npos;
  const char first = needle[0];
  const char first_upper = (first >= 'a' && first <= 'z') ? static_cast<char>(first - 32) : first;
  const size_t last = hay.size() - needle.size();
  for (size_t i = 0; i <= last; ++i) {
    const char c = hay[i];
    if (c != first && c != first_upper) continue;
    size_t j = 1;
    while (j < needle.size() && FoldCase(hay[i + j]) == needle[j]) ++j;
    if (j == needle.size()) return i;
  }
  return std::string_view::npos;
}

StringMatcher::StringMatcher(const SigmaPattern& pattern, bool cased) : cased_(cased) {
  const auto& parts = pattern.parts();
  auto fold = [&](const std::string& s) { return cased_ ? s : FoldCase(s); };
  longest_literal_ = FoldCase(pattern.LongestLiteral());
  const size_t n = parts.size();
  auto is_lit = [&](size_t i) { return parts[i].kind == PatternPart::Kind::kLiteral; };
  auto is_star = [&](size_t i) { return parts[i].kind == PatternPart::Kind::kStar; };
  if (n == 0) {
    op_ = Op::kExact;  // the empty string
  } else if (n == 1 && is_star(0)) {
    op_ = Op::kAny;
  } else if (n == 1 && is_lit(0)) {
    op_ = Op::kExact;
    literal_ = fold(parts[0].text);
  } else if (n == 2 && is_lit(0) && is_star(1)) {
    op_ = Op::kPrefix;
    literal_ = fold(parts[0].text);
  } else if (n == 2 && is_star(0) && is_lit(1)) {
    op_ = Op::kSuffix;
    literal_ = fold(parts[1].text);
  } else if (n == 3 && is_star(0) && is_lit(1) && is_star(2)) {
    op_ = Op::kContains;
    literal_ = fold(parts[1].text);
  } else {
    op_ = Op::kGlob;
    for (const auto& part : parts) {
      switch (part.kind) {
        case PatternPart::Kind::kStar:
          glob_.push_back(kAnyRun);
          break;
        case PatternPart::Kind::kQuestion:
          glob_.push_back(kAnyChar);
          break;
        case PatternPart::Kind::kLiteral:
          for (char c : part.text) {
            glob_.push_back(
                static_cast<int16_t>(static_cast<unsigned char>(cased_ ? c : FoldCase(c))));
          }
          break;
      }
    }
  }
}

bool StringMatcher::Match(std::string_view s) const {
  switch (op_) {
    case Op::kAny:
      return true;
    case Op::kExact:
      return cased_ ? s == literal_ : EqualsFolded(s, literal_);
    case Op::kPrefix:
      if (s.size() < literal_.size()) return false;
      return cased_ ? s.starts_with(literal_)
                    : EqualsFolded(s.substr(0, literal_.size()), literal_);
    case Op::kSuffix:
      if (s.size() < literal_.size()) return false;
      return cased_ ? s.ends_with(literal_)
                    : EqualsFolded(s.substr(s.size() - literal_.size()), literal_);
    case Op::kContains:
      return cased_ ? s.find(literal_) != std::string_view::npos
                    : FindFolded(s, literal_) != std::string_view::npos;
    case Op::kGlob:
      return GlobMatch(s);
  }
  return false;
}

bool StringMatcher::GlobMatch(std::string_view s) const {
  // Iterative wildcard matching with single-star backtracking: O(n*m) worst
  // case, no recursion (a hostile value cannot blow the stack).
  size_t pi = 0, si = 0;
  size_t star = SIZE_MAX, mark = 0;
  const size_t pn = glob_.size();
  while (si < s.size()) {
    if (pi < pn) {
      const int16_t code = glob_[pi];
      if (code == kAnyRun) {
        star = pi++;
        mark = si;
        continue;
      }
      const char c = cased_ ? s[si] : FoldCase(s[si]);
      if (code == kAnyChar || code == static_cast<int16_t>(static_cast<unsigned char>(c))) {
        ++pi;
        ++si;
        continue;
      }
    }
    if (star == SIZE_MAX) return false;
    pi = star + 1;
    si = ++mark;
  }
  while (pi < pn && glob_[pi] == kAnyRun) ++pi;
  return pi == pn;
}

std::string StringMatcher::RequiredSubstring() const {
  if (op_ == Op::kAny) return {};
  if (op_ == Op::kGlob) return longest_literal_.size() >= 3 ? longest_literal_ : std::string{};
  return cased_ ? FoldCase(literal_) : literal_;
}

}  // namespace vigil::collector::engine
