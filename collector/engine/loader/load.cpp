#include "collector/engine/loader/load.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>

#include "collector/engine/loader/compiler.h"
#include "collector/engine/loader/lists.h"

namespace vigil::collector::engine {

ListSource ParseListArgument(const std::string& arg) {
  const size_t eq = arg.find('=');
  if (eq != std::string::npos && eq > 0) return {arg.substr(0, eq), arg.substr(eq + 1)};
  return {std::filesystem::path(arg).stem().string(), arg};
}

namespace {

namespace fs = std::filesystem;

struct Route {
  std::optional<LogType> log;
  std::string reason;
};

std::string Lower(std::string s) {
  for (char& c : s) c = FoldCase(c);
  return s;
}

Route RouteLogsource(const LogsourceSpec& ls) {
  const std::string category = ls.category ? Lower(ls.category->text) : "";
  const std::string product = ls.product ? Lower(ls.product->text) : "";
  const std::string service = ls.service ? Lower(ls.service->text) : "";
  auto own_log = [](const std::string& s) -> std::optional<LogType> {
    if (s == "conn") return LogType::kConn;
    if (s == "dns") return LogType::kDns;
    if (s == "ssl") return LogType::kSsl;
    if (s == "http") return LogType::kHttp;
    return std::nullopt;
  };
  if (!product.empty() && product != "zeek") {
    return {std::nullopt, "Vigil does not produce '" + product +
                              "' logs (only Zeek-style conn, dns, ssl, http records)"};
  }
  if (product == "zeek") {
    if (service.empty()) {
      return {std::nullopt, "'product: zeek' without 'service' does not name one Vigil log"};
    }
    if (auto log = own_log(service)) return {log, {}};
    return {std::nullopt,
            "Vigil produces no Zeek '" + service + "' log (only conn, dns, ssl, http)"};
  }
  if (!category.empty()) {
    if (category == "dns") return {LogType::kDns, {}};
    if (category == "firewall") return {LogType::kConn, {}};
    if (category == "proxy" || category == "webserver") return {LogType::kHttp, {}};
    if (category == "network") {
      if (service == "connection") return {LogType::kConn, {}};
      if (service == "dns") return {LogType::kDns, {}};
      if (service == "http") return {LogType::kHttp, {}};
      if (service == "tls" || service == "ssl") return {LogType::kSsl, {}};
      return {std::nullopt,
              "'category: network' needs 'service: connection', 'dns', 'http' or 'tls'"};
    }
    return {std::nullopt, "Vigil produces no '" + category +
                              "' events (network sensors see conn, dns, ssl, http)"};
  }
  if (service == "netflow") return {LogType::kConn, {}};
  if (auto log = own_log(service)) return {log, {}};
  if (!service.empty()) return {std::nullopt, "Vigil produces no '" + service + "' log"};
  return {std::nullopt, "logsource names no category, product or service"};
}

bool Contains(const LogsourceSpec& filter, const LogsourceSpec& rule) {
  auto same = [](const std::optional<Named>& f, const std::optional<Named>& r) {
    return !f || (r && Lower(f->text) == Lower(r->text));
  };
  return same(filter.category, rule.category) && same(filter.product, rule.product) &&
         same(filter.service, rule.service);
}

std::optional<Level> ParseLevel(std::string_view s) {
  if (s == "informational") return Level::kInformational;
  if (s == "low") return Level::kLow;
  if (s == "medium") return Level::kMedium;
  if (s == "high") return Level::kHigh;
  if (s == "critical") return Level::kCritical;
  return std::nullopt;
}

std::string FormatTime(int64_t ns) {
  const std::time_t t = static_cast<std::time_t>(ns / 1'000'000'000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

bool ReadFileBytes(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return false;
  out = ss.str();
  return true;
}

bool Skipped(const fs::path& p) {
  for (const auto& part : p) {
    const std::string s = part.string();
    if (s.size() > 1 && s[0] == '.' && s != "..") return true;  // hidden file or directory
  }
  const std::string name = p.filename().string();
  return name.ends_with("~") || name.ends_with(".swp") || name.ends_with(".tmp");
}

class Loader {
 public:
  explicit Loader(const LoadOptions& o) : opt_(o), rs_(std::make_shared<RuleSet>()) {}

  LoadResult Run() {
    now_ns_ = opt_.now_ns != 0 ? opt_.now_ns
                               : std::chrono::duration_cast<std::chrono::nanoseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count();
    GatherFiles();
    LoadLists();
    LoadPsl();
    for (const auto& f : rule_files_) {
      auto docs = ReadRuleFile(f, diags_);
      for (auto& d : docs) {
        if (SkipNonSigma(d)) continue;
        docs_.push_back(std::move(d));
      }
    }
    // A YAML syntax error makes the whole file unusable: that fails the load.
    for (const auto& d : diags_) {
      if (d.severity == Severity::kError &&
          (d.code == "yaml_syntax" || d.code == "yaml_structure")) {
        file_errors_ = true;
      }
    }
    states_.resize(docs_.size());
    IndexDocs();
    ApplyOverlays();
    CompileDetections();
    CompileCorrelations();
    CompileFilters();
    FinishOutputs();
    BuildIndexes();
    return Finish();
  }

 private:
  struct DocState {
    RuleState state = RuleState::kActive;
    std::string reason;
    int index = -1;  // detection or correlation index when active
    bool done = false;
    bool visiting = false;
  };
  struct Override {
    std::optional<bool> shadow;
    std::optional<ThrottleSpec> throttle;
    std::optional<Level> level;
    const DocSpec* overlay = nullptr;
  };

  size_t Errors() const { return CountSeverity(diags_, Severity::kError); }

  void FileError(std::string code, std::string message, std::string file, int line = 0) {
    diags_.push_back(Diagnostic{Severity::kError,
                                std::move(code),
                                std::move(message),
                                SourceLocation{std::move(file), line, 0},
                                {}});
    file_errors_ = true;
  }

  void Report(const DocSpec& doc, Severity sev, std::string code, std::string message, Pos pos) {
    diags_.push_back(Diagnostic{sev, std::move(code), std::move(message),
                                SourceLocation{doc.file, pos.line, pos.column}, doc.Handle()});
  }

  std::string FirstError(const DocSpec& doc, size_t from = 0) const {
    for (size_t i = from; i < diags_.size(); ++i) {
      const auto& d = diags_[i];
      if (d.severity == Severity::kError && d.where.file == doc.file && d.rule_id == doc.Handle()) {
        return d.message + " [" + d.code + "]";
      }
    }
    return "document has errors";
  }

  // A YAML document with no title and none of detection, correlation, filter
  // or overlay is not a Sigma document at all (SigmaHQ's regression_data
  // info.yml, a tool's config kept next to rules): it is skipped with a note
  // instead of failing the load. A titled document without a detection stays
  // an error: that is a broken rule.
  bool SkipNonSigma(const DocSpec& d) {
    if (!d.broken || d.title || d.reader_errors != 1) return false;
    Diagnostic* unknown = nullptr;
    for (auto& diag : diags_) {
      if (diag.severity == Severity::kError && diag.where.file == d.file &&
          diag.rule_id == d.Handle()) {
        if (diag.code != "unknown_document") return false;
        unknown = &diag;
      }
    }
    if (!unknown) return false;
    unknown->severity = Severity::kNote;
    unknown->code = "not_a_rule";
    unknown->message =
        "skipped: not a Sigma document (no title and none of 'detection', 'correlation', "
        "'filter' or 'overlay')";
    return true;
  }

  void AddFile(const std::string& path, std::string bytes, FileInfo::Kind kind) {
    rs_->files.push_back(FileInfo{path, Sha256Hex(bytes), bytes.size(), kind});
    all_bytes_.emplace_back(path, bytes);
    if (kind == FileInfo::Kind::kRules) rule_files_.push_back(SourceFile{path, std::move(bytes)});
  }

  void GatherFiles() {
    for (const auto& p : opt_.paths) {
      std::error_code ec;
      const auto status = fs::status(p, ec);
      if (ec || !fs::exists(status)) {
        FileError("path_not_found", "no such file or directory: " + p, p);
        continue;
      }
      std::vector<std::string> found;
      if (fs::is_directory(status)) {
        for (auto it = fs::recursive_directory_iterator(
                 p, fs::directory_options::skip_permission_denied, ec);
             !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
          const fs::path rel = fs::relative(it->path(), p, ec);
          if (Skipped(rel)) {
            if (it->is_directory()) it.disable_recursion_pending();
            continue;
          }
          if (!it->is_regular_file()) continue;
          const std::string ext = it->path().extension().string();
          if (ext == ".yml" || ext == ".yaml") found.push_back(it->path().string());
        }
        if (ec) FileError("read_failed", "cannot list " + p + ": " + ec.message(), p);
      } else {
        found.push_back(p);
      }
      std::sort(found.begin(), found.end());
      for (const auto& f : found) {
        std::string bytes;
        if (!ReadFileBytes(f, bytes)) {
          FileError("read_failed", "cannot read " + f, f);
          continue;
        }
        AddFile(f, std::move(bytes), FileInfo::Kind::kRules);
      }
    }
    for (const auto& s : opt_.sources) AddFile(s.path, s.bytes, FileInfo::Kind::kRules);
  }

  void LoadLists() {
    std::set<std::string> names;
    for (const auto& l : opt_.lists) {
      if (!names.insert(l.name).second) {
        FileError("list_duplicate", "list '" + l.name + "' is configured twice", l.path);
        continue;
      }
      std::string bytes;
      if (!ReadFileBytes(l.path, bytes)) {
        FileError("list_load_failed",
                  "cannot read list '" + l.name + "' from " + l.path +
                      " (the load fails rather than let a rule match everything or nothing)",
                  l.path);
        continue;
      }
      lists_.Add(ParseValueList(l.name, l.path, bytes));
      AddFile(l.path, std::move(bytes), FileInfo::Kind::kList);
    }
  }

  void LoadPsl() {
    if (opt_.public_suffix_file.empty()) {
      rs_->psl = std::shared_ptr<const PublicSuffixList>(&PublicSuffixList::BuiltIn(),
                                                         [](const PublicSuffixList*) {});
      return;
    }
    std::string bytes;
    if (!ReadFileBytes(opt_.public_suffix_file, bytes)) {
      diags_.push_back(Diagnostic{
          Severity::kWarning,
          "public_suffix_fallback",
          "cannot read the public suffix list " + opt_.public_suffix_file +
              "; registered_domain uses a small built-in list (install Debian's publicsuffix)",
          SourceLocation{opt_.public_suffix_file, 0, 0},
          {}});
      rs_->psl = std::shared_ptr<const PublicSuffixList>(&PublicSuffixList::BuiltIn(),
                                                         [](const PublicSuffixList*) {});
      return;
    }
    rs_->psl = std::make_shared<const PublicSuffixList>(PublicSuffixList::Parse(bytes));
  }

  void IndexDocs() {
    for (size_t i = 0; i < docs_.size(); ++i) {
      const DocSpec& d = docs_[i];
      for (const auto* key : {&d.id, &d.name}) {
        if (!*key || (*key)->text.empty()) continue;
        auto [it, inserted] = by_handle_.emplace((*key)->text, i);
        if (!inserted && it->second != i) {
          const DocSpec& other = docs_[it->second];
          Report(d, Severity::kError, key == &d.id ? "duplicate_id" : "duplicate_name",
                 std::string(key == &d.id ? "id" : "name") + " '" + (*key)->text +
                     "' is also used at " + other.file + ":" + std::to_string(other.pos.line),
                 (*key)->pos);
          states_[i].state = RuleState::kRejected;
          states_[i].reason = "duplicate " + std::string(key == &d.id ? "id" : "name");
        }
      }
    }
  }

  std::optional<size_t> Lookup(const std::string& ref) const {
    auto it = by_handle_.find(ref);
    if (it == by_handle_.end()) return std::nullopt;
    return it->second;
  }

  void ApplyOverlays() {
    for (size_t i = 0; i < docs_.size(); ++i) {
      const DocSpec& d = docs_[i];
      if (d.kind != DocKind::kOverlay || !d.overlay) continue;
      ++rs_->counts.overlays;
      if (d.reader_errors > 0) {
        states_[i].state = RuleState::kRejected;
        states_[i].reason = FirstError(d);
        continue;
      }
      const OverlaySpec& o = *d.overlay;
      std::optional<bool> shadow;
      if (o.mode) {
        if (o.mode->text == "shadow")
          shadow = true;
        else if (o.mode->text == "enforce")
          shadow = false;
        else {
          Report(d, Severity::kError, "bad_value", "'mode' must be 'shadow' or 'enforce'",
                 o.mode->pos);
          states_[i].state = RuleState::kRejected;
          states_[i].reason = "bad mode";
          continue;
        }
      }
      std::optional<Level> level;
      if (o.level) {
        level = ParseLevel(o.level->text);
        if (!level) {
          Report(d, Severity::kError, "bad_value", "unknown level '" + o.level->text + "'",
                 o.level->pos);
          states_[i].state = RuleState::kRejected;
          states_[i].reason = "bad level";
          continue;
        }
      }
      for (const auto& ref : o.rules) {
        auto target = Lookup(ref.text);
        if (!target) {
          Report(d, Severity::kWarning, "overlay_unknown_rule",
                 "overlay names rule '" + ref.text + "', which is not loaded", ref.pos);
          continue;
        }
        Override& ov = overrides_[*target];
        if (ov.overlay) {
          Report(d, Severity::kWarning, "overlay_conflict",
                 "rule '" + ref.text + "' is also changed by the overlay at " + ov.overlay->file +
                     ":" + std::to_string(ov.overlay->pos.line) + "; later settings win",
                 ref.pos);
        }
        ov.overlay = &d;
        if (shadow) ov.shadow = shadow;
        if (o.throttle) ov.throttle = o.throttle;
        if (level) ov.level = level;
      }
    }
  }

  RuleMeta Meta(const DocSpec& d, Level level) const {
    RuleMeta m;
    m.id = d.Handle();
    m.name = d.name ? d.name->text : "";
    m.title = d.title ? d.title->text : m.id;
    m.level = level;
    m.author = d.author;
    m.tags = d.tags;
    m.description = d.description;
    m.falsepositives = d.falsepositives;
    m.status = d.status ? d.status->text : "";
    m.file = d.file;
    m.file_hash = d.file_hash;
    m.line = d.pos.line;
    m.content_hash = d.content_hash;
    return m;
  }

  // Level, mode and throttle checks shared by detections and correlations.
  // Returns false when the rule has errors.
  bool CommonSettings(size_t index, Level& level, bool& shadow,
                      std::optional<ThrottleSpec>& throttle) {
    const DocSpec& d = docs_[index];
    bool ok = true;
    level = Level::kMedium;
    if (d.level) {
      if (auto l = ParseLevel(d.level->text)) {
        level = *l;
      } else {
        Report(d, Severity::kError, "bad_level",
               "unknown level '" + d.level->text + "' (informational, low, medium, high, critical)",
               d.level->pos);
        ok = false;
      }
    }
    if (d.status) {
      static const std::set<std::string> kStatus = {"stable", "test", "experimental", "deprecated",
                                                    "unsupported"};
      if (!kStatus.count(d.status->text)) {
        Report(d, Severity::kWarning, "unknown_status", "unknown status '" + d.status->text + "'",
               d.status->pos);
      }
    }
    shadow = false;
    if (d.vigil.mode) {
      if (d.vigil.mode->text == "shadow") {
        shadow = true;
      } else if (d.vigil.mode->text != "enforce") {
        Report(d, Severity::kError, "bad_value", "'vigil.mode' must be 'shadow' or 'enforce'",
               d.vigil.mode->pos);
        ok = false;
      }
    }
    throttle = d.vigil.throttle;
    if (auto it = overrides_.find(index); it != overrides_.end()) {
      if (it->second.shadow) shadow = *it->second.shadow;
      if (it->second.throttle) throttle = it->second.throttle;
      if (it->second.level) level = *it->second.level;
    }
    return ok;
  }

  bool InactiveByStatus(const DocSpec& d) const {
    return !opt_.include_deprecated && d.status &&
           (d.status->text == "deprecated" || d.status->text == "unsupported");
  }

  void CompileDetections() {
    for (size_t i = 0; i < docs_.size(); ++i) {
      const DocSpec& d = docs_[i];
      if (d.kind != DocKind::kDetection) continue;
      DocState& st = states_[i];
      st.done = true;
      if (st.state == RuleState::kRejected) continue;
      if (d.reader_errors > 0 && InactiveByStatus(d)) {
        // A retired rule (deprecated/unsupported) is not loaded anyway: its
        // problems are notes that explain why, not errors that fail the load.
        std::string first;
        for (auto& diag : diags_) {
          if (diag.severity == Severity::kError && diag.where.file == d.file &&
              diag.rule_id == d.Handle()) {
            if (first.empty()) first = diag.message + " [" + diag.code + "]";
            diag.severity = Severity::kNote;
          }
        }
        st.state = RuleState::kInactive;
        st.reason = "status '" + d.status->text + "'" + (first.empty() ? "" : ": " + first);
        continue;
      }
      if (d.broken || !d.logsource || !d.detection) {
        st.state = RuleState::kRejected;
        st.reason = FirstError(d);
        if (st.reason == "document has errors" && !d.logsource) st.reason = "missing logsource";
        continue;
      }
      // With reader errors the rule is rejected, but it is still compiled so
      // that every error of the file is reported at once.
      const Route route = RouteLogsource(*d.logsource);
      const bool by_status = InactiveByStatus(d);
      std::vector<Diagnostic> local;
      CompileContext ctx{d, route.log, lists_, local};
      auto compiled = CompileDetection(*d.detection, ctx);
      Level level;
      bool shadow;
      std::optional<ThrottleSpec> throttle_spec;
      const bool settings_ok = CommonSettings(i, level, shadow, throttle_spec);
      bool ok = settings_ok;
      // Throttle and group-by fields must exist in the rule's log.
      std::optional<Throttle> throttle;
      std::vector<FieldRef> group_key;
      std::vector<std::string> group_names;
      if (route.log) {
        if (throttle_spec) {
          throttle = Throttle{throttle_spec->max_alerts, throttle_spec->window_ns, {}, {}};
          for (const auto& g : throttle_spec->group_by) {
            if (auto ref = ResolveField(g.text, g.pos, ctx)) {
              throttle->group_by.push_back(*ref);
              throttle->group_names.push_back(g.text);
            }
          }
        }
        std::vector<Named> key_fields = d.vigil.group_by;
        if (key_fields.empty() && throttle_spec) key_fields = throttle_spec->group_by;
        if (key_fields.empty()) key_fields.push_back({"id.orig_h", d.pos});
        for (const auto& g : key_fields) {
          if (auto ref = ResolveField(g.text, g.pos, ctx)) {
            group_key.push_back(*ref);
            group_names.push_back(FieldCatalog::Instance().Resolve(*route.log, g.text).event_name);
          }
        }
        if (compiled) CheckContradictions(compiled->program, *route.log, ctx, d.detection->pos);
      }
      ok = ok && !ctx.errors && compiled.has_value() && d.reader_errors == 0;
      // A rule with no route (another product or service) is never
      // evaluated: a placeholder for another tool's list or a regex RE2 cannot
      // run does not make it wrong, so those are notes on the inactive rule.
      // Every other error still rejects it.
      std::string inactive_note;
      if (!route.log && !by_status && !ok) {
        bool other_errors = false;
        for (auto& diag : local) {
          if (diag.severity != Severity::kError) continue;
          if (diag.code == "unknown_placeholder" || diag.code == "bad_regex") {
            diag.severity = Severity::kNote;
            if (inactive_note.empty()) inactive_note = diag.message + " [" + diag.code + "]";
          } else {
            other_errors = true;
          }
        }
        if (!inactive_note.empty() && !other_errors && settings_ok && d.reader_errors == 0) {
          ok = true;
        }
      }
      if (by_status) {
        std::string first;
        for (auto& diag : local) {
          if (diag.severity == Severity::kError) {
            if (first.empty()) first = diag.message + " [" + diag.code + "]";
            diag.severity = Severity::kNote;
          }
          diags_.push_back(std::move(diag));
        }
        st.state = RuleState::kInactive;
        st.reason = "status '" + d.status->text + "'" + (first.empty() ? "" : ": " + first);
        continue;
      }
      for (auto& diag : local) diags_.push_back(std::move(diag));
      if (!ok) {
        st.state = RuleState::kRejected;
        st.reason = FirstError(d, 0);
        continue;
      }
      if (!route.log) {
        st.state = RuleState::kInactive;
        st.reason = route.reason + (inactive_note.empty() ? "" : "; " + inactive_note);
        continue;
      }
      if (!ctx.unavailable.empty()) {
        std::string fields;
        for (const auto& f : ctx.unavailable) fields += (fields.empty() ? "'" : ", '") + f + "'";
        st.state = RuleState::kInactive;
        st.reason = "uses " + fields + ", which Vigil's " + std::string(LogTypeName(*route.log)) +
                    " records do not have";
        continue;
      }
      DetectionRule rule;
      rule.meta = Meta(d, level);
      rule.log = *route.log;
      rule.program = std::move(compiled->program);
      rule.condition_text = std::move(compiled->condition_text);
      rule.shadow = shadow;
      rule.throttle = std::move(throttle);
      rule.group_key = std::move(group_key);
      rule.group_key_names = std::move(group_names);
      st.index = static_cast<int>(rs_->detections.size());
      rs_->detections.push_back(std::move(rule));
      if (!d.vigil.tests.empty()) {
        rs_->tests.push_back(
            RuleTests{d.Handle(), false, static_cast<uint32_t>(st.index), d.file, d.vigil.tests});
      }
    }
  }

  // Resolves a correlation (and, first, the correlations it references).
  void ResolveCorrelation(size_t i) {
    DocState& st = states_[i];
    if (st.done) return;
    const DocSpec& d = docs_[i];
    if (st.visiting) {
      Report(d, Severity::kError, "correlation_cycle",
             "correlation references itself through its rules",
             d.correlation ? d.correlation->pos : d.pos);
      st.state = RuleState::kRejected;
      st.reason = "reference cycle";
      st.done = true;
      return;
    }
    st.visiting = true;
    Finalize(i);
    st.visiting = false;
    st.done = true;
  }

  void Finalize(size_t i) {
    DocState& st = states_[i];
    const DocSpec& d = docs_[i];
    if (st.state == RuleState::kRejected) return;
    auto reject = [&](std::string reason) {
      st.state = RuleState::kRejected;
      st.reason = std::move(reason);
    };
    if (d.reader_errors > 0 || d.broken || !d.correlation) {
      reject(FirstError(d));
      return;
    }
    const CorrelationSpec& c = *d.correlation;
    const size_t before = diags_.size();
    auto error = [&](std::string code, std::string message, Pos pos) {
      Report(d, Severity::kError, std::move(code), std::move(message), pos);
    };
    CorrelationRule rule;
    static const std::map<std::string, CorrelationType> kTypes = {
        {"event_count", CorrelationType::kEventCount},
        {"value_count", CorrelationType::kValueCount},
        {"temporal", CorrelationType::kTemporal},
        {"temporal_ordered", CorrelationType::kTemporalOrdered},
        {"value_sum", CorrelationType::kValueSum},
        {"value_avg", CorrelationType::kValueAvg}};
    if (auto it = kTypes.find(c.type.text); it != kTypes.end()) {
      rule.type = it->second;
    } else if (c.type.text == "value_percentile" || c.type.text == "value_median") {
      error("unsupported_correlation",
            "correlation type '" + c.type.text +
                "' is not supported (its semantics are under-specified)",
            c.type.pos);
    } else {
      error("bad_correlation_type",
            "unknown correlation type '" + c.type.text +
                "' (event_count, value_count, temporal, temporal_ordered, value_sum, value_avg)",
            c.type.pos);
    }
    if (auto span = ParseTimespan(c.timespan.text)) {
      rule.timespan_ns = *span;
    } else if (!c.timespan.text.empty()) {
      error(
          "bad_timespan",
          "timespan '" + c.timespan.text + "' must look like 30s, 5m, 1h or 1d (at most 10 years)",
          c.timespan.pos);
    }
    // Condition.
    static const std::map<std::string, CorrelationCondition::Op> kOps = {
        {"gt", CorrelationCondition::Op::kGt}, {"gte", CorrelationCondition::Op::kGte},
        {"lt", CorrelationCondition::Op::kLt}, {"lte", CorrelationCondition::Op::kLte},
        {"eq", CorrelationCondition::Op::kEq}, {"neq", CorrelationCondition::Op::kNeq}};
    for (const auto& op : c.condition) rule.condition.terms.push_back({kOps.at(op.op), op.value});
    const bool temporal =
        rule.type == CorrelationType::kTemporal || rule.type == CorrelationType::kTemporalOrdered;
    if (rule.condition.terms.empty()) {
      if (temporal) {
        rule.condition.terms.push_back(
            {CorrelationCondition::Op::kGte, static_cast<double>(c.rules.size())});
      } else {
        error("missing_key", "correlation needs a 'condition' such as {gte: 10}",
              c.condition_pos.line ? c.condition_pos : c.pos);
      }
    }
    if (rule.condition.terms.size() > 1) {
      Report(d, Severity::kWarning, "range_condition",
             "a range condition (several operators) is valid Sigma but pySigma rejects it",
             c.condition_pos);
    }
    const bool needs_field = rule.type == CorrelationType::kValueCount ||
                             rule.type == CorrelationType::kValueSum ||
                             rule.type == CorrelationType::kValueAvg;
    if (needs_field && c.fields.empty()) {
      error("missing_key", std::string(CorrelationTypeName(rule.type)) + " needs 'condition.field'",
            c.condition_pos.line ? c.condition_pos : c.pos);
    }
    if (!needs_field && !c.fields.empty()) {
      error("unexpected_key", std::string(CorrelationTypeName(rule.type)) + " takes no 'field'",
            c.fields[0].pos);
    }
    if ((rule.type == CorrelationType::kValueSum || rule.type == CorrelationType::kValueAvg) &&
        c.fields.size() > 1) {
      error("bad_value", "value_sum and value_avg take one field", c.fields[1].pos);
    }
    for (const auto& f : c.fields) rule.value_fields.push_back(f.text);
    for (const auto& g : c.group_by) rule.group_by.push_back(g.text);
    for (const auto& [alias, per_rule] : c.aliases) {
      if (std::find(rule.group_by.begin(), rule.group_by.end(), alias) == rule.group_by.end()) {
        Report(d, Severity::kWarning, "unused_alias", "alias '" + alias + "' is not in group-by",
               c.aliases_pos);
      }
    }
    rule.generate = c.generate;
    Level level;
    std::optional<ThrottleSpec> throttle_spec;
    CommonSettings(i, level, rule.shadow, throttle_spec);
    if (throttle_spec) {
      rule.throttle = Throttle{throttle_spec->max_alerts, throttle_spec->window_ns, {}, {}};
      if (!throttle_spec->group_by.empty()) {
        Report(d, Severity::kWarning, "ignored_key",
               "throttle group-by is ignored on correlations: they throttle per correlation group",
               throttle_spec->pos);
      }
    }
    rule.meta = Meta(d, level);
    // Sources.
    std::string inactive_reason;
    bool source_rejected = false;
    for (const auto& ref : c.rules) {
      auto target = Lookup(ref.text);
      if (!target) {
        error("unresolved_reference",
              "correlation references '" + ref.text + "', which is not loaded", ref.pos);
        continue;
      }
      const DocSpec& t = docs_[*target];
      if (t.kind == DocKind::kCorrelation) {
        ResolveCorrelation(*target);
      } else if (t.kind != DocKind::kDetection) {
        error("bad_reference",
              "'" + ref.text + "' is a " + std::string(DocKindName(t.kind)) + ", not a rule",
              ref.pos);
        continue;
      }
      const DocState& ts = states_[*target];
      if (ts.state == RuleState::kRejected) {
        source_rejected = true;
        if (inactive_reason.empty())
          inactive_reason = "references rejected rule '" + ref.text + "'";
        continue;
      }
      if (ts.state == RuleState::kInactive) {
        if (inactive_reason.empty()) {
          inactive_reason = "references inactive rule '" + ref.text + "' (" + ts.reason + ")";
        }
        continue;
      }
      CorrelationSource src;
      src.is_correlation = t.kind == DocKind::kCorrelation;
      src.index = static_cast<uint32_t>(ts.index);
      auto field_for = [&](const std::string& group_name) {
        if (auto a = c.aliases.find(group_name); a != c.aliases.end()) {
          for (const auto* key :
               {&ref.text, t.id ? &t.id->text : nullptr, t.name ? &t.name->text : nullptr}) {
            if (!key) continue;
            if (auto f = a->second.find(*key); f != a->second.end()) return f->second;
          }
        }
        return Named{group_name, ref.pos};
      };
      if (src.is_correlation) {
        const CorrelationRule& child = rs_->correlations[src.index];
        for (const auto& g : rule.group_by) {
          const Named f = field_for(g);
          if (std::find(child.group_by.begin(), child.group_by.end(), f.text) ==
              child.group_by.end()) {
            error("group_by_mismatch",
                  "group-by '" + f.text + "' is not among the group-by fields of correlation '" +
                      ref.text + "'",
                  f.pos);
          }
          src.group_source_names.push_back(f.text);
        }
        if (needs_field) {
          error("unsupported_chain",
                std::string(CorrelationTypeName(rule.type)) +
                    " over another correlation has no field values to use",
                ref.pos);
        }
      } else {
        const DetectionRule& det = rs_->detections[src.index];
        std::vector<Diagnostic> local;
        CompileContext ctx{t, det.log, lists_, local};
        for (const auto& g : rule.group_by) {
          const Named f = field_for(g);
          auto r = ResolveField(f.text, f.pos, ctx);
          src.group_refs.push_back(r.value_or(FieldRef{}));
        }
        for (const auto& f : c.fields) {
          auto r = ResolveField(f.text, f.pos, ctx);
          src.value_refs.push_back(r.value_or(FieldRef{}));
        }
        if (!ctx.unavailable.empty()) {
          ctx.Report(Severity::kError, "unknown_field",
                     "correlation field '" + ctx.unavailable[0] + "' is not produced by Vigil",
                     ref.pos);
        }
        // Errors about the correlation's own fields belong to the correlation.
        for (auto& diag : local) {
          diag.rule_id = d.Handle();
          diag.where.file = d.file;
          diags_.push_back(std::move(diag));
        }
      }
      rule.sources.push_back(std::move(src));
    }
    bool has_errors = false;
    for (size_t k = before; k < diags_.size(); ++k) {
      if (diags_[k].severity == Severity::kError) has_errors = true;
    }
    if (has_errors) {
      reject(FirstError(d, before));
      return;
    }
    if (source_rejected) {
      reject(inactive_reason);
      return;
    }
    if (!inactive_reason.empty()) {
      st.state = RuleState::kInactive;
      st.reason = inactive_reason;
      return;
    }
    st.index = static_cast<int>(rs_->correlations.size());
    for (const auto& src : rule.sources) {
      if (src.is_correlation)
        rs_->correlations[src.index].feeds.push_back(static_cast<uint32_t>(st.index));
      else
        rs_->detections[src.index].feeds.push_back(static_cast<uint32_t>(st.index));
    }
    if (!d.vigil.tests.empty()) {
      rs_->tests.push_back(
          RuleTests{d.Handle(), true, static_cast<uint32_t>(st.index), d.file, d.vigil.tests});
    }
    rs_->correlations.push_back(std::move(rule));
  }

  void CompileCorrelations() {
    for (size_t i = 0; i < docs_.size(); ++i) {
      if (docs_[i].kind == DocKind::kCorrelation) ResolveCorrelation(i);
    }
  }

  void CompileFilters() {
    for (size_t i = 0; i < docs_.size(); ++i) {
      const DocSpec& d = docs_[i];
      if (d.kind != DocKind::kFilter) continue;
      DocState& st = states_[i];
      st.done = true;
      ++rs_->counts.filters;
      if (st.state == RuleState::kRejected) continue;
      if (d.reader_errors > 0 || d.broken || !d.filter || !d.logsource) {
        st.state = RuleState::kRejected;
        st.reason = FirstError(d);
        continue;
      }
      const FilterSpec& f = *d.filter;
      const size_t before = diags_.size();
      FilterRule filter;
      filter.meta = Meta(d, Level::kInformational);
      filter.any_rule = f.any_rule;
      for (const auto& r : f.rules) filter.rule_refs.push_back(r.text);
      if (f.expires) {
        filter.expires_ns = ParseExpiry(f.expires->text);
        if (!filter.expires_ns) {
          Report(d, Severity::kError, "bad_expiry",
                 "'expires' must be a date (2025-12-31) or a UTC time (2025-12-31T18:00:00Z)",
                 f.expires->pos);
        }
      }
      // Syntax and the `not` check, independent of any target.
      {
        std::vector<Diagnostic> local;
        CompileContext ctx{d, std::nullopt, lists_, local};
        auto syntax = CompileDetection(f.detection, ctx);
        for (auto& diag : local) diags_.push_back(std::move(diag));
        if (syntax) {
          filter.has_not = syntax->has_not;
          if (!syntax->has_not) {
            Report(d, Severity::kWarning, "filter_without_not",
                   "the filter's condition has no 'not': it is AND'ed to the rule, so it restricts "
                   "the "
                   "rule to these events instead of excluding them",
                   f.detection.conditions.empty() ? f.pos : f.detection.conditions[0].pos);
          }
        }
      }
      bool has_errors = false;
      for (size_t k = before; k < diags_.size(); ++k)
        has_errors |= diags_[k].severity == Severity::kError;
      if (has_errors) {
        st.state = RuleState::kRejected;
        st.reason = FirstError(d, before);
        continue;
      }
      if (filter.expires_ns && *filter.expires_ns <= now_ns_) {
        Report(d, Severity::kWarning, "filter_expired",
               "filter expired at " + FormatTime(*filter.expires_ns) + " and no longer applies",
               f.expires->pos);
        st.state = RuleState::kInactive;
        st.reason = "expired at " + FormatTime(*filter.expires_ns);
        continue;
      }
      // Targets.
      std::vector<size_t> targets;
      if (f.any_rule) {
        for (size_t t = 0; t < docs_.size(); ++t) {
          if (docs_[t].kind == DocKind::kDetection && docs_[t].logsource &&
              Contains(*d.logsource, *docs_[t].logsource)) {
            targets.push_back(t);
          }
        }
      } else {
        for (const auto& ref : f.rules) {
          auto t = Lookup(ref.text);
          if (!t) {
            Report(d, Severity::kWarning, "filter_unknown_rule",
                   "filter names rule '" + ref.text + "', which is not loaded", ref.pos);
            continue;
          }
          if (docs_[*t].kind != DocKind::kDetection) {
            Report(d, Severity::kError, "bad_reference",
                   "filters apply to detection rules; '" + ref.text + "' is a " +
                       std::string(DocKindName(docs_[*t].kind)),
                   ref.pos);
            continue;
          }
          if (!docs_[*t].logsource || !Contains(*d.logsource, *docs_[*t].logsource)) {
            Report(d, Severity::kWarning, "filter_logsource_mismatch",
                   "filter's logsource does not contain the logsource of rule '" + ref.text +
                       "', so it does not apply to it",
                   ref.pos);
            continue;
          }
          targets.push_back(*t);
        }
      }
      const auto filter_index = static_cast<uint32_t>(rs_->filters.size());
      // Per-target diagnostics repeat the log-independent ones of the syntax
      // pass above: each is reported once.
      auto report_once = [&](Diagnostic diag) {
        for (size_t k = before; k < diags_.size(); ++k) {
          const Diagnostic& o = diags_[k];
          if (o.severity == diag.severity && o.code == diag.code && o.message == diag.message &&
              o.where.file == diag.where.file && o.where.line == diag.where.line &&
              o.where.column == diag.where.column) {
            return;
          }
        }
        diags_.push_back(std::move(diag));
      };
      // `rules: any`: per log, the unknown fields; a field unknown in every
      // log the filter was compiled for is reported (a misspelt field would
      // otherwise make the filter silently apply nowhere).
      std::set<LogType> any_logs;
      std::map<std::pair<int, int>, std::pair<size_t, Diagnostic>> any_unknown;
      auto note_unknown = [&](LogType log, const std::vector<Diagnostic>& local) {
        if (!any_logs.insert(log).second) return;
        for (const auto& diag : local) {
          if (diag.severity != Severity::kError || diag.code != "unknown_field") continue;
          auto [it, inserted] =
              any_unknown.try_emplace({diag.where.line, diag.where.column}, 0, diag);
          ++it->second.first;
        }
      };
      for (size_t t : targets) {
        const DocState& ts = states_[t];
        if (ts.state != RuleState::kActive || ts.index < 0) continue;
        DetectionRule& rule = rs_->detections[static_cast<size_t>(ts.index)];
        std::vector<Diagnostic> local;
        CompileContext ctx{d, rule.log, lists_, local};
        auto compiled = CompileDetection(f.detection, ctx);
        // Warnings (an unused selection, null in a list...) do not stop a
        // filter: an exclusion dropped for a warning lets the rule alert on
        // what the filter was written to exclude.
        bool usable = compiled && !ctx.errors && ctx.unavailable.empty();
        if (!f.any_rule) {
          for (auto& diag : local) report_once(std::move(diag));
          if (!ctx.unavailable.empty()) {
            Report(d, Severity::kError, "unknown_field",
                   "filter uses '" + ctx.unavailable[0] + "', which " +
                       std::string(LogTypeName(rule.log)) + " records do not have",
                   f.pos);
          }
        } else {
          note_unknown(rule.log, local);
          // `rules: any` filters skip logs their fields do not fit.
          usable = usable && std::none_of(local.begin(), local.end(), [](const Diagnostic& x) {
                     return x.code == "field_of_other_logsource";
                   });
        }
        if (!usable) continue;
        rule.filters.push_back(AppliedFilter{filter_index, std::move(compiled->program)});
        filter.applied_to.push_back(rule.meta.id);
      }
      if (f.any_rule) {
        if (any_logs.empty()) {
          // No loaded rule to apply to: check against the filter's own log.
          if (const Route route = RouteLogsource(*d.logsource); route.log) {
            std::vector<Diagnostic> local;
            CompileContext ctx{d, route.log, lists_, local};
            (void)CompileDetection(f.detection, ctx);
            note_unknown(*route.log, local);
          }
        }
        for (auto& [where, entry] : any_unknown) {
          if (entry.first == any_logs.size()) report_once(std::move(entry.second));
        }
      }
      has_errors = false;
      for (size_t k = before; k < diags_.size(); ++k)
        has_errors |= diags_[k].severity == Severity::kError;
      if (has_errors) {
        // Undo partial application: a broken filter applies nowhere.
        for (auto& rule : rs_->detections) {
          std::erase_if(rule.filters,
                        [&](const AppliedFilter& af) { return af.filter == filter_index; });
        }
        st.state = RuleState::kRejected;
        st.reason = FirstError(d, before);
        continue;
      }
      if (filter.applied_to.empty()) {
        Report(d, Severity::kWarning, "filter_applies_nowhere",
               "the filter applies to no loaded rule", f.pos);
      }
      st.index = static_cast<int>(filter_index);
      rs_->filters.push_back(std::move(filter));
    }
  }

  void FinishOutputs() {
    // A rule alerts unless every correlation that uses it says generate: false.
    for (auto& det : rs_->detections) {
      if (det.feeds.empty()) continue;
      det.output = std::any_of(det.feeds.begin(), det.feeds.end(),
                               [&](uint32_t c) { return rs_->correlations[c].generate; });
    }
    for (auto& cor : rs_->correlations) {
      if (cor.feeds.empty()) continue;
      cor.output = std::any_of(cor.feeds.begin(), cor.feeds.end(),
                               [&](uint32_t c) { return rs_->correlations[c].generate; });
    }
  }

  void BuildIndexes() {
    for (uint32_t r = 0; r < rs_->detections.size(); ++r) {
      DetectionRule& rule = rs_->detections[r];
      rule.anchor = ComputeAnchor(rule.program, rule.log);
      rs_->index[static_cast<size_t>(rule.log)].rules.push_back(r);
    }
    for (auto& idx : rs_->index) {
      idx.always.assign((idx.rules.size() + 63) / 64, 0);
      for (uint32_t local = 0; local < idx.rules.size(); ++local) {
        const DetectionRule& rule = rs_->detections[idx.rules[local]];
        if (!rule.anchor) {
          idx.always[local / 64] |= uint64_t{1} << (local % 64);
          continue;
        }
        ++idx.anchored;
        for (const auto& key : *rule.anchor) {
          auto it =
              std::find_if(idx.fields.begin(), idx.fields.end(),
                           [&](const LogIndex::FieldIndex& f) { return f.field == key.field; });
          if (it == idx.fields.end()) {
            idx.fields.emplace_back();
            idx.fields.back().field = key.field;
            it = idx.fields.end() - 1;
          }
          switch (key.kind) {
            case AnchorKey::Kind::kExact:
              it->exact[key.text].push_back(local);
              break;
            case AnchorKey::Kind::kSubstring:
              it->substrings.Add(key.text, local);
              break;
            case AnchorKey::Kind::kCidr:
              it->networks.Insert(key.network, local);
              it->has_networks = true;
              break;
          }
        }
      }
      for (auto& f : idx.fields) f.substrings.Build();
    }
  }

  LoadResult Finish() {
    // Per-rule summaries.
    for (size_t i = 0; i < docs_.size(); ++i) {
      const DocSpec& d = docs_[i];
      const DocState& st = states_[i];
      RuleSummary s;
      s.id = d.Handle();
      s.title = d.title ? d.title->text : "";
      s.file = d.file;
      s.line = d.pos.line;
      s.kind = d.kind;
      s.state = st.state;
      s.reason = st.reason;
      s.content_hash = d.content_hash;
      s.tests = d.vigil.tests.size();
      if (d.kind == DocKind::kDetection && st.state == RuleState::kActive && st.index >= 0) {
        const auto& r = rs_->detections[static_cast<size_t>(st.index)];
        s.log = std::string(LogTypeName(r.log));
        s.shadow = r.shadow;
        s.level = r.meta.level;
      } else if (d.kind == DocKind::kCorrelation && st.state == RuleState::kActive &&
                 st.index >= 0) {
        const auto& r = rs_->correlations[static_cast<size_t>(st.index)];
        s.shadow = r.shadow;
        s.level = r.meta.level;
        ++rs_->counts.correlations;
      }
      if (d.kind == DocKind::kDetection || d.kind == DocKind::kCorrelation) {
        switch (st.state) {
          case RuleState::kActive:
            ++rs_->counts.active;
            if (s.shadow) ++rs_->counts.shadow;
            break;
          case RuleState::kInactive:
            ++rs_->counts.inactive;
            break;
          case RuleState::kRejected:
            ++rs_->counts.rejected;
            break;
        }
      }
      rs_->summaries.push_back(std::move(s));
    }
    // Ruleset hash: every file's bytes, files in byte order of their paths.
    std::sort(all_bytes_.begin(), all_bytes_.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    std::string concat;
    for (const auto& [path, bytes] : all_bytes_) concat += bytes;
    rs_->hash = Sha256Hex(concat);
    std::sort(rs_->files.begin(), rs_->files.end(),
              [](const FileInfo& a, const FileInfo& b) { return a.path < b.path; });

    LoadResult result;
    result.rules = rs_->summaries;
    result.files = rs_->files;
    result.ruleset_hash = rs_->hash;
    result.counts = rs_->counts;
    for (const auto& d : diags_) {
      if (d.severity != Severity::kError) rs_->diagnostics.push_back(d);
    }
    const bool has_errors = Errors() > 0;
    const bool fail = has_errors && (!opt_.skip_rejected_rules || file_errors_);
    result.diagnostics = std::move(diags_);
    if (!fail) result.rule_set = std::move(rs_);
    return result;
  }

  const LoadOptions& opt_;
  std::shared_ptr<RuleSet> rs_;
  int64_t now_ns_ = 0;
  std::vector<Diagnostic> diags_;
  bool file_errors_ = false;
  std::vector<SourceFile> rule_files_;
  std::vector<std::pair<std::string, std::string>> all_bytes_;
  ListSet lists_;
  std::vector<DocSpec> docs_;
  std::vector<DocState> states_;
  std::map<std::string, size_t> by_handle_;
  std::map<size_t, Override> overrides_;
};

}  // namespace

LoadResult LoadRuleSet(const LoadOptions& options) {
  try {
    return Loader(options).Run();
  } catch (const std::exception& e) {
    // Third-party code (yaml-cpp, RE2 allocation, filesystem) must not take
    // the collector down on a reload: report and keep the old rules.
    LoadResult r;
    r.diagnostics.push_back(Diagnostic{Severity::kError,
                                       "internal_error",
                                       std::string("rule loading failed: ") + e.what(),
                                       {},
                                       {}});
    return r;
  }
}

}  // namespace vigil::collector::engine
