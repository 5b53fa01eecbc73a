#!/usr/bin/env bash
# Start-up and idle memory (docs/benchmarks.md, "Idle memory and start-up"): starts `penstock serve`
# with one deployment, times it until /health/ready answers, reads its RSS then and 3 s after one
# request, and stops it. PENSTOCK_JAVA_OPTS passes JVM options, e.g.
#   PENSTOCK_JAVA_OPTS="-XX:+UseSerialGC -Xms16m" scripts/idle.sh
# PENSTOCK_LAUNCHER runs another launcher than the source tree's, e.g. an unpacked release's
# (docs/benchmarks.md, "Distribution: start-up and idle"; PENSTOCK_AOT=0 turns its AOT cache off):
#   PENSTOCK_LAUNCHER=/opt/penstock-0.1.0/bin/penstock scripts/idle.sh
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
launcher=${PENSTOCK_LAUNCHER:-$root/bin/penstock}
PENSTOCK_NO_BUILD=0 "$launcher" --version >/dev/null
export PENSTOCK_NO_BUILD=1
work=$(mktemp -d)
cat >"$work/gw.yaml" <<YAML
listen: 127.0.0.1:18790
storage: {path: $work/penstock.db}
models:
  gpt-4o-mini:
    deployments:
      - {name: origin, base_url: "http://127.0.0.1:18791/v1", api_key: sk-idle, rpm: 1000, tpm: 1000000}
YAML
"$launcher" mock --port 18791 --keys 1 --key sk-idle --ttft-ms 1 >"$work/mock.log" 2>&1 &
mock=$!
trap 'kill "$mock" "${gateway:-}" 2>/dev/null || true; wait 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do grep -q "penstock mock:" "$work/mock.log" 2>/dev/null && break; sleep 0.1; done
start=$(date +%s%N)
"$launcher" serve --no-watch --config "$work/gw.yaml" >/dev/null 2>"$work/gw.log" &
gateway=$!
for _ in $(seq 1 800); do curl -s -o /dev/null http://127.0.0.1:18790/health/ready && break; sleep 0.025; done
ready=$(date +%s%N)
java_pid=$(pgrep -P "$gateway" java || echo "$gateway")
at_ready=$(ps -o rss= -p "$java_pid")
curl -s -o /dev/null http://127.0.0.1:18790/v1/chat/completions -H 'content-type: application/json' \
  -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"max_tokens":4}'
sleep 3
idle=$(ps -o rss= -p "$java_pid")
echo "ready after $(( (ready - start) / 1000000 )) ms; RSS when ready $((at_ready / 1024)) MiB, idle after a request $((idle / 1024)) MiB [${PENSTOCK_JAVA_OPTS:-default}${PENSTOCK_LAUNCHER:+, AOT cache ${PENSTOCK_AOT:-1}}]"
