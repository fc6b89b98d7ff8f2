-- Channels (how agents are reached: a web widget, the API, Slack, Discord), and what the desktop
-- configuration layout (agentpress config export/import) needs to round-trip: the id an agent has
-- in an imported tree, and the environment variable a provider's API key is read from.
-- depends: 0010.analytics-indexes

-- Give up rather than queue every query on the tables we lock behind a lock we wait for.
SET LOCAL lock_timeout = '5s';

CREATE TABLE channels (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    name text NOT NULL,
    kind text NOT NULL,
    agent_id uuid,
    settings jsonb NOT NULL DEFAULT '{}',
    is_enabled boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    -- A deleted agent leaves its channels in place, unassigned, with their settings.
    CONSTRAINT channels_agent_id_fkey FOREIGN KEY (agent_id, org_id)
        REFERENCES agents (id, org_id) ON DELETE SET NULL (agent_id),
    CONSTRAINT channels_org_id_name_key UNIQUE (org_id, name),
    CONSTRAINT channels_id_org_id_key UNIQUE (id, org_id),
    CONSTRAINT channels_name_check CHECK (length(name) BETWEEN 1 AND 200),
    CONSTRAINT channels_kind_check CHECK (kind IN ('web', 'api', 'slack', 'discord')),
    CONSTRAINT channels_settings_check CHECK (jsonb_typeof(settings) = 'object')
);
COMMENT ON TABLE channels IS 'The ways an org''s agents are reached; name is the org''s label, the key of channels.yaml.';
COMMENT ON COLUMN channels.settings IS 'The kind''s settings, exported as they are: secrets are named by environment variable (bot_token_env), never stored.';
COMMENT ON COLUMN channels.agent_id IS 'The agent the channel reaches; null once that agent is deleted.';
CREATE INDEX channels_agent_id_idx ON channels (agent_id) WHERE agent_id IS NOT NULL;

CREATE TABLE agent_config_ids (
    org_id uuid NOT NULL,
    config_id text NOT NULL,
    agent_id uuid NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, config_id),
    CONSTRAINT agent_config_ids_agent_id_key UNIQUE (agent_id),
    CONSTRAINT agent_config_ids_agent_id_fkey FOREIGN KEY (agent_id, org_id)
        REFERENCES agents (id, org_id) ON DELETE CASCADE,
    CONSTRAINT agent_config_ids_config_id_check CHECK (config_id ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$')
);
COMMENT ON TABLE agent_config_ids IS 'The id an agent created by a configuration import has in that tree (agents/<config_id>/): a desktop id such as support-bot, or another org''s agent id. Later imports of the tree update the agent instead of adding one, and exports write the id back.';

ALTER TABLE model_providers ADD COLUMN api_key_env text
    CONSTRAINT model_providers_api_key_env_check CHECK (api_key_env ~ '^[A-Za-z_][A-Za-z0-9_]{0,127}$');
COMMENT ON COLUMN model_providers.api_key_env IS 'The environment variable a configuration import read the API key from (providers/<name>.yaml api_key_env); the name only, never the key.';
