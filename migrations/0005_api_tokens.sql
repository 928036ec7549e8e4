-- API tokens: who may call KLG, with which role. Only a SHA-256 of each secret is kept; the
-- public id (the part between `klg_` and the next `_`) finds the row, the secret's hash is then
-- compared in constant time. Rows are never deleted: revoked and expired tokens stay, so the
-- actor named by an old event can always be traced to its token.
CREATE TABLE api_tokens
(
    id            text        PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9]{1,32}$'),
    name          text        NOT NULL UNIQUE,
    role          text        NOT NULL CHECK (role IN ('viewer', 'engineer', 'auditor', 'integration', 'admin')),
    secret_sha256 bytea       NOT NULL CHECK (length(secret_sha256) = 32),
    created_at    timestamptz NOT NULL DEFAULT now(),
    created_by    text        NOT NULL,
    expires_at    timestamptz,
    revoked_at    timestamptz,
    revoked_by    text
);

-- Idempotency keys are scoped per token (two clients sending key `1` are two commands): the
-- scope is the token id the command's metadata carries (`actor_id`), or its actor for events
-- written before tokens existed.
ALTER TABLE idempotency_keys RENAME COLUMN actor TO scope;

CREATE OR REPLACE FUNCTION klg_record_idempotency_key() RETURNS trigger
    LANGUAGE plpgsql AS
$$
DECLARE
    m jsonb := NEW.metadata::jsonb;
BEGIN
    INSERT INTO idempotency_keys (scope, key, request_hash, aggregate_type, aggregate_id, last_sequence, last_position)
    VALUES (coalesce(m ->> 'actor_id', m ->> 'actor'), m ->> 'idempotency_key', m ->> 'request_hash',
            NEW.aggregate_type, NEW.aggregate_id, NEW.sequence, NEW.global_position)
    ON CONFLICT (scope, key) DO UPDATE
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
