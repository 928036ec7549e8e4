-- Read side: the subscription checkpoints, the projections, and the wake-up signal.
-- Every table here is derived from `events` and can be rebuilt from it (`klg project --rebuild`),
-- except `client_error_reports`, which is operational telemetry, not domain history.

-- Wake subscribers when events commit (NOTIFY is delivered at commit, once per transaction).
CREATE FUNCTION klg_notify_events() RETURNS trigger
    LANGUAGE plpgsql AS
$$
BEGIN
    PERFORM pg_notify('klg_events', '');
    RETURN NULL;
END
$$;

CREATE TRIGGER events_notify
    AFTER INSERT ON events
    FOR EACH STATEMENT EXECUTE FUNCTION klg_notify_events();

-- Where each named subscriber is in the log: the (transaction_id, global_position) of the last
-- event it handled. Updated in the same transaction as the subscriber's own writes.
CREATE TABLE subscription_checkpoints
(
    name            text PRIMARY KEY,
    transaction_id  xid8        NOT NULL DEFAULT '0',
    global_position bigint      NOT NULL DEFAULT 0,
    events_handled  bigint      NOT NULL DEFAULT 0,
    owner           text,
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- The read relations use text ids (not uuid): RisingWave, the read store of the full
-- deployment, has no uuid type, and both stores must expose the same relations.

-- Current state of each aircraft.
CREATE TABLE aircraft
(
    id                      text PRIMARY KEY,
    registration_number     text        NOT NULL,
    aircraft_type           text        NOT NULL,
    model                   text        NOT NULL,
    serial_number           text        NOT NULL,
    operator                text        NOT NULL,
    year_of_manufacture     integer,
    base_airport            text,
    notes                   text,
    status                  text        NOT NULL,
    status_reason           text,
    status_changed_at       timestamptz NOT NULL,
    certificate_number      text,
    certificate_issued_on   date,
    certificate_valid_until date,
    total_block_minutes     bigint      NOT NULL DEFAULT 0,
    total_cycles            bigint      NOT NULL DEFAULT 0,
    flight_count            bigint      NOT NULL DEFAULT 0,
    last_flight_date        date,
    version                 bigint      NOT NULL,
    last_position           bigint      NOT NULL,
    registered_at           timestamptz NOT NULL,
    updated_at              timestamptz NOT NULL,
    decommissioned_at       timestamptz,
    -- Punctuation becomes spaces (the parser would read "RA-89001" as "RA" and the number
    -- "-89001"); the registration is also indexed without its hyphen ("RA89001").
    search                  tsvector GENERATED ALWAYS AS (
        to_tsvector('simple', regexp_replace(
                registration_number || ' ' || replace(registration_number, '-', '') || ' ' || aircraft_type || ' ' ||
                model || ' ' || serial_number || ' ' || operator || ' ' || coalesce(base_airport, '') || ' ' ||
                coalesce(notes, ''), '[-_./\\,;:()]+', ' ', 'g'))) STORED
);

CREATE INDEX aircraft_registration_idx ON aircraft (registration_number, id);
CREATE INDEX aircraft_updated_idx ON aircraft (updated_at, id);
CREATE INDEX aircraft_status_idx ON aircraft (status);
CREATE INDEX aircraft_search_idx ON aircraft USING gin (search);

-- One row per aircraft event, for the audit trail.
CREATE TABLE aircraft_history
(
    global_position bigint PRIMARY KEY,
    aircraft_id     text        NOT NULL,
    sequence        bigint      NOT NULL,
    event_id        text        NOT NULL UNIQUE,
    event_type      text        NOT NULL,
    event_version   text        NOT NULL,
    recorded_at     timestamptz NOT NULL,
    actor           text        NOT NULL,
    request_id      text,
    correlation_id  text,
    causation_id    text,
    summary         text        NOT NULL,
    payload         jsonb       NOT NULL,
    UNIQUE (aircraft_id, sequence)
);

-- Current state of each inbox document.
CREATE TABLE inbox_files
(
    id               text PRIMARY KEY,
    filename         text        NOT NULL,
    content_type     text        NOT NULL,
    size_bytes       bigint      NOT NULL,
    sha256           text        NOT NULL,
    source           text        NOT NULL,
    status           text        NOT NULL,
    document_type    text,
    aircraft_id      text,
    processing_note  text,
    rejection_reason text,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    classified_at    timestamptz,
    processed_at     timestamptz,
    rejected_at      timestamptz,
    archived_at      timestamptz,
    version          bigint      NOT NULL,
    last_position    bigint      NOT NULL,
    search           tsvector GENERATED ALWAYS AS (
        to_tsvector('simple', regexp_replace(
                filename || ' ' || coalesce(document_type, '') || ' ' || coalesce(processing_note, '') || ' ' ||
                coalesce(rejection_reason, ''), '[-_./\\,;:()]+', ' ', 'g'))) STORED
);

CREATE INDEX inbox_files_created_idx ON inbox_files (created_at DESC, id DESC);
CREATE INDEX inbox_files_aircraft_idx ON inbox_files (aircraft_id);
CREATE INDEX inbox_files_search_idx ON inbox_files USING gin (search);

-- One row per inbox event (audit trail of a document; input of the intake statistics).
CREATE TABLE inbox_history
(
    global_position bigint PRIMARY KEY,
    document_id     text        NOT NULL,
    sequence        bigint      NOT NULL,
    event_id        text        NOT NULL UNIQUE,
    event_type      text        NOT NULL,
    event_version   text        NOT NULL,
    recorded_at     timestamptz NOT NULL,
    actor           text        NOT NULL,
    request_id      text,
    correlation_id  text,
    causation_id    text,
    payload         jsonb       NOT NULL,
    UNIQUE (document_id, sequence)
);

-- Per registration number: how many events its aircraft produced and when the last one was.
CREATE TABLE aircraft_stats
(
    registration_number text PRIMARY KEY,
    total_events        bigint      NOT NULL,
    last_event          timestamptz NOT NULL
);

-- Error reports sent by clients (the web console). Not derived from the log.
CREATE TABLE client_error_reports
(
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    received_at timestamptz NOT NULL DEFAULT now(),
    client      text        NOT NULL,
    level       text        NOT NULL,
    message     text        NOT NULL,
    url         text,
    stack       text,
    user_agent  text,
    context     jsonb,
    request_id  text
);
