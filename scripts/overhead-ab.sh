#!/usr/bin/env bash
# The gateway's added latency at a fixed 2,000 req/s, this tree against an earlier commit, side by
# side in one run (docs/benchmarks.md): builds BASELINE (a git revision) in a temporary worktree,
# then runs part 2 of each tree's scripts/overhead.sh (pooled client) in turn, ROUNDS times,
# alternating, so that both see the same machine. Usage: scripts/overhead-ab.sh BASELINE [out-dir]
# AB_SECTIONS="1 2" adds part 1 (closed-loop req/s with wrk) to each side's run.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
baseline=${1:?usage: scripts/overhead-ab.sh BASELINE-REVISION [out-dir]}
out=${2:-$root/target/overhead-ab}
rounds=${ROUNDS:-2}
mkdir -p "$out"
work=$(mktemp -d)
trap 'git -C "$root" worktree remove --force "$work/baseline" >/dev/null 2>&1 || true' EXIT

git -C "$root" worktree add -q --detach "$work/baseline" "$baseline"
. "$root/bin/jdk.sh"
JAVA_HOME=$(penstock_find_jdk)
export JAVA_HOME
echo "building $baseline and this tree..." >&2
(cd "$work/baseline" && ./mvnw -B -q -DskipTests -Dspotless.check.skip=true package >&2)
PENSTOCK_NO_BUILD=0 "$root/bin/penstock" --version >/dev/null

summary="$out/summary.txt"
echo "== overhead.sh part(s) ${AB_SECTIONS:-2}: $baseline against $(git -C "$root" rev-parse --short HEAD)" \
  | tee "$summary"
for round in $(seq 1 "$rounds"); do
  for side in baseline current; do
    tree=$([ "$side" = baseline ] && echo "$work/baseline" || echo "$root")
    SECTIONS="${AB_SECTIONS:-2}" CLIENTS=pooled "$tree/scripts/overhead.sh" "$out/$side-$round" >/dev/null 2>&1
    echo "-- $side, round $round" | tee -a "$summary"
    grep -E '^(==|direct|nginx proxy|penstock)' "$out/$side-$round/summary.txt" | tee -a "$summary"
  done
done
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')" \
  | tee -a "$summary"
