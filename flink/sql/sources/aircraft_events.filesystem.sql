-- Test/batch source: the same envelopes exported as JSON lines (klg's mirror format), same
-- columns and watermark as aircraft_events.kafka.sql.
CREATE TABLE aircraft_events (
    id STRING,
    aggregateid STRING,
    `sequence` BIGINT,
    eventtype STRING,
    `time` TIMESTAMP_LTZ(3),
    data ROW<registration_number STRING, block_minutes BIGINT, cycles BIGINT, flight_date STRING>,
    WATERMARK FOR `time` AS `time` - INTERVAL '30' SECOND
) WITH (
    'connector' = 'filesystem',
    'path' = '${AIRCRAFT_EVENTS_PATH}',
    'format' = 'json',
    'json.timestamp-format.standard' = 'ISO-8601'
);
