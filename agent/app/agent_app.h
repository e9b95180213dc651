#pragma once
// The vigil-agent program as a library: main.cpp only calls RunAgent().
//
// Startup is an ordered list of named steps (command line, configuration,
// signals, capture sources, record sink, metrics listener, pipelines); each
// step may finish the program early (--version, --check-config) or fail with
// a message, and the teardown of every step that ran is executed in reverse
// order whatever happens. SIGINT/SIGTERM end the capture gracefully (open
// flows are written with end reason `shutdown`, the sink is flushed); SIGHUP
// re-reads the configuration and applies what can change without a restart
// (the log level), reporting the rest.
//
// Call once per process, from the main thread.

#include "agent/app/agent_config.h"

namespace vigil::agent::app {

/// Exit codes: 0 success, 1 runtime failure, 2 usage or configuration error.
int RunAgent(int argc, char** argv);

}  // namespace vigil::agent::app
