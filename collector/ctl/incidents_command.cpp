// Placeholder until the incidents subcommand lands; exits 2 so nothing mistakes it
// for success.
#include <cstdio>

#include "collector/ctl/commands.h"

namespace vigil::collector::ctl {

int RunIncidentsCommand(int, char**) {
  std::fputs("vigilctl incidents: not available in this build\n", stderr);
  return 2;
}

}  // namespace vigil::collector::ctl
