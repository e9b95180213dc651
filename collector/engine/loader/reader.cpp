#include "collector/engine/loader/reader.h"

#include <openssl/evp.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <set>
#include <sstream>

namespace vigil::collector::engine {

std::string_view DocKindName(DocKind k) {
  switch (k) {
    case DocKind::kDetection:
      return "detection";
    case DocKind::kCorrelation:
      return "correlation";
    case DocKind::kFilter:
      return "filter";
    case DocKind::kOverlay:
      return "overlay";
  }
  return "?";
}

std::string DocSpec::Handle() const {
  if (id && !id->text.empty()) return id->text;
  if (name && !name->text.empty()) return name->text;
  if (title && !title->text.empty()) return title->text;
  return file + "#" + std::to_string(doc_index + 1);
}

std::string RuleValue::CanonicalText() const {
  switch (type) {
    case Type::kNull:
      return "null";
    case Type::kBool:
      return b ? "true" : "false";
    case Type::kInt:
      return std::to_string(i);
    case Type::kFloat: {
      std::string out;
      AppendDouble(out, d);
      return out;
    }
    case Type::kString:
      return text;
  }
  return text;
}

std::string Sha256Hex(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &len, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 0xf];
  }
  return out;
}

std::optional<int64_t> ParseTimespan(std::string_view text) {
  if (text.size() < 2) return std::nullopt;
  const char unit = text.back();
  const std::string_view digits = text.substr(0, text.size() - 1);
  int64_t n = 0;
  auto res = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (res.ec != std::errc() || res.ptr != digits.data() + digits.size() || n <= 0) {
    return std::nullopt;
  }
  int64_t seconds;
  switch (unit) {
    case 's':
      seconds = 1;
      break;
    case 'm':
      seconds = 60;
      break;
    case 'h':
      seconds = 3600;
      break;
    case 'd':
      seconds = 86400;
      break;
    case 'w':
      seconds = 7 * 86400;
      break;
    case 'M':
      seconds = 30 * 86400;
      break;
    case 'y':
      seconds = 365 * 86400;
      break;
    default:
      return std::nullopt;
  }
  if (n > kMaxTimespanNs / 1'000'000'000 / seconds) return std::nullopt;
  return n * seconds * 1'000'000'000;
}

std::optional<int64_t> ParseExpiry(std::string_view text) {
  auto num = [&](size_t pos, size_t len, int& out) {
    if (pos + len > text.size()) return false;
    auto res = std::from_chars(text.data() + pos, text.data() + pos + len, out);
    return res.ec == std::errc() && res.ptr == text.data() + pos + len;
  };
  int y, mo, d;
  if (text.size() < 10 || text[4] != '-' || text[7] != '-' || !num(0, 4, y) || !num(5, 2, mo) ||
      !num(8, 2, d)) {
    return std::nullopt;
  }
  const std::chrono::year_month_day ymd{std::chrono::year(y),
                                        std::chrono::month(static_cast<unsigned>(mo)),
                                        std::chrono::day(static_cast<unsigned>(d))};
  if (!ymd.ok()) return std::nullopt;
  // Seconds first: nanoseconds since 1970 overflow int64 in 2262, and
  // "9999-12-31" is the usual way to write "never".
  const int64_t day_s =
      static_cast<int64_t>(std::chrono::sys_days(ymd).time_since_epoch().count()) * 86400;
  if (day_s < 0) return std::nullopt;  // before 1970: a typo, not a real expiry
  int64_t end_s;
  if (text.size() == 10) {
    end_s = day_s + 86400;  // valid through that day
  } else {
    int h, mi, s;
    if (text.size() != 20 || (text[10] != 'T' && text[10] != ' ') || text[13] != ':' ||
        text[16] != ':' || text[19] != 'Z' || !num(11, 2, h) || !num(14, 2, mi) || !num(17, 2, s) ||
        h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 60) {
      return std::nullopt;
    }
    end_s = day_s + int64_t{h} * 3600 + mi * 60 + s;
  }
  if (end_s > INT64_MAX / 1'000'000'000) return INT64_MAX;  // past 2262: never expires
  return end_s * 1'000'000'000;
}

namespace {

// Finds the first alias ("*name") in a YAML stream without building nodes.
class AliasFinder final : public YAML::EventHandler {
 public:
  std::optional<YAML::Mark> alias;
  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override {
    if (!alias) alias = mark;
  }
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

Pos PosOf(const YAML::Node& n) {
  const YAML::Mark m = n.Mark();
  if (m.is_null()) return {};
  return Pos{m.line + 1, m.column + 1};
}

bool IsPlain(const YAML::Node& n) { return n.Tag() == "?"; }

// PyYAML's (YAML 1.1) implicit typing of plain scalars.
bool ParseYamlInt(std::string_view s, int64_t& out) {
  std::string digits;
  bool negative = false;
  size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    negative = s[i] == '-';
    ++i;
  }
  int base = 10;
  if (s.substr(i, 2) == "0x") {
    base = 16;
    i += 2;
  } else if (s.substr(i, 2) == "0b") {
    base = 2;
    i += 2;
  } else if (s.size() - i > 1 && s[i] == '0') {
    base = 8;
    ++i;
  }
  for (; i < s.size(); ++i) {
    if (s[i] != '_') digits += s[i];
  }
  if (digits.empty()) return false;
  uint64_t v = 0;
  auto res = std::from_chars(digits.data(), digits.data() + digits.size(), v, base);
  if (res.ec != std::errc() || res.ptr != digits.data() + digits.size()) return false;
  if (base == 10 && digits.size() > 1 && digits[0] == '0') return false;
  if (v > static_cast<uint64_t>(INT64_MAX)) return false;
  out = negative ? -static_cast<int64_t>(v) : static_cast<int64_t>(v);
  return true;
}

bool ParseYamlFloat(std::string_view s, double& out) {
  // [-+]?([0-9][0-9_]*)?\.[0-9_]*([eE][-+][0-9]+)?  (PyYAML needs the dot)
  std::string clean;
  size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) clean += s[i++];
  const std::string_view rest = s.substr(i);
  if (rest == ".inf" || rest == ".Inf" || rest == ".INF") {
    out = clean == "-" ? -INFINITY : INFINITY;
    return true;
  }
  if (s == ".nan" || s == ".NaN" || s == ".NAN") {
    out = NAN;
    return true;
  }
  bool digits_before = false, dot = false, digits_after = false;
  for (; i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '_'); ++i) {
    if (s[i] != '_') {
      clean += s[i];
      digits_before = true;
    }
  }
  if (i < s.size() && s[i] == '.') {
    dot = true;
    clean += '.';
    ++i;
  }
  for (; i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '_'); ++i) {
    if (s[i] != '_') {
      clean += s[i];
      digits_after = true;
    }
  }
  if (!dot || (!digits_before && !digits_after)) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    clean += 'e';
    ++i;
    if (i >= s.size() || (s[i] != '+' && s[i] != '-')) return false;
    clean += s[i++];
    if (i >= s.size()) return false;
    for (; i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])); ++i) clean += s[i];
  }
  if (i != s.size()) return false;
  if (clean.back() == '.') clean += '0';
  if (clean.front() == '.' ||
      (clean.size() > 1 && clean[1] == '.' && (clean[0] == '-' || clean[0] == '+'))) {
    clean.insert(clean[0] == '.' ? 0 : 1, "0");
  }
  auto res = std::from_chars(clean.data(), clean.data() + clean.size(), out);
  return res.ec == std::errc();
}

