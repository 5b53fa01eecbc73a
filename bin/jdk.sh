# Sourced by bin/penstock, bin/test and .ci/run: finds a JDK 25 or newer.
# Order: $JAVA_HOME if it is one, then the usual install locations, then `java` on the PATH.

penstock_java_major() { # prints the feature version of the java binary given, e.g. 25
  "$1" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.specification\.version = //p' | head -n 1
}

penstock_find_jdk() {
  local candidate major
  for candidate in "${JAVA_HOME:-}" /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/temurin-2[5-9]* \
      /usr/lib/jvm/java-2[5-9]-* /usr/lib/jvm/jdk-2[5-9]* /opt/java/openjdk /opt/jdk-2[5-9]* \
      /Library/Java/JavaVirtualMachines/*-2[5-9]*/Contents/Home; do
    [ -n "$candidate" ] && [ -x "$candidate/bin/java" ] && [ -x "$candidate/bin/javac" ] || continue
    major=$(penstock_java_major "$candidate/bin/java")
    if [ -n "$major" ] && [ "$major" -ge 25 ] 2>/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  if command -v javac >/dev/null 2>&1; then
    candidate=$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")
    major=$(penstock_java_major "$candidate/bin/java")
    if [ -n "$major" ] && [ "$major" -ge 25 ] 2>/dev/null; then
      echo "$candidate"
      return 0
    fi
  fi
  echo "penstock: no JDK 25 found. Install one (e.g. Temurin 25) and set JAVA_HOME to it." >&2
  return 1
}
