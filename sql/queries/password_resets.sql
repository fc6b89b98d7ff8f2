-- Password resets: single-use tokens, stored as their SHA-256, valid for an hour.

-- name: create_password_reset :one
-- Issue a reset token for a user; the caller supersedes older ones in the same transaction.
INSERT INTO password_resets (user_id, token_hash, expires_at)
VALUES (%(user_id)s, %(token_hash)s, %(expires_at)s)
RETURNING id, user_id, created_at, expires_at, used_at;

-- name: supersede_password_resets :execrows
-- Void a user's unused reset tokens: only the newest one works.
-- uses: password_resets_user_id_idx
-- never: Seq Scan
UPDATE password_resets
SET used_at = now()
WHERE user_id = %(user_id)s AND used_at IS NULL;

-- name: use_password_reset :scalar
-- Spend a live reset token, once: the user id it was for, or null when the token is unknown,
-- used, superseded or expired. One statement, so two requests cannot both spend it.
-- uses: password_resets_token_hash_key
-- never: Seq Scan
UPDATE password_resets
SET used_at = now()
WHERE token_hash = %(token_hash)s AND used_at IS NULL AND expires_at > now()
RETURNING user_id;

-- name: is_password_reset_live :scalar
-- Whether a reset token could be spent now (use_password_reset spends it, checking again).
-- uses: password_resets_token_hash_key
-- never: Seq Scan
SELECT EXISTS (
    SELECT 1
    FROM password_resets
    WHERE token_hash = %(token_hash)s AND used_at IS NULL AND expires_at > now()
);

-- name: create_password_reset_request :exec
-- Queue a reset request as it came: the same one statement whether or not the address has an
-- account (the lookup happens in the background, claim_password_reset_request).
INSERT INTO password_reset_requests (email)
VALUES (%(email)s);

-- name: claim_password_reset_request :one
-- Take the oldest queued request off the queue; no row when it is empty. SKIP LOCKED: several
-- processes work through the queue without waiting for each other. The caller's transaction holds
-- the request until its reset and mail are queued (a failure puts it back).
DELETE FROM password_reset_requests
WHERE id = (
    SELECT id
    FROM password_reset_requests
    ORDER BY created_at
    LIMIT 1
    FOR UPDATE SKIP LOCKED
)
RETURNING id, email, created_at;
