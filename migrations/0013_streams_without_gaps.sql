-- A stream has no gaps: an event is stored only after its predecessor in the same stream (its
-- sequence minus one), and a stream starts at 1. The stamping trigger already looked the
-- predecessor up, for its hash; it now refuses an event whose predecessor is not there, instead
-- of chaining it to the zero hash as if it began a stream.
--
-- Two things come of it:
-- 1. The append's guard (the event a command was decided on must still be in the stream: a
--    cache ahead of a restored database must not decide) is this same lookup. The appender no
--    longer probes the predecessor a second time in its statement (docs/benchmarks.md, session
--    12: the two probes were about 7 % of all CPU under the 32-client load).
-- 2. The store itself keeps every stream gap-free, whoever inserts: an import of a partial
--    export, or a hand-written INSERT, is refused at the gap rather than stored with a chain
--    that starts over. Only tampering with the append-only guard switched off can make a gap,
--    and `klg audit verify` finds it.
--
-- The refusal is a foreign-key violation (SQLSTATE 23503) on the constraint name
-- `events_predecessor`: the appender maps it to "predecessor missing".

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
    IF prev IS NULL THEN
        IF NEW.sequence <> 1 THEN
            RAISE EXCEPTION 'event % of stream %/% has no predecessor: the stream holds no event %',
                NEW.sequence, NEW.aggregate_type, NEW.aggregate_id, NEW.sequence - 1
                USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'events_predecessor';
        END IF;
        prev := '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea;
    END IF;
    NEW.hash := klg_event_hash(prev, NEW.aggregate_type, NEW.aggregate_id, NEW.sequence, NEW.event_type,
                               NEW.event_version, NEW.payload, NEW.metadata, NEW.global_position);
    RETURN NEW;
END
$$;
