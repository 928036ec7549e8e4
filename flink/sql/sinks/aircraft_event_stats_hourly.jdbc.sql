-- Test sink: results into a PostgreSQL table through Flink's JDBC connector.
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
    'connector' = 'jdbc',
    'url' = '${JDBC_URL}',
    'table-name' = '${JDBC_TABLE_PREFIX}aircraft_event_stats_hourly'
);