RuleValue TypeScalar(const YAML::Node& n) {
  RuleValue v;
  v.pos = PosOf(n);
  if (!n.IsDefined() || n.IsNull()) {
    v.type = RuleValue::Type::kNull;
    return v;
  }
  v.text = n.Scalar();
  if (!IsPlain(n)) return v;  // quoted or block scalar: a string
  const std::string& s = v.text;
  static const std::set<std::string> kTrue = {"true", "True", "TRUE", "yes", "Yes",
                                              "YES",  "on",   "On",   "ON"};
  static const std::set<std::string> kFalse = {"false", "False", "FALSE", "no", "No",
                                               "NO",    "off",   "Off",   "OFF"};
  static const std::set<std::string> kNull = {"null", "Null", "NULL", "~", ""};
  if (kNull.count(s)) {
    v.type = RuleValue::Type::kNull;
  } else if (kTrue.count(s)) {
    v.type = RuleValue::Type::kBool;
    v.b = true;
  } else if (kFalse.count(s)) {
    v.type = RuleValue::Type::kBool;
    v.b = false;
  } else if (ParseYamlInt(s, v.i)) {
    v.type = RuleValue::Type::kInt;
    v.d = static_cast<double>(v.i);
  } else if (ParseYamlFloat(s, v.d)) {
    v.type = RuleValue::Type::kFloat;
  }
  return v;
}

// YAML node -> event value, for example events in rule tests.
Value ToEventValue(const YAML::Node& n) {
  if (n.IsSequence()) {
    std::vector<Value> items;
    for (const auto& el : n) items.push_back(ToEventValue(el));
    return Value::Array(std::move(items));
  }
  const RuleValue rv = TypeScalar(n);
  switch (rv.type) {
    case RuleValue::Type::kNull:
      return Value::Null();
    case RuleValue::Type::kBool:
      return Value::Bool(rv.b);
    case RuleValue::Type::kInt:
      return Value::Int(rv.i);
    case RuleValue::Type::kFloat:
      return Value::Double(rv.d);
    case RuleValue::Type::kString:
      return Value::String(rv.text);
  }
  return {};
}

class DocReader {
 public:
  DocReader(const SourceFile& file, std::vector<Diagnostic>& diags, DocSpec& doc)
      : file_(file), diags_(diags), doc_(doc) {}

  void Read(const YAML::Node& root) {
    doc_.pos = PosOf(root);
    if (!root.IsMap()) {
      Error("document_not_a_map", "a rule document must be a YAML mapping", PosOf(root));
      doc_.broken = true;
      return;
    }
    CheckDuplicateKeys(root);
    // Identity first, so later diagnostics can name the rule.
    if (auto id = root["id"]; id) doc_.id = ScalarString(id, "id");
    if (auto name = root["name"]; name) doc_.name = ScalarString(name, "name");
    if (auto title = root["title"]; title) doc_.title = ScalarString(title, "title");

    if (root["correlation"]) {
      doc_.kind = DocKind::kCorrelation;
    } else if (root["filter"]) {
      doc_.kind = DocKind::kFilter;
    } else if (root["overlay"]) {
      doc_.kind = DocKind::kOverlay;
    } else if (root["detection"]) {
      doc_.kind = DocKind::kDetection;
    } else {
      if (root["action"]) {
        Error("legacy_collection",
              "'action:' rule collections are Sigma v1 syntax; write separate documents",
              PosOf(root["action"]));
      } else {
        Error("unknown_document",
              "document has none of 'detection', 'correlation', 'filter' or 'overlay'", doc_.pos);
      }
      doc_.broken = true;
      return;
    }
    static const std::set<std::string> kCommon = {"title", "id", "name", "status", "description",
                                                  "references", "author", "date", "modified",
                                                  "tags", "falsepositives", "level", "license",
                                                  "related", "fields", "taxonomy", "scope", "vigil",
                                                  // Custom keys SigmaHQ uses in its repository.
                                                  "regression_tests_path", "simulation"};
    for (auto it = root.begin(); it != root.end(); ++it) {
      const std::string key = it->first.Scalar();
      // A copy: `it->second` lives in a temporary proxy (yaml-cpp iterators).
      const YAML::Node value = it->second;
      if (kCommon.count(key)) {
        ReadCommon(key, value);
        continue;
      }
      switch (doc_.kind) {
        case DocKind::kDetection:
          if (key == "logsource") {
            doc_.logsource = ReadLogsource(value);
            continue;
          }
          if (key == "detection") {
            doc_.detection = ReadDetection(value, /*filter=*/false);
            continue;
          }
          break;
        case DocKind::kCorrelation:
          if (key == "correlation") {
            ReadCorrelation(value);
            continue;
          }
          break;
        case DocKind::kFilter:
          if (key == "logsource") {
            doc_.logsource = ReadLogsource(value);
            continue;
          }
          if (key == "filter") {
            ReadFilter(value);
            continue;
          }
          if (key == "expires") {
            if (doc_.filter)
              doc_.filter->expires = ScalarString(value, key);
            else
              pending_expires_ = ScalarString(value, key);
            continue;
          }
          break;
        case DocKind::kOverlay:
          if (key == "overlay") {
            ReadOverlay(value);
            continue;
          }
          break;
      }
      if (key == "timeframe") {
        Error("legacy_timeframe",
              "'timeframe' is pre-v2 syntax; use a correlation rule with 'timespan'",
              PosOf(it->first));
        continue;
      }
      Error("unknown_key",
            "unknown key '" + key + "' in a " + std::string(DocKindName(doc_.kind)) + " document",
            PosOf(it->first));
    }
    if (pending_expires_ && doc_.filter) doc_.filter->expires = pending_expires_;
    if (!doc_.title) Error("missing_key", "missing required key 'title'", doc_.pos);
    if ((doc_.kind == DocKind::kDetection || doc_.kind == DocKind::kFilter) && !doc_.logsource) {
      Error("missing_key", "missing required key 'logsource'", doc_.pos);
    }
    doc_.content_hash = Sha256Hex(YAML::Dump(root));
  }

