#!/usr/bin/env bash
# Upstreams as they really are: TLS, a custom CA, HTTP/2 (see docs/upstreams.md).
#
# nginx (one worker) serves a fixed chat completion and a fixed SSE stream over TLS with a
# certificate from a throw-away CA made by openssl in a temp dir, on two ports:
#   18543  HTTP/1.1 + TLS (ALPN offers http/1.1 only)
#   18544  HTTP/2 + TLS   (ALPN offers h2 and http/1.1; http2_max_concurrent_streams 1024)
# Penstock sits in front with `upstream.ca_file` naming that CA, once per mode:
#   pooled-h1    the pooled client (default), origin on 18543: HTTP/1.1 over TLS, kept alive
#   pooled-h2    the pooled client with http2: auto, origin on 18544: ALPN selects h2, the route
#                is sent by the JDK's HTTP/2 client from then on
#   jdk-h2       -Dpenstock.upstreamClient=jdk, origin on 18544 (HTTP/2)
#   helidon-h1   -Dpenstock.upstreamClient=helidon, origin on 18543 (HTTP/1.1 over TLS)
# and per mode, with `penstock bench` (closed loop; latency from send to the last byte):
#   req/s        non-streamed chat, CONNECTIONS (default 64) outstanding
#   p50/p99      streamed chat (SSE) with 100 and with 1,000 concurrent streams
#   handshakes   new TLS connections nginx accepted per minute of load (distinct $connection in
#                its access log; a kept-alive or multiplexed connection is counted once), and how
#                many of them resumed a TLS session ($ssl_session_reused)
#
# Penstock is pinned to one core with taskset; nginx and bench share the other. Each measurement
# runs DURATION (default 30s) after WARMUP (default 20s). A smoke run: DURATION=5s WARMUP=2s.
# MODES="pooled-h1 jdk-h2" runs some modes only. Needs nginx with ssl and http_v2 (Debian:
# nginx-light), openssl and python3. Usage: scripts/upstream-tls.sh [output-dir]
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${1:-$root/target/upstream-tls}
duration=${DURATION:-30s}
warmup=${WARMUP:-20s}
connections=${CONNECTIONS:-64}
modes=${MODES:-pooled-h1 pooled-h2 jdk-h2 helidon-h1}
load_core=0
sut_core=1
mkdir -p "$out"
work=$(mktemp -d)

for tool in nginx openssl python3; do
  if ! command -v "$tool" >/dev/null 2>&1 && ! [ -x "/usr/sbin/$tool" ]; then
    echo "installing $tool..." >&2
    apt-get install -y -q nginx-light openssl python3 >/dev/null 2>&1 \
      || { apt-get update -q >/dev/null && apt-get install -y -q nginx-light openssl python3 >/dev/null; }
  fi
done
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)

PENSTOCK_NO_BUILD=0 "$root/bin/penstock" --version >/dev/null # builds once if needed
export PENSTOCK_NO_BUILD=1

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  [ -f "$work/origin.pid" ] && kill "$(cat "$work/origin.pid")" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# A CA and a server certificate for 127.0.0.1, valid two days, never kept.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -subj "/CN=Penstock bench CA" -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign" -keyout "$work/ca.key" -out "$work/ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=127.0.0.1" \
  -keyout "$work/server.key" -out "$work/server.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >"$work/ext.cnf"
openssl x509 -req -in "$work/server.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" -CAcreateserial \
  -days 2 -extfile "$work/ext.cnf" -out "$work/server.pem" 2>/dev/null

body='{"id":"chatcmpl-tls","object":"chat.completion","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"Hello"},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":14,"completion_tokens":1,"total_tokens":15}}'
chunk='{"id":"chatcmpl-tls","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini"'
sse="data: $chunk,\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Hello\"},\"finish_reason\":null}]}\n\ndata: $chunk,\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: $chunk,\"choices\":[],\"usage\":{\"prompt_tokens\":14,\"completion_tokens\":1,\"total_tokens\":15}}\n\ndata: [DONE]\n\n"
cat >"$work/origin.conf" <<EOF
worker_processes 1;
pid $work/origin.pid;
error_log $work/origin-error.log warn;
events { worker_connections 16384; }
http {
  log_format tls '\$connection \$ssl_session_reused \$server_protocol';
  access_log $work/access.log tls buffer=256k flush=1s;
  keepalive_requests 10000000;
  keepalive_timeout 300s;
  http2_max_concurrent_streams 1024;
  ssl_certificate $work/server.pem;
  ssl_certificate_key $work/server.key;
  ssl_session_cache shared:tls:10m;
  server {
    listen 127.0.0.1:18543 ssl backlog=8192;
    location /sse/ { default_type text/event-stream; return 200 '$sse'; }
    location / { default_type application/json; return 200 '$body'; }
  }
  server {
    listen 127.0.0.1:18544 ssl http2 backlog=8192;
    location /sse/ { default_type text/event-stream; return 200 '$sse'; }
    location / { default_type application/json; return 200 '$body'; }
  }
}
EOF
# nginx's return expands \n only in its own escapes: write the SSE body's newlines as real ones
python3 - "$work/origin.conf" <<'PY'
import sys
p = sys.argv[1]
s = open(p).read().replace("\\n", "\n")
open(p, "w").write(s)
PY
taskset -c $load_core "$nginx_bin" -c "$work/origin.conf" -p "$work"

