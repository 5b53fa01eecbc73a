#!/usr/bin/env bash
# Runs a release tarball the way deploy/ ships it, on a machine without a Docker engine or a
# running systemd (this project's): scripts/deploy-runtime-check.sh path/to/penstock-VERSION.tar.gz
#
#   image:   builds deploy/docker/Dockerfile with podman (on a debian:bookworm minbase made by
#            debootstrap, standing in for Docker Hub's debian:bookworm-slim), runs it read-only
#            with every capability dropped, and checks: java is PID 1 as UID 10001, the image's
#            HEALTHCHECK passes, `podman stop` during a stream drains it (the stream ends with
#            [DONE], exit status 143).
#   systemd: boots a Debian container with systemd (systemd-nspawn) holding the tarball in
#            /opt/penstock and deploy/systemd's unit, and checks: the unit starts under its
#            sandbox (seccomp, no capabilities, no new privileges), `systemctl reload` is applied,
#            `systemctl stop` during a stream drains it and ends "inactive" (not failed), a
#            SIGKILL is followed by a restart.
#   pod:     runs deploy/kubernetes/deployment.yaml's pod with `podman kube play` (1 replica, this
#            image, host network, and a single-instance ConfigMap: the real one needs Redis and
#            PostgreSQL), and checks that its securityContext holds (UID 10001, read-only root,
#            no capabilities, no new privileges, seccomp), that the emptyDirs at /tmp and
#            /var/lib/penstock are writable, the memory limit is set, and it becomes ready.
# Upstream: the tarball's own `penstock mock` on loopback. Run scripts/validate-deploy.sh first
# (its npm packages are used here). Needs root and Debian's apt (installs
# podman, runc, debootstrap, systemd-container); the first run fetches a Debian base (~6 min),
# later ones take ~2-3 minutes. Not part of validate-deploy.sh for those reasons.
# ok and failure always succeed, so `check && ok || failure` is an if-then-else; the helpers
# are called through until_ok and the trap, which shellcheck does not follow.
# shellcheck disable=SC2015,SC2317
set -euo pipefail
tarball=$(realpath "${1:?usage: deploy-runtime-check.sh path/to/penstock-VERSION.tar.gz}")
name=$(basename "$tarball")
[[ $name =~ ^penstock-(.+)\.tar\.gz$ ]] || { echo "not penstock-VERSION.tar.gz: $name" >&2; exit 2; }
version=${BASH_REMATCH[1]}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${PENSTOCK_DEPLOY_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/penstock/validate-deploy}/runtime
port=${PENSTOCK_CHECK_PORT:-18080}
mock_port=${PENSTOCK_CHECK_MOCK_PORT:-19000}
# This project's machines: cgroup v1 hybrid (crun refuses it) and no CAP_SYS_RESOURCE (podman's
# default rlimits cannot be set). Elsewhere PODMAN_RUN_ARGS='' may do.
podman_run_args=${PODMAN_RUN_ARGS---runtime=runc --cgroup-manager=cgroupfs --ulimit nofile=16384:16384 --ulimit nproc=4096:4096}
work=$(mktemp -d)
failed=0
ok() { echo "ok    $1"; }
failure() { echo "FAIL  $1"; failed=1; }
mock_pid='' nspawn_pid=''
cleanup() {
  podman rm -f penstock-check >/dev/null 2>&1 || true
  [ -f "$work/pod.yaml" ] && podman kube down "$work/pod.yaml" >/dev/null 2>&1 || true
  podman secret rm penstock-secrets >/dev/null 2>&1 || true
  [ -n "$nspawn_pid" ] && stop_container || true
  [ -n "$mock_pid" ] && kill "$mock_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# The systemd-nspawn container's init, and commands run inside it.
container_init() { pgrep -P "$nspawn_pid" -x systemd; }
inside() { nsenter -t "$(container_init)" -a "$@"; }
# nspawn has exited (a zombie until waited for counts as exited).
container_gone() { [[ $(ps -o stat= -p "$nspawn_pid" || echo Z) == Z* ]]; }
# Powers the container off; SIGKILL to its init (and so to all of it) if that does not end it.
stop_container() {
  local init
  init=$(container_init || true)
  [ -n "$init" ] && nsenter -t "$init" -a systemctl poweroff >/dev/null 2>&1 || true
  if ! until_ok 30 container_gone; then
    [ -n "$init" ] && kill -KILL "$init" 2>/dev/null
    kill -KILL "$nspawn_pid" 2>/dev/null || true
  fi
  wait "$nspawn_pid" 2>/dev/null || true
  nspawn_pid=''
}
# Polls a command until it succeeds or the deadline (seconds) passes.
until_ok() {
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -ge $deadline ] && return 1
    sleep 0.5
  done
}
# A streaming chat completion through the gateway (~6 s: 60 tokens at 100 ms), in the background.
stream() {
  curl -sN -o "$work/$1.out" -w '%{http_code}' "http://127.0.0.1:$port/v1/chat/completions" \
    -H 'content-type: application/json' \
    -d '{"model":"m","stream":true,"max_tokens":60,"messages":[{"role":"user","content":"hi"}]}' \
    >"$work/$1.code" 2>&1 &
}
stream_finished() { [ "$(cat "$work/$1.code")" = 200 ] && grep -q '^data: \[DONE\]' "$work/$1.out"; }
config() { # $1: storage path
  cat <<EOF
listen: 127.0.0.1:$port
admin_key: \${PENSTOCK_ADMIN_KEY}
storage:
  path: $1
defaults:
  shutdown_grace_ms: 30000
models:
  m:
    deployments:
      - name: a
        base_url: http://localhost:$mock_port/v1
        api_key: \${UPSTREAM_KEY}
        rpm: 600
        tpm: 1000000
EOF
}

