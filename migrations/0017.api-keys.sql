-- Org API keys, the service credentials of workers and the agent runtime, and the lease token of
-- a claimed task. Both are random tokens stored only as their SHA-256 (bytea, 32 bytes), like
-- sessions: a stolen table holds no usable key and no lease.
-- depends: 0016.email-verification

-- Give up rather than queue every query on the tables we lock behind a lock we wait for.
SET LOCAL lock_timeout = '5s';

CREATE TABLE api_keys (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    name text NOT NULL,
    token_hash bytea NOT NULL,
    scopes text[] NOT NULL,
    created_by uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz,
    revoked_at timestamptz,
    last_used_at timestamptz,
    CONSTRAINT api_keys_token_hash_key UNIQUE (token_hash),
    CONSTRAINT api_keys_token_hash_check CHECK (length(token_hash) = 32),
    CONSTRAINT api_keys_name_check CHECK (length(name) BETWEEN 1 AND 200),
    CONSTRAINT api_keys_scopes_check CHECK (
        cardinality(scopes) > 0 AND scopes <@ ARRAY['tasks:work', 'messages:read', 'messages:write']
    )
);
COMMENT ON TABLE api_keys IS 'Service credentials of an org (workers, the agent runtime): a bearer token starting with apk., stored only as its SHA-256. A key acts for its org only, within its scopes; it is never a signed-in user.';
COMMENT ON COLUMN api_keys.scopes IS 'What the key may do: tasks:work (claim, heartbeat, complete and fail the org''s tasks), messages:read and messages:write (read and append to any thread of the org).';
COMMENT ON COLUMN api_keys.expires_at IS 'Null: the key lasts until it is revoked.';
COMMENT ON COLUMN api_keys.last_used_at IS 'Written at most once a minute per key, like sessions.last_seen_at.';
CREATE INDEX api_keys_org_id_created_at_idx ON api_keys (org_id, created_at DESC, id DESC);
COMMENT ON INDEX api_keys_org_id_created_at_idx IS 'An org''s keys, newest first (list_api_keys, count_api_keys), and the cascade when an org is deleted.';
CREATE INDEX api_keys_created_by_idx ON api_keys (created_by) WHERE created_by IS NOT NULL;
COMMENT ON INDEX api_keys_created_by_idx IS 'Deleting a user clears the created_by of the keys they made (api_keys_created_by_fkey ON DELETE SET NULL).';

-- A new column without a default rewrites nothing. Tasks running when this is applied have no
-- lease token: their old workers cannot finish them, their leases expire and they are claimed
-- again (a new attempt), as after a worker crash.
ALTER TABLE tasks ADD COLUMN lease_token_hash bytea;
COMMENT ON COLUMN tasks.lease_token_hash IS 'The SHA-256 of the lease token the last claim returned; heartbeat, complete and fail must present the token. Cleared when the task leaves running.';
-- Every existing row is null, so there is nothing to validate; new rows are checked.
ALTER TABLE tasks ADD CONSTRAINT tasks_lease_token_hash_check CHECK (length(lease_token_hash) = 32) NOT VALID;
