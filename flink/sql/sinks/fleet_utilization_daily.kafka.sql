-- Production sink: results to Redpanda (klg.stats.fleet_utilization_daily), for RisingWave to ingest.
CREATE TABLE fleet_utilization_daily (
    aircraft_id STRING,
    registration_number STRING,
    window_start TIMESTAMP(3),
    window_end TIMESTAMP(3),
    block_minutes BIGINT,
    cycles BIGINT,
    rolling_7d_block_minutes BIGINT,
    rolling_7d_cycles BIGINT,
    PRIMARY KEY (aircraft_id, window_start) NOT ENFORCED
) WITH (
    'connector' = 'upsert-kafka',
    'topic' = 'klg.stats.fleet_utilization_daily',
    'properties.bootstrap.servers' = '${KAFKA_BROKERS}',
    'key.format' = 'json',
    'value.format' = 'json',
    'value.json.timestamp-format.standard' = 'ISO-8601'
);
