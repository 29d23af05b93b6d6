#!/bin/sh
# What the apache/kafka image's script of this name runs; docker-compose.yml's healthcheck calls it.
exec java -Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
  -Dlog4j.configuration=file:/opt/kafka/config/tools-log4j.properties -cp '/opt/kafka/libs/*' \
  kafka.admin.BrokerApiVersionsCommand "$@"
