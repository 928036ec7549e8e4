-- Production source: the mirrored Aircraft events on Redpanda (CloudEvents envelopes, JSON).
-- Event time is `time` (when the event occurred), with a watermark of bounded
-- out-of-orderness: events more than 30 s later than the newest seen are late; the windows
-- they belong to have fired and drop them (the embedded statistics, computed from the log,
-- still count them). Duplicates from the at-least-once mirror are counted once (DISTINCT id).
CREATE TABLE aircraft_events (
    id STRING,
    aggregateid STRING,
    `sequence` BIGINT,
    eventtype STRING,
    `time` TIMESTAMP_LTZ(3),
    data ROW<registration_number STRING, block_minutes BIGINT, cycles BIGINT, flight_date STRING>,
    WATERMARK FOR `time` AS `time` - INTERVAL '30' SECOND
) WITH (
    'connector' = 'kafka',
    'topic' = 'klg.aircraft.events',
    'properties.bootstrap.servers' = '${KAFKA_BROKERS}',
    'properties.group.id' = 'klg-flink-stats',
    'scan.startup.mode' = 'earliest-offset',
    'format' = 'json',
    'json.timestamp-format.standard' = 'ISO-8601',
    'json.ignore-parse-errors' = 'true'
);
