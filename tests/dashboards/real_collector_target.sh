#!/usr/bin/env bash
# Target for the dashboards' end-to-end test: a real vigil-collector fed by
# real vigil-agents over mutual TLS, serving /metrics on $1 until SIGTERM.
#
#   real_collector_target.sh <metrics host:port> <scratch dir>
#
# - agent-alpha (agency "District 3") replays the generated demo capture in a
#   loop: detections (one of them critical), traffic, rule evaluations;
# - agent-bravo (agency "Department of Health") connects, then is killed
#   with SIGKILL (no goodbye), so the collector reports it silent after
#   heartbeat_silence_after (3 s here) and VigilAgentSilent can fire;
# - agent-charlie is listed but never connects (never_seen state).
# Programs come from $VIGIL_BINARY_DIR/bin, rules from $VIGIL_SOURCE_DIR.
set -uo pipefail
metrics_listen=$1
work=$2
bin=${VIGIL_BINARY_DIR:?}/bin
src=${VIGIL_SOURCE_DIR:?}
mkdir -p "$work"
cd "$work" || exit 1

children=()
stop() {
  for p in "${children[@]}"; do kill -TERM "$p" 2>/dev/null; done
  wait 2>/dev/null
  exit 0
}
trap stop TERM INT

pki() { "$bin/vigilctl" pki --dir "$work/pki" "$@" >/dev/null || exit 1; }
pki init --name "dashboards e2e CA"
pki issue --collector collector --san IP:127.0.0.1 --out "$work/pki"
for a in agent-alpha agent-bravo; do pki issue --agent "$a" --out "$work/pki"; done

"$bin/vigil-capgen" --scenario demo --seed 42 --pcap demo.pcap --truth demo.truth.jsonl 2>/dev/null || exit 1
# A capture that is only a pcap header: an agent reading it from a FIFO
# stays connected, waiting for packets, until it is killed.
head -c 24 demo.pcap > header.pcap

cat > collector.yaml <<YAML
listen: 127.0.0.1:0
tls: {ca: pki/ca.crt, cert: pki/collector.crt, key: pki/collector.key, crl: pki/ca.crl}
agents:
  - {identity: agent-alpha, agency: District 3, site: Demo}
  - {identity: agent-bravo, agency: Department of Health, site: Demo}
  - {identity: agent-charlie, agency: Department of Finance, site: Demo}
heartbeat_silence_after: 3s
rules:
  directories: [$src/rules]
  lists:
    bad_domains: $src/rules/lists/bad_domains.txt
    bad_addresses: $src/rules/lists/bad_addresses.txt
  watch: false
incidents: {database: incidents.db, signing_key: checkpoint.key}
metrics: {listen: "$metrics_listen"}
YAML
"$bin/vigil-collector" --config collector.yaml --ready-file ready 2>collector.log &
children+=($!)
for _ in $(seq 1 200); do [ -s ready ] && break; sleep 0.05; done
[ -s ready ] || { cat collector.log >&2; exit 1; }
ingest=$(sed -n 's/.*"ingest": *"\([^"]*\)".*/\1/p' ready)

agent_config() {  # name
  cat > "$1.yaml" <<YAML
collector:
  addresses: ["$ingest"]
  tls: {ca: pki/ca.crt, cert: pki/$1.crt, key: pki/$1.key}
  batch_max_delay: 200ms
  heartbeat_interval: 1s
spool: {directory: spool-$1}
YAML
}
agent_config agent-alpha
agent_config agent-bravo

# agent-bravo: connected, then gone without a goodbye.
rm -f bravo.fifo && mkfifo bravo.fifo
(cat header.pcap; sleep 100000) > bravo.fifo &
children+=($!)
"$bin/vigil-agent" --config agent-bravo.yaml --read bravo.fifo 2>agent-bravo.log &
bravo=$!
for _ in $(seq 1 100); do grep -q "connected to" agent-bravo.log 2>/dev/null && break; sleep 0.1; done
sleep 1.5   # at least one heartbeat
kill -KILL "$bravo" 2>/dev/null

# agent-alpha: the demo capture, again and again.
while true; do
  "$bin/vigil-agent" --config agent-alpha.yaml --read demo.pcap 2>>agent-alpha.log
  sleep 2 &
  wait $!
done &
children+=($!)
wait
