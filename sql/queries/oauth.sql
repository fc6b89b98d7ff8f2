-- OAuth: sign-ins in flight (oauth_states) and provider accounts linked to users (oauth_connections).
-- State values are stored as their SHA-256; PKCE verifiers and provider tokens arrive encrypted.

-- name: create_oauth_state :exec
-- Remember a sign-in in flight: the hashed state, the encrypted PKCE verifier and, when linking,
-- the signed-in user.
INSERT INTO oauth_states (state_hash, provider, code_verifier, browser_hash, user_id, expires_at)
VALUES (%(state_hash)s, %(provider)s, %(code_verifier)s, %(browser_hash)s, %(user_id)s, %(expires_at)s);

-- name: delete_expired_oauth_states :execrows
-- Forget sign-ins that were abandoned at the provider.
-- uses: oauth_states_expires_at_idx
-- never: Seq Scan
DELETE FROM oauth_states
WHERE expires_at <= now();

-- name: consume_oauth_state :one
-- Spend a state: the row is deleted as it is read, so a state works once. No row when it is
-- unknown, already used, expired, issued for another provider or started in another browser
-- (the nonce cookie set at the start must come back: a link sent to someone else fails).
-- uses: oauth_states_pkey
-- never: Seq Scan
DELETE FROM oauth_states
WHERE state_hash = %(state_hash)s
  AND browser_hash = %(browser_hash)s
  AND provider = %(provider)s
  AND expires_at > now()
RETURNING provider, code_verifier, user_id;

-- name: get_oauth_connection :one
-- The link of a provider account, by the provider's id for it.
-- uses: oauth_connections_provider_provider_id_key
-- never: Seq Scan
SELECT id, user_id, provider, provider_id, scopes, expires_at, is_linked_unverified, created_at, updated_at
FROM oauth_connections
WHERE provider = %(provider)s AND provider_id = %(provider_id)s;

-- name: upsert_oauth_connection :one
-- Link a provider account to a user, or store fresh tokens on the existing link. A link is never
-- moved to another user: then no row is returned. A provider that sends no new refresh token
-- (Google sends one only at first consent) keeps the stored one.
-- A new link remembers whether the user's email was unverified then (a password reset removes such
-- links); a refreshed one keeps what it had.
INSERT INTO oauth_connections (
    user_id, provider, provider_id, access_token, refresh_token, scopes, expires_at, is_linked_unverified
)
VALUES (
    %(user_id)s, %(provider)s, %(provider_id)s, %(access_token)s, %(refresh_token)s, %(scopes)s::text[],
    %(expires_at)s, coalesce((SELECT NOT is_email_verified FROM users WHERE id = %(user_id)s), true)
)
ON CONFLICT (provider, provider_id) DO UPDATE
SET access_token = EXCLUDED.access_token,
    refresh_token = coalesce(EXCLUDED.refresh_token, oauth_connections.refresh_token),
    scopes = EXCLUDED.scopes,
    expires_at = EXCLUDED.expires_at,
    updated_at = now()
WHERE oauth_connections.user_id = EXCLUDED.user_id
RETURNING id, user_id, provider, provider_id, scopes, expires_at, is_linked_unverified, created_at, updated_at;

-- name: delete_unverified_oauth_links :scalar
-- A password reset proves who holds the address: remove the user's links made while it was
-- unverified (someone who registered another's address could have linked their own provider
-- account), with the provider ids they set on the user, through which a sign-in would find the
-- user again. How many links went.
-- uses: oauth_connections_user_id_idx, users_pkey
-- never: Seq Scan
WITH removed AS (
    DELETE FROM oauth_connections
    WHERE user_id = %(user_id)s AND is_linked_unverified
    RETURNING provider, provider_id
),
cleared AS (
    UPDATE users
    SET github_id = CASE WHEN github_id IN (SELECT provider_id FROM removed WHERE provider = 'github')
            THEN NULL ELSE github_id END,
        github_username = CASE WHEN github_id IN (SELECT provider_id FROM removed WHERE provider = 'github')
            THEN NULL ELSE github_username END,
        google_id = CASE WHEN google_id IN (SELECT provider_id FROM removed WHERE provider = 'google')
            THEN NULL ELSE google_id END,
        updated_at = now()
    WHERE id = %(user_id)s AND EXISTS (SELECT 1 FROM removed)
    RETURNING id
)
SELECT count(*) FROM removed;

-- name: delete_oauth_states_for_user :execrows
-- Forget the user's links in flight: a password reset ends them with the sessions that started
-- them. The table holds only ten minutes of sign-ins, so no index on user_id.
DELETE FROM oauth_states
WHERE user_id = %(user_id)s;
