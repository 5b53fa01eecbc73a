#!/usr/bin/env bash
# Validates deploy/ offline, without a Docker engine, a cluster or a running systemd:
#   * deploy/systemd: `systemd-analyze verify` (any message fails), `systemd-analyze security`
#     (fails above an exposure of 2.0), `systemd-sysusers --dry-run` on the sysusers snippet;
#   * deploy/kubernetes: every manifest against the Kubernetes and Prometheus Operator schemas,
#     unknown fields included, and the properties Penstock relies on (validate-deploy/validate.mjs);
#     `kubectl kustomize` when kubectl is installed;
#   * deploy/docker: the Dockerfile's lint and policy (validate.mjs); shellcheck on build.sh, on
#     the HEALTHCHECK command and on these scripts when shellcheck is installed.
# Building and running the image and the unit: scripts/deploy-runtime-check.sh (root, minutes).
# Installs its npm packages (versions pinned by validate-deploy/package-lock.json) into
# PENSTOCK_DEPLOY_TOOLS (default ~/.cache/penstock/validate-deploy) once; installs systemd's
# tools with apt-get when they are missing and it runs as root. Exits non-zero if a check fails.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
here="$root/scripts/validate-deploy"
cache=${PENSTOCK_DEPLOY_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/penstock/validate-deploy}
failed=0
started=$SECONDS
section() { printf '\n== %s\n' "$1"; }
failure() { echo "FAIL  $1"; failed=1; }

section "tools"
for tool in node npm; do
  command -v "$tool" >/dev/null || { echo "validate-deploy: $tool is needed (apt-get install nodejs npm)" >&2; exit 2; }
done
if ! command -v systemd-analyze >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q systemd >/dev/null
  else
    echo "validate-deploy: systemd-analyze is needed (apt-get install systemd)" >&2; exit 2
  fi
fi
mkdir -p "$cache"
# Reinstall only when the pinned versions change.
if ! cmp -s "$here/package-lock.json" "$cache/package-lock.json" || [ ! -d "$cache/node_modules" ]; then
  cp "$here/package.json" "$here/package-lock.json" "$cache/"
  (cd "$cache" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  echo "installed npm packages into $cache"
fi
cp "$here/validate.mjs" "$cache/"
echo "node $(node --version), $(systemd-analyze --version | head -1)"

section "systemd (deploy/systemd)"
# verify needs the unit's executables and the units it orders itself against to exist: a root
# with the host's system units, the unit, and stand-ins for /opt/penstock/bin/penstock and sh.
sdroot="$cache/systemd-root"
rm -rf "$sdroot"
mkdir -p "$sdroot/etc/systemd/system" "$sdroot/usr/lib/systemd/system" "$sdroot/opt/penstock/bin" \
  "$sdroot/bin"
units=$(systemd-analyze unit-paths | grep -m1 -E '^/(usr/)?lib/systemd/system$')
cp -r "$units/." "$sdroot/usr/lib/systemd/system/"
for stub in opt/penstock/bin/penstock bin/sh; do
  printf '#!/bin/sh\n' >"$sdroot/$stub"
  chmod +x "$sdroot/$stub"
done
cp "$root/deploy/systemd/penstock.service" "$sdroot/etc/systemd/system/"
if out=$(systemd-analyze verify --root="$sdroot" penstock.service 2>&1) && [ -z "$out" ]; then
  echo "ok    systemd-analyze verify penstock.service"
else
  failure "systemd-analyze verify penstock.service:"$'\n'"$out"
fi
if security=$(systemd-analyze security --offline=yes --root="$sdroot" --threshold=20 penstock.service 2>&1); then
  echo "ok    systemd-analyze security: ${security##*→ }"
else
  failure "systemd-analyze security (threshold 2.0): ${security##*→ }"
fi
# The stop timeout must outlast the drain (defaults.shutdown_grace_ms, 30 s unless a config says).
stop_seconds=$(sed -n 's/^TimeoutStopSec=\([0-9]*\)s\{0,1\}$/\1/p' "$root/deploy/systemd/penstock.service")
if [ -n "$stop_seconds" ] && [ "$stop_seconds" -gt 30 ] \
    && grep -qx 'KillSignal=SIGTERM' "$root/deploy/systemd/penstock.service" \
    && grep -qx 'SuccessExitStatus=143' "$root/deploy/systemd/penstock.service"; then
  echo "ok    SIGTERM, TimeoutStopSec=${stop_seconds} > the 30 s drain, exit 143 a success"
else
  failure "penstock.service: KillSignal=SIGTERM, TimeoutStopSec above 30 s, SuccessExitStatus=143"
fi
grep -q '^MemoryDenyWriteExecute=yes' "$root/deploy/systemd/penstock.service" \
  && failure "MemoryDenyWriteExecute=yes kills the JVM (its JIT writes code, then runs it)"
mkdir -p "$cache/sysusers-root/etc"
if out=$(systemd-sysusers --dry-run --root="$cache/sysusers-root" "$root/deploy/systemd/penstock.sysusers.conf" 2>&1) \
    && grep -q "Creating user 'penstock'" <<<"$out"; then
  echo "ok    systemd-sysusers --dry-run penstock.sysusers.conf"
else
  failure "systemd-sysusers --dry-run penstock.sysusers.conf:"$'\n'"$out"
fi

section "Kubernetes (deploy/kubernetes) and Docker (deploy/docker)"
node "$cache/validate.mjs" "$root" "$cache" || failed=1
if command -v kubectl >/dev/null; then
  if out=$(kubectl kustomize "$root/deploy/kubernetes" 2>&1); then
    echo "ok    kubectl kustomize: $(grep -c '^kind:' <<<"$out") resources"
  else
    failure "kubectl kustomize:"$'\n'"$out"
  fi
else
  echo "skip  kubectl kustomize (no kubectl)"
fi

if command -v shellcheck >/dev/null; then
  if shellcheck "$root/deploy/docker/build.sh" "$0" "$root/scripts/deploy-runtime-check.sh"; then
    echo "ok    shellcheck build.sh, validate-deploy.sh, deploy-runtime-check.sh"
  else
    failure "shellcheck"
  fi
  # The HEALTHCHECK's command, as bash will run it.
  health=$(node -e '
    const t = require("fs").readFileSync(process.argv[1], "utf8").replace(/\\\n/g, " ");
    const m = t.match(/^HEALTHCHECK .*? CMD (\[.*\])\s*$/m);
    process.stdout.write(JSON.parse(m[1])[2]);' "$root/deploy/docker/Dockerfile")
  if printf '#!/bin/bash\n%s\n' "$health" | shellcheck -; then
    echo "ok    shellcheck HEALTHCHECK command"
  else
    failure "shellcheck HEALTHCHECK command"
  fi
else
  echo "skip  shellcheck (apt-get install shellcheck)"
fi

printf '\nvalidate-deploy: %s in %d s\n' "$([ $failed = 0 ] && echo passed || echo FAILED)" $((SECONDS - started))
exit $failed
