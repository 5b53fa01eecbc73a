#!/usr/bin/env bash
# The usage ledger's figures (docs/benchmarks.md): ROWS (default 1,000,000) entries written through
# LedgerWriter into a new SQLite database, the sustained rows per second, then report() for each
# group_by over the whole range and over a range with partial days at its edges (warm, median of 5).
# The database lives in a temporary directory, removed afterwards.
#   scripts/ledger-bench.sh            # 1,000,000 rows
#   ROWS=200000 scripts/ledger-bench.sh
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$root/bin/jdk.sh"
JAVA_HOME=$(penstock_find_jdk)
export JAVA_HOME
# A build to run, not to check: no format check, no Error Prone (bin/test does both).
(cd "$root" && ./mvnw -B -q -DskipTests -Dspotless.check.skip=true \
  -Derror-prone.flags=-XepDisableAllChecks -pl penstock-jmh -am package) >&2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -cp "$root/penstock-jmh/target/benchmarks.jar" \
  dev.penstock.jmh.LedgerBench "$work/ledger.db" "${ROWS:-1000000}"