 private:
  void Add(Severity sev, std::string code, std::string message, Pos pos) {
    diags_.push_back(Diagnostic{sev, std::move(code), std::move(message),
                                SourceLocation{file_.path, pos.line, pos.column}, doc_.Handle()});
  }
  void Error(std::string code, std::string message, Pos pos) {
    ++doc_.reader_errors;
    Add(Severity::kError, std::move(code), std::move(message), pos);
  }
  void Warn(std::string code, std::string message, Pos pos) {
    Add(Severity::kWarning, std::move(code), std::move(message), pos);
  }

  // Every mapping in the document, also those inside lists (list-of-maps
  // selections, vigil.tests). Linear: ReadRuleFile refuses aliases, so no
  // node is reachable twice.
  void CheckDuplicateKeys(const YAML::Node& node) {
    if (node.IsSequence()) {
      for (const auto& el : node) CheckDuplicateKeys(el);
      return;
    }
    if (!node.IsMap()) return;
    std::set<std::string> seen;
    for (auto it = node.begin(); it != node.end(); ++it) {
      if (!it->first.IsScalar()) {
        Error("bad_key", "mapping keys must be plain strings", PosOf(it->first));
        continue;
      }
      if (!seen.insert(it->first.Scalar()).second) {
        Error("duplicate_key", "key '" + it->first.Scalar() + "' appears twice", PosOf(it->first));
      }
      CheckDuplicateKeys(it->second);
    }
  }

  // 1 when `n` is a quoted scalar: its text starts one column after its mark.
  int QuoteWidth(const YAML::Node& n) const {
    const YAML::Mark m = n.Mark();
    if (m.is_null() || m.pos < 0 || static_cast<size_t>(m.pos) >= file_.bytes.size()) return 0;
    const char c = file_.bytes[static_cast<size_t>(m.pos)];
    return c == '\'' || c == '"' ? 1 : 0;
  }

  std::optional<Named> ScalarString(const YAML::Node& n, std::string_view key) {
    if (!n.IsScalar()) {
      Error("bad_type", "'" + std::string(key) + "' must be a string", PosOf(n));
      return std::nullopt;
    }
    return Named{n.Scalar(), PosOf(n)};
  }

  std::vector<Named> StringList(const YAML::Node& n, std::string_view key) {
    std::vector<Named> out;
    if (n.IsScalar()) {
      out.push_back({n.Scalar(), PosOf(n)});
    } else if (n.IsSequence()) {
      for (const auto& el : n) {
        if (el.IsScalar()) {
          out.push_back({el.Scalar(), PosOf(el)});
        } else {
          Error("bad_type", "'" + std::string(key) + "' must list strings", PosOf(el));
        }
      }
    } else if (!n.IsNull()) {
      Error("bad_type", "'" + std::string(key) + "' must be a string or a list of strings",
            PosOf(n));
    }
    return out;
  }

  void ReadCommon(const std::string& key, const YAML::Node& v) {
    if (key == "status") {
      doc_.status = ScalarString(v, key);
    } else if (key == "level") {
      doc_.level = ScalarString(v, key);
    } else if (key == "description") {
      if (v.IsScalar()) doc_.description = v.Scalar();
    } else if (key == "author") {
      if (v.IsScalar()) {
        doc_.author = v.Scalar();
      } else {
        for (const auto& a : StringList(v, key)) {
          doc_.author += (doc_.author.empty() ? "" : ", ") + a.text;
        }
      }
    } else if (key == "tags") {
      for (auto& t : StringList(v, key)) doc_.tags.push_back(std::move(t.text));
    } else if (key == "falsepositives") {
      for (auto& f : StringList(v, key)) doc_.falsepositives.push_back(std::move(f.text));
    } else if (key == "vigil") {
      ReadVigil(v);
    }
  }

  LogsourceSpec ReadLogsource(const YAML::Node& n) {
    LogsourceSpec ls;
    ls.pos = PosOf(n);
    if (!n.IsMap()) {
      Error("bad_type", "'logsource' must be a mapping", PosOf(n));
      return ls;
    }
    for (auto it = n.begin(); it != n.end(); ++it) {
      const std::string key = it->first.Scalar();
      if (key == "category") {
        ls.category = ScalarString(it->second, key);
      } else if (key == "product") {
        ls.product = ScalarString(it->second, key);
      } else if (key == "service") {
        ls.service = ScalarString(it->second, key);
      } else if (key == "definition") {
        // free text
      } else {
        Warn("unknown_logsource_key", "logsource key '" + key + "' is not used by Vigil",
             PosOf(it->first));
      }
    }
    return ls;
  }

