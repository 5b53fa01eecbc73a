#!/usr/bin/env bash
# Embedding micro-batching, side by side in one run (docs/benchmarks.md, docs/embeddings.md):
#
#   `penstock bench` offers RATE (default 500/s) embedding requests, each with its own input, for
#   DURATION (default 20s) to a gateway with embeddings.batch_window_ms set to each of WINDOWS
#   (default "0 20") in turn, all in front of one simulator (`penstock mock`: TTFT_MS, default 50 ms,
#   per answer, 256-dimension vectors) whose statistics are reset after each warm-up. For each
#   window: the requests the clients sent and got 2xx for, the requests the simulator received,
#   the calls saved, the mean batch, and the clients' p50/p99 latency.
#
# The gateway is pinned to one core with taskset (when there are two or more), the simulator and
# the load generator share the other. Usage: scripts/embed-batch-bench.sh [output-dir]
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${1:-$root/target/embed-batch}
rate=${RATE:-500/s}
duration=${DURATION:-20s}
warmup=${WARMUP:-15s}
windows=${WINDOWS:-0 20}
ttft=${TTFT_MS:-50}
mock_port=18690
mkdir -p "$out"
work=$(mktemp -d)

if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null 2>&1; then
  load_pin=(taskset -c 0)
  sut_pin=(taskset -c 1)
else
  load_pin=()
  sut_pin=()
fi

PENSTOCK_NO_BUILD=0 "$root/bin/penstock" --version >/dev/null # builds once if needed
export PENSTOCK_NO_BUILD=1

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

await_line() { # file pattern what
  for _ in $(seq 1 150); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    sleep 0.2
  done
  echo "$3 did not start; see $1" >&2
  exit 1
}

cat >"$work/mock.yaml" <<EOF
host: 127.0.0.1
port: $mock_port
embedding_dimensions: 256
models: [text-embedding-3-small]
latency: {ttft_ms: $ttft, ms_per_token: 0, jitter: 0}
keys:
  - {name: emb, key: sk-embed-bench, rpm: 1000000000, tpm: 2000000000}
EOF
"${load_pin[@]}" "$root/bin/penstock" mock --config "$work/mock.yaml" >"$out/mock.log" 2>&1 &
pids+=($!)
await_line "$out/mock.log" "penstock mock:" "the simulator"

mock_requests() {
  curl -s "http://127.0.0.1:$mock_port/__stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["totals"]["requests"])'
}

bench() { # name port duration -> writes $out/bench-<name>.json
  "${load_pin[@]}" "$root/bin/penstock" bench --url "http://127.0.0.1:$2/v1" --key sk-client \
    --endpoint embeddings --model text-embedding-3-small --rate "$rate" --duration "$3" \
    --prompt-tokens 16 --max-inflight 5000 --quiet --json >"$out/bench-$1.json" 2>"$out/bench-$1.err" || true
}

summary="$out/summary.txt"
echo "== embeddings at $rate for $duration, simulator $ttft ms per answer, 256 dimensions (warm-up $warmup each)" | tee "$summary"
printf '%-10s %8s %8s %10s %8s %8s %10s %10s\n' "window" "sent" "2xx" "upstream" "saved" "batch" "p50 ms" "p99 ms" | tee -a "$summary"
port=18691
for window in $windows; do
  cat >"$work/gw-$window.yaml" <<EOF
listen: 127.0.0.1:$port
logging: {access_log: false}
embeddings:
  batch_window_ms: $window
models:
  text-embedding-3-small:
    deployments:
      - {name: emb, base_url: "http://127.0.0.1:$mock_port/v1", api_key: sk-embed-bench, rpm: 1000000000, tpm: 100000000000}
EOF
  "${sut_pin[@]}" "$root/bin/penstock" serve --config "$work/gw-$window.yaml" >"$out/gateway-$window.log" 2>&1 &
  pids+=($!)
  await_line "$out/gateway-$window.log" "penstock gateway at" "the gateway (window $window ms)"
  bench "warmup-$window" "$port" "$warmup"
  curl -s -X POST "http://127.0.0.1:$mock_port/__reset" >/dev/null
  bench "window-$window" "$port" "$duration"
  upstream=$(mock_requests)
  python3 - "$out/bench-window-$window.json" "$window" "$upstream" <<'EOF' | tee -a "$summary"
import json, sys
r = json.load(open(sys.argv[1]))
window, upstream = sys.argv[2], int(sys.argv[3])
ok = r["status_counts"].get("2xx", 0)
lat = r["latency_ms"]
saved = 100 * (1 - upstream / ok) if ok else 0
batch = ok / upstream if upstream else 0
print(f'{window + " ms":<10} {r["sent"]:>8} {ok:>8} {upstream:>10} {saved:>7.1f}% {batch:>8.1f} {lat["p50"]:>10.1f} {lat["p99"]:>10.1f}')
EOF
  kill "${pids[-1]}"
  wait "${pids[-1]}" 2>/dev/null || true
  unset 'pids[-1]'
  port=$((port + 1))
done

echo | tee -a "$summary"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')" | tee -a "$summary"
echo "raw outputs: $out"
