#!/usr/bin/env bash
# Dependency direction, checked on every #include of the source tree:
#   - agent and collector never include each other;
#   - transport and proto include neither;
#   - the rule engine knows nothing of gRPC, SQLite, Prometheus or the other
#     collector modules (it depends on its event model and vigil_proto only);
#   - agent/decode depends on nothing of ours (no protobuf, no flow/app);
#   - nothing includes an app/ module except main.cpp files and tests.
# Prints every violation with file:line and exits 1 if there is any.
set -uo pipefail
root=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$root"
status=0

forbid() {  # <description> <path glob...> -- <regex>
  local what=$1; shift
  local paths=()
  while [ "$1" != "--" ]; do paths+=("$1"); shift; done
  shift
  local regex=$1
  local hits
  hits=$(grep -rnE "^[[:space:]]*#[[:space:]]*include[[:space:]]*[<\"]($regex)" "${paths[@]}" \
           --include='*.h' --include='*.cpp' --include='*.cc' 2>/dev/null || true)
  if [ -n "$hits" ]; then
    echo "layering violation: $what"
    echo "$hits" | sed 's/^/    /'
    status=1
  fi
}

forbid "agent includes collector code" agent -- 'collector/'
forbid "collector includes agent code" collector -- 'agent/'
forbid "transport includes agent or collector code" transport -- 'agent/|collector/'
forbid "rule engine includes gRPC, SQLite or Prometheus" collector/engine -- 'grpc|grpcpp/|sqlite3|prometheus/'
forbid "rule engine includes other collector modules" collector/engine -- 'collector/(ingest|incidents|metrics|app|ctl)/'
forbid "rule engine includes transport" collector/engine -- 'transport/'
forbid "decoders include protobuf or later agent stages" agent/decode -- 'vigil/v1/|google/protobuf|agent/(flow|analyzers|export|app|capture|metrics)/'
forbid "metrics modules include other modules" collector/metrics -- 'collector/(ingest|incidents|engine|app)/'
forbid "agent metrics include other agent modules" agent/metrics -- 'agent/(flow|decode|analyzers|export|app|capture)/'
forbid "incident store includes ingest, metrics or app" collector/incidents -- 'collector/(ingest|metrics|app)/'
forbid "a library includes the app layer" agent/capture agent/decode agent/flow agent/analyzers agent/export collector/engine collector/incidents collector/ingest collector/metrics transport -- '(agent|collector)/app/'

# No junk drawers.
for d in $(find agent collector transport -type d \( -name utils -o -name util -o -name common -o -name misc -o -name helpers \)); do
  echo "layering violation: junk-drawer folder $d"; status=1
done

[ $status -eq 0 ] && echo "layering: all includes point the right way"
exit $status
