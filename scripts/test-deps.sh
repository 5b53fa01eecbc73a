#!/usr/bin/env bash
# Installs what the tests need beyond a JDK, when it is missing: promtool (Debian's prometheus
# package) for MonitoringAssetsTest, Chromium and playwright-core (npm ci) for
# DashboardBrowserTest, node and the OpenAI Node SDK (npm ci) for NodeSdkTenantsTest. As root with
# apt-get it installs them; otherwise it says what is missing (those tests then fail and name it,
# unless PENSTOCK_SKIP_PROMTOOL=1 / PENSTOCK_SKIP_BROWSER=1 / PENSTOCK_SKIP_NODE_SDK=1).
#
# Another apt-get or dpkg (unattended-upgrades, a parallel job) may hold apt's locks: then this
# waits for them, up to PENSTOCK_APT_LOCK_WAIT seconds (default 600), saying so every 30 s, and
# fails with the holder's name after that.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

lock_wait=${PENSTOCK_APT_LOCK_WAIT:-600}
lock_deadline=$((SECONDS + lock_wait))

# Runs apt-get "$@", again while it fails because another process holds one of apt's locks, until
# lock_deadline. DPkg::Lock::Timeout alone is not enough: `install` waits for the dpkg lock with it,
# but `update` ignores it (apt 2.6 fails at once on /var/lib/apt/lists/lock), and checking the locks
# (fuser) before the command would race with a process that takes one just after. So retry on apt's
# own "Could not get lock". The first try does not wait, so that the message comes at once.
apt_errors=$(mktemp)
trap 'rm -f "$apt_errors"' EXIT
apt_get_waiting() {
  local wait=0 announced=-30 holder left
  while true; do
    if apt-get -o DPkg::Lock::Timeout="$wait" "$@" 2>"$apt_errors"; then
      cat "$apt_errors" >&2
      return 0
    fi
    holder=$(grep -m1 -E 'Could not get lock|Unable to acquire the dpkg frontend lock' \
      "$apt_errors" | sed -e 's/^E: //') || true
    if [ -z "$holder" ]; then
      cat "$apt_errors" >&2 # another failure: apt's own message says which
      return 1
    fi
    left=$((lock_deadline - SECONDS))
    if ((left <= 0)); then
      echo "test-deps: gave up after ${lock_wait} s waiting for apt's lock: $holder" >&2
      echo "test-deps: let that process finish, or raise PENSTOCK_APT_LOCK_WAIT, and run again" >&2
      return 1
    fi
    if ((SECONDS - announced >= 30)); then
      echo "test-deps: waiting up to ${left} s more for apt's lock: $holder" >&2
      announced=$SECONDS
    fi
    sleep $((left < 2 ? left : 2))
    # From now on `install` also waits inside apt for the dpkg lock, a little at a time.
    left=$((lock_deadline - SECONDS))
    wait=$((left < 10 ? (left > 0 ? left : 0) : 10))
  done
}

need=()
command -v promtool >/dev/null || need+=(prometheus)
[ -x "${PENSTOCK_CHROMIUM:-/usr/bin/chromium}" ] || need+=(chromium)
command -v npm >/dev/null || need+=(nodejs npm)
if ((${#need[@]})); then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "test-deps: installing ${need[*]} (apt-get)" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt_get_waiting update -qq
    apt_get_waiting install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    echo "test-deps: missing ${need[*]}: install them (apt-get install ${need[*]})" >&2
  fi
fi

ui="$root/penstock-server/src/test/ui"
if command -v npm >/dev/null; then
  if [ ! -d "$ui/node_modules/playwright-core" ] \
    || [ "$ui/package-lock.json" -nt "$ui/node_modules/.package-lock.json" ]; then
    echo "test-deps: npm ci in penstock-server/src/test/ui (playwright-core)" >&2
    (cd "$ui" && npm ci --no-audit --no-fund --loglevel=error >&2)
  fi
fi

node_sdk="$root/penstock-server/src/test/node-sdk"
if command -v npm >/dev/null; then
  if [ ! -d "$node_sdk/node_modules/openai" ] \
    || [ "$node_sdk/package-lock.json" -nt "$node_sdk/node_modules/.package-lock.json" ]; then
    echo "test-deps: npm ci in penstock-server/src/test/node-sdk (openai)" >&2
    (cd "$node_sdk" && npm ci --no-audit --no-fund --loglevel=error >&2)
  fi
fi
