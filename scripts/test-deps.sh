#!/usr/bin/env bash
# Installs what the tests need beyond a JDK, when it is missing: promtool (Debian's prometheus
# package) for MonitoringAssetsTest, Chromium and playwright-core (npm ci) for
# DashboardBrowserTest. As root with apt-get it installs them; otherwise it says what is missing
# (those tests then fail and name it, unless PENSTOCK_SKIP_PROMTOOL=1 / PENSTOCK_SKIP_BROWSER=1).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

need=()
command -v promtool >/dev/null || need+=(prometheus)
[ -x "${PENSTOCK_CHROMIUM:-/usr/bin/chromium}" ] || need+=(chromium)
command -v npm >/dev/null || need+=(nodejs npm)
if ((${#need[@]})); then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "test-deps: installing ${need[*]} (apt-get)" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
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
