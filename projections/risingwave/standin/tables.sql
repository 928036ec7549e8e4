-- PostgreSQL stand-in for the RisingWave event tables (tests only: RisingWave cannot run on the
-- development machines). Same columns as sources/*.sql, plus what INCLUDE adds.
CREATE TABLE IF NOT EXISTS klg_aircraft_events (
    id varchar PRIMARY KEY,
    specversion varchar,
    source varchar,
    type varchar,
    subject varchar,
    time timestamptz,
    datacontenttype varchar,
    data jsonb,
    aggregatetype varchar,
    aggregateid varchar,
    sequence bigint,
    "position" bigint,
    eventtype varchar,
    eventversion varchar,
    recordedat timestamptz,
    actor varchar,
    correlationid varchar,
    causationid varchar,
    requestid varchar,
    kafka_partition varchar,
    kafka_offset varchar
);

CREATE TABLE IF NOT EXISTS klg_inbox_events (LIKE klg_aircraft_events INCLUDING ALL);
CREATE TABLE IF NOT EXISTS klg_tmc_events (LIKE klg_aircraft_events INCLUDING ALL);

-- Stand-ins for the Flink result tables (sources/<statistic>.sql); in tests Flink's JDBC sink
-- writes here directly, keyed as the Kafka messages would be.
CREATE TABLE IF NOT EXISTS aircraft_event_stats_hourly (
    aircraft_id varchar,
    registration_number varchar,
    window_start timestamp,
    window_end timestamp,
    total_events bigint,
    registered bigint,
    details_updated bigint,
    status_changes bigint,
    certificates_issued bigint,
    flights_logged bigint,
    decommissioned bigint,
    PRIMARY KEY (aircraft_id, window_start)
);

CREATE TABLE IF NOT EXISTS fleet_utilization_daily (
    aircraft_id varchar,
    registration_number varchar,
    window_start timestamp,
    window_end timestamp,
    block_minutes bigint,
    cycles bigint,
    rolling_7d_block_minutes bigint,
    rolling_7d_cycles bigint,
    PRIMARY KEY (aircraft_id, window_start)
);

CREATE TABLE IF NOT EXISTS inbox_intake_hourly (
    window_start timestamp,
    window_end timestamp,
    document_type varchar,
    received bigint,
    classified bigint,
    processed bigint,
    rejected bigint,
    avg_processing_seconds double precision,
    max_processing_seconds bigint,
    PRIMARY KEY (window_start, document_type)
);
