-- Production sink: results to Redpanda (klg.stats.inbox_intake_hourly), for RisingWave to ingest.
CREATE TABLE inbox_intake_hourly (
    window_start TIMESTAMP(3),
    window_end TIMESTAMP(3),
    document_type STRING,
    received BIGINT,
    classified BIGINT,
    processed BIGINT,
    rejected BIGINT,
    avg_processing_seconds DOUBLE,
    max_processing_seconds BIGINT,
    PRIMARY KEY (window_start, document_type) NOT ENFORCED
) WITH (
    'connector' = 'upsert-kafka',
    'topic' = 'klg.stats.inbox_intake_hourly',
    'properties.bootstrap.servers' = '${KAFKA_BROKERS}',
    'key.format' = 'json',
    'value.format' = 'json',
    'value.json.timestamp-format.standard' = 'ISO-8601'
);
