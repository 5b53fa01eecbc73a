#!/usr/bin/env bash
# One part of scripts/overhead.sh for several sets of JVM options in turn, ROUNDS times, alternating,
# so that they see the same machine (docs/benchmarks.md, "Performance and footprint"). VARIANTS holds
# one set of options a line ("" is the default). Other settings pass through to overhead.sh.
#
#   VARIANTS=$'-XX:+UseSerialGC -Xms256m -Xmx256m\n-XX:+UseG1GC -Xms256m -Xmx256m\n-XX:+UseZGC -Xms256m -Xmx256m' \
#     SECTIONS=2 scripts/overhead-variants.sh            # collectors at 2,000 req/s
#   VARIANTS=$'\n-Djdk.pollerMode=1\n-Djdk.pollerMode=2' SECTIONS=1 CONNECTIONS=256 \
#     scripts/overhead-variants.sh                       # poller modes at 256 connections
#
# GC_LOG=1 also writes each gateway's collections (-Xlog:gc) into its run's directory.
#
# Usage: scripts/overhead-variants.sh [output-dir]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${1:-$root/target/overhead-variants}
rounds=${ROUNDS:-2}
variants=${VARIANTS?set VARIANTS: one set of JVM options a line (an empty line is the default)}
mkdir -p "$out"
for round in $(seq 1 "$rounds"); do
  n=0
  while IFS= read -r opts; do
    n=$((n + 1))
    echo "== round $round, variant $n [$opts]" | tee -a "$out/summary.txt"
    gc_log=
    if [ -n "${GC_LOG:-}" ]; then # the gateway's collections, one file a run
      mkdir -p "$out/$round-$n"
      gc_log="-Xlog:gc:file=$out/$round-$n/gc-gateway-%p.log"
    fi
    GATEWAY_JAVA_OPTS="$gc_log" PENSTOCK_JAVA_OPTS="$opts" CLIENTS=pooled "$root/scripts/overhead.sh" "$out/$round-$n" 2>&1 \
      | grep -E '^(direct|nginx proxy|penstock)' | tee -a "$out/summary.txt"
  done <<<"$variants"
done
