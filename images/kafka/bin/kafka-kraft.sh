#!/bin/sh
# Starts a single-node KRaft broker configured from the environment, with the apache/kafka image's naming:
# KAFKA_<NAME> becomes the property <name>, lower-cased, "___" -> "-", "__" -> "_", "_" -> "."
# (KAFKA_LISTENERS -> listeners, KAFKA_LOG_CLEANER_DEDUPE_BUFFER_SIZE -> log.cleaner.dedupe.buffer.size).
# The JVM's own variables (KAFKA_HEAP_OPTS, KAFKA_JVM_PERFORMANCE_OPTS, KAFKA_OPTS) are not properties.
set -eu

config_dir=${KAFKA_CONFIG_DIR:-/tmp/kafka-config}
props="$config_dir/server.properties"
mkdir -p "$config_dir"

# Defaults first: java.util.Properties keeps the last value of a key, so the environment overrides them.
cat > "$props" <<PROPERTIES
process.roles=broker,controller
node.id=1
controller.listener.names=CONTROLLER
log.dirs=/var/lib/kafka/data
PROPERTIES

env | grep '^KAFKA_' | sort | while IFS='=' read -r name value; do
  case "$name" in
    KAFKA_HEAP_OPTS | KAFKA_JVM_PERFORMANCE_OPTS | KAFKA_OPTS | KAFKA_CONFIG_DIR) continue ;;
  esac
  key=$(printf '%s' "${name#KAFKA_}" | tr 'A-Z' 'a-z' | sed -e 's/___/-/g' -e 's/__/\//g' -e 's/_/./g' -e 's/\//_/g')
  printf '%s=%s\n' "$key" "$value" >> "$props"
done

# shellcheck disable=SC2086 # the *_OPTS variables are lists of JVM flags
set -- ${KAFKA_HEAP_OPTS:--Xmx512m} ${KAFKA_JVM_PERFORMANCE_OPTS:--XX:+UseSerialGC} ${KAFKA_OPTS:-} \
  -Djava.awt.headless=true -Dlog4j.configuration=file:/opt/kafka/config/log4j.properties -cp '/opt/kafka/libs/*'

# The same id as the apache/kafka image when none is given; --ignore-formatted keeps a restarted container's data.
java "$@" kafka.tools.StorageTool format -t "${CLUSTER_ID:-4L6g3nShT-eMCtK--X86sw}" -c "$props" --ignore-formatted
exec java "$@" kafka.Kafka "$props"