echo "== tools and the Debian base"
[ "$(id -u)" = 0 ] || { echo "deploy-runtime-check: run as root" >&2; exit 2; }
missing=()
for tool in podman:podman runc:runc debootstrap:debootstrap systemd-nspawn:systemd-container; do
  command -v "${tool%%:*}" >/dev/null || missing+=("${tool#*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
fi
mkdir -p "$cache"
if [ ! -f "$cache/bookworm-minbase.tar" ]; then
  # The Debian mirror apt is configured with (DEBIAN_MIRROR overrides it).
  mirror=${DEBIAN_MIRROR:-$(grep -rhoE 'https?://[^ ]+/debian/?$' /etc/apt/sources.list \
    /etc/apt/sources.list.d/ 2>/dev/null | head -1 || true)}
  debootstrap --variant=minbase bookworm "$work/base" "$mirror" >/dev/null
  tar -C "$work/base" -cf "$cache/bookworm-minbase.tar" .
  rm -rf "$work/base"
fi
if ! podman image exists docker.io/library/debian:bookworm-slim; then
  podman import "$cache/bookworm-minbase.tar" docker.io/library/debian:bookworm-slim >/dev/null
fi
if [ ! -f "$cache/bookworm-systemd.tar" ]; then
  mkdir "$work/sd" && tar -C "$work/sd" -xf "$cache/bookworm-minbase.tar"
  cp /etc/resolv.conf "$work/sd/etc/resolv.conf"
  chroot "$work/sd" bash -c 'apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends systemd systemd-sysv dbus >/dev/null' 2>/dev/null
  tar -C "$work/sd" -cf "$cache/bookworm-systemd.tar" .
  rm -rf "$work/sd"
fi
ok "Debian base images in $cache"

echo "== the upstream: the tarball's penstock mock on 127.0.0.1:$mock_port"
tar -C "$work" -xzf "$tarball"
dist="$work/penstock-$version"
"$dist/bin/penstock" mock --port "$mock_port" --key sk-check-0000000000 --ms-per-token 100 \
  --output-tokens 60 --jitter 0 >"$work/mock.log" 2>&1 &
mock_pid=$!
until_ok 30 curl -sf "http://127.0.0.1:$mock_port/__stats" || { failure "mock did not start"; exit 1; }
ok "mock up"

echo "== image (deploy/docker)"
started=$SECONDS
if BUILDER=podman "$root/deploy/docker/build.sh" "$tarball" "penstock:check" --pull=never \
    --isolation=chroot >"$work/build.log" 2>&1; then
  ok "image built in $((SECONDS - started)) s ($(podman image inspect penstock:check --format '{{.Size}}' | numfmt --to=iec))"
else
  tail -20 "$work/build.log"
  failure "image build"
  exit 1
fi
mkdir -p "$work/etc"
config /var/lib/penstock/penstock.db >"$work/etc/penstock.yaml"
chmod 0755 "$work" "$work/etc" && chmod 0644 "$work/etc/penstock.yaml"
# shellcheck disable=SC2086 # podman_run_args is a list of options
podman run -d --name penstock-check $podman_run_args --network=host --read-only --tmpfs /tmp \
  --cap-drop ALL --security-opt no-new-privileges -e PENSTOCK_HEALTH_PORT="$port" \
  -e PENSTOCK_ADMIN_KEY=check-admin-key-000001 -e UPSTREAM_KEY=sk-check-0000000000 \
  -v "$work/etc:/etc/penstock:ro" penstock:check >/dev/null 2>"$work/run.log"
if until_ok 90 podman healthcheck run penstock-check; then
  ok "HEALTHCHECK passes"
else
  podman logs penstock-check 2>&1 | tail -5
  failure "HEALTHCHECK never passed"
fi
top=$(podman top penstock-check pid user args 2>/dev/null | awk 'NR == 2 {print $1, $2, $3}')
[ "$top" = "1 penstock /opt/penstock/runtime/bin/java" ] && ok "PID 1: $top" || failure "PID 1 is not java as penstock: $top"
stream image
sleep 1.5
started=$SECONDS
podman stop -t 40 penstock-check >/dev/null 2>&1
wait_seconds=$((SECONDS - started))
until_ok 10 stream_finished image && ok "podman stop during a stream: it finished ([DONE]); stopped in ${wait_seconds} s" \
  || failure "the stream in flight did not finish: $(cat "$work/image.code")"
code=$(podman inspect penstock-check --format '{{.State.ExitCode}}')
[ "$code" = 143 ] && ok "exit status 143 (SIGTERM, after the drain)" || failure "exit status $code"
podman logs penstock-check >"$work/container.log" 2>&1 || true
drain=$(grep -o 'stopping: waiting up to [0-9]* ms for [0-9]* requests in flight' "$work/container.log" || true)
[ -n "$drain" ] && ok "the log shows the drain: $drain" \
  || { tail -5 "$work/container.log" | cut -c1-200; failure "no drain in the log"; }
podman rm -f penstock-check >/dev/null 2>&1

echo "== Kubernetes pod (deploy/kubernetes/deployment.yaml, podman kube play)"
# podman 4.3 reads neither stringData nor a Secret document: the Secret becomes a podman secret
# holding its data as JSON; the probes' port follows the loopback listen (host network).
node -e '
  const YAML = require(process.argv[1]);
  const fs = require("fs");
  const [deploymentFile, out, port, config] = process.argv.slice(2);
  const d = YAML.parse(fs.readFileSync(deploymentFile, "utf8"));
  d.spec.replicas = 1;
  const c = d.spec.template.spec.containers[0];
  c.image = "localhost/penstock:check";
  delete c.ports;
  c.env = [{name: "PENSTOCK_HEALTH_PORT", value: port}];
  for (const p of ["readinessProbe", "livenessProbe", "startupProbe"]) c[p].httpGet.port = Number(port);
  const cm = {apiVersion: "v1", kind: "ConfigMap", metadata: {name: "penstock-config"},
              data: {"penstock.yaml": fs.readFileSync(config, "utf8")}};
  fs.writeFileSync(out, YAML.stringify(cm) + "---\n" + YAML.stringify(d));
' "$(dirname "$cache")/node_modules/yaml" "$root/deploy/kubernetes/deployment.yaml" "$work/pod.yaml" \
  "$port" "$work/etc/penstock.yaml"
printf '{"PENSTOCK_ADMIN_KEY":"%s","UPSTREAM_KEY":"%s"}' "$(printf check-admin-key-000001 | base64)" \
  "$(printf sk-check-0000000000 | base64)" >"$work/secret.json"
podman secret create penstock-secrets "$work/secret.json" >/dev/null
# kube play takes no --runtime or --ulimit: containers.conf gives this machine's (see above).
printf '[containers]\ndefault_ulimits = ["nofile=16384:16384", "nproc=4096:4096"]\n[engine]\nruntime = "runc"\ncgroup_manager = "cgroupfs"\n' \
  >"$work/containers.conf"
export CONTAINERS_CONF=${PODMAN_CONTAINERS_CONF-$work/containers.conf}
if podman kube play --network host "$work/pod.yaml" >"$work/kube.log" 2>&1 \
    && until_ok 90 curl -sf "http://127.0.0.1:$port/health/ready"; then
  ok "the Deployment's pod started and is ready"
else
  grep -v 'systemd connection' "$work/kube.log" | tail -5
  failure "the Deployment's pod"
fi
pc=penstock-pod-0-penstock
in_pod=$(podman exec "$pc" sh -c 'id -u; grep -E "^(CapEff|NoNewPrivs|Seccomp):" /proc/1/status | tr -s "\t" " "
  touch /opt/penstock/x 2>/dev/null && echo root-writable; touch /tmp/x /var/lib/penstock/x && echo data-writable' \
  2>/dev/null | paste -sd' ')
expected="10001 CapEff: 0000000000000000 NoNewPrivs: 1 Seccomp: 2 data-writable"
[ "$in_pod" = "$expected" ] && ok "securityContext holds (read-only root): $in_pod" \
  || failure "securityContext: $in_pod (expected $expected)"
memory=$(podman inspect "$pc" --format '{{.HostConfig.Memory}}' 2>/dev/null)
[ "$memory" = $((1536 * 1024 * 1024)) ] && ok "memory limit 1536Mi" || failure "memory limit: $memory"
podman kube down "$work/pod.yaml" >/dev/null 2>&1
podman secret rm penstock-secrets >/dev/null 2>&1
unset CONTAINERS_CONF

echo "== systemd (deploy/systemd)"
sd="$work/sdroot"
mkdir "$sd" && tar -C "$sd" -xf "$cache/bookworm-systemd.tar"
tar -C "$sd/opt" -xzf "$tarball"
ln -sfn "/opt/penstock-$version" "$sd/opt/penstock"
install -m 0644 "$root/deploy/systemd/penstock.sysusers.conf" "$sd/usr/lib/sysusers.d/penstock.conf"
install -m 0644 "$root/deploy/systemd/penstock.service" "$sd/etc/systemd/system/penstock.service"
mkdir -p "$sd/etc/penstock" "$sd/etc/systemd/system/multi-user.target.wants"
ln -sf /etc/systemd/system/penstock.service "$sd/etc/systemd/system/multi-user.target.wants/"
config /var/lib/penstock/penstock.db >"$sd/etc/penstock/penstock.yaml"
printf 'PENSTOCK_ADMIN_KEY=check-admin-key-000001\nUPSTREAM_KEY=sk-check-0000000000\n' >"$sd/etc/penstock/penstock.env"
chmod 0600 "$sd/etc/penstock/penstock.env"
# --register=no --keep-unit: there is no systemd on the host to register with or to ask for a scope.
setsid systemd-nspawn -b -D "$sd" --machine=penstock-check --register=no --keep-unit \
  --console=pipe </dev/null >"$work/nspawn.log" 2>&1 &
nspawn_pid=$!
until_ok 30 container_init || { failure "the container did not boot"; exit 1; }
if until_ok 90 curl -sf "http://127.0.0.1:$port/health/ready"; then
  ok "penstock.service started and ready"
else
  inside journalctl -u penstock --no-pager -n 20 -o cat || true
  failure "penstock.service never became ready"
fi
pid=$(inside systemctl show -p MainPID --value penstock)
status=$(inside grep -E '^(Uid|NoNewPrivs|Seccomp|CapEff):' "/proc/$pid/status" | tr -s '\t' ' ' | paste -sd' ')
[[ $status == *"NoNewPrivs: 1"* && $status == *"Seccomp: 2"* && $status == *"CapEff: 0000000000000000"* ]] \
  && ok "sandboxed: $status" || failure "not sandboxed: $status"
inside systemctl reload penstock
until_ok 10 bash -c "nsenter -t $(container_init) -a journalctl -u penstock -o cat | grep -q 'config reload (SIGHUP): applied'" \
  && ok "systemctl reload: the config was re-read" || failure "systemctl reload"
stream systemd
sleep 1.5
started=$SECONDS
inside systemctl stop penstock
wait_seconds=$((SECONDS - started))
until_ok 10 stream_finished systemd && ok "systemctl stop during a stream: it finished ([DONE]); stopped in ${wait_seconds} s" \
  || failure "the stream in flight did not finish: $(cat "$work/systemd.code")"
result=$(inside systemctl show -p ActiveState -p Result --value penstock | paste -sd' ')
[ "$result" = "success inactive" ] || [ "$result" = "inactive success" ] \
  && ok "after the stop: $result (exit 143 counted as success)" || failure "after the stop: $result"
inside systemctl start penstock
until_ok 90 curl -sf "http://127.0.0.1:$port/health/ready" || failure "did not start again"
inside systemctl kill --signal=SIGKILL penstock
restarted() { [ "$(inside systemctl show -p NRestarts --value penstock)" = 1 ] && curl -sf "http://127.0.0.1:$port/health/ready"; }
until_ok 60 restarted && ok "SIGKILL: restarted (Restart=on-failure)" || failure "no restart after SIGKILL"
stop_container

echo
[ $failed = 0 ] && echo "deploy-runtime-check: passed" || echo "deploy-runtime-check: FAILED"
exit $failed
