// Placeholder until the rules subcommand lands; exits 2 so nothing mistakes it
// for success.
#include <cstdio>

#include "collector/ctl/commands.h"

namespace vigil::collector::ctl {

int RunRulesCommand(int, char**) {
  std::fputs("vigilctl rules: not available in this build\n", stderr);
  return 2;
}

}  // namespace vigil::collector::ctl
