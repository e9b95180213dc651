// Placeholder until the pki subcommand lands; exits 2 so nothing mistakes it
// for success.
#include <cstdio>

#include "collector/ctl/commands.h"

namespace vigil::collector::ctl {

int RunPkiCommand(int, char**) {
  std::fputs("vigilctl pki: not available in this build\n", stderr);
  return 2;
}

}  // namespace vigil::collector::ctl
