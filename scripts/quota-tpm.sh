#!/usr/bin/env bash
# Quota use when TPM binds (docs/benchmarks.md): 6 simulated keys of 200 RPM / 40,000 TPM, requests
# of ~2,000 prompt tokens with a 1,000-token output cap (~3,000 tokens charged each, so a key can
# take only ~13 a minute), offered at 150/min for DURATION through Penstock. Reports tokens
# delivered per minute against the pool's 240,000 TPM and the 429s the simulator had to send.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
duration=${DURATION:-3m}
out=${1:-$root/target/quota-tpm}
mkdir -p "$out"
work=$(mktemp -d)
PENSTOCK_NO_BUILD=0 "$root/bin/penstock" --version >/dev/null
export PENSTOCK_NO_BUILD=1
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true' EXIT

keys=()
for i in 0 1 2 3 4 5; do keys+=(--key "sk-tpm-$i-000000000000"); done
"$root/bin/penstock" mock --port 18590 "${keys[@]}" --rpm 200 --tpm 40000 --ttft-ms 200 \
  --ms-per-token 2 --output-tokens 300 >"$work/mock.log" 2>&1 &
pids+=($!)
{
  echo "listen: 127.0.0.1:18591"
  echo "models:"
  echo "  gpt-4o-mini:"
  echo "    deployments:"
  for i in 0 1 2 3 4 5; do
    echo "      - {name: key-$i, base_url: \"http://127.0.0.1:18590/v1\", api_key: sk-tpm-$i-000000000000, rpm: 200, tpm: 40000}"
  done
} >"$work/gw.yaml"
"$root/bin/penstock" serve --config "$work/gw.yaml" >"$work/gw.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
  grep -q "penstock mock:" "$work/mock.log" 2>/dev/null && grep -q "gateway at" "$work/gw.log" 2>/dev/null && break
  sleep 0.2
done

"$root/bin/penstock" bench --url http://127.0.0.1:18591/v1 --rate 150/min --duration "$duration" \
  --prompt-tokens 2000 --max-tokens 1000 --header 'x-penstock-timeout-ms: 30000' --limit-tpm 240000 \
  --json --quiet --html "$out/report.html" >"$out/bench.json"
curl -s http://127.0.0.1:18590/__stats >"$out/stats.json"

python3 - "$out/bench.json" "$out/stats.json" <<'PY'
import json, sys
bench = json.load(open(sys.argv[1]))
stats = json.load(open(sys.argv[2]))
keys = stats["keys"]
accepted = sum(k["accepted"] for k in keys)
peak_tokens = max(k["peak_tokens_60s"] for k in keys)
charged_per_request = max(k["peak_tokens_60s"] / max(1, k["peak_requests_60s"]) for k in keys)
minutes = bench["elapsed_seconds"] / 60
tokens_per_minute = accepted * charged_per_request / minutes
print(f"offered                 {bench['offered_per_minute']:.0f} requests/min")
print(f"delivered               {bench['throughput_per_minute']:.1f} requests/min ({bench['status_counts']})")
print(f"tokens charged/request  {charged_per_request:.0f} (prompt + output cap)")
print(f"tokens delivered        {tokens_per_minute:,.0f} per minute = {tokens_per_minute/240000:.3f} of the pool's 240,000 TPM")
print(f"upstream 429s           {stats['totals']['rate_limited']}")
print(f"peak tokens in 60 s     {peak_tokens} on one key (limit 40000)")
PY
