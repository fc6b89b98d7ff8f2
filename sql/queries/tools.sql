-- Tools agents may call: functions, HTTP endpoints and MCP servers. parameters is a JSON Schema
-- the service checks before storing it; config is the kind's settings. Every query filters by
-- org_id: another org's tool is not found.

-- name: list_tools :many
-- The org's tools by name, optionally only of one kind and only enabled or disabled ones; the
-- page is (page - 1) * page_size.
-- uses: tools_org_id_name_key
-- never: Seq Scan
SELECT id, org_id, name, description, kind, parameters, config, is_enabled, created_at, updated_at
FROM tools
WHERE org_id = %(org_id)s
  AND (%(kind)s::text IS NULL OR kind = %(kind)s::text)
  AND (%(is_enabled)s::boolean IS NULL OR is_enabled = %(is_enabled)s::boolean)
ORDER BY name
LIMIT %(limit)s OFFSET %(offset)s;

-- name: count_tools :scalar
-- How many tools list_tools would return in all.
-- uses: tools_org_id_name_key
-- never: Seq Scan
SELECT count(*)
FROM tools
WHERE org_id = %(org_id)s
  AND (%(kind)s::text IS NULL OR kind = %(kind)s::text)
  AND (%(is_enabled)s::boolean IS NULL OR is_enabled = %(is_enabled)s::boolean);

-- name: get_tool :one
-- A tool of the org.
-- uses: tools_pkey
-- never: Seq Scan
SELECT id, org_id, name, description, kind, parameters, config, is_enabled, created_at, updated_at
FROM tools
WHERE id = %(tool_id)s AND org_id = %(org_id)s;

-- name: get_tool_for_update :one
-- A tool of the org, locked until the transaction ends: a partial change merges into it without
-- losing a concurrent one, and while it is being deleted no agent can be given it (adding it to
-- agent_tools takes a key-share lock on this row, which waits).
-- uses: tools_pkey
-- never: Seq Scan
SELECT id, org_id, name, description, kind, parameters, config, is_enabled, created_at, updated_at
FROM tools
WHERE id = %(tool_id)s AND org_id = %(org_id)s
FOR UPDATE;

-- name: create_tool :one
-- Insert a tool; a name the org already uses is refused by tools_org_id_name_key.
INSERT INTO tools (org_id, name, description, kind, parameters, config, is_enabled)
VALUES (
    %(org_id)s, %(name)s, %(description)s, %(kind)s, %(parameters)s::jsonb, %(config)s::jsonb, %(is_enabled)s
)
RETURNING id, org_id, name, description, kind, parameters, config, is_enabled, created_at, updated_at;

-- name: update_tool :one
-- Write every field of a tool of the org (the caller merged the change into the locked row); no
-- row when there is no such tool.
-- uses: tools_pkey
-- never: Seq Scan
UPDATE tools
SET name = %(name)s,
    description = %(description)s,
    kind = %(kind)s,
    parameters = %(parameters)s::jsonb,
    config = %(config)s::jsonb,
    is_enabled = %(is_enabled)s,
    updated_at = now()
WHERE id = %(tool_id)s AND org_id = %(org_id)s
RETURNING id, org_id, name, description, kind, parameters, config, is_enabled, created_at, updated_at;

-- name: delete_tool :execrows
-- Delete a tool of the org: 1, or 0 when there is none. Call after taking it off its agents
-- (repositories.agents.remove_tool_from_agents), so each of them gets a new version.
-- uses: tools_pkey
-- never: Seq Scan
DELETE FROM tools
WHERE id = %(tool_id)s AND org_id = %(org_id)s;
