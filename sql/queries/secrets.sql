-- Every column that holds a ciphertext, walked by `agentpress secrets rotate`: each page is read
-- by primary key after the last one seen, and each value is replaced only if it is still the one
-- read (a concurrent write wins; its value is already under the current key).

-- name: list_sealed_outbox_bodies :many
-- The outbox's encrypted bodies, a page after `after` (a uuid; the nil uuid for the first page).
-- uses: email_outbox_pkey
SELECT id, body
FROM email_outbox
WHERE id > %(after)s::uuid
ORDER BY id
LIMIT %(limit)s;

-- name: reseal_outbox_body :execrows
-- Replace a body's ciphertext: 1, or 0 when it changed since it was read.
UPDATE email_outbox
SET body = %(ciphertext)s
WHERE id = %(email_id)s AND body = %(previous)s;

-- name: list_sealed_provider_keys :many
-- The model providers' encrypted API keys, a page after `after` (the nil uuid for the first page).
-- No plan contract: a table of a few rows an org, walked once a rotation, may well be scanned.
SELECT id, api_key
FROM model_providers
WHERE id > %(after)s::uuid AND api_key IS NOT NULL
ORDER BY id
LIMIT %(limit)s;

-- name: reseal_provider_key :execrows
-- Replace a provider's key's ciphertext: 1, or 0 when it changed since it was read.
UPDATE model_providers
SET api_key = %(ciphertext)s
WHERE id = %(provider_id)s AND api_key = %(previous)s;

-- name: list_sealed_oauth_tokens :many
-- The OAuth connections' encrypted tokens, with the identity they are bound to, a page after
-- `after` (the nil uuid for the first page). No plan contract, as for list_sealed_provider_keys.
SELECT id, provider, provider_id, access_token, refresh_token
FROM oauth_connections
WHERE id > %(after)s::uuid AND (access_token IS NOT NULL OR refresh_token IS NOT NULL)
ORDER BY id
LIMIT %(limit)s;

-- name: reseal_oauth_tokens :execrows
-- Replace a connection's tokens' ciphertexts: 1, or 0 when either changed since it was read.
UPDATE oauth_connections
SET access_token = %(access_token)s, refresh_token = %(refresh_token)s
WHERE id = %(connection_id)s
  AND access_token IS NOT DISTINCT FROM %(previous_access_token)s::bytea
  AND refresh_token IS NOT DISTINCT FROM %(previous_refresh_token)s::bytea;

-- name: list_sealed_oauth_states :many
-- The sign-ins in flight's encrypted PKCE verifiers, a page after `after` (a state hash; empty
-- for the first page).
-- uses: oauth_states_pkey
SELECT state_hash, code_verifier
FROM oauth_states
WHERE state_hash > %(after)s::bytea
ORDER BY state_hash
LIMIT %(limit)s;

-- name: reseal_oauth_state :execrows
-- Replace a verifier's ciphertext: 1, or 0 when the state was spent or changed since it was read.
UPDATE oauth_states
SET code_verifier = %(ciphertext)s
WHERE state_hash = %(state_hash)s AND code_verifier = %(previous)s;
