#!/usr/bin/env bash
# Requests lost while the configuration changes under load (docs/benchmarks.md#reload-and-shutdown):
# `penstock bench` keeps 16 requests in flight through `penstock serve` for 40 s while the file is
# rewritten — a deployment added, one removed, a limit changed; then an invalid file; then SIGHUP
# after a valid one — and reports every answer that was not a 200.
# Usage: scripts/reload.sh [output-dir]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${1:-$root/target/reload}
mkdir -p "$out"
work=$(mktemp -d)
PENSTOCK_NO_BUILD=0 "$root/bin/penstock" --version >/dev/null
export PENSTOCK_NO_BUILD=1
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true' EXIT

"$root/bin/penstock" mock --port 18990 --key sk-a-000000000001 --key sk-b-000000000002 \
  --key sk-c-000000000003 --rpm 100000 --tpm 100000000 --ttft-ms 100 --ms-per-token 5 \
  >"$work/mock.log" 2>&1 &
pids+=($!)
dep() { echo "      - {name: $1, base_url: \"http://127.0.0.1:18990/v1\", api_key: sk-$1-00000000000$2, rpm: $3, tpm: 100000000}"; }
write() { printf 'listen: 127.0.0.1:18991\nmodels:\n  gpt-4o-mini:\n    deployments:\n%s\n' "$1" >"$work/gw.yaml.new"; mv "$work/gw.yaml.new" "$work/gw.yaml"; }
write "$(dep a 1 50000; dep b 2 50000)"
"$root/bin/penstock" serve --config "$work/gw.yaml" >"$work/gw.log" 2>&1 &
gw=$!
pids+=($gw)
for _ in $(seq 1 150); do
  grep -q "penstock mock:" "$work/mock.log" 2>/dev/null && grep -q "gateway at" "$work/gw.log" 2>/dev/null && break
  sleep 0.2
done

"$root/bin/penstock" bench --url http://127.0.0.1:18991/v1 --concurrency 16 --duration 40s \
  --prompt-tokens 50 --max-tokens 20 --json --quiet >"$out/bench.json" &
bench=$!
sleep 8;  write "$(dep a 1 20000; dep c 3 50000)"            # b removed, c added, a's limit changed
sleep 8;  echo "models: [not a configuration" >"$work/gw.yaml"  # refused, old one kept
sleep 8;  write "$(dep a 1 50000; dep b 2 50000; dep c 3 50000)" # valid again (the watcher applies it)
sleep 4;  kill -HUP "$gw"                                      # and SIGHUP re-reads it
wait "$bench"

grep "config reload" "$work/gw.log" | sed 's/^/  /' | tee "$out/summary.txt"
python3 - "$out/bench.json" <<'PY' | tee -a "$out/summary.txt"
import json, sys
r = json.load(open(sys.argv[1]))
ok = r["status_counts"].get("2xx", 0)
print(f'{r["sent"]} requests during 4 reloads: {ok} answered 200, {r["sent"] - ok} not ({r["status_counts"]}); by deployment {r.get("deployments", {})}')
PY
