-- Production sink: results to Redpanda (klg.stats.aircraft_event_stats_hourly), keyed by
-- aircraft and window, for RisingWave to ingest.
CREATE TABLE aircraft_event_stats_hourly (
    aircraft_id STRING,
    registration_number STRING,
    window_start TIMESTAMP(3),
    window_end TIMESTAMP(3),
    total_events BIGINT,
    registered BIGINT,
    details_updated BIGINT,
    status_changes BIGINT,
    certificates_issued BIGINT,
    flights_logged BIGINT,
    decommissioned BIGINT,
    PRIMARY KEY (aircraft_id, window_start) NOT ENFORCED
) WITH (
    'connector' = 'upsert-kafka',
    'topic' = 'klg.stats.aircraft_event_stats_hourly',
    'properties.bootstrap.servers' = '${KAFKA_BROKERS}',
    'key.format' = 'json',
    'value.format' = 'json',
    'value.json.timestamp-format.standard' = 'ISO-8601'
);