  ItemSpec ReadItem(const std::string& key, const YAML::Node& key_node, const YAML::Node& value) {
    ItemSpec item;
    item.key = key;
    item.pos = PosOf(key_node);
    // "field|mod1|mod2": columns of modifiers point into the key.
    size_t start = 0;
    bool first = true;
    while (true) {
      const size_t bar = key.find('|', start);
      const std::string part =
          key.substr(start, bar == std::string::npos ? std::string::npos : bar - start);
      if (first) {
        item.field = part;
        first = false;
      } else {
        Pos p = item.pos;
        p.column += static_cast<int>(start) + QuoteWidth(key_node);
        if (part.empty()) {
          Error("bad_modifier", "empty modifier in '" + key + "'", p);
        } else {
          item.modifiers.push_back({part, p});
        }
      }
      if (bar == std::string::npos) break;
      start = bar + 1;
    }
    if (value.IsMap()) {
      Error("bad_value", "the value of '" + key + "' is a mapping; expected a value or a list",
            PosOf(value));
    } else if (value.IsSequence()) {
      if (value.size() == 0) {
        // pySigma reads `field: []` as `field: null`.
        RuleValue null_value;
        null_value.type = RuleValue::Type::kNull;
        null_value.pos = PosOf(value);
        item.values.push_back(null_value);
      }
      for (const auto& el : value) {
        if (el.IsMap() || el.IsSequence()) {
          Error("bad_value", "list values of '" + key + "' must be scalars", PosOf(el));
          continue;
        }
        item.values.push_back(TypeScalar(el));
      }
    } else {
      RuleValue v = TypeScalar(value);
      if (v.type == RuleValue::Type::kNull && v.pos.line == 0) v.pos = item.pos;
      if (value.IsNull()) v.pos = item.pos;
      item.values.push_back(std::move(v));
    }
    return item;
  }

  SelectionSpec ReadSelection(const std::string& name, const YAML::Node& key_node,
                              const YAML::Node& body) {
    SelectionSpec sel;
    sel.name = name;
    sel.pos = PosOf(key_node);
    auto read_map = [&](const YAML::Node& map) {
      std::vector<ItemSpec> group;
      for (auto it = map.begin(); it != map.end(); ++it) {
        group.push_back(ReadItem(it->first.Scalar(), it->first, it->second));
      }
      if (group.empty()) Error("empty_selection", "selection '" + name + "' is empty", PosOf(map));
      return group;
    };
    if (body.IsMap()) {
      sel.any_of.push_back(read_map(body));
    } else if (body.IsSequence()) {
      ItemSpec keywords;
      keywords.keyword = true;
      keywords.pos = PosOf(body);
      for (const auto& el : body) {
        if (el.IsMap()) {
          sel.any_of.push_back(read_map(el));
        } else if (el.IsScalar()) {
          keywords.values.push_back(TypeScalar(el));
        } else {
          Error("bad_selection",
                "selection '" + name + "' lists something that is neither a map nor a value",
                PosOf(el));
        }
      }
      if (!keywords.values.empty()) sel.any_of.push_back({std::move(keywords)});
      if (body.size() == 0)
        Error("empty_selection", "selection '" + name + "' is empty", PosOf(body));
    } else if (body.IsScalar()) {
      ItemSpec keyword;
      keyword.keyword = true;
      keyword.pos = PosOf(body);
      keyword.values.push_back(TypeScalar(body));
      sel.any_of.push_back({std::move(keyword)});
    } else {
      Error("empty_selection", "selection '" + name + "' is empty", sel.pos);
    }
    return sel;
  }

  DetectionSpec ReadDetection(const YAML::Node& n, bool filter) {
    DetectionSpec det;
    det.pos = PosOf(n);
    if (!n.IsMap()) {
      Error("bad_type", std::string(filter ? "'filter'" : "'detection'") + " must be a mapping",
            PosOf(n));
      return det;
    }
    for (auto it = n.begin(); it != n.end(); ++it) {
      const std::string key = it->first.Scalar();
      if (key == "condition") {
        if (it->second.IsSequence()) {
          // Copy the node: a range-for over `it->second` would iterate a
          // member of a temporary yaml-cpp proxy.
          const YAML::Node conditions = it->second;
          for (const auto& c : conditions) {
            if (c.IsScalar())
              det.conditions.push_back({c.Scalar(), PosOf(c)});
            else
              Error("bad_type", "conditions must be strings", PosOf(c));
          }
        } else if (it->second.IsScalar()) {
          det.conditions.push_back({it->second.Scalar(), PosOf(it->second)});
        } else {
          Error("bad_type", "'condition' must be a string or a list of strings", PosOf(it->second));
        }
        continue;
      }
      if (filter && key == "rules") continue;
      if (key == "timeframe") {
        Error("legacy_timeframe",
              "'timeframe' is pre-v2 syntax; use a correlation rule with 'timespan'",
              PosOf(it->first));
        continue;
      }
      det.selections.push_back(ReadSelection(key, it->first, it->second));
    }
    if (det.conditions.empty()) Error("missing_key", "missing 'condition'", det.pos);
    return det;
  }

