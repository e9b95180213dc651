// vigilctl: the operator's tool. Dispatches to a subcommand.
#include <cstdio>
#include <cstring>

#include "collector/ctl/commands.h"

namespace {

constexpr const char* kUsage =
    "usage: vigilctl <command> [args]\n"
    "  rules      check and test Sigma rules (vigilctl rules --help)\n"
    "  incidents  list, acknowledge, close, verify and export incidents\n"
    "  pki        create a CA, issue and revoke agent/collector certificates\n";

}  // namespace

int main(int argc, char** argv) {
  using namespace vigil::collector::ctl;  // NOLINT(google-build-using-namespace)
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0) {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  if (std::strcmp(argv[1], "rules") == 0) return RunRulesCommand(argc - 1, argv + 1);
  if (std::strcmp(argv[1], "incidents") == 0) return RunIncidentsCommand(argc - 1, argv + 1);
  if (std::strcmp(argv[1], "pki") == 0) return RunPkiCommand(argc - 1, argv + 1);
  std::fprintf(stderr, "vigilctl: unknown command '%s'\n%s", argv[1], kUsage);
  return 2;
}
