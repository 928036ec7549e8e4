-- The append's per-row triggers, made cheaper without changing what they store or check
-- (docs/benchmarks.md, session 9). Profiled under the 32-client LogFlight load, the stamping
-- trigger was a sixth of PostgreSQL's CPU:
--
-- 1. `klg_event_hash` ran as a separate SQL-function call per row, parsed and planned again in
--    every transaction (its body uses `concat_ws`, which is only STABLE, so the IMMUTABLE
--    function was never inlined): 9 µs an event. As STABLE, the planner inlines its body into
--    the trigger's expression. Same bytes hashed, same result.
-- 2. The metadata's stamps were merged through `jsonb` (parse, merge, print back): 3.5 µs an
--    event. The appender's metadata is a compact JSON object, so the stamps are now written in
--    front of its entries as text; anything else (an object with those entries already, any
--    other spacing, an empty object) still takes the `jsonb` merge, and metadata that already
--    carries this event's stamps in that text form (an imported export) is kept as it is, as the
--    merge kept `jsonb`'s own text. The stored text is hashed as stored and every reader parses
--    it, so the entries' order and spacing change nothing.
-- 3. The idempotency trigger's condition parsed every event's metadata into `jsonb` to look for
--    a key most commands do not carry. It now looks for the key's name in the text, and the
--    function checks that it really is a top-level entry.

CREATE OR REPLACE FUNCTION klg_event_hash(prev bytea, aggregate_type text, aggregate_id text, sequence bigint,
                                          event_type text, event_version text, payload json, metadata json,
                                          global_position bigint) RETURNS bytea
    LANGUAGE sql STABLE AS
$$
SELECT sha256(prev || convert_to(concat_ws(chr(31), aggregate_type, aggregate_id, sequence::text, event_type,
                                           event_version, payload::text, metadata::text,
                                           global_position::text), 'UTF8'))
$$;

CREATE OR REPLACE FUNCTION klg_stamp_event() RETURNS trigger
    LANGUAGE plpgsql AS
$$
DECLARE
    prev     bytea;
    metadata text := NEW.metadata::text;
    stamps   text := format('"event_id":"%s","recorded_at":"%s"', NEW.event_id,
                            to_char(NEW.recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'));
BEGIN
    IF strpos(metadata, stamps) > 0 THEN
        NULL; -- Stamped here before: an import of an exported event keeps its text (and hash).
    ELSIF left(metadata, 2) = '{"' AND strpos(metadata, '"event_id"') = 0 AND strpos(metadata, '"recorded_at"') = 0 THEN
        NEW.metadata := ('{' || stamps || ',' || substr(metadata, 2))::json;
    ELSE
        NEW.metadata := (metadata::jsonb || ('{' || stamps || '}')::jsonb)::json;
    END IF;
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

CREATE OR REPLACE FUNCTION klg_record_idempotency_key() RETURNS trigger
    LANGUAGE plpgsql AS
$$
DECLARE
    m jsonb := NEW.metadata::jsonb;
BEGIN
    IF m ->> 'idempotency_key' IS NULL THEN
        RETURN NULL; -- The name was found in the text, but not as a top-level entry.
    END IF;
    INSERT INTO idempotency_keys (scope, key, request_hash, aggregate_type, aggregate_id, last_sequence, last_position,
                                  command_id)
    VALUES (coalesce(m ->> 'actor_id', m ->> 'actor'), m ->> 'idempotency_key', m ->> 'request_hash',
            NEW.aggregate_type, NEW.aggregate_id, NEW.sequence, NEW.global_position, m ->> 'command_id')
    ON CONFLICT (scope, key) DO UPDATE
        SET last_sequence = EXCLUDED.last_sequence,
            last_position = EXCLUDED.last_position
    WHERE idempotency_keys.transaction_id = pg_current_xact_id()
      AND idempotency_keys.command_id = EXCLUDED.command_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'idempotency key % already used', m ->> 'idempotency_key'
            USING ERRCODE = 'unique_violation', CONSTRAINT = 'idempotency_keys_pkey';
    END IF;
    RETURN NULL;
END
$$;

DROP TRIGGER events_record_idempotency_key ON events;
CREATE TRIGGER events_record_idempotency_key
    AFTER INSERT ON events
    FOR EACH ROW
    WHEN (strpos(NEW.metadata::text, '"idempotency_key"') > 0)
EXECUTE FUNCTION klg_record_idempotency_key();
