-- RisingWave only: the mirrored PartsRequest (TMC) events, ingested from Redpanda.
-- The primary key is the event id: the mirror is at-least-once, and a table with a primary key
-- keeps one row per key (a re-delivered duplicate overwrites its identical twin).
-- ${REDPANDA_BROKERS} is substituted by `klg risingwave apply`.
CREATE TABLE IF NOT EXISTS klg_tmc_events (
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
    requestid varchar
)
INCLUDE partition AS kafka_partition
INCLUDE offset AS kafka_offset
WITH (
    connector = 'kafka',
    topic = 'klg.tmc.events',
    properties.bootstrap.server = '${REDPANDA_BROKERS}',
    scan.startup.mode = 'earliest'
) FORMAT PLAIN ENCODE JSON;
