#!/usr/bin/env bash
# Builds and runs the JMH benchmarks (penstock-jmh). Extra arguments go to JMH, e.g.
#   scripts/jmh.sh AdmissionBenchmark -p deployments=1000
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$root/bin/jdk.sh"
JAVA_HOME=$(penstock_find_jdk)
export JAVA_HOME
# A build to run, not to check: no format check, no Error Prone (bin/test does both).
(cd "$root" && ./mvnw -B -q -DskipTests -Dspotless.check.skip=true \
  -Derror-prone.flags=-XepDisableAllChecks -pl penstock-jmh -am package) >&2
exec "$JAVA_HOME/bin/java" -jar "$root/penstock-jmh/target/benchmarks.jar" "$@"