start_penstock() { # client port base-url extra-yaml -> waits until it listens
  cat >"$work/gw-$2.yaml" <<EOF
listen: 127.0.0.1:$2
upstream:
  ca_file: $work/ca.pem
  proxy: none
$4
models:
  gpt-4o-mini:
    deployments:
      - {name: origin, base_url: "$3", api_key: sk-tls, rpm: 1000000000, tpm: 100000000000}
EOF
  PENSTOCK_JAVA_OPTS="-Dpenstock.upstreamClient=$1 ${PENSTOCK_JAVA_OPTS:-}" \
    taskset -c $sut_core "$root/bin/penstock" serve --no-watch --config "$work/gw-$2.yaml" >"$work/gw-$2.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 150); do
    grep -q "penstock gateway at" "$work/gw-$2.log" 2>/dev/null && return 0
    sleep 0.2
  done
  echo "Penstock did not start; see $work/gw-$2.log:" >&2
  cat "$work/gw-$2.log" >&2
  exit 1
}

bench_run() { # name url concurrency [--stream] -> "req/s p50ms p99ms ok/sent"
  taskset -c $load_core "$root/bin/penstock" bench --url "$2" --concurrency "$3" ${4:-} \
    --duration "$duration" --warmup "$warmup" --prompt-tokens 8 --max-tokens 16 --timeout 30s \
    --quiet --json >"$out/bench-$1.json" 2>"$out/bench-$1.err" || true
  python3 - "$out/bench-$1.json" <<'PY'
import json, sys
try:
    r = json.load(open(sys.argv[1]))
except Exception:
    print("- - - failed"); sys.exit()
lat = r["latency_ms"]
print(f'{r["throughput_per_minute"] / 60:.0f} {lat["p50"]:.2f} {lat["p99"]:.2f} {r["status_counts"].get("2xx", 0)}/{r["sent"]}')
PY
}

handshakes() { # access-log-lines-before seconds -> "new-connections/min resumed"
  sleep 1.5 # the access log is flushed every second
  tail -n +"$(($1 + 1))" "$work/access.log" | python3 -c '
import sys
seconds = float(sys.argv[1])
conns, resumed = {}, 0
for line in sys.stdin:
    parts = line.split()
    if len(parts) >= 2 and parts[0] not in conns:
        conns[parts[0]] = parts[1]
        resumed += parts[1] == "r"
print(f"{len(conns) * 60 / seconds:.0f} {resumed}")' "$2"
}

seconds() { python3 -c "import re,sys; m=re.fullmatch(r'(\d+)(ms|s|m)?', sys.argv[1]); n=int(m[1]); print({'ms':n/1000,'s':n,'m':n*60,None:n}[m[2]])" "$1"; }
per_mode_seconds=$(python3 -c "print(3 * ($(seconds "$duration") + $(seconds "$warmup")))")

echo "== upstream over TLS: Penstock (one core) -> nginx; closed loop; $duration each after $warmup warm-up" | tee "$out/summary.txt"
printf '%-11s %9s %9s %9s | %9s %9s %11s | %9s %9s %11s | %11s %8s\n' \
  mode "req/s" "p50 ms" "p99 ms" "100 p50" "100 p99" "ok/sent" "1000 p50" "1000 p99" "ok/sent" "TLS hs/min" resumed \
  | tee -a "$out/summary.txt"
port=18550
for mode in $modes; do
  case $mode in
    pooled-h1) client=pooled; origin=18543; extra="  http2: off" ;;
    pooled-h2) client=pooled; origin=18544; extra="  http2: auto" ;;
    jdk-h2) client=jdk; origin=18544; extra="  http2: auto" ;;
    helidon-h1) client=helidon; origin=18543; extra="  http2: off" ;;
    *) echo "unknown mode $mode" >&2; exit 2 ;;
  esac
  before=$(wc -l <"$work/access.log" 2>/dev/null || echo 0)
  start_penstock "$client" $port "https://127.0.0.1:$origin/v1" "$extra"
  read -r rps p50 p99 _ < <(bench_run "$mode-chat" "http://127.0.0.1:$port/v1" "$connections")
  kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
  port=$((port + 1))
  # streams go to the SSE location: a second gateway whose base URL ends in /sse/v1
  start_penstock "$client" $port "https://127.0.0.1:$origin/sse/v1" "$extra"
  read -r _ s100p50 s100p99 s100ok < <(bench_run "$mode-stream-100" "http://127.0.0.1:$port/v1" 100 --stream)
  read -r _ s1kp50 s1kp99 s1kok < <(bench_run "$mode-stream-1000" "http://127.0.0.1:$port/v1" 1000 --stream)
  kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
  port=$((port + 1))
  read -r hs resumed < <(handshakes "$before" "$per_mode_seconds")
  printf '%-11s %9s %9s %9s | %9s %9s %11s | %9s %9s %11s | %11s %8s\n' \
    "$mode" "$rps" "$p50" "$p99" "$s100p50" "$s100p99" "$s100ok" "$s1kp50" "$s1kp99" "$s1kok" "$hs" "$resumed" \
    | tee -a "$out/summary.txt"
done
echo
echo "TLS hs/min: new TLS connections nginx accepted per minute of the mode's load (warm-ups included)." \
  | tee -a "$out/summary.txt"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')" | tee -a "$out/summary.txt"
echo "raw outputs: $out"
