-- Agents, their tools (agent_tools), the knowledge bases they may search (agent_knowledge_bases, the
-- API's rag_enabled) and their versions (agent_versions).
-- Every change bumps agents.version under the row lock and writes that version's snapshot in
-- the same transaction, so concurrent changes get consecutive versions and none is lost.

-- name: create_agent :scalar
-- Insert an agent at version 1; its tools, knowledge bases and first snapshot follow in the same
-- transaction.
INSERT INTO agents (
    org_id, name, description, prompt, primary_model_provider, primary_model, primary_model_temperature,
    max_tokens, persona_id, is_enabled, is_archived, created_by
)
VALUES (
    %(org_id)s, %(name)s, %(description)s, %(prompt)s, %(primary_model_provider)s, %(primary_model)s,
    %(primary_model_temperature)s, %(max_tokens)s, %(persona_id)s, %(is_enabled)s, %(is_archived)s, %(created_by)s
)
RETURNING id;

-- name: get_agent :one
-- An agent of the org, with the ids of its tools and knowledge bases.
-- uses: agents_pkey, agent_tools_pkey, agent_knowledge_bases_pkey
-- never: Seq Scan
SELECT a.id, a.org_id, a.name, a.description, a.prompt, a.primary_model_provider, a.primary_model,
    a.primary_model_temperature, a.max_tokens, a.persona_id, a.is_enabled, a.is_archived, a.version,
    a.created_by, a.created_at, a.updated_at,
    ARRAY(SELECT t.tool_id FROM agent_tools AS t WHERE t.agent_id = a.id ORDER BY t.tool_id) AS tools_enabled,
    ARRAY(
        SELECT k.knowledge_base_id FROM agent_knowledge_bases AS k WHERE k.agent_id = a.id ORDER BY k.knowledge_base_id
    ) AS rag_enabled
FROM agents AS a
WHERE a.id = %(agent_id)s AND a.org_id = %(org_id)s;

-- name: get_agent_for_update :one
-- An agent of the org, locked until the transaction ends: changes to one agent take turns.
-- uses: agents_pkey, agent_tools_pkey, agent_knowledge_bases_pkey
-- never: Seq Scan
SELECT a.id, a.org_id, a.name, a.description, a.prompt, a.primary_model_provider, a.primary_model,
    a.primary_model_temperature, a.max_tokens, a.persona_id, a.is_enabled, a.is_archived, a.version,
    a.created_by, a.created_at, a.updated_at,
    ARRAY(SELECT t.tool_id FROM agent_tools AS t WHERE t.agent_id = a.id ORDER BY t.tool_id) AS tools_enabled,
    ARRAY(
        SELECT k.knowledge_base_id FROM agent_knowledge_bases AS k WHERE k.agent_id = a.id ORDER BY k.knowledge_base_id
    ) AS rag_enabled
FROM agents AS a
WHERE a.id = %(agent_id)s AND a.org_id = %(org_id)s
FOR UPDATE OF a;

-- name: update_agent :execrows
-- Write every field of a locked agent and bump its version; its snapshot follows.
UPDATE agents
SET name = %(name)s,
    description = %(description)s,
    prompt = %(prompt)s,
    primary_model_provider = %(primary_model_provider)s,
    primary_model = %(primary_model)s,
    primary_model_temperature = %(primary_model_temperature)s,
    max_tokens = %(max_tokens)s,
    persona_id = %(persona_id)s,
    is_enabled = %(is_enabled)s,
    is_archived = %(is_archived)s,
    version = version + 1,
    updated_at = now()
WHERE id = %(agent_id)s AND org_id = %(org_id)s;

-- name: set_agent_tools :exec
-- Make an agent's tools exactly these (tools_enabled). A tool of another org fails agent_tools_tool_id_fkey.
WITH removed AS (
    DELETE FROM agent_tools
    WHERE agent_id = %(agent_id)s AND tool_id <> ALL(%(tool_ids)s::uuid[])
)
INSERT INTO agent_tools (agent_id, tool_id, org_id)
SELECT %(agent_id)s, tool_id, %(org_id)s
FROM unnest(%(tool_ids)s::uuid[]) AS tool_id
-- No conflict target: the primary key is the only key, and a target naming its columns would stop
-- matching while a deploy runs old code against migration 0019's key or new code against the old one.
ON CONFLICT DO NOTHING;

-- name: set_agent_knowledge_bases :exec
-- Make the knowledge bases an agent may search exactly these (rag_enabled). A knowledge base of
-- another org fails agent_knowledge_bases_knowledge_base_id_fkey.
WITH removed AS (
    DELETE FROM agent_knowledge_bases
    WHERE agent_id = %(agent_id)s AND knowledge_base_id <> ALL(%(knowledge_base_ids)s::uuid[])
)
INSERT INTO agent_knowledge_bases (agent_id, knowledge_base_id, org_id)
SELECT %(agent_id)s, knowledge_base_id, %(org_id)s
FROM unnest(%(knowledge_base_ids)s::uuid[]) AS knowledge_base_id
-- No conflict target: the primary key is the only key, and a target naming its columns would stop
-- matching while a deploy runs old code against migration 0019's key or new code against the old one.
ON CONFLICT DO NOTHING;

-- name: create_agent_versions :exec
-- Snapshot the current state of these agents of the org as their current version.
INSERT INTO agent_versions (agent_id, version, org_id, snapshot, created_by)
SELECT a.id, a.version, a.org_id,
    jsonb_build_object(
        'name', a.name,
        'description', a.description,
        'prompt', a.prompt,
        'primary_model_provider', a.primary_model_provider,
        'primary_model', a.primary_model,
        'primary_model_temperature', a.primary_model_temperature,
        'max_tokens', a.max_tokens,
        'persona_id', a.persona_id,
        'is_enabled', a.is_enabled,
        'is_archived', a.is_archived,
        'tools_enabled', coalesce(
            (SELECT jsonb_agg(t.tool_id ORDER BY t.tool_id) FROM agent_tools AS t WHERE t.agent_id = a.id),
            '[]'::jsonb
        ),
        'rag_enabled', coalesce(
            (
                SELECT jsonb_agg(k.knowledge_base_id ORDER BY k.knowledge_base_id)
                FROM agent_knowledge_bases AS k
                WHERE k.agent_id = a.id
            ),
            '[]'::jsonb
        )
    ),
    %(created_by)s
FROM agents AS a
WHERE a.id = ANY(%(agent_ids)s::uuid[]) AND a.org_id = %(org_id)s;

-- name: bump_agents_using_tool :many
-- Lock and bump the version of every agent of the org that has this tool, before it is taken away.
-- uses: agent_tools_tool_id_idx, agents_pkey
-- never: Seq Scan
UPDATE agents AS a
SET version = a.version + 1, updated_at = now()
FROM agent_tools AS t
WHERE t.tool_id = %(tool_id)s AND a.id = t.agent_id AND a.org_id = %(org_id)s
RETURNING a.id;

-- name: delete_tool_from_agents :execrows
-- Take a tool off every agent that has it.
-- uses: agent_tools_tool_id_idx
-- never: Seq Scan
DELETE FROM agent_tools
WHERE tool_id = %(tool_id)s AND org_id = %(org_id)s;

-- name: bump_agents_using_knowledge_base :many
-- Lock and bump the version of every agent of the org that may search this knowledge base, before
-- it is taken away.
-- uses: agent_knowledge_bases_knowledge_base_id_idx, agents_pkey
-- never: Seq Scan
UPDATE agents AS a
SET version = a.version + 1, updated_at = now()
FROM agent_knowledge_bases AS k
WHERE k.knowledge_base_id = %(knowledge_base_id)s AND a.id = k.agent_id AND a.org_id = %(org_id)s
RETURNING a.id;

-- name: delete_knowledge_base_from_agents :execrows
-- Take a knowledge base off every agent that has it.
-- uses: agent_knowledge_bases_knowledge_base_id_idx
-- never: Seq Scan
DELETE FROM agent_knowledge_bases
WHERE knowledge_base_id = %(knowledge_base_id)s AND org_id = %(org_id)s;

-- name: list_agents :many
-- The org's agents, newest first, optionally only archived or not, enabled or not.
-- uses: agents_org_id_created_at_idx
-- never: Seq Scan
SELECT a.id, a.org_id, a.name, a.description, a.prompt, a.primary_model_provider, a.primary_model,
    a.primary_model_temperature, a.max_tokens, a.persona_id, a.is_enabled, a.is_archived, a.version,
    a.created_by, a.created_at, a.updated_at,
    ARRAY(SELECT t.tool_id FROM agent_tools AS t WHERE t.agent_id = a.id ORDER BY t.tool_id) AS tools_enabled,
    ARRAY(
        SELECT k.knowledge_base_id FROM agent_knowledge_bases AS k WHERE k.agent_id = a.id ORDER BY k.knowledge_base_id
    ) AS rag_enabled
FROM agents AS a
WHERE a.org_id = %(org_id)s
  AND (%(is_archived)s::boolean IS NULL OR a.is_archived = %(is_archived)s::boolean)
  AND (%(is_enabled)s::boolean IS NULL OR a.is_enabled = %(is_enabled)s::boolean)
ORDER BY a.created_at DESC, a.id DESC
LIMIT %(limit)s OFFSET %(offset)s;

-- name: count_agents :scalar
-- How many agents list_agents would return in all.
SELECT count(*)
FROM agents AS a
WHERE a.org_id = %(org_id)s
  AND (%(is_archived)s::boolean IS NULL OR a.is_archived = %(is_archived)s::boolean)
  AND (%(is_enabled)s::boolean IS NULL OR a.is_enabled = %(is_enabled)s::boolean);

-- name: search_agents :many
-- The org's agents whose name matches a LIKE pattern (any case), newest first. The trigram index
-- finds the matches, so a search stays fast however many agents there are
-- (tests/sql/test_plan_contracts.py).
SELECT a.id, a.org_id, a.name, a.description, a.prompt, a.primary_model_provider, a.primary_model,
    a.primary_model_temperature, a.max_tokens, a.persona_id, a.is_enabled, a.is_archived, a.version,
    a.created_by, a.created_at, a.updated_at,
    ARRAY(SELECT t.tool_id FROM agent_tools AS t WHERE t.agent_id = a.id ORDER BY t.tool_id) AS tools_enabled,
    ARRAY(
        SELECT k.knowledge_base_id FROM agent_knowledge_bases AS k WHERE k.agent_id = a.id ORDER BY k.knowledge_base_id
    ) AS rag_enabled
FROM agents AS a
WHERE a.org_id = %(org_id)s
  AND a.name ILIKE %(pattern)s
  AND (%(is_archived)s::boolean IS NULL OR a.is_archived = %(is_archived)s::boolean)
  AND (%(is_enabled)s::boolean IS NULL OR a.is_enabled = %(is_enabled)s::boolean)
ORDER BY a.created_at DESC, a.id DESC
LIMIT %(limit)s OFFSET %(offset)s;

-- name: count_agents_matching :scalar
-- How many agents search_agents would return in all.
SELECT count(*)
FROM agents AS a
WHERE a.org_id = %(org_id)s
  AND a.name ILIKE %(pattern)s
  AND (%(is_archived)s::boolean IS NULL OR a.is_archived = %(is_archived)s::boolean)
  AND (%(is_enabled)s::boolean IS NULL OR a.is_enabled = %(is_enabled)s::boolean);

-- name: delete_agent :execrows
-- Delete an agent of the org with its tools and versions.
DELETE FROM agents
WHERE id = %(agent_id)s AND org_id = %(org_id)s;

-- name: list_agent_versions :many
-- An agent's versions, newest first.
-- uses: agent_versions_pkey
-- never: Seq Scan
SELECT agent_id, version, snapshot, created_by, created_at
FROM agent_versions
WHERE agent_id = %(agent_id)s AND org_id = %(org_id)s
ORDER BY version DESC
LIMIT %(limit)s OFFSET %(offset)s;

-- name: count_agent_versions :scalar
-- How many versions an agent has.
SELECT count(*)
FROM agent_versions
WHERE agent_id = %(agent_id)s AND org_id = %(org_id)s;

-- name: get_agent_version :one
-- One version of an agent.
-- uses: agent_versions_pkey
-- never: Seq Scan
SELECT agent_id, version, snapshot, created_by, created_at
FROM agent_versions
WHERE agent_id = %(agent_id)s AND org_id = %(org_id)s AND version = %(version)s;

-- name: list_org_tool_ids :many
-- Which of these ids are tools of the org: tools_enabled may name no other.
SELECT id
FROM tools
WHERE org_id = %(org_id)s AND id = ANY(%(tool_ids)s::uuid[])
ORDER BY id
LIMIT 1000;

-- name: list_org_knowledge_base_ids :many
-- Which of these ids are knowledge bases of the org: rag_enabled may name no other.
SELECT id
FROM knowledge_bases
WHERE org_id = %(org_id)s AND id = ANY(%(knowledge_base_ids)s::uuid[])
ORDER BY id
LIMIT 1000;

-- name: has_org_persona :scalar
-- Whether a persona belongs to the org.
SELECT EXISTS (SELECT 1 FROM personas WHERE id = %(persona_id)s AND org_id = %(org_id)s);

-- name: is_allowed_agent_model :scalar
-- Whether an agent may use this model: any model while the org has configured none, else only one
-- of its enabled models of an enabled provider (of the named provider, when one is named).
SELECT NOT EXISTS (SELECT 1 FROM models WHERE org_id = %(org_id)s)
    OR EXISTS (
        SELECT 1
        FROM models AS m
        JOIN model_providers AS p ON p.id = m.provider_id
        WHERE m.org_id = %(org_id)s
          AND m.name = %(primary_model)s
          AND m.is_enabled
          AND p.is_enabled
          AND (%(primary_model_provider)s::text IS NULL OR p.name = %(primary_model_provider)s::text)
    );

-- name: list_agents_using_persona :many
-- The agents of the org that use a persona, which then cannot be deleted.
-- uses: agents_persona_id_idx
-- never: Seq Scan
SELECT id, name
FROM agents
WHERE persona_id = %(persona_id)s AND org_id = %(org_id)s
ORDER BY name, id
LIMIT 100;

-- name: list_agent_threads :many
-- The threads (and their users) that use an agent: their cached copies must go when it does.
-- uses: threads_agent_id_idx
-- never: Seq Scan
SELECT id, user_id
FROM threads
WHERE agent_id = %(agent_id)s AND org_id = %(org_id)s
ORDER BY id
LIMIT 100000;
