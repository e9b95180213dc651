#include "agent/app/cli.h"

#include <CLI/CLI.hpp>

namespace vigil::agent::app {

CliResult ParseCommandLine(int argc, char** argv) {
  CliResult result;
  CliOptions& o = result.options;
  CLI::App app{"vigil-agent: network metadata sensor (Zeek-style conn/dns/ssl/http records)",
               "vigil-agent"};
  app.add_option("--config", o.config_path, "YAML configuration file")->check(CLI::ExistingFile);
  app.add_flag("--check-config", o.check_config,
               "validate the configuration and exit (non-zero on errors)");
  auto* read = app.add_option("--read", o.read_file, "read packets from a pcap/pcapng file")
                   ->check(CLI::ExistingFile);
  auto* iface =
      app.add_option("--interface", o.interfaces, "capture on this interface (repeatable)");
  read->excludes(iface);
  std::string filter;
  auto* filter_opt = app.add_option("--filter", filter, "BPF filter (overrides the config)");
  std::string output;
  app.add_option("--output", output, "where records go: json (stdout) or collector")
      ->check(CLI::IsMember({"json", "collector"}));
  app.add_flag("--verify-checksums", o.verify_checksums,
               "discard packets with bad IP/TCP/UDP/ICMP checksums (like Zeek without -C)");
  app.add_flag("--version", o.version, "print the version and exit");
  app.add_option("--replay-speed", o.replay_speed,
                 "with --read: replay at the capture's pace times X (1 = real time, 10 = ten "
                 "times faster; 0, the default = as fast as possible)")
      ->check(CLI::NonNegativeNumber)
      ->needs(read);
  uint64_t seed = 0;
  auto* seed_opt = app.add_option("--seed", seed, "seed for connection uids (reproducible output)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    result.exit = true;
    result.exit_code = app.exit(e);
    return result;
  }
  if (filter_opt->count() > 0) o.filter = filter;
  if (seed_opt->count() > 0) o.seed = seed;
  if (output == "json") o.output = OutputMode::kJson;
  if (output == "collector") o.output = OutputMode::kCollector;
  return result;
}

}  // namespace vigil::agent::app
