-- Group commit (commands/src/append.rs) appends several commands in one transaction. The
-- idempotency key trigger let a second row with the same key through when it came from the same
-- transaction — meant for the several events of one command. Two commands sharing a key (a
-- client's retry racing its first try on another aggregate) can now share a transaction too, so
-- "the same command" is told by its command id, which every execution's metadata carries.
ALTER TABLE idempotency_keys ADD COLUMN command_id text;

CREATE OR REPLACE FUNCTION klg_record_idempotency_key() RETURNS trigger
    LANGUAGE plpgsql AS
$$
DECLARE
    m jsonb := NEW.metadata::jsonb;
BEGIN
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
