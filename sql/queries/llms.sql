-- Model providers and models: an org's LLM providers (their API keys encrypted by the service
-- before they get here) and the models agents may use. Every statement filters by org_id, so
-- another org's ids find nothing. api_key is never returned: has_api_key says whether it is set.

-- name: list_model_providers :many
-- The org's model providers, by name; the page is (page - 1) * page_size.
-- uses: model_providers_org_id_name_key
-- never: Seq Scan
SELECT id, org_id, name, kind, base_url, api_key IS NOT NULL AS has_api_key, is_enabled, created_at, updated_at
FROM model_providers
WHERE org_id = %(org_id)s
ORDER BY name, id
LIMIT %(limit)s OFFSET %(offset)s;

-- name: count_model_providers :scalar
-- How many model providers list_model_providers would return in all: an index-only count.
-- uses: model_providers_org_id_name_key
-- never: Seq Scan
SELECT count(*)
FROM model_providers
WHERE org_id = %(org_id)s;

-- name: get_model_provider :one
-- A model provider of the org; no row for an unknown id or another org's.
-- uses: model_providers_pkey
-- never: Seq Scan
SELECT id, org_id, name, kind, base_url, api_key IS NOT NULL AS has_api_key, is_enabled, created_at, updated_at
FROM model_providers
WHERE id = %(provider_id)s AND org_id = %(org_id)s;

-- name: get_model_provider_for_update :one
-- A model provider of the org, locked until the transaction ends: partial updates read, merge
-- and write it back without losing a concurrent change.
-- uses: model_providers_pkey
-- never: Seq Scan
SELECT id, org_id, name, kind, base_url, api_key IS NOT NULL AS has_api_key, is_enabled, created_at, updated_at
FROM model_providers
WHERE id = %(provider_id)s AND org_id = %(org_id)s
FOR UPDATE;

-- name: create_model_provider :one
-- Insert a model provider; api_key is already encrypted (or null), bound to the id the service
-- chose. A name the org already uses fails model_providers_org_id_name_key.
INSERT INTO model_providers (id, org_id, name, kind, base_url, api_key, is_enabled)
VALUES (%(provider_id)s, %(org_id)s, %(name)s, %(kind)s, %(base_url)s, %(api_key)s, %(is_enabled)s)
RETURNING id, org_id, name, kind, base_url, api_key IS NOT NULL AS has_api_key, is_enabled, created_at, updated_at;

-- name: update_model_provider :one
-- Write every field of a model provider. api_key changes when set_api_key is true: to the given
-- ciphertext, or to null to remove the key. Otherwise a new kind or base_url removes it: a key
-- must not follow its provider's address to a server it was never meant for. No row for an
-- unknown id or another org's.
-- uses: model_providers_pkey
-- never: Seq Scan
UPDATE model_providers
SET name = %(name)s,
    kind = %(kind)s,
    base_url = %(base_url)s,
    api_key = CASE
        WHEN %(set_api_key)s::boolean THEN %(api_key)s::bytea
        WHEN kind IS DISTINCT FROM %(kind)s OR base_url IS DISTINCT FROM %(base_url)s THEN NULL
        ELSE api_key
    END,
    is_enabled = %(is_enabled)s,
    updated_at = now()
WHERE id = %(provider_id)s AND org_id = %(org_id)s
RETURNING id, org_id, name, kind, base_url, api_key IS NOT NULL AS has_api_key, is_enabled, created_at, updated_at;

-- name: delete_model_provider :execrows
-- Delete a model provider and its models (models_provider_id_fkey cascades): 1, or 0 when the
-- org has no such provider.
-- uses: model_providers_pkey
-- never: Seq Scan
DELETE FROM model_providers
WHERE id = %(provider_id)s AND org_id = %(org_id)s;

