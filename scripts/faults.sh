#!/usr/bin/env bash
# Resilience under injected faults (docs/benchmarks.md#resilience-under-faults): real processes —
# `penstock mock` with per-key faults, `penstock serve` in front, `penstock bench` as the client —
# one scenario after another, each REQUESTS requests at RATE per second. Reports the clients'
# success rate and latency against a fault-free baseline, and how long a dead deployment took to
# be taken out of rotation. Usage: scripts/faults.sh [output-dir]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${1:-$root/target/faults}
rate=${RATE:-40}
requests=${REQUESTS:-2000}
duration=$((requests / rate))s
mkdir -p "$out"
work=$(mktemp -d)
PENSTOCK_NO_BUILD=0 "$root/bin/penstock" --version >/dev/null
export PENSTOCK_NO_BUILD=1
pids=()
stop_all() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; pids=(); }
trap stop_all EXIT

mock_port=18690
gw_port=18691
dead_port=18699 # nothing listens here: connection refused

wait_for() { # file pattern
  for _ in $(seq 1 150); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.2; done
  echo "timed out waiting for '$2' in $1" >&2; exit 1
}

start_mock() { # key lines (YAML)
  cat >"$work/mock.yaml" <<YAML
port: $mock_port
seed: 42
output_tokens: 20
hang_ms: 600000
latency: {ttft_ms: 200, ms_per_token: 10, jitter: 0.1}
defaults: {rpm: 1000000, tpm: 1000000000}
keys:
$1
YAML
  "$root/bin/penstock" mock --config "$work/mock.yaml" >"$work/mock.log" 2>&1 &
  pids+=($!)
  wait_for "$work/mock.log" "penstock mock:"
}

start_gateway() { # deployment lines (YAML)
  cat >"$work/gw.yaml" <<YAML
listen: 127.0.0.1:$gw_port
models:
  gpt-4o-mini:
    deployments:
$1
YAML
  "$root/bin/penstock" serve --config "$work/gw.yaml" >"$work/gw-$scenario.log" 2>&1 &
  pids+=($!)
  wait_for "$work/gw-$scenario.log" "gateway at"
}

dep() { # name [base-url] [extra]
  echo "      - {name: $1, base_url: \"${2:-http://127.0.0.1:$mock_port/v1}\", api_key: sk-$1-000000000001, rpm: 1000000, tpm: 1000000000${3:+, $3}}"
}

key() { # name [faults]
  echo "  - {name: $1, key: sk-$1-000000000001${2:+, faults: $2}}"
}

run_bench() {
  "$root/bin/penstock" bench --url "http://127.0.0.1:$gw_port/v1" --rate "$rate/s" --duration "$duration" \
    --prompt-tokens 50 --max-tokens 20 --header 'x-penstock-timeout-ms: 30000' \
    --json --quiet >"$out/bench-$scenario.json"
}

report() { # label
  python3 - "$out/bench-$scenario.json" "$1" <<'PY' | tee -a "$out/summary.txt"
import json, sys
r = json.load(open(sys.argv[1]))
lat = r["latency_ms"]
ok = r["status_counts"].get("2xx", 0)
print(f'{sys.argv[2]:<44} {ok:>5}/{r["sent"]:<5} {100*ok/max(1,r["sent"]):>7.2f}%  p50 {lat["p50"]:>6.0f} ms  p99 {lat["p99"]:>6.0f} ms  {r["status_counts"]}')
PY
}

: >"$out/summary.txt"
echo "$requests requests at $rate/s per scenario; mock: 200 ms to first token + 20 tokens x 10 ms" | tee -a "$out/summary.txt"

scenario=baseline
start_mock "$(key a; key b; key c)"
start_gateway "$(dep a; dep b; dep c)"
run_bench; report "no faults (3 healthy)"
stop_all

scenario=mix
start_mock "$(key flaky '{"500": 0.15, "503": 0.15}'; key resetting '{reset: 0.1}'; key healthy)"
start_gateway "$(dep flaky; dep resetting; dep healthy)"
run_bench; report "30% 5xx + 10% resets + 1 healthy"
stop_all

scenario=dead
start_mock "$(key a; key b)"
start_gateway "$(dep dead "http://127.0.0.1:$dead_port/v1"; dep a; dep b)"
run_bench
report "dead deployment (refused) + 2 healthy"
python3 - "$out/bench-$scenario.json" "$work/gw-$scenario.log" <<'PY' | tee -a "$out/summary.txt"
import datetime, json, re, sys
started = datetime.datetime.fromisoformat(json.load(open(sys.argv[1]))["started_at"].replace("Z", "+00:00"))
for line in open(sys.argv[2]):
    m = re.match(r"(\d\d:\d\d:\d\d\.\d\d\d) .*deployment dead: circuit closed -> open", line)
    if m:
        t = datetime.datetime.combine(started.date(), datetime.time.fromisoformat(m.group(1)), datetime.timezone.utc)
        print(f"  dead deployment out of rotation {(t - started).total_seconds() * 1000:.0f} ms after the first request (log times, UTC)")
        break
PY
grep -c "deployment dead: circuit half_open -> open" "$work/gw-$scenario.log" | sed 's/^/  failed probes afterwards: /' | tee -a "$out/summary.txt" || true
stop_all

scenario=hang
start_mock "$(key hang '{hang: 1.0}'; key a; key b)"
# A hang before the answer's first byte is bounded by first_byte_timeout_ms (600 s by default, so
# that reasoning models may think): an operator who knows the deployment answers fast lowers it.
start_gateway "$(dep hang "" "first_byte_timeout_ms: 2000, read_timeout_ms: 2000"; dep a; dep b)"
run_bench; report "hanging deployment (2 s first-byte timeout) + 2 healthy"
stop_all

scenario=quota
start_mock "$(key broke '{quota: 1.0}'; key a; key b)"
start_gateway "$(dep broke; dep a; dep b)"
run_bench; report "insufficient_quota deployment + 2 healthy"
curl -s "http://127.0.0.1:$mock_port/__stats" | python3 -c 'import json,sys; s=json.load(sys.stdin); print("  requests the broke key received:", [k["requests"] for k in s["keys"] if k["name"]=="broke"][0])' | tee -a "$out/summary.txt"
stop_all
echo "raw outputs: $out"
