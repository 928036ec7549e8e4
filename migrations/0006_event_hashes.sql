-- Tamper evidence: every event carries a SHA-256 over its content, its metadata (as stamped:
-- event id, recording time, actor…), its position in the global log, and its predecessor's hash
-- in the same stream (per-stream chains: appends to different aggregates never wait for each
-- other). Written in the appending transaction, by the trigger that already stamps each event.
-- Editing, deleting, inserting or reordering events breaks a chain; rewriting a whole stream
-- with recomputed hashes changes its head, which signed seals (`audit_seals`, signed with a key
-- kept outside the database) pin down. `klg audit verify` recomputes everything independently.

-- What is hashed: the predecessor's hash (32 zero bytes for a stream's first event), then the
-- fields joined by the unit separator (U+001F), as UTF-8. The verifier repeats this byte for byte.
CREATE FUNCTION klg_event_hash(prev bytea, aggregate_type text, aggregate_id text, sequence bigint,
                               event_type text, event_version text, payload json, metadata json,
                               global_position bigint) RETURNS bytea
    LANGUAGE sql IMMUTABLE STRICT AS
$$
SELECT sha256(prev || convert_to(concat_ws(chr(31), aggregate_type, aggregate_id, sequence::text, event_type,
                                           event_version, payload::text, metadata::text,
                                           global_position::text), 'UTF8'))
$$;

ALTER TABLE events ADD COLUMN hash bytea;

CREATE OR REPLACE FUNCTION klg_stamp_event() RETURNS trigger
    LANGUAGE plpgsql AS
$$
DECLARE
    prev bytea;
BEGIN
    NEW.metadata := (NEW.metadata::jsonb || jsonb_build_object(
            'event_id', NEW.event_id::text,
            'recorded_at', to_char(NEW.recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')))::json;
    -- Earlier rows of the same INSERT are visible here, so a command's events chain in order.
    SELECT e.hash INTO prev FROM events e
     WHERE e.aggregate_type = NEW.aggregate_type AND e.aggregate_id = NEW.aggregate_id
       AND e.sequence = NEW.sequence - 1;
    NEW.hash := klg_event_hash(coalesce(prev, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea),
                               NEW.aggregate_type, NEW.aggregate_id, NEW.sequence, NEW.event_type,
                               NEW.event_version, NEW.payload, NEW.metadata, NEW.global_position);
    RETURN NEW;
END
$$;

-- Chain the events stored before this migration, stream by stream (the append-only guard is
-- lifted for this one update only, inside the migration's transaction).
ALTER TABLE events DISABLE TRIGGER events_append_only;
DO
$$
    DECLARE
        e         record;
        prev      bytea;
        zero      bytea := '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea;
        last_type text;
        last_id   text;
    BEGIN
        FOR e IN SELECT * FROM events ORDER BY aggregate_type, aggregate_id, sequence
            LOOP
                IF e.aggregate_type IS DISTINCT FROM last_type OR e.aggregate_id IS DISTINCT FROM last_id THEN
                    prev := zero;
                    last_type := e.aggregate_type;
                    last_id := e.aggregate_id;
                END IF;
                prev := klg_event_hash(prev, e.aggregate_type, e.aggregate_id, e.sequence, e.event_type,
                                       e.event_version, e.payload, e.metadata, e.global_position);
                UPDATE events SET hash = prev WHERE global_position = e.global_position;
            END LOOP;
    END
$$;
ALTER TABLE events ENABLE TRIGGER events_append_only;
ALTER TABLE events ALTER COLUMN hash SET NOT NULL;

-- Signed seals of the log's state: up to a position, the digest of every stream's head as of
-- that position, signed (Ed25519) by a key the database never sees. Only the public key is kept
-- here, to say which key signed; the verifier trusts the public key it is given, not this one.
CREATE TABLE audit_seals
(
    id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sealed_at     timestamptz NOT NULL DEFAULT now(),
    up_to_position bigint     NOT NULL,
    streams       bigint      NOT NULL,
    heads_sha256  bytea       NOT NULL,
    public_key    bytea       NOT NULL,
    signature     bytea       NOT NULL
);
