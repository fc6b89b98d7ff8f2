-- What the desktop configuration layout (agentpress config export/import) needs beyond the
-- domains' own queries: the ids agents have in an imported tree, the environment variable each
-- provider's API key is read from, the default org, and one import at a time per org.

-- name: get_default_org :one
-- The default org: where operator commands act when no --org is given.
SELECT id, name, slug, is_default, created_at, updated_at
FROM orgs
WHERE is_default;

-- name: lock_org_config :exec
-- Hold the org's configuration lock until the transaction ends: concurrent imports into one org
-- take turns, so each sees what the previous one wrote and none fails on the other's new names.
SELECT pg_advisory_xact_lock(hashtextextended('agentpress.settings:' || %(org_id)s::uuid::text, 0));

-- name: list_agent_config_ids :many
-- The ids the org's imported agents have in their configuration tree.
-- uses: agent_config_ids_pkey
-- never: Seq Scan
SELECT agent_id, config_id
FROM agent_config_ids
WHERE org_id = %(org_id)s
ORDER BY config_id
LIMIT %(limit)s OFFSET %(offset)s;

-- name: create_agent_config_id :exec
-- Remember the id an agent created by an import has in its tree; the agent must be of the org
-- (agent_config_ids_agent_id_fkey).
INSERT INTO agent_config_ids (org_id, config_id, agent_id)
VALUES (%(org_id)s, %(config_id)s, %(agent_id)s);

-- name: list_model_provider_api_keys :many
-- The org's providers with their API key (encrypted) and the environment variable it is read from.
-- uses: model_providers_org_id_name_key
-- never: Seq Scan
SELECT id, name, api_key_env, api_key
FROM model_providers
WHERE org_id = %(org_id)s
ORDER BY name
LIMIT %(limit)s OFFSET %(offset)s;

-- name: set_model_provider_api_key_env :execrows
-- Record the environment variable a provider's API key is read from (null: none named).
-- uses: model_providers_pkey
-- never: Seq Scan
UPDATE model_providers
SET api_key_env = %(api_key_env)s, updated_at = now()
WHERE id = %(provider_id)s AND org_id = %(org_id)s;
