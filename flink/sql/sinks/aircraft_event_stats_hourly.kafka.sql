-- Production sink: results to Redpanda (klg.stats.aircraft_event_stats_hourly), keyed by
-- registration and window, for RisingWave to ingest.
CREATE TABLE aircraft_event_stats_hourly (
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
    PRIMARY KEY (registration_number, window_start) NOT ENFORCED
) WITH (
    'connector' = 'upsert-kafka',
    'topic' = 'klg.stats.aircraft_event_stats_hourly',
    'properties.bootstrap.servers' = '${KAFKA_BROKERS}',
    'key.format' = 'json',
    'value.format' = 'json',
    'value.json.timestamp-format.standard' = 'ISO-8601'
);
