#!/usr/bin/env bash
# Gateway overhead, side by side in one run (see docs/benchmarks.md):
#
#   1. zero-latency upstream (nginx returning a fixed chat completion), closed loop with wrk:
#      req/s and latency of  direct  |  nginx reverse proxy  |  Penstock (each upstream client)
#   2. the same three at a fixed 2,000 req/s with `penstock bench`: p50 / p99 added latency
#   3. a 50 ms upstream (`penstock mock`) with 256 connections: Penstock's req/s against direct
#   4. the cost of instrumentation: Penstock at a fixed 2,000 req/s with metrics, dashboard and
#      the JSON access log on, with metrics only, and with all off, in turn, ROUNDS (default 2)
#      times
#   5. the cost of tenants: Penstock at a fixed 2,000 req/s in open mode, then with a virtual key
#      that has its own RPM/TPM and a daily budget (auth, limits, budget hold; both write the
#      ledger), ROUNDS times
#   6. the response cache: Penstock at a fixed 2,000 req/s over 100 distinct prompts sent with
#      'x-penstock-cache: force', so that all but the first 100 are exact hits, against the same
#      load with 'no-store' (every request proxied) and direct to the upstream, ROUNDS times
#
#   7. a stream's first bytes: streaming chat at a fixed 200 req/s from a simulator that answers at
#      once (`penstock mock --ttft-ms 0`), direct and through Penstock, ROUNDS times alternating:
#      time to the first token, p50 / p99
#
# PENSTOCK_JAVA_OPTS applies to every JVM the script starts (gateway, bench, simulator);
# GATEWAY_JAVA_OPTS to the gateway's alone.
#
# SECTIONS="4" runs only some of them (default "1 2 3 4"; 5, 6 and 7 only when asked).
#
# The system under test (nginx proxy or Penstock) is pinned to one core with taskset; the load
# generator and the upstream share the other. Needs root or the packages already installed:
# wrk and nginx (Debian: wrk, nginx-light). Usage: scripts/overhead.sh [output-dir]
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${1:-$root/target/overhead}
duration=${DURATION:-15s}
# On one core the JIT keeps compiling Helidon's and Penstock's hot paths for about a minute; a
# shorter warm-up measures the compiler, not the steady state.
warmup=${WARMUP:-60s}
connections=${CONNECTIONS:-64}
clients=${CLIENTS:-pooled helidon jdk}
sections=" ${SECTIONS:-1 2 3 4} "
rounds=${ROUNDS:-2}
load_core=0
sut_core=1
mkdir -p "$out"
work=$(mktemp -d)

for tool in wrk nginx; do
  if ! command -v "$tool" >/dev/null 2>&1 && ! [ -x "/usr/sbin/$tool" ]; then
    echo "installing $tool..." >&2
    apt-get install -y -q wrk nginx-light >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q wrk nginx-light >/dev/null; }
  fi
done
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)

PENSTOCK_NO_BUILD=0 "$root/bin/penstock" --version >/dev/null   # builds once if needed
export PENSTOCK_NO_BUILD=1

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  [ -f "$work/up.pid" ] && kill "$(cat "$work/up.pid")" 2>/dev/null || true
  [ -f "$work/proxy.pid" ] && kill "$(cat "$work/proxy.pid")" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT

body='{"id":"chatcmpl-overhead","object":"chat.completion","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"Hello"},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":14,"completion_tokens":1,"total_tokens":15}}'
cat >"$work/upstream.conf" <<EOF
worker_processes 1;
pid $work/up.pid;
error_log $work/up-error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  keepalive_requests 10000000;
  server {
    listen 127.0.0.1:18480 backlog=8192;
    location / { default_type application/json; return 200 '$body'; }
  }
}
EOF
cat >"$work/proxy.conf" <<EOF
worker_processes 1;
pid $work/proxy.pid;
error_log $work/proxy-error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  keepalive_requests 10000000;
  upstream origin { server 127.0.0.1:18480; keepalive 512; }
  server {
    listen 127.0.0.1:18481 backlog=8192;
    location / { proxy_pass http://origin; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
EOF
taskset -c $load_core "$nginx_bin" -c "$work/upstream.conf" -p "$work"
taskset -c $sut_core "$nginx_bin" -c "$work/proxy.conf" -p "$work"

gateway_config() { # port upstream-base-url [extra-yaml]
  cat <<EOF
listen: 127.0.0.1:$1
${3:-}
models:
  gpt-4o-mini:
    deployments:
      - {name: origin, base_url: "$2", api_key: sk-overhead, rpm: 1000000000, tpm: 100000000000}
EOF
}

start_penstock() { # client port upstream [extra-yaml] -> waits until it listens
  gateway_config "$2" "$3" "${4:-}" >"$work/gw-$2.yaml"
  PENSTOCK_JAVA_OPTS="-Dpenstock.upstreamClient=$1 ${PENSTOCK_JAVA_OPTS:-} ${GATEWAY_JAVA_OPTS:-}" \
    taskset -c $sut_core "$root/bin/penstock" serve --config "$work/gw-$2.yaml" >"$work/gw-$2.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do
    grep -q "penstock gateway at" "$work/gw-$2.log" 2>/dev/null && return 0
    sleep 0.2
  done
  echo "Penstock did not start; see $work/gw-$2.log" >&2
  exit 1
}

cat >"$work/chat.lua" <<'EOF'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer sk-client"
wrk.body = '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello there, how are you today?"}],"max_tokens":16}'
EOF

wrk_run() { # name url conns -> "req/s p50 p99"
  taskset -c $load_core wrk -t1 -c"$3" -d"${4:-$warmup}" -s "$work/chat.lua" "$2" >/dev/null 2>&1 || true # warm-up
  taskset -c $load_core wrk -t1 -c"$3" -d"$duration" --latency -s "$work/chat.lua" "$2" >"$out/wrk-$1.txt" 2>&1
  local rps p50 p99
  rps=$(awk '/Requests\/sec/ {print $2}' "$out/wrk-$1.txt")
  p50=$(awk '$1=="50%" {print $2}' "$out/wrk-$1.txt")
  p99=$(awk '$1=="99%" {print $2}' "$out/wrk-$1.txt")
  if grep -q "Non-2xx" "$out/wrk-$1.txt"; then
    echo "warning: $1 had non-2xx answers: $(grep Non-2xx "$out/wrk-$1.txt")" >&2
  fi
  echo "$rps $p50 $p99"
}

bench_run() { # name base-url -> "p50ms p99ms ok"
  # shellcheck disable=SC2086 # KEY_ARGS is "--key VALUE" or empty
  taskset -c $load_core "$root/bin/penstock" bench --url "$2" --rate 2000/s --duration "$duration" --warmup "${3:-20s}" \
    ${KEY_ARGS:-} --prompt-tokens 8 --max-tokens 16 --max-inflight 1000 --quiet --json >"$out/bench-$1.json" 2>"$out/bench-$1.err" || true
  python3 - "$out/bench-$1.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
lat = r["latency_ms"]
print(f'{lat["p50"]:.2f} {lat["p99"]:.2f} {r["status_counts"].get("2xx", 0)}/{r["sent"]}')
EOF
}

port=18482
if [[ $sections == *" 1 "* ]]; then
echo "== 1. zero-latency upstream, closed loop, $connections connections, $duration each" | tee "$out/summary.txt"
printf '%-22s %12s %10s %10s\n' "target" "req/s" "p50" "p99" | tee -a "$out/summary.txt"
read -r rps p50 p99 < <(wrk_run direct http://127.0.0.1:18480/v1/chat/completions "$connections" 5s)
printf '%-22s %12s %10s %10s\n' "direct" "$rps" "$p50" "$p99" | tee -a "$out/summary.txt"
read -r rps p50 p99 < <(wrk_run nginx http://127.0.0.1:18481/v1/chat/completions "$connections" 5s)
nginx_rps=$rps
printf '%-22s %12s %10s %10s\n' "nginx proxy" "$rps" "$p50" "$p99" | tee -a "$out/summary.txt"
for client in $clients; do
  start_penstock "$client" $port http://127.0.0.1:18480/v1
  read -r rps p50 p99 < <(wrk_run "penstock-$client" "http://127.0.0.1:$port/v1/chat/completions" "$connections")
  printf '%-22s %12s %10s %10s   (%s%% of nginx)\n' "penstock ($client)" "$rps" "$p50" "$p99" \
    "$(python3 -c "print(round(100*$rps/$nginx_rps))")" | tee -a "$out/summary.txt"
  kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
  port=$((port + 1))
done
fi

if [[ $sections == *" 2 "* ]]; then
echo | tee -a "$out/summary.txt"
echo "== 2. fixed 2,000 req/s, $duration each (penstock bench, latency from due time)" | tee -a "$out/summary.txt"
printf '%-22s %10s %10s %12s\n' "target" "p50 ms" "p99 ms" "ok/sent" | tee -a "$out/summary.txt"
read -r p50 p99 ok < <(bench_run direct http://127.0.0.1:18480/v1 20s)
printf '%-22s %10s %10s %12s\n' "direct" "$p50" "$p99" "$ok" | tee -a "$out/summary.txt"
read -r p50 p99 ok < <(bench_run nginx http://127.0.0.1:18481/v1 20s)
printf '%-22s %10s %10s %12s\n' "nginx proxy" "$p50" "$p99" "$ok" | tee -a "$out/summary.txt"
for client in $clients; do
  start_penstock "$client" $port http://127.0.0.1:18480/v1
  read -r p50 p99 ok < <(bench_run "penstock-$client" "http://127.0.0.1:$port/v1" "$warmup")
  printf '%-22s %10s %10s %12s\n' "penstock ($client)" "$p50" "$p99" "$ok" | tee -a "$out/summary.txt"
  kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
  port=$((port + 1))
done
fi

if [[ $sections == *" 4 "* ]]; then
echo | tee -a "$out/summary.txt"
echo "== 4. instrumentation cost: fixed 2,000 req/s, $duration each, pooled client" | tee -a "$out/summary.txt"
printf '%-26s %10s %10s %12s\n' "penstock" "p50 ms" "p99 ms" "ok/sent" | tee -a "$out/summary.txt"
read -r p50 p99 ok < <(bench_run direct-instr http://127.0.0.1:18480/v1 20s)
printf '%-26s %10s %10s %12s\n' "(direct, no gateway)" "$p50" "$p99" "$ok" | tee -a "$out/summary.txt"
on_yaml='logging: {format: json, access_log: true}'
metrics_yaml='logging: {access_log: false}'
off_yaml=$'metrics: {enabled: false}\nlogging: {access_log: false}'
for round in $(seq 1 "$rounds"); do
  for mode in on metrics-only off; do
    case $mode in on) extra=$on_yaml ;; metrics-only) extra=$metrics_yaml ;; *) extra=$off_yaml ;; esac
    start_penstock pooled $port http://127.0.0.1:18480/v1 "$extra"
    read -r p50 p99 ok < <(bench_run "penstock-instr-$mode-$round" "http://127.0.0.1:$port/v1" "$warmup")
    printf '%-26s %10s %10s %12s\n' "$mode (run $round)" "$p50" "$p99" "$ok" | tee -a "$out/summary.txt"
    kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
    if [ "$mode" = on ]; then
      echo "  access log lines written: $(grep -c penstock.access "$work/gw-$port.log" || true)" | tee -a "$out/summary.txt"
    fi
    port=$((port + 1))
  done
done
fi

if [[ $sections == *" 5 "* ]]; then
echo | tee -a "$out/summary.txt"
echo "== 5. tenants' cost: fixed 2,000 req/s, $duration each, pooled client" | tee -a "$out/summary.txt"
echo "   open: no virtual key (the ledger still records every request);" | tee -a "$out/summary.txt"
echo "   keyed: a virtual key with its own RPM/TPM and a daily budget (auth + limits + budget hold + ledger)" \
  | tee -a "$out/summary.txt"
printf '%-26s %10s %10s %12s\n' "penstock" "p50 ms" "p99 ms" "ok/sent" | tee -a "$out/summary.txt"
pricing_yaml=$'admin_key: adm-overhead-0123456789\npricing:\n  gpt-4o-mini: {input_per_1m: 0.15, output_per_1m: 0.6}'
for round in $(seq 1 "$rounds"); do
  for mode in open keyed; do
    # Each gateway its own database: a key left by the keyed run would end the next open mode.
    start_penstock pooled $port http://127.0.0.1:18480/v1 \
      "$pricing_yaml"$'\n'"storage: {path: $work/tenants-$port.db}"
    key_args=()
    if [ "$mode" = keyed ]; then
      key=$(curl -s -X POST -H 'Authorization: Bearer adm-overhead-0123456789' \
        -H 'Content-Type: application/json' "http://127.0.0.1:$port/admin/keys" \
        -d '{"name": "bench", "rpm": 100000000, "tpm": 100000000000, "budget_usd_daily": 1000000}' \
        | python3 -c 'import json, sys; print(json.load(sys.stdin)["key"])')
      key_args=(--key "$key")
    fi
    read -r p50 p99 ok < <(KEY_ARGS="${key_args[*]:-}" bench_run "penstock-tenants-$mode-$round" "http://127.0.0.1:$port/v1" "$warmup")
    printf '%-26s %10s %10s %12s\n' "$mode (run $round)" "$p50" "$p99" "$ok" | tee -a "$out/summary.txt"
    rows=$(curl -s -H 'Authorization: Bearer adm-overhead-0123456789' \
      "http://127.0.0.1:$port/admin/usage?group_by=model" | python3 -c 'import json, sys; print(sum(r["requests"] for r in json.load(sys.stdin)["data"]))')
    echo "  ledger rows: $rows" | tee -a "$out/summary.txt"
    kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
    port=$((port + 1))
  done
done
fi

if [[ $sections == *" 6 "* ]]; then
echo | tee -a "$out/summary.txt"
echo "== 6. response cache: fixed 2,000 req/s, $duration each, 100 distinct prompts, pooled client" | tee -a "$out/summary.txt"
echo "   hit: x-penstock-cache: force (all but the first 100 answered from the cache);" | tee -a "$out/summary.txt"
echo "   proxied: x-penstock-cache: no-store (every request to the upstream); direct: no gateway" | tee -a "$out/summary.txt"
printf '%-26s %10s %10s %12s\n' "target" "p50 ms" "p99 ms" "ok/sent" | tee -a "$out/summary.txt"
cache_yaml=$'admin_key: adm-overhead-0123456789'
for round in $(seq 1 "$rounds"); do
  read -r p50 p99 ok < <(KEY_ARGS="--distinct-prompts 100" bench_run "direct-cache-$round" http://127.0.0.1:18480/v1 20s)
  printf '%-26s %10s %10s %12s\n' "direct (run $round)" "$p50" "$p99" "$ok" | tee -a "$out/summary.txt"
  for mode in hit proxied; do
    start_penstock pooled $port http://127.0.0.1:18480/v1 "$cache_yaml"$'\n'"storage: {path: $work/cache-$port.db}"
    directive=force
    [ "$mode" = proxied ] && directive=no-store
    read -r p50 p99 ok < <(KEY_ARGS="--distinct-prompts 100 --header x-penstock-cache:$directive" \
      bench_run "penstock-cache-$mode-$round" "http://127.0.0.1:$port/v1" "$warmup")
    printf '%-26s %10s %10s %12s\n' "$mode (run $round)" "$p50" "$p99" "$ok" | tee -a "$out/summary.txt"
    curl -s -H 'Authorization: Bearer adm-overhead-0123456789' "http://127.0.0.1:$port/admin/cache" \
      | python3 -c 'import json, sys; c = json.load(sys.stdin); print("  cache: %d hits, %d misses, %d bypassed, %d entries, %d bytes" % (c["hits"], c["misses"], c["bypasses"], c["entries"], c["bytes"]))' \
      | tee -a "$out/summary.txt"
    kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
    port=$((port + 1))
  done
done
fi

if [[ $sections == *" 7 "* ]]; then
echo | tee -a "$out/summary.txt"
echo "== 7. a stream's first bytes: streaming chat at 200 req/s, $duration each, pooled client" | tee -a "$out/summary.txt"
printf '%-26s %12s %12s %12s\n' "target" "ttft p50 ms" "ttft p99 ms" "ok/sent" | tee -a "$out/summary.txt"
taskset -c $load_core "$root/bin/penstock" mock --port 18489 --keys 1 --key sk-overhead --rpm 1000000000 \
  --tpm 100000000000 --ttft-ms 0 --ms-per-token 5 --jitter 0 --output-tokens 10 >"$work/mock-stream.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do grep -q "penstock mock:" "$work/mock-stream.log" 2>/dev/null && break; sleep 0.2; done
stream_run() { # name base-url warmup -> "ttft-p50 ttft-p99 ok"
  taskset -c $load_core "$root/bin/penstock" bench --url "$2" --key sk-overhead --stream --rate 200/s \
    --duration "$duration" --warmup "$3" --prompt-tokens 8 --max-tokens 10 --quiet --json \
    >"$out/bench-$1.json" 2>"$out/bench-$1.err" || true
  python3 - "$out/bench-$1.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
t = r["ttft_ms"]
print(f'{t["p50"]:.2f} {t["p99"]:.2f} {r["status_counts"].get("2xx", 0)}/{r["sent"]}')
PY
}
for round in $(seq 1 "$rounds"); do
  # The simulator and bench are fresh JVMs too: the first direct run warms them as long as the gateway.
  read -r p50 p99 ok < <(stream_run "direct-stream-$round" http://127.0.0.1:18489/v1 "$([ "$round" = 1 ] && echo "$warmup" || echo 20s)")
  printf '%-26s %12s %12s %12s\n' "direct (run $round)" "$p50" "$p99" "$ok" | tee -a "$out/summary.txt"
  start_penstock pooled $port http://127.0.0.1:18489/v1
  read -r p50 p99 ok < <(stream_run "penstock-stream-$round" "http://127.0.0.1:$port/v1" "$warmup")
  printf '%-26s %12s %12s %12s\n' "penstock (run $round)" "$p50" "$p99" "$ok" | tee -a "$out/summary.txt"
  kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
  port=$((port + 1))
done
fi

if [[ $sections == *" 3 "* ]]; then
echo | tee -a "$out/summary.txt"
echo "== 3. 50 ms upstream (penstock mock), closed loop, 256 connections, $duration each" | tee -a "$out/summary.txt"
taskset -c $load_core "$root/bin/penstock" mock --port 18490 --keys 1 --key sk-overhead --rpm 1000000000 \
  --tpm 100000000000 --ttft-ms 50 --ms-per-token 0 --jitter 0 --output-tokens 1 >"$work/mock.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do grep -q "penstock mock:" "$work/mock.log" 2>/dev/null && break; sleep 0.2; done
sed -i 's/Bearer sk-client/Bearer sk-overhead/' "$work/chat.lua"
read -r direct50 p50 p99 < <(wrk_run direct-50ms http://127.0.0.1:18490/v1/chat/completions 256 20s)
printf '%-22s %12s %10s %10s\n' "direct" "$direct50" "$p50" "$p99" | tee -a "$out/summary.txt"
for client in $clients; do
  start_penstock "$client" $port http://127.0.0.1:18490/v1
  read -r rps p50 p99 < <(wrk_run "penstock-50ms-$client" "http://127.0.0.1:$port/v1/chat/completions" 256)
  printf '%-22s %12s %10s %10s   (%s%% of direct)\n' "penstock ($client)" "$rps" "$p50" "$p99" \
    "$(python3 -c "print(round(100*$rps/$direct50, 1))")" | tee -a "$out/summary.txt"
  kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
  port=$((port + 1))
done
fi

echo
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')" | tee -a "$out/summary.txt"
echo "raw outputs: $out"
