-- The event store: postgres-es's `events` table plus KLG's own columns.
--
-- postgres-es inserts named columns only, so every column it does not know is filled here by a
-- default: a global position, the inserting transaction's id (for the gap-free reader of the
-- read side), an event id and the time it was recorded. A BEFORE trigger copies event id and
-- recorded-at into the JSON metadata, so an event loaded through cqrs-es carries them too.
CREATE TABLE events
(
    aggregate_type  text                         NOT NULL,
    aggregate_id    text                         NOT NULL,
    sequence        bigint CHECK (sequence >= 0) NOT NULL,
    event_type      text                         NOT NULL,
    event_version   text                         NOT NULL,
    payload         json                         NOT NULL,
    metadata        json                         NOT NULL,
    global_position bigint GENERATED ALWAYS AS IDENTITY,
    transaction_id  xid8                         NOT NULL DEFAULT pg_current_xact_id(),
    event_id        uuid                         NOT NULL DEFAULT gen_random_uuid(),
    recorded_at     timestamptz                  NOT NULL DEFAULT now(),
    PRIMARY KEY (aggregate_type, aggregate_id, sequence)
);

CREATE UNIQUE INDEX events_global_position_key ON events (global_position);
CREATE UNIQUE INDEX events_event_id_key ON events (event_id);
CREATE INDEX events_transaction_order_idx ON events (transaction_id, global_position);

CREATE FUNCTION klg_stamp_event() RETURNS trigger
    LANGUAGE plpgsql AS
$$
BEGIN
    NEW.metadata := (NEW.metadata::jsonb || jsonb_build_object(
            'event_id', NEW.event_id::text,
            'recorded_at', to_char(NEW.recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')))::json;
    RETURN NEW;
END
$$;

CREATE TRIGGER events_stamp
    BEFORE INSERT ON events
    FOR EACH ROW EXECUTE FUNCTION klg_stamp_event();

-- The log is append-only: history is never rewritten, only compensated by new events.
CREATE FUNCTION klg_refuse_event_change() RETURNS trigger
    LANGUAGE plpgsql AS
$$
BEGIN
    RAISE EXCEPTION 'the event log is append-only: % on events is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER events_append_only
    BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION klg_refuse_event_change();

-- Registration numbers held by aircraft that are not decommissioned. Maintained by a trigger in
-- the same transaction that appends the event, so the unique key decides between concurrent
-- registrations of one number (the loser's append fails with 23505 and writes nothing), and a
-- crash can never leave the index and the log disagreeing. Rebuildable from the log.
CREATE TABLE aircraft_registrations
(
    registration_number text        PRIMARY KEY,
    aircraft_id         text        NOT NULL UNIQUE,
    registered_at       timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION klg_index_registration() RETURNS trigger
    LANGUAGE plpgsql AS
$$
BEGIN
    IF NEW.event_type = 'AircraftRegistered' THEN
        INSERT INTO aircraft_registrations (registration_number, aircraft_id)
        VALUES (NEW.payload -> 'AircraftRegistered' ->> 'registration_number', NEW.aggregate_id);
    ELSIF NEW.event_type = 'AircraftDecommissioned' THEN
        DELETE FROM aircraft_registrations WHERE aircraft_id = NEW.aggregate_id;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER events_index_registration
    AFTER INSERT ON events
    FOR EACH ROW
    WHEN (NEW.aggregate_type = 'Aircraft' AND NEW.event_type IN ('AircraftRegistered', 'AircraftDecommissioned'))
EXECUTE FUNCTION klg_index_registration();

-- Idempotency keys of commands that stored events. Written by a trigger in the appending
-- transaction from the event metadata (`idempotency_key`, `request_hash`, `actor`), so a key is
-- recorded if and only if its events are: a crash between commit and response cannot lose it,
-- and of two concurrent requests with one key exactly one commits (the other gets 23505).
-- Commands that store no event (refused, or no-op) leave no key and are simply re-evaluated.
CREATE TABLE idempotency_keys
(
    actor          text        NOT NULL,
    key            text        NOT NULL,
    request_hash   text        NOT NULL,
    aggregate_type text        NOT NULL,
    aggregate_id   text        NOT NULL,
    last_sequence  bigint      NOT NULL,
    last_position  bigint      NOT NULL,
    transaction_id xid8        NOT NULL DEFAULT pg_current_xact_id(),
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (actor, key)
);

CREATE FUNCTION klg_record_idempotency_key() RETURNS trigger
    LANGUAGE plpgsql AS
$$
DECLARE
    m jsonb := NEW.metadata::jsonb;
BEGIN
    INSERT INTO idempotency_keys (actor, key, request_hash, aggregate_type, aggregate_id, last_sequence, last_position)
    VALUES (m ->> 'actor', m ->> 'idempotency_key', m ->> 'request_hash', NEW.aggregate_type, NEW.aggregate_id,
            NEW.sequence, NEW.global_position)
    ON CONFLICT (actor, key) DO UPDATE
        SET last_sequence = EXCLUDED.last_sequence,
            last_position = EXCLUDED.last_position
    WHERE idempotency_keys.transaction_id = pg_current_xact_id();
    IF NOT FOUND THEN
        RAISE EXCEPTION 'idempotency key % already used', m ->> 'idempotency_key'
            USING ERRCODE = 'unique_violation', CONSTRAINT = 'idempotency_keys_pkey';
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER events_record_idempotency_key
    AFTER INSERT ON events
    FOR EACH ROW
    WHEN ((NEW.metadata::jsonb) ? 'idempotency_key')
EXECUTE FUNCTION klg_record_idempotency_key();
