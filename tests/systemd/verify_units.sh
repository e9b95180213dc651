#!/usr/bin/env bash
# Verifies the unit files with systemd-analyze and checks the hardening that
# docs/install.md promises (capabilities instead of root, read-only system).
set -euo pipefail
units=$1
sysusers=$(realpath "$2")
if ! command -v systemd-analyze >/dev/null; then
  echo "systemd-analyze not installed (scripts/bootstrap installs systemd)" >&2
  exit 1
fi
status=0
for u in "$units"/vigil-agent.service "$units"/vigil-collector.service; do
  # --man=no: the Documentation= man pages are not installed in a build tree.
  if ! out=$(systemd-analyze verify --man=no "$u" 2>&1); then
    echo "FAIL $u: $out"; status=1
  elif [ -n "$out" ]; then
    echo "FAIL $u: warnings: $out"; status=1
  else
    echo "ok   $u"
  fi
done
expect() {  # unit key=value
  if ! grep -qx "$2" "$units/$1"; then echo "FAIL $1: missing '$2'"; status=1; fi
}
expect vigil-agent.service "User=vigil-agent"
expect vigil-agent.service "AmbientCapabilities=CAP_NET_RAW CAP_NET_ADMIN"
expect vigil-agent.service "CapabilityBoundingSet=CAP_NET_RAW CAP_NET_ADMIN"
expect vigil-agent.service "NoNewPrivileges=yes"
expect vigil-agent.service "ProtectSystem=strict"
expect vigil-agent.service "StateDirectory=vigil-agent"
expect vigil-collector.service "User=vigil-collector"
expect vigil-collector.service "CapabilityBoundingSet="
expect vigil-collector.service "Type=notify"
expect vigil-collector.service "ExecReload=/bin/kill -HUP \$MAINPID"
expect vigil-collector.service "ProtectSystem=strict"
grep -q -- "--check-config" "$units/vigil-collector.service" || { echo "FAIL collector: no config check before start"; status=1; }
if command -v systemd-sysusers >/dev/null; then
  root=$(mktemp -d); trap 'rm -rf "$root"' EXIT
  mkdir -p "$root/etc"
  if ! systemd-sysusers --root="$root" "$sysusers" >/dev/null 2>&1; then
    echo "FAIL sysusers: $sysusers rejected"; status=1
  elif ! grep -q '^vigil-agent:' "$root/etc/passwd"; then
    echo "FAIL sysusers: vigil-agent not created"; status=1
  else
    echo "ok   $sysusers"
  fi
fi
exit $status
