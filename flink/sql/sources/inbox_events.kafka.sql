-- Production source: the mirrored InboxItem events on Redpanda. Event time and watermark as
-- in aircraft_events.kafka.sql (30 s bounded out-of-orderness).
CREATE TABLE inbox_events (
    id STRING,
    aggregateid STRING,
    `sequence` BIGINT,
    eventtype STRING,
    `time` TIMESTAMP_LTZ(3),
    data ROW<document_type STRING>,
    WATERMARK FOR `time` AS `time` - INTERVAL '30' SECOND
) WITH (
    'connector' = 'kafka',
    'topic' = 'klg.inbox.events',
    'properties.bootstrap.servers' = '${KAFKA_BROKERS}',
    'properties.group.id' = 'klg-flink-stats',
    'scan.startup.mode' = 'earliest-offset',
    'format' = 'json',
    'json.timestamp-format.standard' = 'ISO-8601',
    'json.ignore-parse-errors' = 'true'
);
