#!/usr/bin/env bash
# Runs a single-node Apache Kafka (KRaft: one process is broker and controller) on 127.0.0.1,
# in the foreground, until it is sent SIGTERM. Data and logs live under DATA_DIR, which the
# caller creates and deletes. Run fetch.sh first.
#
#   bash scripts/kafka/start.sh PORT CONTROLLER_PORT DATA_DIR
#
# The broker listens on 127.0.0.1:PORT (PLAINTEXT) and its controller on 127.0.0.1:CONTROLLER_PORT.
# PRIO_KAFKA_JAVA_OPTS adds JVM options (the test setup uses it to trade peak speed for a
# quicker start).
# More listeners (TLS, SASL) for tests that need them; the PLAINTEXT one stays for the broker's
# own use and the test setup:
#   PRIO_KAFKA_EXTRA_LISTENERS   e.g. SASL_SSL://127.0.0.1:9094 (added to listeners and advertised.listeners)
#   PRIO_KAFKA_EXTRA_PROTOCOLS   e.g. SASL_SSL:SASL_SSL (added to listener.security.protocol.map)
#   PRIO_KAFKA_EXTRA_CONFIG      a file of properties appended to the broker's configuration
#   PRIO_KAFKA_FORMAT_ARGS       more arguments to the storage format, e.g. --add-scram SCRAM-SHA-512=[name=u,password=p]
# Storage is formatted on the first start only, so the same DATA_DIR can be started again
# (a broker restart keeps its topics and offsets).
set -euo pipefail
if [[ $# -ne 3 ]]; then
  echo "usage: start.sh PORT CONTROLLER_PORT DATA_DIR" >&2
  exit 2
fi
port="$1" controller_port="$2" data="$3"
here="$(cd "$(dirname "$0")" && pwd)"
lib="$here/lib"
if ! compgen -G "$lib/kafka_2.13-*.jar" >/dev/null; then
  echo "start.sh: no broker jars in $lib; run scripts/kafka/fetch.sh first" >&2
  exit 2
fi
mkdir -p "$data/logs" "$data/kraft"
config="$data/server.properties"

# Small and quick: few threads, small buffers, tiny internal topics, no rebalance delay.
# Topics are never created implicitly: a typo in a topic name must be an error, not a new topic.
# message.max.bytes allows 4 MiB so tests can send records over the replay's 1 MiB limit.
cat >"$config" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$controller_port
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port${PRIO_KAFKA_EXTRA_LISTENERS:+,$PRIO_KAFKA_EXTRA_LISTENERS}
advertised.listeners=PLAINTEXT://127.0.0.1:$port${PRIO_KAFKA_EXTRA_LISTENERS:+,$PRIO_KAFKA_EXTRA_LISTENERS}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT${PRIO_KAFKA_EXTRA_PROTOCOLS:+,$PRIO_KAFKA_EXTRA_PROTOCOLS}
log.dirs=$data/kraft
auto.create.topics.enable=false
num.partitions=1
default.replication.factor=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=2
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=4
background.threads=2
num.recovery.threads.per.data.dir=1
num.replica.fetchers=1
log.cleaner.threads=1
log.cleaner.dedupe.buffer.size=4194304
log.segment.bytes=16777216
log.retention.check.interval.ms=60000
message.max.bytes=4194304
replica.fetch.max.bytes=4194304
# A single voter needs no long election timeouts; a restarted broker re-registers faster when
# its previous session expires sooner (defaults: 1 s election, 9 s session).
controller.quorum.election.timeout.ms=300
controller.quorum.election.backoff.max.ms=300
broker.heartbeat.interval.ms=500
broker.session.timeout.ms=3000
PROPS
if [[ -n "${PRIO_KAFKA_EXTRA_CONFIG:-}" ]]; then
  cat "$PRIO_KAFKA_EXTRA_CONFIG" >>"$config"
fi

cat >"$data/log4j.properties" <<PROPS
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File=$data/logs/server.log
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka=INFO
log4j.logger.org.apache.kafka=INFO
PROPS

java_opts=(
  -Xms128m -Xmx512m
  -XX:+UseSerialGC
  -XX:+ExitOnOutOfMemoryError
  -Djava.awt.headless=true
  "-Dlog4j.configuration=file:$data/log4j.properties"
  -cp "$lib/*"
)
# shellcheck disable=SC2206 # word splitting intended: a list of options
java_opts+=(${PRIO_KAFKA_JAVA_OPTS:-})

if [[ ! -f "$data/kraft/meta.properties" ]]; then
  # A KRaft cluster id is 16 random bytes in URL-safe base64 without padding.
  cluster_id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"
  format_args=()
  # Word splitting intended (a list of arguments without spaces); no globbing: SCRAM
  # credentials look like SCRAM-SHA-512=[name=u,password=p].
  set -f
  # shellcheck disable=SC2206
  format_args+=(${PRIO_KAFKA_FORMAT_ARGS:-})
  set +f
  java "${java_opts[@]}" kafka.tools.StorageTool format --ignore-formatted \
    -t "$cluster_id" -c "$config" "${format_args[@]}" >"$data/logs/format.log" 2>&1 \
    || { cat "$data/logs/format.log" >&2; exit 1; }
fi

exec java "${java_opts[@]}" kafka.Kafka "$config"
