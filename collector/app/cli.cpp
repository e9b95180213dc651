#include "collector/app/cli.h"

#include <CLI/CLI.hpp>

#include "collector/app/version.h"

namespace vigil::collector::app {

std::optional<CollectorOptions> ParseCollectorArgs(int argc, char** argv, int& exit_code) {
  CollectorOptions o;
  CLI::App cli{
      "vigil-collector: receives agents' records over mutual TLS, applies Sigma rules, "
      "keeps the incident log and serves /metrics"};
  cli.set_version_flag("--version", std::string(kVersion));
  cli.add_option("-c,--config", o.config_path, "YAML configuration file (docs/configuration.md)");
  cli.add_flag("--check-config", o.check_config,
               "validate the configuration and the rules, print every error, and exit");
  cli.add_option("--state-dir", o.state_dir,
                 "folder for the incident database and signing key when the config names none");
  cli.add_option("--rules", o.rules_dir, "rule folder when the config names none");
  cli.add_option("--listen", o.listen, "ingest address host:port (overrides the config)");
  cli.add_option("--metrics-listen", o.metrics_listen,
                 "metrics address host:port (overrides the config)");
  cli.add_option("--ready-file", o.ready_file,
                 "write the bound addresses as JSON to this file once ready (port 0 support)");
  cli.add_option("--log-level", o.log_level, "debug, info, warning or error");
  cli.add_flag("--insecure-plaintext", o.insecure_plaintext,
               "accept agents without TLS: no authentication, no encryption (lab use only)");
  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    exit_code = cli.exit(e);
    if (exit_code != 0) exit_code = 2;
    return std::nullopt;
  }
  return o;
}

}  // namespace vigil::collector::app