  std::optional<ThrottleSpec> ReadThrottle(const YAML::Node& n) {
    ThrottleSpec t;
    t.pos = PosOf(n);
    if (!n.IsMap()) {
      Error("bad_type", "'throttle' must be a mapping", PosOf(n));
      return std::nullopt;
    }
    bool ok = true;
    for (auto it = n.begin(); it != n.end(); ++it) {
      const std::string key = it->first.Scalar();
      if (key == "max_alerts") {
        const RuleValue v = TypeScalar(it->second);
        if (v.type != RuleValue::Type::kInt || v.i < 1) {
          Error("bad_value", "'max_alerts' must be a positive integer", PosOf(it->second));
          ok = false;
        } else {
          t.max_alerts = static_cast<uint64_t>(v.i);
        }
      } else if (key == "window") {
        auto span = it->second.IsScalar() ? ParseTimespan(it->second.Scalar()) : std::nullopt;
        if (!span) {
          Error("bad_timespan", "'window' must look like 30s, 10m, 1h or 1d (at most 10 years)",
                PosOf(it->second));
          ok = false;
        } else {
          t.window_ns = *span;
        }
      } else if (key == "group-by") {
        t.group_by = StringList(it->second, key);
      } else {
        Error("unknown_key", "unknown key '" + key + "' in 'throttle'", PosOf(it->first));
      }
    }
    if (t.max_alerts == 0 || t.window_ns == 0) {
      if (ok) Error("missing_key", "'throttle' needs 'max_alerts' and 'window'", t.pos);
      return std::nullopt;
    }
    return t;
  }

  void FlattenEvent(const YAML::Node& map, const std::string& prefix, JsonMembers& out) {
    for (auto it = map.begin(); it != map.end(); ++it) {
      const std::string key =
          prefix.empty() ? it->first.Scalar() : prefix + "." + it->first.Scalar();
      if (it->second.IsMap()) {
        FlattenEvent(it->second, key, out);
      } else {
        out.emplace_back(key, ToEventValue(it->second));
      }
    }
  }

  std::optional<TestEventSpec> ReadTestEvent(const YAML::Node& n) {
    TestEventSpec ev;
    ev.pos = PosOf(n);
    if (!n.IsMap()) {
      Error("bad_type", "a test event must be a mapping of fields", PosOf(n));
      return std::nullopt;
    }
    if (!n["event"]) {
      FlattenEvent(n, "", ev.members);
      return ev;
    }
    for (auto it = n.begin(); it != n.end(); ++it) {
      const std::string key = it->first.Scalar();
      if (key == "event") {
        if (!it->second.IsMap()) {
          Error("bad_type", "'event' must be a mapping of fields", PosOf(it->second));
          return std::nullopt;
        }
        FlattenEvent(it->second, "", ev.members);
      } else if (key == "repeat") {
        const RuleValue v = TypeScalar(it->second);
        if (v.type != RuleValue::Type::kInt || v.i < 1 || v.i > 100000) {
          Error("bad_value", "'repeat' must be an integer from 1 to 100000", PosOf(it->second));
          return std::nullopt;
        }
        ev.repeat = static_cast<int>(v.i);
      } else if (key == "every") {
        auto span = it->second.IsScalar() ? ParseTimespan(it->second.Scalar()) : std::nullopt;
        if (!span) {
          Error("bad_timespan", "'every' must look like 1s or 2m (at most 10 years)",
                PosOf(it->second));
          return std::nullopt;
        }
        ev.every_ns = *span;
      } else if (key == "increment") {
        ev.increment = StringList(it->second, key);
      } else {
        Error("unknown_key", "unknown key '" + key + "' in a test event", PosOf(it->first));
      }
    }
    return ev;
  }

  void ReadTests(const YAML::Node& n) {
    if (!n.IsSequence()) {
      Error("bad_type", "'tests' must be a list", PosOf(n));
      return;
    }
    for (const auto& t : n) {
      if (!t.IsMap()) {
        Error("bad_type", "a test must be a mapping", PosOf(t));
        continue;
      }
      TestCaseSpec tc;
      tc.pos = PosOf(t);
      bool has_expect = false, has_events = false;
      for (auto it = t.begin(); it != t.end(); ++it) {
        const std::string key = it->first.Scalar();
        if (key == "name") {
          tc.name = it->second.Scalar();
        } else if (key == "expect") {
          const std::string e = it->second.IsScalar() ? it->second.Scalar() : "";
          if (e == "match") {
            tc.expect_match = true;
          } else if (e == "no_match") {
            tc.expect_match = false;
          } else {
            Error("bad_value", "'expect' must be 'match' or 'no_match'", PosOf(it->second));
          }
          has_expect = true;
        } else if (key == "event") {
          if (auto ev = ReadTestEvent(it->second)) tc.events.push_back(std::move(*ev));
          has_events = true;
        } else if (key == "events") {
          if (!it->second.IsSequence()) {
            Error("bad_type", "'events' must be a list", PosOf(it->second));
            continue;
          }
          const YAML::Node events = it->second;  // a copy, see ReadDetection
          for (const auto& e : events) {
            if (auto ev = ReadTestEvent(e)) tc.events.push_back(std::move(*ev));
          }
          has_events = true;
        } else {
          Error("unknown_key", "unknown key '" + key + "' in a test", PosOf(it->first));
        }
      }
      if (!has_expect) Error("missing_key", "a test needs 'expect: match|no_match'", tc.pos);
      if (!has_events) Error("missing_key", "a test needs 'event' or 'events'", tc.pos);
      if (tc.name.empty()) tc.name = "test at line " + std::to_string(tc.pos.line);
      doc_.vigil.tests.push_back(std::move(tc));
    }
  }

  void ReadVigil(const YAML::Node& n) {
    doc_.vigil.pos = PosOf(n);
    if (!n.IsMap()) {
      Error("bad_type", "'vigil' must be a mapping", PosOf(n));
      return;
    }
    for (auto it = n.begin(); it != n.end(); ++it) {
      const std::string key = it->first.Scalar();
      if (key == "mode") {
        doc_.vigil.mode = ScalarString(it->second, key);
      } else if (key == "throttle") {
        doc_.vigil.throttle = ReadThrottle(it->second);
      } else if (key == "group-by") {
        doc_.vigil.group_by = StringList(it->second, key);
      } else if (key == "tests") {
        ReadTests(it->second);
      } else {
        Error("unknown_key", "unknown key '" + key + "' in 'vigil'", PosOf(it->first));
      }
    }
  }

