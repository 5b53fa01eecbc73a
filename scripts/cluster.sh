#!/usr/bin/env bash
# Cluster mode (SPEC 13, issue 16), the longer run: ClusterProcessesTest's three scenarios with
# three real gateway processes sharing a Redis of their own and a fresh PostgreSQL database, in
# front of the provider simulator with strict per-key limits, offered twice the pool's capacity.
#
#   A  steady load for SECONDS_A (default 180): no 429, no 60 s window over a limit, >= 95% of the
#      pool's RPM delivered, requests per key spread smoothly
#   B  kill -9 of one instance mid-run while it runs batch lines: the two left take over its share
#      (>= 90% of the pool from 10 s after the kill, over AFTER seconds), the batch completes with
#      every custom_id once
#   C  the cluster's Redis stopped for 20 s: all instances not ready within seconds, no window over
#      a limit, all ready again and delivery back within seconds of Redis's return
#
#   SECONDS_A=300 AFTER=90 RPM=600 scripts/cluster.sh [output-dir]
#
# Knobs: SECONDS_A (A's load), AFTER (B's and C's load after the kill / Redis's return, default 60),
# RPM (each of the 3 pool keys' limit, default 600), SEED (the simulator's; printed), ONLY (A, B
# or C: one scenario), SPLIT=static (the harness's self-check: each gateway configured with a third
# of every limit, no sharing needed; A must pass so). Needs redis-server on PATH and PostgreSQL on 127.0.0.1:5432 (user postgres,
# trust; scripts/services.sh starts it). Writes the figures to <output-dir>/figures.txt (default
# target/cluster) and the full test output beside it; exits non-zero if a scenario failed.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${1:-$root/target/cluster}
seconds=${SECONDS_A:-180}
after=${AFTER:-60}
rpm=${RPM:-600}
seed=${SEED:-$RANDOM$RANDOM}
case "${ONLY:-}" in
  A) tests='ClusterProcessesTest#threeInstances*' ;;
  B) tests='ClusterProcessesTest#aKilledInstance*' ;;
  C) tests='ClusterProcessesTest#withoutRedis*' ;;
  '') tests='ClusterProcessesTest' ;;
  *) echo "cluster: ONLY must be A, B or C" >&2; exit 2 ;;
esac
mkdir -p "$out"
command -v redis-server >/dev/null || { echo "cluster: needs redis-server on PATH" >&2; exit 1; }
pg_isready -h 127.0.0.1 -p 5432 -q || { echo "cluster: PostgreSQL is not up on 127.0.0.1:5432 (scripts/services.sh)" >&2; exit 1; }

. "$root/bin/jdk.sh"
JAVA_HOME=$(penstock_find_jdk)
export JAVA_HOME
cd "$root"
echo "cluster: building (tests compiled, not run)..." >&2
./mvnw -B -o -q install -DskipTests -pl penstock-server -am >&2
echo "cluster: A for ${seconds} s, B and C ${after} s after the event; keys of ${rpm} RPM; seed ${seed}" >&2
status=0
./mvnw -B -o -pl penstock-server surefire:test -Dtest="$tests" -Dsurefire.failIfNoSpecifiedTests=false \
  -Dsurefire.excludedGroups= \
  -Dpenstock.cluster.seconds="$seconds" -Dpenstock.cluster.after="$after" \
  -Dpenstock.cluster.rpm="$rpm" -Dpenstock.cluster.seed="$seed" -Dpenstock.cluster.split="${SPLIT:-}" \
  >"$out/test-output.txt" 2>&1 || status=$?
# The figures: each scenario's block (its heading, then its indented lines), wherever surefire put
# the test's stdout.
report=penstock-server/target/surefire-reports/dev.penstock.server.cluster.ClusterProcessesTest-output.txt
[ -f "$report" ] || report="$out/test-output.txt"
awk '/^ClusterProcessesTest /{on=1; print; next} on && /^  /{print; next} {on=0}' "$report" \
  >"$out/figures.txt" || true
cat "$out/figures.txt"
grep -E 'Tests run:|FAIL' "$out/test-output.txt" | tail -5 || true
echo "cluster: figures in $out/figures.txt, the whole output in $out/test-output.txt" >&2
exit "$status"
