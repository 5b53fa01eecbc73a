#!/usr/bin/env bash
# A batch on spare capacity, side by side in one run (docs/benchmarks.md, docs/batches.md):
#
#   One gateway in front of the simulator (`penstock mock`: KEYS keys of RPM_PER_KEY each, default
#   3 x 300 RPM). `penstock bench` offers interactive chat requests at SHARE (default 0.4) of the
#   pool's capacity for DURATION (default 90s), twice: first alone, then while a batch of LINES
#   (default 20000, more than can finish) runs. For each pass: the interactive requests' gateway
#   queue wait (x-penstock-queue-ms) and latency percentiles; for the second, the batch lines done
#   per minute against the capacity the interactive traffic left, and the simulator's 429s.
#
# Usage: scripts/batch-spare.sh [output-dir]
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${1:-$root/target/batch-spare}
keys=${KEYS:-3}
rpm_per_key=${RPM_PER_KEY:-300}
share=${SHARE:-0.4}
duration=${DURATION:-90s}
lines=${LINES:-20000}
mock_port=18790
port=18791
mkdir -p "$out"
work=$(mktemp -d)

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

{
  echo "host: 127.0.0.1"
  echo "port: $mock_port"
  echo "latency: {ttft_ms: 150, ms_per_token: 1, jitter: 0.2}"
  echo "keys:"
  for i in $(seq 1 "$keys"); do
    echo "  - {name: k$i, key: sk-spare-$i, rpm: $rpm_per_key, tpm: 100000000}"
  done
} >"$work/mock.yaml"
"$root/bin/penstock" mock --config "$work/mock.yaml" >"$out/mock.log" 2>&1 &
pids+=($!)
await_line "$out/mock.log" "penstock mock:" "the simulator"

{
  echo "listen: 127.0.0.1:$port"
  echo "logging: {access_log: false}"
  echo "storage: {path: $work/data/penstock.db}"
  echo "models:"
  echo "  gpt-4o-mini:"
  echo "    deployments:"
  for i in $(seq 1 "$keys"); do
    echo "      - {name: k$i, base_url: \"http://127.0.0.1:$mock_port/v1\", api_key: sk-spare-$i, rpm: $rpm_per_key, tpm: 100000000}"
  done
} >"$work/gateway.yaml"
"$root/bin/penstock" serve --config "$work/gateway.yaml" >"$out/gateway.log" 2>&1 &
pids+=($!)
await_line "$out/gateway.log" "penstock gateway at" "the gateway"
base="http://127.0.0.1:$port/v1"

capacity=$((keys * rpm_per_key))
rate=$(python3 -c "print(round($capacity * $share / 60, 3))")
bench() { # name
  "$root/bin/penstock" bench --url "$base" --key sk-client --model gpt-4o-mini --rate "$rate/s" \
    --duration "$duration" --prompt-tokens 50 --max-tokens 20 --quiet --json \
    >"$out/bench-$1.json" 2>"$out/bench-$1.err" || true
}
stats() { curl -s "http://127.0.0.1:$mock_port/__stats"; }
batch_done() { curl -s "$base/batches/$1" | python3 -c 'import json,sys; b=json.load(sys.stdin); print(b["request_counts"]["completed"] + b["request_counts"]["failed"])'; }

echo "== interactive load alone (warm-up included)"
bench warmup
bench alone
stats >"$out/stats-alone.json"

python3 - "$lines" >"$work/batch.jsonl" <<'EOF'
import json, sys
for i in range(int(sys.argv[1])):
    print(json.dumps({"custom_id": f"line-{i}", "method": "POST", "url": "/v1/chat/completions",
                      "body": {"model": "gpt-4o-mini", "max_tokens": 20,
                               "messages": [{"role": "user", "content": f"Summarise item {i} in one line."}]}}))
EOF
file_id=$(curl -s "$base/files" -F purpose=batch -F "file=@$work/batch.jsonl" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
batch_id=$(curl -s "$base/batches" -H 'content-type: application/json' \
  -d "{\"input_file_id\":\"$file_id\",\"endpoint\":\"/v1/chat/completions\",\"completion_window\":\"24h\"}" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
for _ in $(seq 1 300); do
  status=$(curl -s "$base/batches/$batch_id" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')
  [ "$status" = in_progress ] && break
  sleep 0.2
done
sleep 5 # the batch reaches its steady state
echo "== interactive load with batch $batch_id running"
curl -s -X POST "http://127.0.0.1:$mock_port/__reset" >/dev/null
start=$(date +%s.%N)
before=$(batch_done "$batch_id")
bench with-batch
after=$(batch_done "$batch_id")
stats >"$out/stats-with-batch.json"
end=$(date +%s.%N)
curl -s -X POST "$base/batches/$batch_id/cancel" >/dev/null

summary="$out/summary.txt"
python3 - "$out" "$capacity" "$rate" "$before" "$after" "$start" "$end" <<'EOF' | tee "$summary"
import json, sys
out, capacity, rate, before, after, start, end = sys.argv[1:]
capacity, rate = int(capacity), float(rate)
alone = json.load(open(f"{out}/bench-alone.json"))
withb = json.load(open(f"{out}/bench-with-batch.json"))
stats = json.load(open(f"{out}/stats-with-batch.json"))
# Rates over the simulator's own count, from its reset to the snapshot of its statistics.
minutes = (float(end) - float(start)) / 60
upstream = stats["totals"]["requests"]
interactive = withb["succeeded"]
batch_per_min = (upstream - interactive) / minutes
usable = capacity * 60 / 60.5                      # the pacing guard's share
interactive_per_min = interactive / minutes
left = usable - interactive_per_min
peak = max(k["peak_requests_60s"] for k in stats["keys"])
print(f"pool: {capacity} RPM configured ({usable:.0f} usable with the 0.5 s guard); interactive offered {rate * 60:.0f}/min")
print(f"{'':<22}{'2xx/min':>9}{'queue p50':>11}{'queue p90':>11}{'queue p99':>11}{'lat p50':>9}{'lat p99':>9}")
for name, r in (("interactive alone", alone), ("with a batch", withb)):
    q, l = r.get("queue_ms", {}), r["latency_ms"]
    print(f"{name:<22}{r['throughput_per_minute']:>9.0f}{q.get('p50', 0):>11.1f}{q.get('p90', 0):>11.1f}{q.get('p99', 0):>11.1f}{l['p50']:>9.0f}{l['p99']:>9.0f}")
print(f"batch: {batch_per_min:.0f} lines/min upstream ({int(after) - int(before)} lines ended); capacity left by interactive traffic {left:.0f}/min; used {100 * batch_per_min / left:.1f}%")
print(f"simulator during the second pass ({minutes * 60:.0f} s): {upstream} requests, {stats['totals']['rate_limited']} rate-limited (429), over a limit: {stats['totals']['any_over_limit']}, busiest key's peak 60 s: {peak} of {capacity // len(stats['keys'])}")
EOF
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')" | tee -a "$summary"
echo "raw outputs: $out"