  void ReadCorrelation(const YAML::Node& n) {
    CorrelationSpec c;
    c.pos = PosOf(n);
    if (!n.IsMap()) {
      Error("bad_type", "'correlation' must be a mapping", PosOf(n));
      doc_.broken = true;
      return;
    }
    for (auto it = n.begin(); it != n.end(); ++it) {
      const std::string key = it->first.Scalar();
      const YAML::Node v = it->second;  // a copy, see above
      if (key == "type") {
        if (auto s = ScalarString(v, key)) c.type = *s;
      } else if (key == "rules") {
        c.rules = StringList(v, key);
      } else if (key == "group-by") {
        c.group_by = StringList(v, key);
      } else if (key == "timespan" || key == "timeframe") {
        if (key == "timeframe") {
          Warn("legacy_timeframe", "'timeframe' is the old name of 'timespan'", PosOf(it->first));
        }
        if (auto s = ScalarString(v, key)) c.timespan = *s;
      } else if (key == "generate") {
        const RuleValue g = TypeScalar(v);
        if (g.type != RuleValue::Type::kBool) {
          Error("bad_type", "'generate' must be true or false", PosOf(v));
        } else {
          c.generate = g.b;
        }
      } else if (key == "condition") {
        c.condition_pos = PosOf(v);
        if (v.IsScalar()) {
          Error("extended_condition",
                "string conditions on correlations are a pySigma extension Vigil does not support; "
                "use e.g. {gte: 2}",
                PosOf(v));
          continue;
        }
        if (!v.IsMap()) {
          Error("bad_type", "'condition' must be a mapping such as {gt: 10}", PosOf(v));
          continue;
        }
        for (auto ci = v.begin(); ci != v.end(); ++ci) {
          const std::string op = ci->first.Scalar();
          if (op == "field") {
            c.fields = StringList(ci->second, "field");
            continue;
          }
          static const std::set<std::string> kOps = {"gt", "gte", "lt", "lte", "eq", "neq"};
          if (!kOps.count(op)) {
            Error("unknown_key",
                  "unknown correlation condition '" + op + "' (gt gte lt lte eq neq field)",
                  PosOf(ci->first));
            continue;
          }
          const RuleValue num = TypeScalar(ci->second);
          if (num.type != RuleValue::Type::kInt && num.type != RuleValue::Type::kFloat) {
            Error("bad_type", "'" + op + "' needs a number", PosOf(ci->second));
            continue;
          }
          c.condition.push_back({op, num.d, PosOf(ci->first)});
        }
      } else if (key == "aliases") {
        c.aliases_pos = PosOf(v);
        if (!v.IsMap()) {
          Error("bad_type", "'aliases' must map alias names to {rule: field}", PosOf(v));
          continue;
        }
        for (auto ai = v.begin(); ai != v.end(); ++ai) {
          if (!ai->second.IsMap()) {
            Error("bad_type", "alias '" + ai->first.Scalar() + "' must map rule names to fields",
                  PosOf(ai->second));
            continue;
          }
          auto& per_rule = c.aliases[ai->first.Scalar()];
          const YAML::Node rules = ai->second;  // a copy, see ReadDetection
          for (auto ri = rules.begin(); ri != rules.end(); ++ri) {
            per_rule[ri->first.Scalar()] = Named{ri->second.Scalar(), PosOf(ri->second)};
          }
        }
      } else {
        Error("unknown_key", "unknown key '" + key + "' in 'correlation'", PosOf(it->first));
      }
    }
    if (c.type.text.empty()) Error("missing_key", "correlation needs 'type'", c.pos);
    if (c.rules.empty()) Error("missing_key", "correlation needs 'rules'", c.pos);
    if (c.timespan.text.empty()) Error("missing_key", "correlation needs 'timespan'", c.pos);
    doc_.correlation = std::move(c);
  }

  void ReadFilter(const YAML::Node& n) {
    FilterSpec f;
    f.pos = PosOf(n);
    if (!n.IsMap()) {
      Error("bad_type", "'filter' must be a mapping", PosOf(n));
      doc_.broken = true;
      return;
    }
    const YAML::Node rules = n["rules"];
    if (!rules) {
      Error("missing_key", "filter needs 'rules' (a list of rule ids, or 'any')", f.pos);
    } else if (rules.IsScalar() && rules.Scalar() == "any") {
      f.any_rule = true;
    } else {
      f.rules = StringList(rules, "rules");
      // pySigma treats an empty list like "any".
      if (rules.IsSequence() && rules.size() == 0) f.any_rule = true;
    }
    f.detection = ReadDetection(n, /*filter=*/true);
    if (f.detection.selections.empty())
      Error("missing_key", "filter needs at least one selection", f.pos);
    doc_.filter = std::move(f);
  }

  void ReadOverlay(const YAML::Node& n) {
    OverlaySpec o;
    o.pos = PosOf(n);
    if (!n.IsMap()) {
      Error("bad_type", "'overlay' must be a mapping", PosOf(n));
      doc_.broken = true;
      return;
    }
    for (auto it = n.begin(); it != n.end(); ++it) {
      const std::string key = it->first.Scalar();
      if (key == "rules") {
        o.rules = StringList(it->second, key);
      } else if (key == "mode") {
        o.mode = ScalarString(it->second, key);
      } else if (key == "throttle") {
        o.throttle = ReadThrottle(it->second);
      } else if (key == "level") {
        o.level = ScalarString(it->second, key);
      } else {
        Error("unknown_key",
              "unknown key '" + key + "' in 'overlay' (rules, mode, throttle, level)",
              PosOf(it->first));
      }
    }
    if (o.rules.empty()) Error("missing_key", "overlay needs 'rules'", o.pos);
    doc_.overlay = std::move(o);
  }

  const SourceFile& file_;
  std::vector<Diagnostic>& diags_;
  DocSpec& doc_;
  std::optional<Named> pending_expires_;
};

