#!/usr/bin/env bash
# Cluster mode's cost, side by side in one run (docs/benchmarks.md#cluster-mode): a fixed 2,000
# req/s (`penstock bench`) through an nginx load balancer to
#   1. one gateway, no cluster mode
#   2. one gateway in cluster mode (leases from the local Redis): the cost of the leases alone
#   3. three gateways in cluster mode (a fresh cluster name): on a 2-core machine this measures
#      the machine's saturation (three JVMs, nginx and the load generator), not cluster mode
# in front of a zero-latency upstream (nginx returning a fixed chat completion), ROUNDS times
# alternating; p50/p99 from each request's due time, and Redis calls per request.
# Needs Redis on 127.0.0.1:6379, wrk's companion nginx (Debian: nginx-light).
# Usage: scripts/cluster-bench.sh [output-dir]
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${1:-$root/target/cluster-bench}
duration=${DURATION:-20s}
warmup=${WARMUP:-30s}
rounds=${ROUNDS:-2}
mkdir -p "$out"
work=$(mktemp -d)

if ! command -v nginx >/dev/null 2>&1 && ! [ -x /usr/sbin/nginx ]; then
  apt-get install -y -q nginx-light >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q nginx-light >/dev/null; }
fi
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
(exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null || { echo "Redis is not answering on 127.0.0.1:6379 (scripts/services.sh starts it)" >&2; exit 1; }

PENSTOCK_NO_BUILD=0 "$root/bin/penstock" --version >/dev/null # builds once if needed
export PENSTOCK_NO_BUILD=1

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for f in "$work"/*.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

body='{"id":"chatcmpl-cluster","object":"chat.completion","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"Hello"},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":14,"completion_tokens":1,"total_tokens":15}}'
cat >"$work/upstream.conf" <<EOF
worker_processes 1;
pid $work/up.pid;
error_log $work/up-error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  keepalive_requests 10000000;
  server {
    listen 127.0.0.1:18580 backlog=8192;
    location / { default_type application/json; return 200 '$body'; }
  }
}
EOF
"$nginx_bin" -c "$work/upstream.conf" -p "$work"

balancer() { # name port gateway-ports...
  local name=$1 port=$2
  shift 2
  {
    echo "worker_processes 1; pid $work/$name.pid; error_log $work/$name-error.log warn;"
    echo "events { worker_connections 8192; }"
    echo "http { access_log off; keepalive_requests 10000000;"
    echo "  upstream gateways {"
    for p in "$@"; do echo "    server 127.0.0.1:$p;"; done
    echo "    keepalive 512; }"
    echo "  server { listen 127.0.0.1:$port backlog=8192;"
    echo "    location / { proxy_pass http://gateways; proxy_http_version 1.1; proxy_set_header Connection \"\"; } } }"
  } >"$work/$name.conf"
  "$nginx_bin" -c "$work/$name.conf" -p "$work"
}

start_gateway() { # port [cluster-yaml]
  cat >"$work/gw-$1.yaml" <<EOF
listen: 127.0.0.1:$1
storage: {path: "$work/data-$1/penstock.db"}
cache: {enabled: false}
${2:-}
models:
  gpt-4o-mini:
    deployments:
      - {name: origin, base_url: "http://127.0.0.1:18580/v1", api_key: sk-bench, rpm: 100000000, tpm: 100000000000}
EOF
  "$root/bin/penstock" serve --config "$work/gw-$1.yaml" >"$work/gw-$1.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 150); do
    grep -q "penstock gateway at" "$work/gw-$1.log" 2>/dev/null && return 0
    sleep 0.2
  done
  echo "Penstock did not start; see $work/gw-$1.log" >&2
  exit 1
}

calls() { # ports... -> Redis calls so far, summed
  local total=0 c
  for p in "$@"; do
    c=$(curl -s "http://127.0.0.1:$p/metrics" | awk '/^penstock_cluster_redis_calls_total/ {printf "%d", $2}')
    total=$((total + ${c:-0}))
  done
  echo "$total"
}

bench_run() { # name url -> "p50 p99 ok"
  "$root/bin/penstock" bench --url "$2" --rate 2000/s --duration "$duration" --warmup "$warmup" \
    --prompt-tokens 8 --max-tokens 16 --max-inflight 1000 --quiet --json >"$out/bench-$1.json" 2>"$out/bench-$1.err" || true
  python3 - "$out/bench-$1.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
lat = r["latency_ms"]
print(f'{lat["p50"]:.2f} {lat["p99"]:.2f} {r["status_counts"].get("2xx", 0)}/{r["sent"]}')
PY
}

name="bench-$(date +%s)-$$"
start_gateway 18591
start_gateway 18596 "cluster: {name: $name-one, redis_url: \"redis://127.0.0.1:6379/0\", instances: 1}"
for p in 18592 18593 18594; do
  start_gateway "$p" "cluster: {name: $name, redis_url: \"redis://127.0.0.1:6379/0\", instances: 3}"
done
balancer lb1 18590 18591
balancer lbc 18597 18596
balancer lb3 18595 18592 18593 18594

summary="$out/summary.txt"
echo "== cluster mode at a fixed 2,000 req/s through nginx, zero-latency upstream ($duration each, $warmup warm-up)" | tee "$summary"
for round in $(seq 1 "$rounds"); do
  read -r p50 p99 ok <<<"$(bench_run single-$round http://127.0.0.1:18590/v1)"
  echo "round $round: one gateway, no cluster     p50 ${p50} ms  p99 ${p99} ms  ok ${ok}" | tee -a "$summary"
  before=$(calls 18596)
  read -r p50 p99 ok <<<"$(bench_run one-cluster-$round http://127.0.0.1:18597/v1)"
  after=$(calls 18596)
  echo "round $round: one gateway, cluster mode   p50 ${p50} ms  p99 ${p99} ms  ok ${ok}  Redis calls $((after - before)) (incl. warm-up)" | tee -a "$summary"
  before=$(calls 18592 18593 18594)
  read -r p50 p99 ok <<<"$(bench_run cluster-$round http://127.0.0.1:18595/v1)"
  after=$(calls 18592 18593 18594)
  echo "round $round: three gateways, cluster   p50 ${p50} ms  p99 ${p99} ms  ok ${ok}  Redis calls $((after - before)) (incl. warm-up)" | tee -a "$summary"
done
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); every process unpinned" | tee -a "$summary"
