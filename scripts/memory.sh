#!/usr/bin/env bash
# Penstock's resident memory with N concurrent streaming requests in flight (docs/benchmarks.md).
# A simulated upstream streams 100 tokens at TOKEN_MS each (default 200 ms: 20 s per answer, so
# 2,000 streams are 10,000 chunks a second through the gateway); bench keeps CONCURRENCY streams
# open through Penstock for DURATION; the gateway's RSS is sampled every second. Halfway through,
# a full collection (jcmd GC.run) measures the live heap with the streams in flight; the figures
# per stream are (in flight - at rest) / CONCURRENCY.
#
#   CONCURRENCY=4000 TOKEN_MS=500 DURATION=60s JAVA_OPTS="-Xmx1g" scripts/memory.sh
#   HISTOGRAM=/tmp/histo.txt scripts/memory.sh    # also the live objects by class, in flight
#
# Each stream holds two sockets in the gateway (client and upstream): a process whose descriptor
# limit is 20,000 (ulimit -Hn) serves at most about 9,500 streams; raise the limit for more.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
concurrency=${CONCURRENCY:-2000}
token_ms=${TOKEN_MS:-200}
duration=${DURATION:-60s}
work=$(mktemp -d)
PENSTOCK_NO_BUILD=0 "$root/bin/penstock" --version >/dev/null
export PENSTOCK_NO_BUILD=1
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true' EXIT
ulimit -n 65536 2>/dev/null || true

"$root/bin/penstock" mock --port 18690 --keys 1 --key sk-mem-000000000000 --rpm 1000000000 \
  --tpm 100000000000 --ttft-ms 100 --ms-per-token "$token_ms" --jitter 0 --output-tokens 100 >"$work/mock.log" 2>&1 &
pids+=($!)
cat >"$work/gw.yaml" <<YAML
listen: 127.0.0.1:18691
models:
  gpt-4o-mini:
    deployments:
      - {name: origin, base_url: "http://127.0.0.1:18690/v1", api_key: sk-mem-000000000000, rpm: 1000000000, tpm: 100000000000}
YAML
PENSTOCK_JAVA_OPTS="${JAVA_OPTS:-}" "$root/bin/penstock" serve --config "$work/gw.yaml" >"$work/gw.log" 2>&1 &
gateway=$!
pids+=($gateway)
for _ in $(seq 1 100); do
  grep -q "penstock mock:" "$work/mock.log" 2>/dev/null && grep -q "gateway at" "$work/gw.log" 2>/dev/null && break
  sleep 0.2
done
gateway_java=$(pgrep -P "$gateway" java || echo "$gateway")
. "$root/bin/jdk.sh"
jcmd="$(penstock_find_jdk)/bin/jcmd"
live_heap_kib() { # a full collection, then the heap's used KiB
  "$jcmd" "$gateway_java" GC.run >/dev/null
  "$jcmd" "$gateway_java" GC.heap_info | grep -oE 'used [0-9]+K' | head -1 | grep -oE '[0-9]+'
}
# One request first, so that the tokenizer's tables and the lazy paths are loaded at rest too.
curl -s -o /dev/null http://127.0.0.1:18691/v1/chat/completions -H 'content-type: application/json' \
  -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"max_tokens":1}' || true
rest_live=$(live_heap_kib)
rest_rss=$(ps -o rss= -p "$gateway_java")
echo "gateway RSS at rest: $((rest_rss / 1024)) MiB, live heap $((rest_live / 1024)) MiB"

"$root/bin/penstock" bench --url http://127.0.0.1:18691/v1 --stream --concurrency "$concurrency" \
  --duration "$duration" --max-tokens 100 --timeout 60s --json --quiet >"$work/bench.json" &
bench=$!
peak=0
flight_live=0
flight_streams=0
start=$SECONDS
half=$(( ${duration%s} / 2 ))
while kill -0 "$bench" 2>/dev/null; do
  rss=$(ps -o rss= -p "$gateway_java" 2>/dev/null || echo 0)
  [ "$rss" -gt "$peak" ] && peak=$rss
  if [ "$flight_live" = 0 ] && [ $((SECONDS - start)) -ge "$half" ]; then
    flight_streams=$(ss -Htn state established "( sport = :18691 )" | wc -l)
    flight_live=$(live_heap_kib)
    if [ -n "${HISTOGRAM:-}" ]; then # the live objects by class, to see what a stream holds
      "$jcmd" "$gateway_java" GC.class_histogram >"$HISTOGRAM"
    fi
  fi
  sleep 1
done
python3 - "$work/bench.json" "$peak" "$concurrency" "$rest_rss" "$rest_live" "$flight_live" "$flight_streams" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
peak, n, rest_rss, rest_live, live, open_streams = (int(a) for a in sys.argv[2:8])
print(f"streams in flight        {n} (closed loop), {r['status_counts']}")
print(f"time to first token p50  {r['ttft_ms']['p50']:.0f} ms, p99 {r['ttft_ms']['p99']:.0f} ms")
print(f"gateway peak RSS         {peak // 1024} MiB ({(peak - rest_rss) / n:.0f} KiB a stream over rest)")
print(f"live heap in flight      {live // 1024} MiB with {open_streams} client connections open "
      f"({(live - rest_live) / max(1, open_streams):.0f} KiB a stream over rest)")
PY