// yaml-cpp 0.7 loops forever when a document's root is not a block
// collection and a ',' flow-entry token appears outside any flow collection
// (" ,", "[a] ,", "\"a\" ,", "%A\n,": found by fuzzing). Such input is never
// valid YAML for a rule, so it is rejected before yaml-cpp sees it. A ','
// counts as such a token when it cannot belong to a plain scalar: first on
// its line, or right after a quoted scalar, a closing bracket, an indicator
// or a node property. Quoted scalars, comments and block scalars are
// skipped.
//
// A plain scalar runs to the end of its line (past spaces) unless ": " or
// " #" ends it, or a flow indicator inside a flow collection: quotes,
// brackets and commas inside it are text (`description: Detects "whoami",
// a recon tool` and `Detects [MS-RPRN], ...` are valid YAML that yaml-cpp
// reads fine). A line indented deeper than the line a plain scalar at depth
// 0 started on continues that scalar (a multi-line plain scalar).
//
// yaml-cpp 0.7 also loops on an explicit key ("? ") after a root scalar
// with a node property ("&x a\n? "); rules never use explicit keys, so a
// "? " outside flow collections is rejected too.
struct CommaHazard {
  int line = 0;
  int column = 0;
  bool explicit_key = false;
};

std::optional<CommaHazard> FindStrayComma(std::string_view s) {
  enum class Word : uint8_t { kNone, kPlain, kProperty };
  int depth = 0;
  int line = 1;
  size_t line_start = 0;
  char quote = 0;
  // What came before on this line: '\n' nothing, 's' plain scalar text,
  // 'q' a closed quote, 'b' a closing bracket, 'o' an opening one,
  // 'i' an indicator (": ", "- ", "? "), 'p' a node property, ',' a comma.
  char prev = '\n';
  Word word = Word::kNone;
  char property = 0;  // the first character of the node property being read
  // Indentation of this line (-1 before its first non-blank character), of
  // the line the current plain scalar started on, and the indentation a line
  // must exceed to continue the plain scalar that ended the previous line
  // (-1: none did).
  long indent = -1;
  long plain_indent = -1;
  long continue_above = -1;
  auto next_is_blank = [&](size_t i) {
    return i + 1 >= s.size() || s[i + 1] == ' ' || s[i + 1] == '\n' || s[i + 1] == '\r';
  };
  auto skip_comment = [&](size_t& i) {
    const size_t nl = s.find('\n', i);
    if (nl == std::string_view::npos) return false;
    i = nl - 1;  // the loop sees the newline
    return true;
  };
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (quote) {
      if (c == '\n') {
        ++line;
        line_start = i + 1;
        const std::string_view marker = s.substr(i + 1, 3);
        if ((marker == "---" || marker == "...") &&
            (i + 4 >= s.size() || s[i + 4] == ' ' || s[i + 4] == '\t' || s[i + 4] == '\n' ||
             s[i + 4] == '\r')) {
          // yaml-cpp ends an unterminated quoted scalar at a document marker.
          quote = 0;
          prev = '\n';
          word = Word::kNone;
          indent = -1;
          continue_above = -1;
        }
      } else if (quote == '"' && c == '\\') {
        ++i;
      } else if (c == quote) {
        if (quote == '\'' && i + 1 < s.size() && s[i + 1] == '\'') {
          ++i;  // '' inside single quotes
        } else {
          quote = 0;
          prev = 'q';
        }
      }
      continue;
    }
    if (c == '\n') {
      if (indent >= 0) {
        // A line with content: its end decides whether the next continues.
        continue_above = word == Word::kPlain && depth == 0 ? plain_indent : -1;
      }
      ++line;
      line_start = i + 1;
      prev = '\n';
      word = Word::kNone;
      indent = -1;
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\r') {
      if (word == Word::kProperty) {
        prev = 'p';
        word = Word::kNone;
      }
      continue;  // a plain scalar goes on past blanks
    }
    if (indent < 0) {
      indent = static_cast<long>(i - line_start);
      if (c != '#' && continue_above >= 0 && indent > continue_above) {
        word = Word::kPlain;  // a continuation line of a multi-line plain scalar
        prev = 's';
        continue;
      }
      continue_above = -1;
    }
    if (word == Word::kPlain) {
      const bool after_blank = s[i - 1] == ' ' || s[i - 1] == '\t';
      if (c == '#' && after_blank) {
        word = Word::kNone;
        if (!skip_comment(i)) return std::nullopt;
      } else if (c == ':' && next_is_blank(i)) {
        prev = 'i';
        word = Word::kNone;
      } else if (depth > 0 && (c == ',' || c == '[' || c == ']' || c == '{' || c == '}')) {
        // Flow indicators end a plain scalar inside a flow collection.
        word = Word::kNone;
        --i;
      }
      continue;  // ',', quotes and brackets inside a plain scalar are text
    }
    if (word == Word::kProperty) {
      // Anchor, alias and tag names end at flow indicators; a tag also at a
      // double quote ('!t"a"' is the tag !t on the scalar "a").
      if (c == ',' || c == '[' || c == ']' || c == '{' || c == '}' ||
          (c == '"' && property == '!')) {
        prev = 'p';
        word = Word::kNone;
        --i;
      }
      continue;
    }
    // The start of a token.
    if (c == ',') {
      if (depth == 0 && prev != 's') return CommaHazard{line, static_cast<int>(i - line_start) + 1};
      prev = ',';
      continue;
    }
    if (i == line_start && (s.substr(i, 3) == "---" || s.substr(i, 3) == "...") &&
        (i + 3 >= s.size() || s[i + 3] == ' ' || s[i + 3] == '\t' || s[i + 3] == '\n' ||
         s[i + 3] == '\r')) {
      prev = 'i';  // a document marker, not a plain scalar; it ends open flows
      depth = 0;
      i += 2;
      continue;
    }
    if (c == '#' || (c == '%' && i == line_start)) {
      // A comment, or a directive ("%YAML 1.2"): neither is a scalar.
      if (!skip_comment(i)) return std::nullopt;
      continue;
    }
    if (c == '"' || c == '\'') {
      quote = c;
      continue;
    }
    if (c == '[' || c == '{') {
      ++depth;
      prev = 'o';
      continue;
    }
    if (c == ']' || c == '}') {
      if (depth > 0) --depth;
      prev = 'b';
      continue;
    }
    if ((c == ':' || c == '-' || c == '?') && next_is_blank(i)) {
      if (c == '?' && depth == 0) {
        return CommaHazard{line, static_cast<int>(i - line_start) + 1, /*explicit_key=*/true};
      }
      prev = 'i';
      continue;
    }
    if ((c == '|' || c == '>') && depth == 0) {
      // A block scalar: skip its content, the lines indented more than the
      // line that holds the header.
      const size_t line_indent = s.find_first_not_of(' ', line_start) - line_start;
      size_t j = s.find('\n', i);
      while (j != std::string_view::npos) {
        const size_t next = j + 1;
        const size_t k = s.find_first_not_of(' ', next);
        const bool blank = k == std::string_view::npos || s[k] == '\n' || s[k] == '\r';
        if (!blank && k - next <= line_indent) break;
        ++line;
        j = s.find('\n', next);
      }
      if (j == std::string_view::npos) return std::nullopt;
      i = j - 1;  // the loop sees the newline that ends the block
      continue;
    }
    if (c == '&' || c == '!' || c == '*') {
      word = Word::kProperty;
      property = c;
      continue;
    }
    word = Word::kPlain;
    plain_indent = indent;
    prev = 's';
  }
  return std::nullopt;
}

