-- Email verification: single-use tokens mailed to a user's address, stored as their SHA-256.

-- name: create_email_verification :one
-- Issue a verification token for the user's address; the caller supersedes older ones and queues
-- the mail in the same transaction.
INSERT INTO email_verifications (user_id, email, token_hash, expires_at)
VALUES (%(user_id)s, %(email)s, %(token_hash)s, %(expires_at)s)
RETURNING id, user_id, email, created_at, expires_at, used_at;

-- name: supersede_email_verifications :execrows
-- Void a user's unused verification tokens: only the newest one works.
UPDATE email_verifications
SET used_at = now()
WHERE user_id = %(user_id)s AND used_at IS NULL;

-- name: use_email_verification :scalar
-- Spend a live token, once, and mark its user's email verified: the user's id, or null when the
-- token is unknown, used, superseded or expired, or was mailed to an address that is no longer
-- the user's (then it is spent all the same). One statement, so two requests cannot both spend it.
-- uses: email_verifications_token_hash_key
-- never: Seq Scan
WITH spent AS (
    UPDATE email_verifications
    SET used_at = now()
    WHERE token_hash = %(token_hash)s AND used_at IS NULL AND expires_at > now()
    RETURNING user_id, email
)
UPDATE users
SET is_email_verified = true, updated_at = now()
FROM spent
WHERE users.id = spent.user_id AND users.email = spent.email
RETURNING users.id;

-- name: mark_email_verified :execrows
-- Mark a user's email verified because something else proved it: a password reset link was
-- opened, or an OAuth provider vouches for this very address. Only while `email` is still theirs.
-- never: Seq Scan
UPDATE users
SET is_email_verified = true, updated_at = now()
WHERE id = %(user_id)s AND email = %(email)s::citext AND NOT is_email_verified;
