#include "collector/engine/condition/condition.h"

#include <cctype>

namespace vigil::collector::engine {
namespace {

struct Token {
  enum class Kind : uint8_t { kWord, kLParen, kRParen, kEnd };
  Kind kind;
  std::string text;
  int column;
};

bool IsWordChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '*';
}

std::expected<std::vector<Token>, ConditionError> Tokenize(std::string_view text) {
  std::vector<Token> out;
  size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    const int column = static_cast<int>(i) + 1;
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      ++i;
    } else if (c == '(') {
      out.push_back({Token::Kind::kLParen, "(", column});
      ++i;
    } else if (c == ')') {
      out.push_back({Token::Kind::kRParen, ")", column});
      ++i;
    } else if (c == '|') {
      return std::unexpected(ConditionError{
          "legacy_aggregation",
          "'|' starts a legacy (pre-v2) aggregation such as '| count() by src_ip > 10'; "
          "express it as a correlation rule (event_count/value_count) instead",
          column});
    } else if (IsWordChar(c)) {
      size_t j = i;
      while (j < text.size() && IsWordChar(text[j])) ++j;
      out.push_back({Token::Kind::kWord, std::string(text.substr(i, j - i)), column});
      i = j;
    } else {
      return std::unexpected(ConditionError{
          "condition_syntax", std::string("unexpected character '") + c + "'", column});
    }
  }
  out.push_back({Token::Kind::kEnd, "", static_cast<int>(text.size()) + 1});
  return out;
}

bool IsKeyword(const std::string& w) {
  return w == "and" || w == "or" || w == "not" || w == "of" || w == "them";
}

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : t_(std::move(tokens)) {}

  std::expected<std::unique_ptr<ConditionNode>, ConditionError> Run() {
    auto node = ParseOr();
    if (!node) return node;
    if (Cur().kind != Token::Kind::kEnd) {
      return Err(Cur().kind == Token::Kind::kRParen ? "unbalanced ')'"
                                                    : "unexpected '" + Cur().text + "'");
    }
    return node;
  }

 private:
  const Token& Cur() const { return t_[i_]; }
  const Token& Next() const { return t_[i_ + 1 < t_.size() ? i_ + 1 : i_]; }
  bool IsWord(std::string_view w) const {
    return Cur().kind == Token::Kind::kWord && Cur().text == w;
  }

  std::unexpected<ConditionError> Err(std::string message) const {
    return std::unexpected(ConditionError{"condition_syntax", std::move(message), Cur().column});
  }

  using Result = std::expected<std::unique_ptr<ConditionNode>, ConditionError>;

  std::unexpected<ConditionError> TooDeep() const {
    return Err("condition nests more than " + std::to_string(kMaxConditionDepth) +
               " levels of brackets and 'not'");
  }

  Result ParseOr() {
    auto first = ParseAnd();
    if (!first) return first;
    if (!IsWord("or")) return first;
    auto node = std::make_unique<ConditionNode>();
    node->kind = ConditionNode::Kind::kOr;
    node->column = (*first)->column;
    node->children.push_back(std::move(*first));
    while (IsWord("or")) {
      ++i_;
      auto next = ParseAnd();
      if (!next) return next;
      node->children.push_back(std::move(*next));
    }
    return node;
  }

  Result ParseAnd() {
    auto first = ParseNot();
    if (!first) return first;
    if (!IsWord("and")) return first;
    auto node = std::make_unique<ConditionNode>();
    node->kind = ConditionNode::Kind::kAnd;
    node->column = (*first)->column;
    node->children.push_back(std::move(*first));
    while (IsWord("and")) {
      ++i_;
      auto next = ParseNot();
      if (!next) return next;
      node->children.push_back(std::move(*next));
    }
    return node;
  }

  // Each '(' and each 'not' nests one level deeper: the parser, the
  // resolver, the compiler and the AST's destructor all recurse per level.
  bool Enter() {
    if (depth_ >= kMaxConditionDepth) return false;
    ++depth_;
    return true;
  }

  Result ParseNot() {
    if (IsWord("not")) {
      const int column = Cur().column;
      if (!Enter()) return TooDeep();
      ++i_;
      auto inner = ParseNot();
      --depth_;
      if (!inner) return inner;
      auto node = std::make_unique<ConditionNode>();
      node->kind = ConditionNode::Kind::kNot;
      node->column = column;
      node->children.push_back(std::move(*inner));
      return node;
    }
    return ParsePrimary();
  }

  Result ParsePrimary() {
    const Token& tok = Cur();
    if (tok.kind == Token::Kind::kLParen) {
      if (!Enter()) return TooDeep();
      ++i_;
      auto inner = ParseOr();
      --depth_;
      if (!inner) return inner;
      if (Cur().kind != Token::Kind::kRParen) return Err("missing ')'");
      ++i_;
      return inner;
    }
    if (tok.kind == Token::Kind::kEnd) return Err("condition ends where an identifier is expected");
    if (tok.kind == Token::Kind::kRParen) return Err("unexpected ')'");
    // Quantifier: "<q> of <target>".
    if (Next().kind == Token::Kind::kWord && Next().text == "of") {
      const int column = tok.column;
      std::string quant = tok.text;
      ConditionNode::Kind kind;
      if (quant == "1" || quant == "any") {
        kind = ConditionNode::Kind::kOneOf;
      } else if (quant == "all") {
        kind = ConditionNode::Kind::kAllOf;
      } else {
        return Err("'" + quant + " of' is not valid: only '1 of', 'any of' and 'all of' exist");
      }
      i_ += 2;
      const bool target_ok =
          Cur().kind == Token::Kind::kWord && (!IsKeyword(Cur().text) || Cur().text == "them");
      if (!target_ok) {
        return Err("'" + quant + " of' needs an identifier pattern or 'them'");
      }
      auto node = std::make_unique<ConditionNode>();
      node->kind = kind;
      node->name = Cur().text;
      node->column = column;
      ++i_;
      return node;
    }
    if (tok.text == "and" || tok.text == "or" || tok.text == "of" || tok.text == "them") {
      return Err("'" + tok.text + "' where an identifier is expected");
    }
    if (tok.text.find('*') != std::string::npos) {
      return Err("pattern '" + tok.text + "' can only follow '1 of' or 'all of'");
    }
    auto node = std::make_unique<ConditionNode>();
    node->kind = ConditionNode::Kind::kIdentifier;
    node->name = tok.text;
    node->column = tok.column;
    ++i_;
    return node;
  }

  std::vector<Token> t_;
  size_t i_ = 0;
  int depth_ = 0;
};