// YAML 1.2 streams are Unicode text of printable characters (section 5.1):
// no C0 control other than tab, LF and CR, no DEL, valid UTF-8. yaml-cpp
// 0.7 does not check, and binary garbage with control bytes is where it
// loops forever (found by fuzzing the loader), so a rule file that is not
// such text is refused before it reaches the parser.
struct BadCharacter {
  int line = 0;
  int column = 0;
  std::string what;
};

std::optional<BadCharacter> FindNonPrintable(std::string_view s) {
  int line = 1;
  size_t line_start = 0;
  char hex[8];
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const int column = static_cast<int>(i - line_start) + 1;
    if (c == '\n') {
      ++line;
      line_start = ++i;
      continue;
    }
    if (c < 0x80) {
      if ((c < 0x20 && c != '\t' && c != '\r') || c == 0x7f) {
        std::snprintf(hex, sizeof hex, "%04X", c);
        return BadCharacter{line, column, std::string("control character U+") + hex};
      }
      ++i;
      continue;
    }
    // One UTF-8 sequence: lead byte, continuation count, smallest value.
    size_t n = 0;
    uint32_t cp = 0, min = 0;
    if ((c & 0xe0) == 0xc0) {
      n = 1, cp = c & 0x1f, min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
      n = 2, cp = c & 0x0f, min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
      n = 3, cp = c & 0x07, min = 0x10000;
    }
    bool ok = n > 0 && i + n < s.size();
    for (size_t k = 1; ok && k <= n; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      ok = (cc & 0xc0) == 0x80;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if (!ok || cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      return BadCharacter{line, column, "bytes that are not UTF-8"};
    }
    i += n + 1;
  }
  return std::nullopt;
}

}  // namespace

std::vector<DocSpec> ReadRuleFile(const SourceFile& file, std::vector<Diagnostic>& diags) {
  std::vector<DocSpec> docs;
  const std::string file_hash = Sha256Hex(file.bytes);
  if (auto bad = FindNonPrintable(file.bytes)) {
    diags.push_back(Diagnostic{Severity::kError,
                               "yaml_syntax",
                               bad->what + ": a rule file must be UTF-8 text (YAML 1.2, 5.1)",
                               SourceLocation{file.path, bad->line, bad->column},
                               {}});
    return docs;
  }
  if (auto hazard = FindStrayComma(file.bytes)) {
    diags.push_back(Diagnostic{
        Severity::kError,
        "yaml_syntax",
        hazard->explicit_key
            ? "explicit mapping keys ('? ') are not supported in rule files"
            : "',' outside a flow collection ([...] or {...}); quote the value if it starts with a "
              "comma",
        SourceLocation{file.path, hazard->line, hazard->column},
        {}});
    return docs;
  }
  std::vector<YAML::Node> roots;
  try {
    // Aliases are refused: every walk of the tree (duplicate keys, the
    // reader, test events, the content hash) would visit an aliased node once
    // per reference, and nested aliases multiply ("billion laughs": a
    // kilobyte expands to billions of nodes). Sigma rules do not use them.
    {
      std::istringstream in(file.bytes);
      YAML::Parser parser(in);
      AliasFinder finder;
      while (!finder.alias && parser.HandleNextDocument(finder)) {
      }
      if (finder.alias) {
        diags.push_back(Diagnostic{
            Severity::kError,
            "yaml_structure",
            "YAML aliases ('*name') are not supported in rule files; write the value out",
            SourceLocation{file.path, finder.alias->line + 1, finder.alias->column + 1},
            {}});
        return docs;
      }
    }
    roots = YAML::LoadAll(file.bytes);
  } catch (const YAML::Exception& e) {
    diags.push_back(Diagnostic{Severity::kError,
                               "yaml_syntax",
                               e.msg,
                               SourceLocation{file.path, e.mark.line + 1, e.mark.column + 1},
                               {}});
    return docs;
  }
  int index = 0;
  for (const auto& root : roots) {
    if (!root.IsDefined() || root.IsNull()) continue;  // an empty document between '---'
    DocSpec doc;
    doc.file = file.path;
    doc.file_hash = file_hash;
    doc.doc_index = index++;
    try {
      DocReader(file, diags, doc).Read(root);
    } catch (const YAML::Exception& e) {
      diags.push_back(Diagnostic{Severity::kError, "yaml_structure", e.msg,
                                 SourceLocation{file.path, e.mark.line + 1, e.mark.column + 1},
                                 doc.Handle()});
      doc.broken = true;
    }
    docs.push_back(std::move(doc));
  }
  if (docs.empty()) {
    diags.push_back(Diagnostic{Severity::kWarning,
                               "empty_file",
                               "file contains no documents",
                               SourceLocation{file.path, 0, 0},
                               {}});
  }
  return docs;
}

}  // namespace vigil::collector::engine
