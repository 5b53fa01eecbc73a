#!/usr/bin/env bash
# Penstock's resident memory with N concurrent streaming requests in flight (docs/benchmarks.md).
# A simulated upstream streams 100 tokens at 200 ms each (20 s per answer, so 2,000 streams are
# 10,000 chunks a second through the gateway); bench keeps CONCURRENCY streams open through
# Penstock for DURATION; the gateway's RSS is sampled every second.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
concurrency=${CONCURRENCY:-2000}
duration=${DURATION:-60s}
work=$(mktemp -d)
PENSTOCK_NO_BUILD=0 "$root/bin/penstock" --version >/dev/null
export PENSTOCK_NO_BUILD=1
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true' EXIT
ulimit -n 65536 2>/dev/null || true

"$root/bin/penstock" mock --port 18690 --keys 1 --key sk-mem-000000000000 --rpm 1000000000 \
  --tpm 100000000000 --ttft-ms 100 --ms-per-token 200 --jitter 0 --output-tokens 100 >"$work/mock.log" 2>&1 &
pids+=($!)
cat >"$work/gw.yaml" <<YAML
listen: 127.0.0.1:18691
models:
  gpt-4o-mini:
    deployments:
      - {name: origin, base_url: "http://127.0.0.1:18690/v1", api_key: sk-mem-000000000000, rpm: 1000000000, tpm: 100000000000}
YAML
"$root/bin/penstock" serve --config "$work/gw.yaml" >"$work/gw.log" 2>&1 &
gateway=$!
pids+=($gateway)
for _ in $(seq 1 100); do
  grep -q "penstock mock:" "$work/mock.log" 2>/dev/null && grep -q "gateway at" "$work/gw.log" 2>/dev/null && break
  sleep 0.2
done
gateway_java=$(pgrep -P "$gateway" java || echo "$gateway")
echo "gateway RSS at rest: $(( $(ps -o rss= -p "$gateway_java") / 1024 )) MiB"

"$root/bin/penstock" bench --url http://127.0.0.1:18691/v1 --stream --concurrency "$concurrency" \
  --duration "$duration" --max-tokens 100 --timeout 60s --json --quiet >"$work/bench.json" &
bench=$!
peak=0
while kill -0 "$bench" 2>/dev/null; do
  rss=$(ps -o rss= -p "$gateway_java" 2>/dev/null || echo 0)
  [ "$rss" -gt "$peak" ] && peak=$rss
  sleep 1
done
python3 - "$work/bench.json" "$peak" "$concurrency" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"streams in flight        {sys.argv[3]} (closed loop), {r['status_counts']}")
print(f"time to first token p50  {r['ttft_ms']['p50']:.0f} ms, p99 {r['ttft_ms']['p99']:.0f} ms")
print(f"gateway peak RSS         {int(sys.argv[2]) // 1024} MiB")
PY
