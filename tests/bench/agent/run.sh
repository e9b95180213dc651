#!/usr/bin/env bash
# Whole-process benchmark: vigil-agent reading the generated mixed capture
# (JSON to /dev/null) next to tcpdump-free libpcap reading, plus peak RSS.
# Usage: tests/bench/agent/run.sh [build-dir]   (default build-agent-rel)
set -euo pipefail
build=${1:-build-agent-rel}
bench="$build/tests/bench/agent/vigil_agent_bench"
agent="$build/bin/vigil-agent"
# Generates the capture if needed and prints the in-process numbers.
"$bench" --benchmark_filter='BM_BareLibpcapLoop|BM_AgentPipeline' --benchmark_min_time=1
pcap="${TMPDIR:-/tmp}/vigil-bench-mixed-1.pcap"
echo "--- vigil-agent --read $(basename "$pcap") --output json > /dev/null"
/usr/bin/time -f "wall %e s, user %U s, max RSS %M KiB" "$agent" --read "$pcap" --output json --seed 1 > /dev/null