-- name: list_models :many
-- The org's models, by name, optionally of one provider only, enabled or not; the page is
-- (page - 1) * page_size.
-- uses: models_org_id_provider_id_name_key
-- never: Seq Scan
SELECT id, org_id, provider_id, name, display_name, base_model, temperature, max_tokens, is_enabled, is_default,
    created_at, updated_at
FROM models
WHERE org_id = %(org_id)s
  AND (%(provider_id)s::uuid IS NULL OR provider_id = %(provider_id)s::uuid)
  AND (%(is_enabled)s::boolean IS NULL OR is_enabled = %(is_enabled)s::boolean)
ORDER BY name, id
LIMIT %(limit)s OFFSET %(offset)s;

-- name: count_models :scalar
-- How many models list_models would return in all, with the same filters.
-- uses: models_org_id_provider_id_name_key
-- never: Seq Scan
SELECT count(*)
FROM models
WHERE org_id = %(org_id)s
  AND (%(provider_id)s::uuid IS NULL OR provider_id = %(provider_id)s::uuid)
  AND (%(is_enabled)s::boolean IS NULL OR is_enabled = %(is_enabled)s::boolean);

-- name: get_model :one
-- A model of the org; no row for an unknown id or another org's.
-- uses: models_pkey
-- never: Seq Scan
SELECT id, org_id, provider_id, name, display_name, base_model, temperature, max_tokens, is_enabled, is_default,
    created_at, updated_at
FROM models
WHERE id = %(model_id)s AND org_id = %(org_id)s;

-- name: get_model_for_update :one
-- A model of the org, locked until the transaction ends, for a partial update.
-- uses: models_pkey
-- never: Seq Scan
SELECT id, org_id, provider_id, name, display_name, base_model, temperature, max_tokens, is_enabled, is_default,
    created_at, updated_at
FROM models
WHERE id = %(model_id)s AND org_id = %(org_id)s
FOR UPDATE;

-- name: clear_default_model :execrows
-- Un-default the org's default model, in the transaction that makes another the default: at most
-- one default per org is models_org_id_is_default_idx's rule. 1, or 0 when there was none.
-- uses: models_org_id_is_default_idx
-- never: Seq Scan
UPDATE models
SET is_default = false, updated_at = now()
WHERE org_id = %(org_id)s AND is_default;

-- name: create_model :one
-- Insert a model. A provider of another org fails models_provider_id_fkey, a second default
-- models_org_id_is_default_idx, temperature outside 0..2 or max_tokens <= 0 their checks.
INSERT INTO models (
    org_id, provider_id, name, display_name, base_model, temperature, max_tokens, is_enabled, is_default
)
VALUES (
    %(org_id)s, %(provider_id)s, %(name)s, %(display_name)s, %(base_model)s, %(temperature)s, %(max_tokens)s,
    %(is_enabled)s, %(is_default)s
)
RETURNING id, org_id, provider_id, name, display_name, base_model, temperature, max_tokens, is_enabled, is_default,
    created_at, updated_at;

-- name: update_model :one
-- Write every field of a model; the same constraints as create_model hold. No row for an
-- unknown id or another org's.
-- uses: models_pkey
-- never: Seq Scan
UPDATE models
SET provider_id = %(provider_id)s,
    name = %(name)s,
    display_name = %(display_name)s,
    base_model = %(base_model)s,
    temperature = %(temperature)s,
    max_tokens = %(max_tokens)s,
    is_enabled = %(is_enabled)s,
    is_default = %(is_default)s,
    updated_at = now()
WHERE id = %(model_id)s AND org_id = %(org_id)s
RETURNING id, org_id, provider_id, name, display_name, base_model, temperature, max_tokens, is_enabled, is_default,
    created_at, updated_at;

-- name: delete_model :execrows
-- Delete a model: 1, or 0 when the org has no such model.
-- uses: models_pkey
-- never: Seq Scan
DELETE FROM models
WHERE id = %(model_id)s AND org_id = %(org_id)s;
