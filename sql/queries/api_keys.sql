-- Org API keys: service credentials for workers and the agent runtime. The token is never stored,
-- only its SHA-256; every query but the token lookup filters by org_id, so another org's key is
-- not found.

-- name: create_api_key :one
-- Make a key for the org; the caller keeps the token, the table its hash.
INSERT INTO api_keys (org_id, name, token_hash, scopes, created_by, expires_at)
VALUES (%(org_id)s, %(name)s, %(token_hash)s, %(scopes)s::text[], %(created_by)s, %(expires_at)s)
RETURNING id, org_id, name, scopes, created_by, created_at, expires_at, revoked_at, last_used_at;

-- name: list_api_keys :many
-- The org's keys, newest first, revoked and expired ones included (so an operator sees what was).
SELECT id, org_id, name, scopes, created_by, created_at, expires_at, revoked_at, last_used_at
FROM api_keys
WHERE org_id = %(org_id)s
ORDER BY created_at DESC, id DESC
LIMIT %(limit)s OFFSET %(offset)s;

-- name: count_api_keys :scalar
-- How many keys list_api_keys would return in all.
SELECT count(*)
FROM api_keys
WHERE org_id = %(org_id)s;

-- name: revoke_api_key :one
-- Revoke a key of the org; revoking it again keeps the first revoked_at. No row when the org has
-- no such key.
UPDATE api_keys
SET revoked_at = coalesce(revoked_at, now())
WHERE id = %(api_key_id)s AND org_id = %(org_id)s
RETURNING id, org_id, name, scopes, created_by, created_at, expires_at, revoked_at, last_used_at;

-- name: get_api_key_for_token :one
-- The live key (not revoked, not expired) behind a token: runs on every request a key signs, one
-- probe of api_keys_token_hash_key.
-- uses: api_keys_token_hash_key
-- never: Seq Scan
SELECT id, org_id, name, scopes, last_used_at, expires_at
FROM api_keys
WHERE token_hash = %(token_hash)s
  AND revoked_at IS NULL
  AND (expires_at IS NULL OR expires_at > now());

-- name: touch_api_key :exec
-- Note that a key was used; the caller does it at most once a minute per key.
UPDATE api_keys
SET last_used_at = now()
WHERE id = %(api_key_id)s;

-- name: list_api_key_token_hashes :scalar
-- The token hashes of the org's keys (one key when `api_key_id` is set), for the session cache to forget
-- them after a revocation or the org's deletion commits. Locks the org row until the caller's transaction
-- ends, so that no key or member can be added to an org being deleted between this read and the delete.
-- uses: orgs_pkey, api_keys_org_id_created_at_idx
WITH org AS (
    SELECT id
    FROM orgs
    WHERE id = %(org_id)s
    FOR UPDATE
)
SELECT coalesce(array_agg(k.token_hash), '{}')
FROM org
JOIN api_keys AS k ON k.org_id = org.id
WHERE %(api_key_id)s::uuid IS NULL OR k.id = %(api_key_id)s::uuid;
