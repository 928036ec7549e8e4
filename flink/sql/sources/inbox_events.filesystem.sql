-- Test/batch source: InboxItem envelopes exported as JSON lines; same columns and watermark as
-- inbox_events.kafka.sql.
CREATE TABLE inbox_events (
    id STRING,
    aggregateid STRING,
    `sequence` BIGINT,
    eventtype STRING,
    `time` TIMESTAMP_LTZ(3),
    data ROW<document_type STRING>,
    WATERMARK FOR `time` AS `time` - INTERVAL '30' SECOND
) WITH (
    'connector' = 'filesystem',
    'path' = '${INBOX_EVENTS_PATH}',
    'format' = 'json',
    'json.timestamp-format.standard' = 'ISO-8601'
);
