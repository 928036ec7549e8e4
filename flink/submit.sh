#!/usr/bin/env bash
# Submits KLG's statistics jobs (flink/sql) to a Flink session cluster: what the compose one-shot
# `flink-jobs` runs. The production settings (settings.production.sql), then the Kafka sources,
# the upsert-Kafka sinks and the jobs, run by KlgSqlRunner in `submit` mode: one detached job
# per INSERT; a job already running on the cluster is not submitted again; exits 0 once the
# JobManager has accepted every job, non-zero on any failure.
#
# Environment:
#   FLINK_JOBMANAGER_HOST, FLINK_JOBMANAGER_PORT  the JobManager's REST API (port default 8081)
#   KAFKA_BROKERS                                 the brokers of the mirror and result topics
#   FLINK_HOME                                    Flink, whose lib/ is the classpath (/opt/flink)
#   KLG_RUNNER_CLASSES                            the compiled KlgSqlRunner (/opt/klg/runner)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${FLINK_JOBMANAGER_HOST:?the JobManager host}" "${KAFKA_BROKERS:?the Kafka brokers}"
export FLINK_JOBMANAGER_PORT=${FLINK_JOBMANAGER_PORT:-8081}
flink_home=${FLINK_HOME:-/opt/flink}
classes=${KLG_RUNNER_CLASSES:-/opt/klg/runner}
sql=$here/sql

exec java \
  --add-opens=java.base/java.util=ALL-UNNAMED --add-opens=java.base/java.lang=ALL-UNNAMED \
  "-Dlog4j.configurationFile=$here/runner/log4j2.properties" \
  -cp "$flink_home/lib/*:$classes" KlgSqlRunner submit \
  "$sql/settings.production.sql" "$sql"/sources/*.kafka.sql "$sql"/sinks/*.kafka.sql "$sql"/jobs/*.sql
