-- RisingWave only: the Flink job inbox_intake_hourly's results (flink/sql/jobs/inbox_intake_hourly.sql), upserted by key
-- from klg.stats.inbox_intake_hourly; same name and columns as the embedded view of migrations/0003.
-- Windows are UTC timestamps (Flink runs with table.local-time-zone UTC).
CREATE TABLE IF NOT EXISTS inbox_intake_hourly (
    window_start timestamp,
    window_end timestamp,
    document_type varchar,
    received bigint,
    classified bigint,
    processed bigint,
    rejected bigint,
    avg_processing_seconds double precision,
    max_processing_seconds bigint,
    PRIMARY KEY (kafka_key)
)
INCLUDE KEY AS kafka_key
WITH (
    connector = 'kafka',
    topic = 'klg.stats.inbox_intake_hourly',
    properties.bootstrap.server = '${REDPANDA_BROKERS}',
    scan.startup.mode = 'earliest'
) FORMAT UPSERT ENCODE JSON;
