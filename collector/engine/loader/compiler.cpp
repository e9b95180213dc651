#include "collector/engine/loader/compiler.h"

#include <re2/re2.h>

#include <algorithm>
#include <map>
#include <set>

#include "collector/engine/condition/condition.h"

namespace vigil::collector::engine {
namespace {

constexpr size_t kMaxVariants = 4096;         // windash combinations per value
constexpr size_t kMaxItemValues = 1'000'000;  // all values of one item, after expansion

const std::set<std::string>& KnownModifiers() {
  static const std::set<std::string> k = {"contains",     "startswith", "endswith", "all",
                                          "exists",       "cased",      "neq",      "windash",
                                          "re",           "i",          "m",        "s",
                                          "ignorecase",   "multiline",  "dotall",   "base64",
                                          "base64offset", "utf16le",    "wide",     "utf16be",
                                          "utf16",        "lt",         "lte",      "gt",
                                          "gte",          "cidr",       "expand",   "fieldref",
                                          "minute",       "hour",       "day",      "week",
                                          "month",        "year"};
  return k;
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      cur[j] =
          std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string Base64(std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  while (i + 2 < in.size()) {
    const uint32_t n = static_cast<uint8_t>(in[i]) << 16 | static_cast<uint8_t>(in[i + 1]) << 8 |
                       static_cast<uint8_t>(in[i + 2]);
    out += kAlphabet[n >> 18];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
    i += 3;
  }
  if (i + 1 == in.size()) {
    const uint32_t n = static_cast<uint8_t>(in[i]) << 16;
    out += kAlphabet[n >> 18];
    out += kAlphabet[(n >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    const uint32_t n = static_cast<uint8_t>(in[i]) << 16 | static_cast<uint8_t>(in[i + 1]) << 8;
    out += kAlphabet[n >> 18];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += '=';
  }
  return out;
}

// The three base64 renderings of `v` at byte offsets 0, 1 and 2 of a longer
// encoded text, trimmed to the characters that do not depend on the
// neighbouring bytes (Sigma's base64offset).
std::vector<std::string> Base64Offsets(std::string_view v) {
  static constexpr size_t kStart[] = {0, 2, 3};
  static constexpr size_t kEndTrim[] = {0, 3, 2};  // indexed by (len + offset) % 3
  std::vector<std::string> out;
  for (size_t offset = 0; offset < 3; ++offset) {
    const std::string encoded = Base64(std::string(offset, ' ') + std::string(v));
    const size_t trim = kEndTrim[(v.size() + offset) % 3];
    const size_t start = kStart[offset];
    if (encoded.size() < start + trim) {
      out.emplace_back();
      continue;
    }
    out.push_back(encoded.substr(start, encoded.size() - start - trim));
  }
  return out;
}

std::vector<uint32_t> CodePoints(std::string_view s) {
  std::vector<uint32_t> out;
  for (size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    size_t len = b < 0x80             ? 1
                 : (b & 0xE0) == 0xC0 ? 2
                 : (b & 0xF0) == 0xE0 ? 3
                 : (b & 0xF8) == 0xF0 ? 4
                                      : 0;
    if (len == 0 || i + len > s.size()) {
      out.push_back(b);  // not UTF-8: take the byte as Latin-1
      ++i;
      continue;
    }
    uint32_t cp = len == 1 ? b : len == 2 ? (b & 0x1F) : len == 3 ? (b & 0x0F) : (b & 0x07);
    bool ok = true;
    for (size_t k = 1; k < len; ++k) {
      const auto c = static_cast<unsigned char>(s[i + k]);
      if ((c & 0xC0) != 0x80) ok = false;
      cp = cp << 6 | (c & 0x3F);
    }
    if (!ok) {
      out.push_back(b);
      ++i;
      continue;
    }
    out.push_back(cp);
    i += len;
  }
  return out;
}

std::string Utf16(std::string_view s, bool big_endian) {
  std::string out;
  auto unit = [&](uint16_t u) {
    if (big_endian) {
      out += static_cast<char>(u >> 8);
      out += static_cast<char>(u & 0xff);
    } else {
      out += static_cast<char>(u & 0xff);
      out += static_cast<char>(u >> 8);
    }
  };
  for (uint32_t cp : CodePoints(s)) {
    if (cp >= 0x10000) {
      cp -= 0x10000;
      unit(static_cast<uint16_t>(0xD800 + (cp >> 10)));
      unit(static_cast<uint16_t>(0xDC00 + (cp & 0x3FF)));
    } else {
      unit(static_cast<uint16_t>(cp));
    }
  }
  return out;
}

bool IsWordByte(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// windash: every '-' or '/' at the start of a word-looking flag (regex
// \B[-/]\b) becomes each of - / – — ― (all combinations, as pySigma).
std::vector<SigmaPattern> Windash(const SigmaPattern& p) {
  static const std::vector<std::string> kDashes = {"-", "/", "\xE2\x80\x93", "\xE2\x80\x94",
                                                   "\xE2\x80\x95"};
  // Split into segments: fixed pieces and dash slots.
  struct Piece {
    bool slot;
    PatternPart part;
  };
  std::vector<Piece> pieces;
  for (const auto& part : p.parts()) {
    if (part.kind != PatternPart::Kind::kLiteral) {
      pieces.push_back({false, part});
      continue;
    }
    std::string run;
    const std::string& t = part.text;
    for (size_t i = 0; i < t.size(); ++i) {
      const bool dash = t[i] == '-' || t[i] == '/';
      const bool prev_nonword = i == 0 || !IsWordByte(t[i - 1]);
      const bool next_word = i + 1 < t.size() && IsWordByte(t[i + 1]);
      if (dash && prev_nonword && next_word) {
        if (!run.empty()) pieces.push_back({false, {PatternPart::Kind::kLiteral, run}});
        run.clear();
        pieces.push_back({true, {}});
      } else {
        run += t[i];
      }
    }
    if (!run.empty()) pieces.push_back({false, {PatternPart::Kind::kLiteral, run}});
  }
  std::vector<SigmaPattern> out(1);
  for (const auto& piece : pieces) {
    if (!piece.slot) {
      SigmaPattern one;
      one.Append([&] {
        SigmaPattern x;
        if (piece.part.kind == PatternPart::Kind::kLiteral)
          x.AddLiteral(piece.part.text);
        else if (piece.part.kind == PatternPart::Kind::kStar)
          x.AddStar();
        else
          x.AddQuestion();
        return x;
      }());
      for (auto& o : out) o.Append(one);
      continue;
    }
    std::vector<SigmaPattern> next;
    for (const auto& o : out) {
      for (const auto& d : kDashes) {
        SigmaPattern x = o;
        x.AddLiteral(d);
        next.push_back(std::move(x));
      }
    }
    out = std::move(next);
    if (out.size() > kMaxVariants) return {};
  }
  return out;
}

SigmaPattern EncodeLiterals(const SigmaPattern& p, const std::string& mod) {
  SigmaPattern out;
  if (mod == "utf16") out.AddLiteral("\xFF\xFE");
  for (const auto& part : p.parts()) {
    switch (part.kind) {
      case PatternPart::Kind::kStar:
        out.AddStar();
        break;
      case PatternPart::Kind::kQuestion:
        out.AddQuestion();
        break;
      case PatternPart::Kind::kLiteral:
        out.AddLiteral(Utf16(part.text, mod == "utf16be"));
        break;
    }
  }
  return out;
}

// '>0', '<10', '>= 5': the pre-v2 comparison strings of retired rules.
bool LooksLikeLegacyComparison(std::string_view s) {
  if (s.size() < 2 || (s[0] != '<' && s[0] != '>')) return false;
  size_t i = 1;
  if (s[i] == '=') ++i;
  while (i < s.size() && s[i] == ' ') ++i;
  if (i < s.size() && s[i] == '-') ++i;
  const size_t digits = i;
  while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
  return i == s.size() && i > digits;
}

// A placeholder is %name% with a name of word characters only (pySigma's
// %(\w+)%); any other '%' is a literal character. Returns the index of the
// closing '%' when a placeholder starts at s[i].
std::optional<size_t> PlaceholderAt(std::string_view s, size_t i) {
  if (s[i] != '%') return std::nullopt;
  size_t j = i + 1;
  while (j < s.size() && IsWordByte(s[j])) ++j;
  if (j == i + 1 || j >= s.size() || s[j] != '%') return std::nullopt;
  return j;
}

// Values are Sigma strings: '\\' is an escaped backslash, so the '%' after
// it is not escaped; '\%' is a literal '%' (Vigil's escape).
bool HasUnescapedPlaceholder(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\') {
      ++i;
      continue;
    }
    if (PlaceholderAt(s, i)) return true;
  }
  return false;
}

}  // namespace

void CompileContext::Report(Severity sev, std::string code, std::string message, Pos pos) {
  if (sev == Severity::kError) errors = true;
  diags.push_back(Diagnostic{sev, std::move(code), std::move(message),
                             SourceLocation{doc.file, pos.line, pos.column}, doc.Handle()});
}

std::optional<FieldRef> ResolveField(const std::string& name, Pos pos, CompileContext& ctx) {
  if (!ctx.log) return FieldRef{};
  const auto r = FieldCatalog::Instance().Resolve(*ctx.log, name);
  switch (r.status) {
    case FieldResolution::Status::kFound:
      return r.ref;
    case FieldResolution::Status::kOtherLog:
      ctx.Report(Severity::kError, "field_of_other_logsource",
                 "field '" + name + "' exists only in " + r.detail + " records, not in " +
                     std::string(LogTypeName(*ctx.log)),
                 pos);
      return std::nullopt;
    case FieldResolution::Status::kUnavailable:
      ctx.unavailable.push_back(name);
      return std::nullopt;
    case FieldResolution::Status::kUnknown:
      ctx.Report(Severity::kError, "unknown_field",
                 "unknown field '" + name + "' for " + std::string(LogTypeName(*ctx.log)) +
                     " records" + (r.detail.empty() ? "" : " (did you mean '" + r.detail + "'?)"),
                 pos);
      return std::nullopt;
  }
  return std::nullopt;
}

namespace {

struct ItemCompiler {
  CompileContext& ctx;
  const ItemSpec& spec;
  CompiledItem item;
  bool ok = true;

  // Modifier flags in the order written.
  std::vector<std::string> mods;
  bool has(std::string_view m) const {
    return std::find(mods.begin(), mods.end(), m) != mods.end();
  }

  void Error(std::string code, std::string message, Pos pos) {
    ctx.Report(Severity::kError, std::move(code), std::move(message), pos);
    ok = false;
  }

  // Values (after expand, windash, base64offset...) of this item so far: one
  // budget for the whole item, so stacked expansions cannot multiply past it.
  size_t produced = 0;

  void TooLarge(const RuleValue& v, const std::string& what) {
    Error("expansion_too_large",
          what + " for '" + spec.key + "' exceeds " + std::to_string(kMaxItemValues) +
              " values in one item (a rule this large is rejected)",
          v.pos);
  }

  // Expands %name% placeholders into every combination of list entries. The
  // size of each step is checked before it is built.
  std::optional<std::vector<std::string>> Expand(const RuleValue& v) {
    std::vector<std::string> results{std::string()};
    const std::string& s = v.text;
    for (size_t i = 0; i < s.size();) {
      if (s[i] == '\\' && i + 1 < s.size()) {
        if (s[i + 1] == '%') {
          for (auto& r : results) r += '%';
        } else {
          // Another escape (an escaped backslash, '*' or '?'): kept as
          // written for the pattern parser, so '\\%x%' still expands %x%.
          for (auto& r : results) r.append(s, i, 2);
        }
        i += 2;
        continue;
      }
      if (const auto end = PlaceholderAt(s, i)) {
        const std::string name = s.substr(i + 1, *end - i - 1);
        const ValueList* list = ctx.lists.Find(name);
        if (!list) {
          Error("unknown_placeholder",
                "placeholder '%" + name +
                    "%' names no configured list (a rule that cannot be "
                    "expanded is rejected, never matched against everything)",
                v.pos);
          return std::nullopt;
        }
        if (list->entries.empty()) {
          ctx.Report(
              Severity::kWarning, "empty_list",
              "list '" + name + "' (" + list->path + ") is empty: this value matches nothing",
              v.pos);
        }
        const size_t room = kMaxItemValues - std::min(produced, kMaxItemValues);
        if (!list->entries.empty() && results.size() > room / list->entries.size()) {
          TooLarge(v, "placeholder expansion of '" + s + "'");
          return std::nullopt;
        }
        std::vector<std::string> next;
        next.reserve(results.size() * list->entries.size());
        for (const auto& r : results) {
          for (const auto& e : list->entries) next.push_back(r + e.text);
        }
        results = std::move(next);
        i = *end + 1;
        continue;
      }
      for (auto& r : results) r += s[i];
      ++i;
    }
    return results;
  }

  // Where a list entry came from, for CIDR errors in list files.
  std::string EntryOrigin(const RuleValue& v, const std::string& expanded) {
    if (!has("expand")) return {};
    for (const auto& [name, list] : ctx.lists.all()) {
      for (const auto& e : list.entries) {
        if (expanded.find(e.text) != std::string::npos &&
            v.text.find("%" + name + "%") != std::string::npos) {
          return list.path + ":" + std::to_string(e.line);
        }
      }
    }
    return {};
  }

  bool Run() {
    item.field_name = spec.field;
    item.keyword = spec.keyword || spec.field.empty();
    for (const auto& m : spec.modifiers) {
      if (!KnownModifiers().count(m.text)) {
        std::string hint;
        size_t best = 3;
        for (const auto& k : KnownModifiers()) {
          const size_t d = EditDistance(m.text, k);
          if (d < best) {
            best = d;
            hint = k;
          }
        }
        Error("unknown_modifier",
              "unknown modifier '" + m.text + "'" +
                  (hint.empty() ? "" : " (did you mean '" + hint + "'?)"),
              m.pos);
        continue;
      }
      mods.push_back(m.text);
    }
    if (!ok) return false;
    static const std::set<std::string> kDateParts = {"minute", "hour",  "day",
                                                     "week",   "month", "year"};
    for (size_t i = 0; i < mods.size(); ++i) {
      const Pos p = spec.modifiers[i].pos;
      if (kDateParts.count(mods[i])) {
        Error("unsupported_modifier",
              "modifier '" + mods[i] +
                  "' (date parts) is not supported: Vigil events have no date fields but ts",
              p);
      }
      if ((mods[i] == "re" || mods[i] == "cidr") && i != 0) {
        Error("modifier_order", "'" + mods[i] + "' must be the first modifier", p);
      }
      if ((mods[i] == "i" || mods[i] == "m" || mods[i] == "s" || mods[i] == "ignorecase" ||
           mods[i] == "multiline" || mods[i] == "dotall") &&
          !has("re")) {
        Error("modifier_without_re", "'" + mods[i] + "' only applies after 're'", p);
      }
    }
    int string_pos_mods = 0, compare_mods = 0;
    for (const auto& m : mods) {
      if (m == "contains" || m == "startswith" || m == "endswith") ++string_pos_mods;
      if (m == "lt" || m == "lte" || m == "gt" || m == "gte") ++compare_mods;
    }
    const Pos first_mod = spec.modifiers.empty() ? spec.pos : spec.modifiers[0].pos;
    if (string_pos_mods > 1)
      Error("conflicting_modifiers", "use only one of contains, startswith, endswith", first_mod);
    if (compare_mods > 1)
      Error("conflicting_modifiers", "use only one of lt, lte, gt, gte", first_mod);
    if (has("exists") && mods.size() > 1)
      Error("conflicting_modifiers", "'exists' takes no other modifier", first_mod);
    if (has("fieldref") && (has("re") || has("cidr") || compare_mods || has("expand"))) {
      Error("conflicting_modifiers",
            "'fieldref' combines only with contains/startswith/endswith, cased and neq", first_mod);
    }
    if (has("re") && (has("startswith") || has("endswith"))) {
      Error("conflicting_modifiers",
            "'re' does not combine with startswith/endswith: anchor the regex with ^ or $",
            first_mod);
    }
    if (has("cidr") && (string_pos_mods || compare_mods)) {
      Error("conflicting_modifiers", "'cidr' does not combine with string or numeric modifiers",
            first_mod);
    }
    if (compare_mods &&
        (string_pos_mods || has("re") || has("windash") || has("base64") || has("base64offset"))) {
      Error("conflicting_modifiers", "numeric comparisons do not combine with string modifiers",
            first_mod);
    }
    if (has("windash") && has("all")) {
      ctx.Report(Severity::kWarning, "windash_with_all",
                 "'windash' with 'all' is rarely meant (pySigma warns too)", first_mod);
    }
    if (has("base64offset") && !has("contains")) {
      ctx.Report(Severity::kWarning, "base64offset_without_contains",
                 "'base64offset' fragments only match inside longer text: add 'contains'",
                 first_mod);
    }
    if (!ok) return false;

    item.all = has("all");
    item.negate = has("neq");
    if (item.all && spec.values.size() < 2 && !item.keyword) {
      ctx.Report(Severity::kWarning, "all_single_value",
                 "'all' on a single value is not allowed by the specification", first_mod);
    }
    if (has("expand")) {
      bool any = false;
      for (const auto& v : spec.values) any = any || HasUnescapedPlaceholder(v.text);
      if (!any) {
        ctx.Report(Severity::kWarning, "expand_without_placeholder",
                   "'expand' is set but no value contains a %placeholder%", first_mod);
      }
    }

    // The field.
    if (!item.keyword) {
      if (ctx.log) {
        const auto r = FieldCatalog::Instance().Resolve(*ctx.log, spec.field);
        switch (r.status) {
          case FieldResolution::Status::kFound:
            item.field = r.ref;
            item.event_field = r.event_name;
            break;
          case FieldResolution::Status::kOtherLog:
            ctx.Report(Severity::kWarning, "field_of_other_logsource",
                       "field '" + spec.field + "' exists only in " + r.detail + " records; in " +
                           std::string(LogTypeName(*ctx.log)) +
                           " records it is always missing, so this item never holds",
                       spec.pos);
            item.never = true;
            item.event_field = spec.field;
            break;
          case FieldResolution::Status::kUnavailable:
            ctx.unavailable.push_back(spec.field);
            item.never = true;
            break;
          case FieldResolution::Status::kUnknown:
            Error("unknown_field",
                  "unknown field '" + spec.field + "' for " + std::string(LogTypeName(*ctx.log)) +
                      " records" + (r.detail.empty() ? "" : " (did you mean '" + r.detail + "'?)"),
                  spec.pos);
            return false;
        }
      }
    } else if (has("exists") || has("fieldref") || has("cidr") || compare_mods) {
      Error("keyword_modifier",
            "keywords (no field) cannot use exists, fieldref, cidr or comparisons", first_mod);
      return false;
    }

    if (has("exists")) {
      if (spec.values.size() != 1 || spec.values[0].type != RuleValue::Type::kBool) {
        Error("type_error", "'exists' needs true or false (unquoted)",
              spec.values.empty() ? spec.pos : spec.values[0].pos);
        return false;
      }
      item.exists = spec.values[0].b;
      return true;
    }

    for (const auto& v : spec.values) {
      ValueGroup group;
      if (!CompileValue(v, group)) continue;
      item.groups.push_back(std::move(group));
    }
    if (!ok) return false;
    // Without `all`, the variants of each value are just more OR'ed values:
    // one alternative per group lets the fast path index them.
    if (!item.all) {
      std::vector<ValueGroup> flat;
      for (auto& g : item.groups) {
        for (auto& alt : g.alternatives) flat.push_back(ValueGroup{{std::move(alt)}});
      }
      item.groups = std::move(flat);
    }
    item.Optimise();
    return ok;
  }

  bool CompileValue(const RuleValue& written, ValueGroup& group) {
    // Keywords are a case-insensitive substring search of the event's text:
    // an unquoted number or boolean is searched as its canonical text, so
    // `keywords: [404]` finds "404" anywhere (not only a value equal to 404).
    RuleValue as_text;
    const bool keyword_scalar = item.keyword && (written.type == RuleValue::Type::kInt ||
                                                 written.type == RuleValue::Type::kFloat ||
                                                 written.type == RuleValue::Type::kBool);
    if (keyword_scalar) {
      as_text = written;
      as_text.type = RuleValue::Type::kString;
      as_text.text = written.CanonicalText();
    }
    const RuleValue& v = keyword_scalar ? as_text : written;
    const bool is_string = v.type == RuleValue::Type::kString;
    // Type modifiers first: their values are not Sigma strings.
    if (has("lt") || has("lte") || has("gt") || has("gte")) {
      if (v.type != RuleValue::Type::kInt && v.type != RuleValue::Type::kFloat) {
        Error("type_error",
              "comparison needs an unquoted number; '" + v.text + "' is a " +
                  (is_string ? "string" : "non-number"),
              v.pos);
        return false;
      }
      CompareTest t;
      t.op = has("gt")    ? CompareTest::Op::kGt
             : has("gte") ? CompareTest::Op::kGte
             : has("lt")  ? CompareTest::Op::kLt
                          : CompareTest::Op::kLte;
      t.value = v.d;
      group.alternatives.emplace_back(t);
      return true;
    }
    if (has("fieldref")) {
      if (!is_string) {
        Error("type_error", "'fieldref' values are field names", v.pos);
        return false;
      }
      FieldRefTest t;
      t.op = has("contains")     ? StringMatcher::Op::kContains
             : has("startswith") ? StringMatcher::Op::kPrefix
             : has("endswith")   ? StringMatcher::Op::kSuffix
                                 : StringMatcher::Op::kExact;
      t.cased = has("cased");
      t.never = false;
      if (ctx.log) {
        const auto r = FieldCatalog::Instance().Resolve(*ctx.log, v.text);
        if (r.status == FieldResolution::Status::kFound) {
          t.other = r.ref;
        } else if (r.status == FieldResolution::Status::kUnknown) {
          Error("unknown_field", "unknown field '" + v.text + "' in fieldref", v.pos);
          return false;
        } else {
          t.never = true;
        }
      }
      group.alternatives.emplace_back(t);
      return true;
    }

    std::vector<std::string> raws;
    if (has("expand")) {
      if (!is_string) {
        Error("type_error", "'expand' needs a string value with %placeholders%", v.pos);
        return false;
      }
      auto expanded = Expand(v);
      if (!expanded) return false;
      raws = std::move(*expanded);
    } else {
      raws.push_back(v.text);
    }
    // Regexes and networks: one value per expanded text.
    if (has("re") || has("cidr")) {
      produced += raws.size();
      if (produced > kMaxItemValues) {
        TooLarge(v, "expansion");
        return false;
      }
    }

    if (has("re")) {
      if (!is_string) {
        Error("type_error", "'re' needs a quoted regular expression", v.pos);
        return false;
      }
      for (const auto& raw : raws) {
        RE2::Options opts;
        opts.set_log_errors(false);
        opts.set_case_sensitive(!(has("i") || has("ignorecase")));
        opts.set_dot_nl(has("s") || has("dotall"));
        std::string pattern = (has("m") || has("multiline")) ? "(?m)" + raw : raw;
        auto re = std::make_shared<RE2>(pattern, opts);
        if (!re->ok()) {
          Error("bad_regex",
                "invalid regular expression '" + raw + "': " + re->error() +
                    " (RE2 syntax: no lookaround or backreferences)",
                v.pos);
          return false;
        }
        group.alternatives.emplace_back(RegexTest{std::move(re), raw});
      }
      return true;
    }

    if (has("cidr")) {
      if (!is_string) {
        Error("type_error", "'cidr' needs a network such as 10.0.0.0/8", v.pos);
        return false;
      }
      for (const auto& raw : raws) {
        auto net = ParseNetwork(raw);
        if (!net) {
          const std::string origin = EntryOrigin(v, raw);
          Error("bad_cidr",
                "invalid network: " + net.error() +
                    (origin.empty() ? "" : " (list entry at " + origin + ")"),
                v.pos);
          continue;
        }
        group.alternatives.emplace_back(CidrTest{*net});
      }
      return ok;
    }

    // Plain values: null, bool, number or a Sigma string.
    const bool string_mods = has("contains") || has("startswith") || has("endswith") ||
                             has("windash") || has("base64") || has("base64offset") ||
                             has("utf16le") || has("wide") || has("utf16be") || has("utf16");
    if (v.type == RuleValue::Type::kNull) {
      if (string_mods) {
        Error("type_error", "string modifiers need a string value, not null", v.pos);
        return false;
      }
      if (spec.values.size() > 1) {
        ctx.Report(Severity::kWarning, "null_in_list",
                   "null inside a value list: the specification asks for a separate selection",
                   v.pos);
      }
      group.alternatives.emplace_back(NullTest{});
      return true;
    }
    if (v.type == RuleValue::Type::kBool) {
      if (string_mods) {
        Error("type_error", "string modifiers need a quoted string, not the boolean " + v.text,
              v.pos);
        return false;
      }
      group.alternatives.emplace_back(BoolTest{v.b});
      return true;
    }
    if (v.type == RuleValue::Type::kInt || v.type == RuleValue::Type::kFloat) {
      if (string_mods) {
        Error("type_error",
              "'" + v.text +
                  "' is an unquoted number; contains/startswith/endswith and encodings "
                  "need a string: quote it",
              v.pos);
        return false;
      }
      group.alternatives.emplace_back(NumberTest{v.d, v.CanonicalText()});
      return true;
    }

    if (mods.empty() && !item.keyword && LooksLikeLegacyComparison(v.text)) {
      Error("legacy_comparison",
            "'" + v.text +
                "' is the pre-v2 comparison syntax and would be matched as text; write " +
                spec.field + "|" +
                (v.text[0] == '>' ? (v.text[1] == '=' ? "gte" : "gt")
                                  : (v.text[1] == '=' ? "lte" : "lt")) +
                ": " + v.text.substr(v.text.find_first_not_of("<>= ")) + " instead",
            v.pos);
      return false;
    }
    for (const auto& raw : raws) {
      std::vector<SigmaPattern> variants{SigmaPattern::Parse(raw)};
      bool positional = false;
      for (const auto& m : mods) {
        std::vector<SigmaPattern> next;
        for (auto& p : variants) {
          if (m == "contains" || m == "startswith" || m == "endswith") {
            positional = true;
            SigmaPattern x;
            if ((m == "contains" || m == "endswith") && !p.starts_with_star()) x.AddStar();
            x.Append(p);
            if ((m == "contains" || m == "startswith") && !p.ends_with_star()) x.AddStar();
            next.push_back(std::move(x));
          } else if (m == "base64" || m == "base64offset") {
            if (p.has_wildcards()) {
              Error("type_error",
                    "'" + m + "' cannot encode wildcards; escape * and ? or drop them", v.pos);
              return false;
            }
            if (m == "base64") {
              next.push_back(SigmaPattern::Literal(Base64(p.LiteralText())));
            } else {
              for (auto& enc : Base64Offsets(p.LiteralText()))
                next.push_back(SigmaPattern::Literal(enc));
            }
          } else if (m == "utf16le" || m == "wide" || m == "utf16be" || m == "utf16") {
            next.push_back(EncodeLiterals(p, m));
          } else if (m == "windash") {
            auto w = Windash(p);
            if (w.empty()) {
              Error("expansion_too_large", "windash produces too many variants", v.pos);
              return false;
            }
            for (auto& x : w) next.push_back(std::move(x));
          } else {
            next.push_back(std::move(p));
          }
        }
        variants = std::move(next);
      }
      produced += variants.size();
      if (produced > kMaxItemValues) {
        TooLarge(v, "expansion (with every windash/base64offset variant)");
        return false;
      }
      // Keywords are searched inside values: an implicit `contains`.
      if (item.keyword && !positional) {
        for (auto& p : variants) {
          SigmaPattern x;
          if (!p.starts_with_star()) x.AddStar();
          x.Append(p);
          if (!p.ends_with_star()) x.AddStar();
          p = std::move(x);
        }
      }
      for (const auto& p : variants) {
        group.alternatives.emplace_back(StringTest{StringMatcher(p, has("cased"))});
      }
    }
    return true;
  }
};

struct ProgramBuilder {
  CompileContext& ctx;
  const DetectionSpec& spec;
  Program program;
  std::map<int, std::optional<uint32_t>> selection_nodes;  // nullopt: failed
  bool has_not = false;

  std::optional<uint32_t> Selection(int index) {
    if (auto it = selection_nodes.find(index); it != selection_nodes.end()) return it->second;
    selection_nodes[index] = std::nullopt;  // compiled once, even when it fails
    const SelectionSpec& sel = spec.selections[static_cast<size_t>(index)];
    std::vector<uint32_t> alternatives;
    for (const auto& group : sel.any_of) {
      std::vector<uint32_t> items;
      for (const auto& item_spec : group) {
        ItemCompiler ic{ctx, item_spec, {}};
        if (!ic.Run()) continue;
        items.push_back(program.AddItem(std::move(ic.item)));
      }
      if (items.size() != group.size()) return std::nullopt;
      alternatives.push_back(items.size() == 1 ? items[0]
                                               : program.AddNode(ProgramNode::Kind::kAnd, items));
    }
    if (alternatives.empty()) return std::nullopt;
    const uint32_t node = alternatives.size() == 1
                              ? alternatives[0]
                              : program.AddNode(ProgramNode::Kind::kOr, alternatives);
    selection_nodes[index] = node;
    return node;
  }

  std::optional<uint32_t> Build(const ConditionNode& c) {
    switch (c.kind) {
      case ConditionNode::Kind::kIdentifier:
        return Selection(c.index);
      case ConditionNode::Kind::kNot: {
        has_not = true;
        auto child = Build(*c.children[0]);
        if (!child) return std::nullopt;
        return program.AddNode(ProgramNode::Kind::kNot, {*child});
      }
      case ConditionNode::Kind::kAnd:
      case ConditionNode::Kind::kOr: {
        std::vector<uint32_t> kids;
        bool failed = false;
        for (const auto& k : c.children) {
          auto n = Build(*k);
          if (!n)
            failed = true;
          else
            kids.push_back(*n);
        }
        if (failed) return std::nullopt;
        if (kids.size() == 1) return kids[0];
        return program.AddNode(
            c.kind == ConditionNode::Kind::kAnd ? ProgramNode::Kind::kAnd : ProgramNode::Kind::kOr,
            kids);
      }
      default:
        return std::nullopt;  // quantifiers are resolved before building
    }
  }
};

void CollectIdentifiers(const ConditionNode& n, std::set<int>& used) {
  if (n.kind == ConditionNode::Kind::kIdentifier) used.insert(n.index);
  for (const auto& c : n.children) CollectIdentifiers(*c, used);
}

}  // namespace

std::optional<CompiledDetection> CompileDetection(const DetectionSpec& spec, CompileContext& ctx) {
  std::vector<std::string> names;
  for (const auto& s : spec.selections) names.push_back(s.name);
  ProgramBuilder builder{ctx, spec, {}, {}, false};
  std::vector<uint32_t> roots;
  std::vector<std::string> texts;
  bool failed = false;
  std::set<int> used;
  for (const auto& cond : spec.conditions) {
    auto parsed = ParseCondition(cond.text);
    Pos at = cond.pos;
    if (!parsed) {
      at.column += parsed.error().column - 1;
      ctx.Report(Severity::kError, parsed.error().code, parsed.error().message, at);
      failed = true;
      continue;
    }
    auto resolved = ResolveCondition(**parsed, names);
    if (!resolved) {
      at.column += resolved.error().column - 1;
      ctx.Report(Severity::kError, resolved.error().code, resolved.error().message, at);
      failed = true;
      continue;
    }
    CollectIdentifiers(**parsed, used);
    texts.push_back(ConditionToString(**parsed));
    auto root = builder.Build(**parsed);
    if (!root) {
      failed = true;
      continue;
    }
    roots.push_back(*root);
  }
  for (size_t i = 0; i < spec.selections.size(); ++i) {
    if (!used.count(static_cast<int>(i)) && !failed) {
      ctx.Report(Severity::kWarning, "unused_selection",
                 "selection '" + spec.selections[i].name + "' is not used by the condition",
                 spec.selections[i].pos);
    }
    // Compile every selection, used or not, so all their errors are
    // reported even when the condition itself is broken.
    if (!builder.selection_nodes.count(static_cast<int>(i))) builder.Selection(static_cast<int>(i));
  }
  if (failed || roots.empty() || ctx.errors) return std::nullopt;
  CompiledDetection out;
  out.program = std::move(builder.program);
  out.program.set_root(roots.size() == 1 ? roots[0]
                                         : out.program.AddNode(ProgramNode::Kind::kOr, roots));
  out.condition_text = texts.size() == 1 ? texts[0] : [&] {
    std::string t = "or(";
    for (size_t i = 0; i < texts.size(); ++i) t += (i ? "," : "") + texts[i];
    return t + ")";
  }();
  out.has_not = builder.has_not;
  return out;
}

namespace {

// Keys of one item (every value must be indexable), or nullopt.
std::optional<std::vector<AnchorKey>> ItemAnchor(const CompiledItem& item) {
  if (item.keyword || item.negate || item.exists || item.never ||
      item.field.kind == FieldRef::Kind::kNone) {
    return std::nullopt;
  }
  auto group_keys = [&](const ValueGroup& g) -> std::optional<std::vector<AnchorKey>> {
    std::vector<AnchorKey> keys;
    for (const auto& alt : g.alternatives) {
      AnchorKey k;
      k.field = item.field;
      if (const auto* s = std::get_if<StringTest>(&alt)) {
        if (s->matcher.op() == StringMatcher::Op::kExact) {
          k.kind = AnchorKey::Kind::kExact;
          k.text = FoldCase(s->matcher.literal());
        } else {
          k.kind = AnchorKey::Kind::kSubstring;
          k.text = s->matcher.RequiredSubstring();
          if (k.text.empty()) return std::nullopt;
        }
      } else if (const auto* n = std::get_if<NumberTest>(&alt)) {
        k.kind = AnchorKey::Kind::kExact;
        k.text = FoldCase(n->text);
      } else if (const auto* c = std::get_if<CidrTest>(&alt)) {
        k.kind = AnchorKey::Kind::kCidr;
        k.network = c->network;
      } else {
        return std::nullopt;
      }
      keys.push_back(std::move(k));
    }
    if (keys.empty()) return std::nullopt;
    return keys;
  };
  if (item.all) {
    // Any one value is necessary: take the most selective group.
    std::optional<std::vector<AnchorKey>> best;
    for (const auto& g : item.groups) {
      auto keys = group_keys(g);
      if (keys && (!best || keys->size() < best->size())) best = std::move(keys);
    }
    return best;
  }
  std::vector<AnchorKey> all_keys;
  if (item.groups.empty()) return std::nullopt;
  for (const auto& g : item.groups) {
    auto keys = group_keys(g);
    if (!keys) return std::nullopt;
    for (auto& k : *keys) all_keys.push_back(std::move(k));
  }
  return all_keys;
}

// How many events an anchor key is likely to select, roughly: the index
// should pick `query: x.example` over `qtype_name: A` in one selection.
// Without traffic statistics this is a fixed guess by field and literal.
int KeyCost(LogType log, const AnchorKey& k) {
  static const std::set<std::string_view> kLowCardinality = {"proto",       "conn_state",
                                                             "qtype_name",  "qtype",
                                                             "qclass",      "qclass_name",
                                                             "rcode",       "rcode_name",
                                                             "method",      "version",
                                                             "trans_depth", "status_code",
                                                             "established", "resumed",
                                                             "local_orig",  "local_resp",
                                                             "AA",          "TC",
                                                             "RD",          "RA",
                                                             "Z",           "rejected",
                                                             "ip_proto",    "end_reason",
                                                             "interim",     "next_protocol",
                                                             "service",     "cipher",
                                                             "curve",       "action",
                                                             "blocked",     "uri_extension",
                                                             "vlan",        "inner_vlan",
                                                             "info_code",   "history",
                                                             "ssl_history", "public_suffix"};
  static const std::set<std::string_view> kCommonPorts = {
      "80",  "443", "53",  "22",  "25",  "123", "8080", "8443", "3389", "445", "139",
      "135", "389", "636", "993", "995", "587", "110",  "143",  "0",    "8"};
  const std::string_view field = FieldCatalog::Instance().Name(log, k.field);
  const bool port = field == "id.resp_p" || field == "id.orig_p";
  int base = kLowCardinality.count(field) ? 40 : 1;
  switch (k.kind) {
    case AnchorKey::Kind::kExact:
      if (port) return kCommonPorts.count(k.text) ? 20 : 2;
      return base;
    case AnchorKey::Kind::kSubstring:
      return base * 2 + (k.text.size() < 4 ? 30 : k.text.size() < 6 ? 5 : 0);
    case AnchorKey::Kind::kCidr:
      return k.network.prefix < (k.network.address.size == 4 ? 8 : 16)    ? 40
             : k.network.prefix < (k.network.address.size == 4 ? 16 : 32) ? 10
                                                                          : 2;
  }
  return base;
}

int AnchorCost(LogType log, const std::vector<AnchorKey>& keys) {
  int cost = 0;
  for (const auto& k : keys) cost += KeyCost(log, k);
  return cost;
}

std::optional<std::vector<AnchorKey>> NodeAnchor(const Program& p, uint32_t index, LogType log) {
  const ProgramNode& n = p.nodes()[index];
  switch (n.kind) {
    case ProgramNode::Kind::kItem:
      return ItemAnchor(p.items()[n.item]);
    case ProgramNode::Kind::kNot:
      return std::nullopt;
    case ProgramNode::Kind::kAnd: {
      std::optional<std::vector<AnchorKey>> best;
      for (uint32_t i = 0; i < n.count; ++i) {
        auto a = NodeAnchor(p, p.kids()[n.first + i], log);
        if (a && (!best || AnchorCost(log, *a) < AnchorCost(log, *best))) best = std::move(a);
      }
      return best;
    }
    case ProgramNode::Kind::kOr: {
      std::vector<AnchorKey> all;
      for (uint32_t i = 0; i < n.count; ++i) {
        auto a = NodeAnchor(p, p.kids()[n.first + i], log);
        if (!a) return std::nullopt;
        for (auto& k : *a) all.push_back(std::move(k));
      }
      return all;
    }
  }
  return std::nullopt;
}

void Conjuncts(const Program& p, uint32_t index, std::vector<uint32_t>& out) {
  const ProgramNode& n = p.nodes()[index];
  if (n.kind == ProgramNode::Kind::kAnd) {
    for (uint32_t i = 0; i < n.count; ++i) Conjuncts(p, p.kids()[n.first + i], out);
  } else if (n.kind == ProgramNode::Kind::kItem) {
    out.push_back(n.item);
  }
}

bool IsVectorField(LogType log, FieldRef ref) {
  if (ref.kind == FieldRef::Kind::kSlot) {
    const auto t = FieldCatalog::Instance().Fields(log)[ref.index].type;
    return t == FieldType::kStringVector || t == FieldType::kIntervalVector;
  }
  if (ref.kind == FieldRef::Kind::kDerived) {
    return FieldCatalog::Instance().DerivedType(static_cast<DerivedField>(ref.index)) ==
           FieldType::kStringVector;
  }
  return false;
}

}  // namespace

std::optional<std::vector<AnchorKey>> ComputeAnchor(const Program& program, LogType log) {
  if (program.empty()) return std::nullopt;
  return NodeAnchor(program, program.root(), log);
}

void CheckContradictions(const Program& program, LogType log, CompileContext& ctx, Pos pos) {
  if (program.empty()) return;
  std::vector<uint32_t> items;
  Conjuncts(program, program.root(), items);
  // field -> (allowed exact values, must be null)
  struct Constraint {
    std::optional<std::set<std::string>> values;
    bool must_be_null = false;
    bool must_exist = false;
    std::string name;
  };
  std::map<std::pair<int, int>, Constraint> by_field;
  for (uint32_t i : items) {
    const CompiledItem& item = program.items()[i];
    if (item.keyword || item.negate || item.never || item.field.kind == FieldRef::Kind::kNone)
      continue;
    if (IsVectorField(log, item.field)) continue;  // different elements may satisfy each
    auto& c = by_field[{static_cast<int>(item.field.kind), item.field.index}];
    c.name = item.event_field;
    if (item.exists) {
      if (*item.exists)
        c.must_exist = true;
      else
        c.must_be_null = true;
      continue;
    }
    if (item.all) continue;
    std::set<std::string> allowed;
    bool exact_only = !item.groups.empty();
    bool null_only = !item.groups.empty();
    for (const auto& g : item.groups) {
      for (const auto& alt : g.alternatives) {
        if (const auto* s = std::get_if<StringTest>(&alt);
            s && s->matcher.op() == StringMatcher::Op::kExact) {
          allowed.insert(FoldCase(s->matcher.literal()));
          null_only = false;
        } else if (const auto* n = std::get_if<NumberTest>(&alt)) {
          allowed.insert(n->text);
          null_only = false;
        } else if (std::holds_alternative<NullTest>(alt)) {
          exact_only = false;
        } else {
          exact_only = false;
          null_only = false;
        }
      }
    }
    if (null_only) {
      c.must_be_null = true;
    } else if (exact_only) {
      c.must_exist = true;
      if (!c.values) {
        c.values = allowed;
      } else {
        std::set<std::string> both;
        std::set_intersection(c.values->begin(), c.values->end(), allowed.begin(), allowed.end(),
                              std::inserter(both, both.begin()));
        c.values = both;
      }
    } else if (item.fast || !item.groups.empty()) {
      c.must_exist = true;
    }
  }
  for (const auto& [key, c] : by_field) {
    if (c.values && c.values->empty()) {
      ctx.Report(Severity::kWarning, "never_matches",
                 "the condition requires '" + c.name +
                     "' to equal two different values at once; "
                     "the rule can never match",
                 pos);
    } else if (c.must_be_null && c.must_exist) {
      ctx.Report(Severity::kWarning, "never_matches",
                 "the condition requires '" + c.name +
                     "' to be both missing and present; "
                     "the rule can never match",
                 pos);
    }
  }
}

}  // namespace vigil::collector::engine
