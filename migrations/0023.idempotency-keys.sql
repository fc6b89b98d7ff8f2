-- Idempotency keys: the first successful answer to a POST sent with an Idempotency-Key header,
-- kept a day per org, principal (the user or the API key that signed it) and route, so that a
-- retry is answered from here instead of writing again (web/idempotent.py). A row is inserted in
-- the transaction of the write it answers: both commit, or neither does.
-- depends: 0022.tenant-foreign-keys-validate

-- Give up rather than queue every query on the tables we lock behind a lock we wait for.
SET LOCAL lock_timeout = '5s';

CREATE TABLE idempotency_keys (
    org_id uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    principal_id uuid NOT NULL,
    route text NOT NULL,
    idempotency_key text NOT NULL,
    request_hash bytea NOT NULL,
    status_code smallint NOT NULL,
    headers jsonb NOT NULL,
    body bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    CONSTRAINT idempotency_keys_pkey PRIMARY KEY (org_id, principal_id, route, idempotency_key),
    CONSTRAINT idempotency_keys_idempotency_key_check CHECK (length(idempotency_key) BETWEEN 1 AND 255),
    CONSTRAINT idempotency_keys_request_hash_check CHECK (length(request_hash) = 32),
    CONSTRAINT idempotency_keys_status_code_check CHECK (status_code BETWEEN 200 AND 299)
);
COMMENT ON TABLE idempotency_keys IS 'The stored first answer to a POST sent with an Idempotency-Key, replayed to retries with the same key and body for a day; expired rows are deleted in the background (services/idempotency.py). Holds only answers that committed: a request in flight is the transaction that will insert its row.';
COMMENT ON COLUMN idempotency_keys.principal_id IS 'Who sent it: the signed-in user''s id, or the org API key''s id (no foreign key: a row outlives neither by more than a day, and never answers anyone else).';
COMMENT ON COLUMN idempotency_keys.route IS 'The method and path the key was sent to, e.g. POST /api/v1/threads/<id>/messages.';
COMMENT ON COLUMN idempotency_keys.request_hash IS 'The SHA-256 of the request body: the same key with another body is refused (422).';
COMMENT ON COLUMN idempotency_keys.headers IS 'The answer''s headers that a replay repeats (content-type, location), by lower-case name.';
COMMENT ON COLUMN idempotency_keys.body IS 'The answer''s body, byte for byte.';
CREATE INDEX idempotency_keys_expires_at_idx ON idempotency_keys (expires_at);
COMMENT ON INDEX idempotency_keys_expires_at_idx IS 'The expired rows, oldest first, for the background purge (delete_expired_idempotency_keys).';
