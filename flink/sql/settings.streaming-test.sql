-- Settings for streaming runs against the test broker: an empty partition would otherwise hold
-- the watermark back for ever, so idle sources stop counting after a second.
SET 'table.exec.source.idle-timeout' = '1 s';
-- The local mini-cluster's REST API (jobs overview), for the health endpoint test.
SET 'rest.port' = '${FLINK_REST_PORT}';
