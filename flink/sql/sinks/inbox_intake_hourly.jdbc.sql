-- Test sink: results into a PostgreSQL table through Flink's JDBC connector.
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
    'connector' = 'jdbc',
    'url' = '${JDBC_URL}',
    'table-name' = '${JDBC_TABLE_PREFIX}inbox_intake_hourly'
);
