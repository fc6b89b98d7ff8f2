-- Channels: the ways an org's agents are reached (web, api, slack, discord), keyed by name within
-- the org. They come and go with the desktop configuration layout (agentpress config import and
-- export). Every statement filters by org_id: another org's channel is not found.

-- name: list_channels :many
-- The org's channels by name; the page is (page - 1) * page_size.
-- uses: channels_org_id_name_key
-- never: Seq Scan
SELECT id, org_id, name, kind, agent_id, settings, is_enabled, created_at, updated_at
FROM channels
WHERE org_id = %(org_id)s
ORDER BY name
LIMIT %(limit)s OFFSET %(offset)s;

-- name: create_channel :one
-- Insert a channel; a name the org already uses fails channels_org_id_name_key, an agent of
-- another org channels_agent_id_fkey.
INSERT INTO channels (org_id, name, kind, agent_id, settings, is_enabled)
VALUES (%(org_id)s, %(name)s, %(kind)s, %(agent_id)s, %(settings)s::jsonb, %(is_enabled)s)
RETURNING id, org_id, name, kind, agent_id, settings, is_enabled, created_at, updated_at;

-- name: update_channel :one
-- Write every field of a channel of the org; no row when there is no such channel.
-- uses: channels_pkey
-- never: Seq Scan
UPDATE channels
SET name = %(name)s,
    kind = %(kind)s,
    agent_id = %(agent_id)s,
    settings = %(settings)s::jsonb,
    is_enabled = %(is_enabled)s,
    updated_at = now()
WHERE id = %(channel_id)s AND org_id = %(org_id)s
RETURNING id, org_id, name, kind, agent_id, settings, is_enabled, created_at, updated_at;
