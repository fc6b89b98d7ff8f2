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
SELECT id, user_id, provider, provider_id, scopes, expires_at, created_at, updated_at
FROM oauth_connections
WHERE provider = %(provider)s AND provider_id = %(provider_id)s;

-- name: upsert_oauth_connection :one
-- Link a provider account to a user, or store fresh tokens on the existing link. A link is never
-- moved to another user: then no row is returned. A provider that sends no new refresh token
-- (Google sends one only at first consent) keeps the stored one.
INSERT INTO oauth_connections (user_id, provider, provider_id, access_token, refresh_token, scopes, expires_at)
VALUES (
    %(user_id)s, %(provider)s, %(provider_id)s, %(access_token)s, %(refresh_token)s, %(scopes)s::text[],
    %(expires_at)s
)
ON CONFLICT (provider, provider_id) DO UPDATE
SET access_token = EXCLUDED.access_token,
    refresh_token = coalesce(EXCLUDED.refresh_token, oauth_connections.refresh_token),
    scopes = EXCLUDED.scopes,
    expires_at = EXCLUDED.expires_at,
    updated_at = now()
WHERE oauth_connections.user_id = EXCLUDED.user_id
RETURNING id, user_id, provider, provider_id, scopes, expires_at, created_at, updated_at;
