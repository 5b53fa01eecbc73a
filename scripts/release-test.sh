#!/usr/bin/env bash
# The release tarball in a fresh directory, on a PATH without java (docs/install.md):
#   1. builds penstock-<version>.tar.gz (./mvnw -Prelease package), unless one is given;
#   2. unpacks it into a new temp dir and, with a PATH of symlinks to only the tools below (no
#      java: checked), runs from it alone:
#        penstock version           the version, and the java line names the bundled runtime/;
#                                   again with a JFR recording, which runtime/bin/jfr reads
#        penstock demo --duration 5 simulator, gateway and load in one JVM
#        penstock mock + penstock serve --config config/penstock-mock.yaml (the tarball's own)
#          /health/live (with the version), /health/ready, one chat completion, /ui, /metrics,
#          a two-line batch through /v1/files and /v1/batches until it completes, and, when
#          nginx and openssl are installed, a chat completion to an upstream over TLS with ALPN
#          selecting HTTP/2 (upstream.ca_file, upstream.http2: auto);
#        SIGTERM to serve, which must stop within 60 s, exit 143 (the JVM's code for it) or 0
#        and cut no request.
# Exits non-zero at the first failure. Usage: scripts/release-test.sh [penstock-<version>.tar.gz]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
started=$(date +%s)
fail() {
  echo "release-test: FAIL: $*" >&2
  exit 1
}
step() { echo "release-test: $*"; }

tarball=${1:-}
if [ -z "$tarball" ]; then
  . "$root/bin/jdk.sh"
  JAVA_HOME=$(penstock_find_jdk)
  export JAVA_HOME
  step "building the release tarball (./mvnw -Prelease package -DskipTests)"
  (cd "$root" && ./mvnw -B -q -Prelease package -DskipTests -Dspotless.check.skip=true \
    -Derror-prone.flags=-XepDisableAllChecks) >&2
  tarball=$(ls "$root"/penstock-cli/target/penstock-*.tar.gz)
fi
[ -f "$tarball" ] || fail "no tarball at $tarball"
tarball=$(cd "$(dirname "$tarball")" && pwd)/$(basename "$tarball")

work=$(mktemp -d "${TMPDIR:-/tmp}/penstock-release-test.XXXXXX")
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# The tools this script and the launcher use; java is not one of them.
tls=0
command -v nginx >/dev/null && command -v openssl >/dev/null && tls=1
tools="bash sh env tar gzip curl grep sed cat mkdir rm sleep date seq basename readlink head tail"
[ "$tls" = 1 ] && tools="$tools nginx openssl"
mkdir "$work/path"
for tool in $tools; do
  ln -s "$(command -v "$tool")" "$work/path/$tool"
done
export PATH=$work/path
unset JAVA_HOME
if command -v java >/dev/null 2>&1; then fail "java is on the PATH: $(command -v java)"; fi
step "PATH=$PATH holds no java"

