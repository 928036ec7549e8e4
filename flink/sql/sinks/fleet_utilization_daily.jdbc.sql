-- Test sink: results into a PostgreSQL table through Flink's JDBC connector.
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
    'connector' = 'jdbc',
    'url' = '${JDBC_URL}',
    'table-name' = '${JDBC_TABLE_PREFIX}fleet_utilization_daily'
);
