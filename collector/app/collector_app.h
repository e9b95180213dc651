#pragma once
// vigil-collector as a library: main.cpp calls Main(). Startup is an ordered
// list of named steps (config, incident store, rules, metrics, pipeline,
// ingest, watcher), teardown runs in reverse whatever happened, and signals
// drive the running daemon: SIGHUP reloads rules, SIGINT/SIGTERM stop it
// gracefully (ingest stops accepting, queued batches are committed, the
// store writes a final signed checkpoint).

namespace vigil::collector::app {

/// Exit codes: 0 clean stop, 1 runtime failure, 2 configuration error.
int Main(int argc, char** argv);

}  // namespace vigil::collector::app