mkdir "$work/install"
tar xzf "$tarball" -C "$work/install"
name=$(basename "$tarball" .tar.gz)
home=$work/install/$name
version=${name#penstock-}
penstock=$home/bin/penstock
for part in runtime/bin/java lib/penstock.jar bin/penstock config/penstock-mock.yaml \
  monitoring/grafana monitoring/prometheus; do
  [ -e "$home/$part" ] || fail "$name/$part is missing"
done

step "penstock version"
"$penstock" version >"$work/version.txt" || fail "penstock version exited $?"
cat "$work/version.txt"
[ "$(head -n 1 "$work/version.txt")" = "penstock $version" ] || fail "version's first line is not 'penstock $version'"
grep -q "^java .*($home/runtime)\$\|, $home/runtime)\$" "$work/version.txt" || fail "not run by $home/runtime"
[ "$("$penstock" --version)" = "$(cat "$work/version.txt")" ] || fail "--version differs from version"

step "a JFR recording (PENSTOCK_JAVA_OPTS), read by the runtime's jfr"
PENSTOCK_JAVA_OPTS="-XX:StartFlightRecording=filename=$work/version.jfr" "$penstock" version >/dev/null 2>&1 \
  || fail "penstock version with a JFR recording failed"
summary=$("$home/runtime/bin/jfr" summary "$work/version.jfr") || fail "jfr summary failed"
echo "$summary" | grep -q "jdk.JVMInformation" || fail "no JFR events recorded"

step "penstock demo --duration 5"
"$penstock" demo --duration 5 >"$work/demo.txt" 2>&1 || { cat "$work/demo.txt"; fail "demo exited non-zero"; }
grep -q "Penstock delivered" "$work/demo.txt" || { cat "$work/demo.txt"; fail "demo printed no result"; }

# Ports from the process id, away from the defaults other runs use.
base=$((20000 + ($$ % 2000) * 4))
mock_port=$base gateway_port=$((base + 1)) tls_port=$((base + 2))

step "penstock mock on $mock_port"
"$penstock" mock --port "$mock_port" --key sk-mock-0 --key sk-mock-1 --rpm 200 --tpm 40000 \
  --ttft-ms 1 >"$work/mock.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 300); do grep -q "penstock mock:" "$work/mock.log" && break; sleep 0.1; done
grep -q "penstock mock:" "$work/mock.log" || { cat "$work/mock.log"; fail "mock did not start"; }

config=$home/config/penstock-mock.yaml
if [ "$tls" = 1 ]; then
  step "nginx over TLS (HTTP/2 by ALPN) on $tls_port"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
    -subj "/CN=release-test CA" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign" -keyout "$work/ca.key" -out "$work/ca.pem" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=127.0.0.1" \
    -keyout "$work/server.key" -out "$work/server.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$work/ext.cnf"
  openssl x509 -req -in "$work/server.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" \
    -CAcreateserial -days 1 -extfile "$work/ext.cnf" -out "$work/server.pem" 2>/dev/null
  body='{"id":"chatcmpl-tls","object":"chat.completion","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"over TLS"},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":2,"total_tokens":11}}'
  cat >"$work/nginx.conf" <<EOF
worker_processes 1;
pid $work/nginx.pid;
error_log $work/nginx-error.log warn;
events { worker_connections 64; }
http {
  access_log $work/nginx-access.log;
  client_body_temp_path $work/nginx-body;
  server {
    listen 127.0.0.1:$tls_port ssl http2;
    ssl_certificate $work/server.pem;
    ssl_certificate_key $work/server.key;
    location / { default_type application/json; return 200 '$body'; }
  }
}
EOF
  nginx -c "$work/nginx.conf" -p "$work" || fail "nginx did not start"
  # The tarball's example, plus a model behind the TLS upstream.
  config=$work/gateway.yaml
  cat "$home/config/penstock-mock.yaml" - >"$config" <<EOF
  gpt-4o-mini-tls:
    deployments:
      - {name: tls, base_url: "https://127.0.0.1:$tls_port/v1", api_key: sk-tls, rpm: 1000, tpm: 1000000}
upstream:
  ca_file: $work/ca.pem
  http2: auto
EOF
fi

step "penstock serve --config $config on $gateway_port"
gateway=http://127.0.0.1:$gateway_port
PENSTOCK_PORT=$gateway_port MOCK_PORT=$mock_port PENSTOCK_DATA=$work/data \
  "$penstock" serve --no-watch --config "$config" >"$work/serve.log" 2>&1 &
serve=$!
pids+=("$serve")
ready=0
for _ in $(seq 1 600); do
  if curl -sf -o /dev/null "$gateway/health/ready"; then ready=1; break; fi
  kill -0 "$serve" 2>/dev/null || break
  sleep 0.1
done
[ "$ready" = 1 ] || { cat "$work/serve.log"; fail "serve not ready within 60 s"; }

live=$(curl -sf "$gateway/health/live") || fail "/health/live failed"
step "/health/live: $live"
echo "$live" | grep -q "\"version\":\"$version\"" || fail "/health/live does not carry version $version"
echo "$live" | grep -q '"status":"UP"' || fail "/health/live is not UP"
ready_body=$(curl -sf "$gateway/health/ready") || fail "/health/ready failed"
echo "$ready_body" | grep -q '"status":"UP"' || fail "/health/ready is not UP"

chat() {
  curl -sf "$gateway/v1/chat/completions" -H 'content-type: application/json' \
    -d "{\"model\":\"$1\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":4}"
}
answer=$(chat gpt-4o-mini) || fail "chat completion failed"
echo "$answer" | grep -q '"choices"' || fail "chat completion has no choices: $answer"
step "chat completion: ok"
if [ "$tls" = 1 ]; then
  answer=$(chat gpt-4o-mini-tls) || { cat "$work/serve.log"; fail "chat completion over TLS failed"; }
  echo "$answer" | grep -q 'over TLS' || fail "chat completion over TLS: $answer"
  grep -q 'HTTP/2.0' "$work/nginx-access.log" || fail "the TLS upstream was not reached over HTTP/2"
  step "chat completion over TLS (HTTP/2 by ALPN): ok"
