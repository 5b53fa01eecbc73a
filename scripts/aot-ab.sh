#!/usr/bin/env bash
# The release's AOT cache on and off (docs/benchmarks.md, "Distribution: start-up and idle"): for
# an unpacked release, runs `penstock version` and scripts/idle.sh (serve until /health/ready, RSS
# then and idle after one request) alternately with PENSTOCK_AOT=1 and PENSTOCK_AOT=0, ROUNDS
# times, and prints every run and the medians. Usage: scripts/aot-ab.sh PENSTOCK_HOME [ROUNDS]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
home=${1:?usage: scripts/aot-ab.sh PENSTOCK_HOME [ROUNDS]}
rounds=${2:-5}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for round in $(seq 1 "$rounds"); do
  for aot in 1 0; do
    start=$(date +%s%N)
    PENSTOCK_AOT=$aot "$home/bin/penstock" version >/dev/null
    version_ms=$((($(date +%s%N) - start) / 1000000))
    line=$(PENSTOCK_LAUNCHER=$home/bin/penstock PENSTOCK_AOT=$aot "$root/scripts/idle.sh")
    echo "round $round aot=$aot: version in $version_ms ms; $line"
    read -r ready_ms at_ready idle < <(echo "$line" |
      sed -n 's/ready after \([0-9]*\) ms; RSS when ready \([0-9]*\) MiB, idle after a request \([0-9]*\) MiB.*/\1 \2 \3/p')
    echo "$version_ms $ready_ms $at_ready $idle" >>"$out/aot$aot"
  done
done
median() { sort -n | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'; }
for aot in 1 0; do
  printf 'medians aot=%s over %s runs: version %s ms, ready %s ms, RSS when ready %s MiB, idle %s MiB\n' \
    "$aot" "$rounds" "$(cut -d' ' -f1 "$out/aot$aot" | median)" "$(cut -d' ' -f2 "$out/aot$aot" | median)" \
    "$(cut -d' ' -f3 "$out/aot$aot" | median)" "$(cut -d' ' -f4 "$out/aot$aot" | median)"
done