bool GlobMatch(std::string_view p, std::string_view s) {
  size_t pi = 0, si = 0, star = std::string_view::npos, mark = 0;
  while (si < s.size()) {
    if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      mark = si;
    } else if (pi < p.size() && p[pi] == s[si]) {
      ++pi;
      ++si;
    } else if (star != std::string_view::npos) {
      pi = star + 1;
      si = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

}  // namespace

bool IdentifierPatternMatches(std::string_view pattern, std::string_view name) {
  return GlobMatch(pattern, name);
}

std::expected<std::unique_ptr<ConditionNode>, ConditionError> ParseCondition(
    std::string_view text) {
  if (text.size() > kMaxConditionBytes) {
    return std::unexpected(ConditionError{"condition_syntax",
                                          "condition is " + std::to_string(text.size()) +
                                              " bytes long; the limit is " +
                                              std::to_string(kMaxConditionBytes),
                                          1});
  }
  auto tokens = Tokenize(text);
  if (!tokens) return std::unexpected(tokens.error());
  if (tokens->size() == 1) {
    return std::unexpected(ConditionError{"condition_syntax", "empty condition", 1});
  }
  return Parser(std::move(*tokens)).Run();
}

std::expected<void, ConditionError> ResolveCondition(ConditionNode& node,
                                                     const std::vector<std::string>& identifiers) {
  switch (node.kind) {
    case ConditionNode::Kind::kAnd:
    case ConditionNode::Kind::kOr:
    case ConditionNode::Kind::kNot:
      for (auto& c : node.children) {
        auto r = ResolveCondition(*c, identifiers);
        if (!r) return r;
      }
      return {};
    case ConditionNode::Kind::kIdentifier: {
      for (size_t i = 0; i < identifiers.size(); ++i) {
        if (identifiers[i] == node.name) {
          node.index = static_cast<int>(i);
          return {};
        }
      }
      std::string message = "condition names '" + node.name + "', which is not a search identifier";
      if (node.name == "AND" || node.name == "OR" || node.name == "NOT") {
        message += " (operators are lower-case: '";
        for (char c : node.name)
          message += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        message += "')";
      }
      return std::unexpected(ConditionError{"unknown_identifier", message, node.column});
    }
    case ConditionNode::Kind::kOneOf:
    case ConditionNode::Kind::kAllOf: {
      const bool them = node.name == "them";
      const bool underscore_pattern = !them && node.name.starts_with("_");
      std::vector<std::unique_ptr<ConditionNode>> kids;
      for (size_t i = 0; i < identifiers.size(); ++i) {
        const std::string& id = identifiers[i];
        if (id.starts_with("_") && !underscore_pattern) continue;
        if (!them && !GlobMatch(node.name, id)) continue;
        auto leaf = std::make_unique<ConditionNode>();
        leaf->kind = ConditionNode::Kind::kIdentifier;
        leaf->name = id;
        leaf->index = static_cast<int>(i);
        leaf->column = node.column;
        kids.push_back(std::move(leaf));
      }
      if (kids.empty()) {
        return std::unexpected(ConditionError{
            "pattern_matches_nothing",
            "'" + node.name + "' matches no search identifier" +
                (them ? std::string(" (identifiers starting with '_' are excluded)") : ""),
            node.column});
      }
      if (kids.size() == 1) {
        // "1 of selection" is just "selection".
        ConditionNode only = std::move(*kids[0]);
        node = std::move(only);
        return {};
      }
      node.kind = node.kind == ConditionNode::Kind::kOneOf ? ConditionNode::Kind::kOr
                                                           : ConditionNode::Kind::kAnd;
      node.children = std::move(kids);
      return {};
    }
  }
  return {};
}

std::string ConditionToString(const ConditionNode& node) {
  switch (node.kind) {
    case ConditionNode::Kind::kIdentifier:
      return node.name;
    case ConditionNode::Kind::kOneOf:
      return "1_of(" + node.name + ")";
    case ConditionNode::Kind::kAllOf:
      return "all_of(" + node.name + ")";
    default:
      break;
  }
  std::string out = node.kind == ConditionNode::Kind::kAnd  ? "and("
                    : node.kind == ConditionNode::Kind::kOr ? "or("
                                                            : "not(";
  for (size_t i = 0; i < node.children.size(); ++i) {
    if (i) out += ',';
    out += ConditionToString(*node.children[i]);
  }
  out += ')';
  return out;
}

}  // namespace vigil::collector::engine
