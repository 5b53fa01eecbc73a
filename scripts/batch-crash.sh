#!/usr/bin/env bash
# Batch durability under kill -9 (SPEC 7): a batch of LINES chat requests runs through a gateway
# that is killed with SIGKILL and restarted KILLS times at random moments. At the end every
# custom_id of the input must be in the output or error file exactly once, the batch `completed`.
# Reports how many requests reached the upstream more than once: each kill may re-send the lines
# that were in flight (at most batches.concurrency per kill), never more.
#
# Real processes: `penstock mock` (a few keys, no faults, no rate limits to speak of) as the
# upstream, `penstock serve` in open mode with its SQLite store in a fresh directory.
#
#   LINES=3000 KILLS=20 CONCURRENCY=16 scripts/batch-crash.sh [output-dir]
#
# Each kill comes when request_counts.completed has passed a random point (see "the kills" below),
# so all KILLS kills land while lines are in flight. Other knobs: SEED (bash's RANDOM, for the kill
# points; printed), TTFT_MS (the mock's time to first token, default 300: a batch long enough for
# the kills), PROGRESS_S (the wait for each kill point, default 120), TIMEOUT_S (the wait for the
# batch to end after the last kill, default 900). Needs curl and python3.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${1:-$root/target/batch-crash}
lines=${LINES:-3000}
kills=${KILLS:-20}
concurrency=${CONCURRENCY:-16}
seed=${SEED:-$$}
RANDOM=$seed
progress_s=${PROGRESS_S:-120}
ttft_ms=${TTFT_MS:-300}
timeout_s=${TIMEOUT_S:-900}
mock_port=${MOCK_PORT:-18790}
gw_port=${GW_PORT:-18791}
mkdir -p "$out"
rm -f "$out"/gw-*.log # a previous run's
work=$(mktemp -d)
gw_url="http://127.0.0.1:$gw_port"
mock_url="http://127.0.0.1:$mock_port"

for tool in curl python3; do
  command -v "$tool" >/dev/null || { echo "batch-crash: needs $tool" >&2; exit 1; }
done

PENSTOCK_NO_BUILD=0 "$root/bin/penstock" --version >/dev/null # builds once if needed
export PENSTOCK_NO_BUILD=1

