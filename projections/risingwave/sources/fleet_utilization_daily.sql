-- RisingWave only: the Flink job fleet_utilization_daily's results (flink/sql/jobs/fleet_utilization_daily.sql), upserted by key
-- from klg.stats.fleet_utilization_daily; same name and columns as the embedded view of migrations/0003.
-- Windows are UTC timestamps (Flink runs with table.local-time-zone UTC).
CREATE TABLE IF NOT EXISTS fleet_utilization_daily (
    aircraft_id varchar,
    registration_number varchar,
    window_start timestamp,
    window_end timestamp,
    block_minutes bigint,
    cycles bigint,
    rolling_7d_block_minutes bigint,
    rolling_7d_cycles bigint,
    PRIMARY KEY (kafka_key)
)
INCLUDE KEY AS kafka_key
WITH (
    connector = 'kafka',
    topic = 'klg.stats.fleet_utilization_daily',
    properties.bootstrap.server = '${REDPANDA_BROKERS}',
    scan.startup.mode = 'earliest'
) FORMAT UPSERT ENCODE JSON;
