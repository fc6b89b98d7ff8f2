-- Idempotency keys: the stored first answers to POSTs sent with an Idempotency-Key header, by org,
-- principal (a user or an org API key), route and key (services/idempotency.py). A request with a
-- key runs in one transaction: lock the key, look for its answer, else write and store the answer.

-- name: lock_idempotency_key :scalar
-- Take the key's lock until the transaction ends; false when another transaction holds it: a
-- request with this key is in flight (409). Not a row lock: the row of an answer in flight is not
-- committed yet, and an insert would wait for it rather than say so.
SELECT pg_try_advisory_xact_lock(hashtextextended(
    'agentpress.idempotency:' || %(org_id)s::uuid::text || ' ' || %(principal_id)s::uuid::text
        || ' ' || %(route)s::text || ' ' || %(idempotency_key)s::text,
    0
)) AS is_locked;

-- name: get_idempotency_key :one
-- The stored answer to a key, unless it has expired (an expired row not yet purged counts as none).
-- uses: idempotency_keys_pkey
-- never: Seq Scan
SELECT request_hash, status_code, headers, body, created_at
FROM idempotency_keys
WHERE org_id = %(org_id)s AND principal_id = %(principal_id)s AND route = %(route)s
    AND idempotency_key = %(idempotency_key)s AND expires_at > now();

-- name: create_idempotency_key :execrows
-- Store the answer to a key, in the transaction of the write it answers, until now() + keep_for.
-- An expired row of the same key not yet purged is replaced; a live one is left alone (0 rows),
-- which the key's lock rules out: its holder found none.
INSERT INTO idempotency_keys AS k (
    org_id, principal_id, route, idempotency_key, request_hash, status_code, headers, body, expires_at
)
VALUES (
    %(org_id)s, %(principal_id)s, %(route)s, %(idempotency_key)s, %(request_hash)s, %(status_code)s,
    %(headers)s, %(body)s, now() + %(keep_for)s::interval
)
ON CONFLICT (org_id, principal_id, route, idempotency_key) DO UPDATE
SET request_hash = excluded.request_hash,
    status_code = excluded.status_code,
    headers = excluded.headers,
    body = excluded.body,
    created_at = now(),
    expires_at = excluded.expires_at
WHERE k.expires_at <= now();

-- name: delete_expired_idempotency_keys :execrows
-- Delete up to `limit` expired answers, oldest first. SKIP LOCKED: the processes that purge at
-- once, and a request reusing an expired key, never wait for each other.
-- uses: idempotency_keys_expires_at_idx, idempotency_keys_pkey
-- never: Seq Scan
DELETE FROM idempotency_keys AS k
USING (
    SELECT org_id, principal_id, route, idempotency_key
    FROM idempotency_keys
    WHERE expires_at <= now()
    ORDER BY expires_at
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
) AS expired
WHERE k.org_id = expired.org_id AND k.principal_id = expired.principal_id AND k.route = expired.route
    AND k.idempotency_key = expired.idempotency_key;