fi
curl -sf -o /dev/null "$gateway/ui" || fail "/ui failed"
# Whole answers into variables first: grep -q stops reading early, and pipefail would count
# curl's broken pipe as a failure.
metrics=$(curl -sf "$gateway/metrics") || fail "/metrics failed"
echo "$metrics" | grep -q '^penstock_' || fail "/metrics has no penstock_ series"
# The JVM binders read java.management: the runtime has it.
echo "$metrics" | grep -q '^jvm_memory_used_bytes' || fail "/metrics has no jvm_ series"
step "/ui and /metrics (penstock_*, jvm_*): ok"

printf '%s\n' \
  '{"custom_id":"q-1","method":"POST","url":"/v1/chat/completions","body":{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Name a river."}],"max_tokens":4}}' \
  '{"custom_id":"q-2","method":"POST","url":"/v1/chat/completions","body":{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Name a lake."}],"max_tokens":4}}' \
  >"$work/requests.jsonl"
file=$(curl -sf "$gateway/v1/files" -F purpose=batch -F "file=@$work/requests.jsonl") || fail "file upload failed"
file_id=$(echo "$file" | sed -n 's/.*"id" *: *"\(file-[^"]*\)".*/\1/p')
[ -n "$file_id" ] || fail "no file id in $file"
batch=$(curl -sf "$gateway/v1/batches" -H 'content-type: application/json' \
  -d "{\"input_file_id\":\"$file_id\",\"endpoint\":\"/v1/chat/completions\",\"completion_window\":\"24h\"}") \
  || fail "batch creation failed"
batch_id=$(echo "$batch" | sed -n 's/.*"id" *: *"\(batch_[^"]*\)".*/\1/p')
[ -n "$batch_id" ] || fail "no batch id in $batch"
status=
for _ in $(seq 1 600); do
  status=$(curl -sf "$gateway/v1/batches/$batch_id" | sed -n 's/.*"status" *: *"\([a-z_]*\)".*/\1/p')
  case $status in completed | failed | expired | cancelled) break ;; esac
  sleep 0.1
done
[ "$status" = completed ] || fail "batch $batch_id ended $status"
step "batch of 2 lines: completed"

# A clean stop: the drain runs as the JVM's shutdown hook, and a JVM ended by SIGTERM exits 143
# (128 + 15) once its hooks are done; anything else, or a request cut, is a failure.
kill -TERM "$serve"
code=0
for _ in $(seq 1 600); do kill -0 "$serve" 2>/dev/null || break; sleep 0.1; done
kill -0 "$serve" 2>/dev/null && fail "serve still running 60 s after SIGTERM"
wait "$serve" || code=$?
case $code in 0 | 143) ;; *) tail -n 20 "$work/serve.log"; fail "serve exited $code after SIGTERM" ;; esac
if grep -q "still in flight after\|did not end" "$work/serve.log"; then fail "serve cut requests when stopping"; fi
step "SIGTERM: serve stopped cleanly (exit $code)"
echo "release-test: PASS in $(($(date +%s) - started)) s ($name)"
