-- RisingWave only: the Flink job aircraft_event_stats_hourly's results (flink/sql/jobs/aircraft_event_stats_hourly.sql), upserted by key
-- from klg.stats.aircraft_event_stats_hourly (key: aircraft_id, window_start); same name and columns as the
-- embedded view (migrations/0004).
-- Windows are UTC timestamps (Flink runs with table.local-time-zone UTC).
CREATE TABLE IF NOT EXISTS aircraft_event_stats_hourly (
    aircraft_id varchar,
    registration_number varchar,
    window_start timestamp,
    window_end timestamp,
    total_events bigint,
    registered bigint,
    details_updated bigint,
    status_changes bigint,
    certificates_issued bigint,
    flights_logged bigint,
    decommissioned bigint,
    PRIMARY KEY (kafka_key)
)
INCLUDE KEY AS kafka_key
WITH (
    connector = 'kafka',
    topic = 'klg.stats.aircraft_event_stats_hourly',
    properties.bootstrap.server = '${REDPANDA_BROKERS}',
    scan.startup.mode = 'earliest'
) FORMAT UPSERT ENCODE JSON;
