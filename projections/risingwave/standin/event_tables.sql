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
    position bigint,
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
