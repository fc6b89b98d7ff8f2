-- Sessions: bearer tokens, stored as their SHA-256 only.

-- name: create_session :one
-- Start a session for a user; the caller keeps the token, the table its hash.
-- The client's address comes as the text the service read it as, and is parsed here.
INSERT INTO sessions (user_id, token_hash, expires_at, user_agent, ip)
VALUES (%(user_id)s, %(token_hash)s, %(expires_at)s, %(user_agent)s, %(ip)s::text::inet)
RETURNING id, user_id, created_at, expires_at, last_seen_at, revoked_at, user_agent, ip;

-- name: get_session_user :one
-- The user behind a live session token (not expired, not idle longer than the idle timeout, not
-- revoked, user not disabled), with their
-- home org, where a request that names no org acts: the default org if they belong to it, else the
-- org they joined first; null when they belong to none. Runs on every authenticated request, so
-- both come in one round trip: one probe of each index.
-- uses: sessions_token_hash_key, users_pkey, org_members_user_id_idx
-- never: Seq Scan
SELECT u.id, u.email, u.username, u.first_name, u.last_name, u.display_name, u.avatar_url, u.github_id,
    u.github_username, u.google_id, u.role, u.provider, u.is_email_verified, u.is_disabled, u.created_at,
    u.updated_at, s.id AS session_id, s.last_seen_at AS session_last_seen_at, s.expires_at AS session_expires_at,
    home.org_id AS home_org_id, home.role AS home_org_role
FROM sessions AS s
JOIN users AS u ON u.id = s.user_id
LEFT JOIN LATERAL (
    SELECT m.org_id, m.role
    FROM org_members AS m
    JOIN orgs AS o ON o.id = m.org_id
    WHERE m.user_id = u.id
    ORDER BY o.is_default DESC, m.created_at, m.org_id
    LIMIT 1
) AS home ON true
WHERE s.token_hash = %(token_hash)s
  AND s.revoked_at IS NULL
  AND s.expires_at > now()
  AND s.last_seen_at > now() - %(idle_timeout)s::interval
  AND NOT u.is_disabled;

-- name: touch_session :exec
-- Note that a session was used; the caller does it at most once a minute per session.
UPDATE sessions
SET last_seen_at = now()
WHERE id = %(session_id)s;

-- name: list_sessions_for_user :many
-- A user's live sessions, newest first.
-- uses: sessions_user_id_created_at_idx
-- never: Seq Scan
SELECT id, user_id, created_at, expires_at, last_seen_at, revoked_at, user_agent, ip
FROM sessions
WHERE user_id = %(user_id)s AND revoked_at IS NULL AND expires_at > now()
ORDER BY created_at DESC, id DESC
LIMIT %(limit)s;

-- name: revoke_session :execrows
-- Revoke one of the user's own sessions; 0 rows when it is not theirs or already revoked.
UPDATE sessions
SET revoked_at = now()
WHERE id = %(session_id)s AND user_id = %(user_id)s AND revoked_at IS NULL;

-- name: revoke_sessions_for_user :execrows
-- Revoke every live session of a user: a password reset, the user disabled, or sign out everywhere.
UPDATE sessions
SET revoked_at = now()
WHERE user_id = %(user_id)s AND revoked_at IS NULL;

-- name: list_session_token_hashes_for_users :scalar
-- The token hashes of these users' sessions that the session cache may still hold: live ones, and ones
-- revoked or expired within `recent` (a cached entry lives at most SESSION_CACHE_SECONDS). Read after a
-- change to the users commits, so that every entry filled before it is found (web/access.py).
-- uses: sessions_user_id_created_at_idx
-- never: Seq Scan
SELECT coalesce(array_agg(token_hash), '{}')
FROM sessions
WHERE user_id = ANY(%(user_ids)s::uuid[])
  AND (revoked_at IS NULL OR revoked_at > now() - %(recent)s::interval)
  AND expires_at > now() - %(recent)s::interval;