mock_pid=
gw_pid=
cleanup() {
  [ -n "$gw_pid" ] && kill "$gw_pid" 2>/dev/null || true
  [ -n "$mock_pid" ] && kill "$mock_pid" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT

wait_for() { # file pattern
  for _ in $(seq 1 300); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "batch-crash: timed out waiting for '$2' in $1" >&2
  exit 1
}

json() { # a Python expression over the JSON on stdin, bound to j
  python3 -c "import json,sys; j=json.load(sys.stdin); print($1)"
}

# ---- the upstream: three keys, limits far above what the batch needs ----
cat >"$work/mock.yaml" <<YAML
port: $mock_port
seed: 7
output_tokens: 8
latency: {ttft_ms: $ttft_ms, ms_per_token: 2, jitter: 0.2}
defaults: {rpm: 1000000, tpm: 1000000000}
keys:
  - {name: a, key: sk-crash-a-000000000001}
  - {name: b, key: sk-crash-b-000000000001}
  - {name: c, key: sk-crash-c-000000000001}
YAML
"$root/bin/penstock" mock --config "$work/mock.yaml" >"$out/mock.log" 2>&1 &
mock_pid=$!
wait_for "$out/mock.log" "penstock mock:"

# ---- the gateway: open mode, its store and files under $work/data ----
cat >"$work/gw.yaml" <<YAML
listen: 127.0.0.1:$gw_port
storage:
  path: $work/data/penstock.db
batches:
  concurrency: $concurrency
  max_concurrency: $((concurrency * 2))
models:
  gpt-4o-mini:
    deployments:
      - {name: a, base_url: "$mock_url/v1", api_key: sk-crash-a-000000000001, rpm: 1000000, tpm: 1000000000}
      - {name: b, base_url: "$mock_url/v1", api_key: sk-crash-b-000000000001, rpm: 1000000, tpm: 1000000000}
      - {name: c, base_url: "$mock_url/v1", api_key: sk-crash-c-000000000001, rpm: 1000000, tpm: 1000000000}
YAML
runs=0
start_gateway() {
  runs=$((runs + 1))
  "$root/bin/penstock" serve --config "$work/gw.yaml" >"$out/gw-$runs.log" 2>&1 &
  gw_pid=$!
  wait_for "$out/gw-$runs.log" "gateway at"
}
start_gateway

# ---- the input file and the batch ----
python3 - "$lines" >"$work/input.jsonl" <<'PY'
import json, sys
for i in range(int(sys.argv[1])):
    print(json.dumps({
        "custom_id": f"line-{i}",
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {"model": "gpt-4o-mini", "max_tokens": 8,
                 "messages": [{"role": "user", "content": f"Say something about the number {i}."}]},
    }))
PY
file_id=$(curl -sS --fail-with-body "$gw_url/v1/files" -F purpose=batch -F "file=@$work/input.jsonl" | json 'j["id"]')
batch_id=$(curl -sS --fail-with-body "$gw_url/v1/batches" -H 'Content-Type: application/json' \
  -d "{\"input_file_id\":\"$file_id\",\"endpoint\":\"/v1/chat/completions\",\"completion_window\":\"24h\"}" \
  | json 'j["id"]')
echo "batch $batch_id: $lines lines from $file_id; $kills kills with SIGKILL follow (seed $seed)" \
  | tee "$out/summary.txt"

status() {
  curl -sS --max-time 5 "$gw_url/v1/batches/$batch_id" 2>/dev/null \
    | json 'j["status"] + " " + str(j["request_counts"]["completed"]) + "/" + str(j["request_counts"]["total"]) + " failed " + str(j["request_counts"]["failed"])' \
    2>/dev/null || echo "unknown"
}

# ---- the kills ----
# Each kill waits until request_counts.completed has passed a random point past what the gateway
# then running found done, drawn from an equal share of the lines left up to 95% for the kills
# left: every kill lands in the middle of the batch with lines in flight, however fast the batch
# runs and however far a restart gets before the first look. (Kills on a timer let a fast batch
# end after a few of them.)
count() { # the completed count in a status line, 0 when unknown
  local n=${1#* }
  n=${n%%/*}
  if [[ $n =~ ^[0-9]+$ ]]; then echo "$n"; else echo 0; fi
}
killed=0 # the kills done: fewer than KILLS only if the batch ended first
for k in $(seq 1 "$kills"); do
  up_since=$SECONDS
  start_count=$(count "$(status)")
  share=$(( (lines * 95 / 100 - start_count) / (kills - k + 1) ))
  [ "$share" -ge 1 ] || share=1
  point=$(( start_count + 1 + RANDOM % share ))
  until_s=$((SECONDS + progress_s))
  while :; do
    before=$(status)
    case "$before" in completed*|failed*|cancelled*|expired*) break 2 ;; esac
    [ "$(count "$before")" -ge "$point" ] && break
    if [ "$SECONDS" -ge "$until_s" ]; then
      echo "batch-crash: FAIL: no progress to $point within ${progress_s} s: $before" \
        | tee -a "$out/summary.txt"
      exit 1
    fi
    sleep 0.05
  done
  kill -9 "$gw_pid" 2>/dev/null || true
  wait "$gw_pid" 2>/dev/null || true
  killed=$k
  echo "kill $k at $point or past, $((SECONDS - up_since)) s after the restart: $before" \
    | tee -a "$out/summary.txt"
  start_gateway
done

# ---- the end ----
deadline=$((SECONDS + timeout_s))
while :; do
  now=$(status)
  case "$now" in completed*) break ;; failed*|cancelled*|expired*)
    echo "batch-crash: FAIL: the batch ended $now" | tee -a "$out/summary.txt"; exit 1 ;;
  esac
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "batch-crash: FAIL: not completed after ${timeout_s} s: $now" | tee -a "$out/summary.txt"
    exit 1
  fi
  sleep 1
done
curl -sS --fail-with-body "$gw_url/v1/batches/$batch_id" >"$out/batch.json"
output_id=$(json 'j.get("output_file_id") or ""' <"$out/batch.json")
error_id=$(json 'j.get("error_file_id") or ""' <"$out/batch.json")
: >"$out/output.jsonl"
: >"$out/errors.jsonl"
[ -n "$output_id" ] && curl -sS --fail-with-body "$gw_url/v1/files/$output_id/content" >"$out/output.jsonl"
[ -n "$error_id" ] && curl -sS --fail-with-body "$gw_url/v1/files/$error_id/content" >"$out/errors.jsonl"
curl -sS "$mock_url/__stats" >"$out/mock-stats.json"

python3 - "$lines" "$killed" "$concurrency" "$out" <<'PY' | tee -a "$out/summary.txt"
import collections, json, sys
lines, kills, concurrency, out = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
def read(name):
    with open(f"{out}/{name}") as f:
        return [json.loads(l) for l in f if l.strip()]
done, errors = read("output.jsonl"), read("errors.jsonl")
seen = collections.Counter(r["custom_id"] for r in done + errors)
expected = {f"line-{i}" for i in range(lines)}
missing = sorted(expected - set(seen))
twice = sorted(c for c, n in seen.items() if n > 1)
extra = sorted(set(seen) - expected)
ids = collections.Counter(r["id"] for r in done + errors)
order = [r["custom_id"] for r in done] == sorted((r["custom_id"] for r in done), key=lambda c: int(c.split("-")[1]))
stats = json.load(open(f"{out}/mock-stats.json"))["totals"]
upstream = stats["requests"]
print(f"output lines {len(done)}, error lines {len(errors)}"
      + (f" (codes {dict(collections.Counter(e['error']['code'] for e in errors))})" if errors else ""))
print(f"custom_ids: {len(seen)} of {lines}; missing {len(missing)}, twice or more {len(twice)}, unknown {len(extra)}; "
      f"line ids unique: {all(n == 1 for n in ids.values())}; output in input order: {order}")
print(f"upstream requests {upstream} (succeeded {stats['succeeded']}, rate limited {stats['rate_limited']}, "
      f"faults {stats['faults']}) for {lines} lines: re-sends {upstream - lines} "
      f"(bound {kills} kills x {concurrency} in flight = {kills * concurrency})")
ok = not missing and not twice and not extra and all(n == 1 for n in ids.values()) and order
ok = ok and upstream - lines <= kills * concurrency
print("PASS" if ok else "FAIL")
sys.exit(0 if ok else 1)
PY
