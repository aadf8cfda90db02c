#!/usr/bin/env bash
# Copies Apache Kafka (the broker, org.apache.kafka:kafka_2.13) and its runtime dependencies
# into scripts/kafka/lib/ with Maven, as pom.xml lists them. Safe to run again: does nothing
# when lib/ already holds the version pom.xml asks for.
#
#   bash scripts/kafka/fetch.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
lib="$here/lib"
version="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$here/pom.xml")"
stamp="$lib/.complete-$version"

if [[ -f "$stamp" ]]; then
  exit 0
fi
command -v mvn >/dev/null || { echo "fetch.sh: Maven (mvn) is needed to fetch the Kafka broker's jars" >&2; exit 2; }

rm -rf "$lib"
copy() {
  mvn -q -B "$@" -f "$here/pom.xml" dependency:copy-dependencies \
    -DoutputDirectory="$lib" -DincludeScope=runtime
}
# Offline first: on a machine that fetched them once, the jars are already in ~/.m2 and
# this takes a couple of seconds; otherwise Maven downloads them.
if ! copy -o >/dev/null 2>&1; then
  rm -rf "$lib"
  copy
fi
ls "$lib"/kafka_2.13-"$version".jar >/dev/null
touch "$stamp"
