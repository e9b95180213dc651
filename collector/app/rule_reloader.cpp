#include "collector/app/rule_reloader.h"

#include "collector/app/log.h"

namespace vigil::collector::app {
namespace {

metrics::Level ToMetricsLevel(engine::Level l) {
  return static_cast<metrics::Level>(static_cast<uint8_t>(l));
}

}  // namespace

RuleReloader::RuleReloader(const RulesConfig& config, engine::Engine& engine,
                           metrics::CollectorMetrics* metrics)
    : config_(config), engine_(engine), metrics_(metrics) {}

void RuleReloader::SetConfig(const RulesConfig& config) {
  std::lock_guard lock(mu_);
  config_ = config;
}

engine::LoadOptions RuleReloader::Options(const RulesConfig& config) {
  engine::LoadOptions o;
  o.paths = config.directories;
  o.paths.insert(o.paths.end(), config.filters.begin(), config.filters.end());
  for (const auto& [name, path] : config.lists) o.lists.push_back({name, path});
  return o;
}

engine::LoadResult RuleReloader::Check(const RulesConfig& config) {
  return engine::LoadRuleSet(Options(config));
}

ReloadOutcome RuleReloader::Reload(const std::string& why) {
  std::lock_guard lock(mu_);
  engine::LoadResult r = engine::LoadRuleSet(Options(config_));
  ReloadOutcome out;
  out.errors = engine::CountSeverity(r.diagnostics, engine::Severity::kError);
  out.warnings = engine::CountSeverity(r.diagnostics, engine::Severity::kWarning);
  out.counts = r.counts;
  for (const auto& d : r.diagnostics) {
    if (d.severity == engine::Severity::kError) {
      LogError("rules: " + d.ToString());
    } else if (d.severity == engine::Severity::kWarning) {
      LogWarning("rules: " + d.ToString());
    } else {
      LogDebug("rules: " + d.ToString());
    }
  }
  if (!r.rule_set) {
    engine_.NoteFailedReload();
    if (metrics_ != nullptr) metrics_->RecordRulesReload(false);
    LogError("rules: reload (" + why + ") failed with " + std::to_string(out.errors) +
             " errors; keeping the running rule set " +
             (current_hash_.empty() ? std::string("(none)") : current_hash_.substr(0, 12)));
    return out;
  }
  out.ok = true;
  out.ruleset_hash = r.ruleset_hash;
  if (metrics_ != nullptr) {
    std::vector<metrics::RuleInfo> infos;
    for (const auto& s : r.rules) {
      if (s.state != engine::RuleState::kActive) continue;
      metrics::RuleInfo info;
      info.id = s.id;
      info.level = ToMetricsLevel(s.level);
      info.state = s.shadow ? metrics::RuleState::kShadow : metrics::RuleState::kEnforce;
      infos.push_back(std::move(info));
    }
    metrics_->SetRuleset(r.ruleset_hash, std::move(infos));
    metrics_->RecordRulesReload(true);
  }
  engine_.Swap(r.rule_set);
  const bool changed = r.ruleset_hash != current_hash_;
  current_hash_ = r.ruleset_hash;
  LogInfo("rules: " + why + ": " + (changed ? "loaded" : "unchanged") + " ruleset " +
          r.ruleset_hash.substr(0, 12) + " active=" + std::to_string(r.counts.active) +
          " inactive=" + std::to_string(r.counts.inactive) + " rejected=" +
          std::to_string(r.counts.rejected) + " shadow=" + std::to_string(r.counts.shadow) +
          " correlations=" + std::to_string(r.counts.correlations) +
          " warnings=" + std::to_string(out.warnings));
  return out;
}

}  // namespace vigil::collector::app
