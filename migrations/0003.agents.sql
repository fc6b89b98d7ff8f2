-- Agents and what they are made of: model providers and models, personas, tools, and every
-- version of every agent. Everything belongs to an org; a reference from one org-owned row to
-- another is a composite foreign key (id, org_id), so it can never cross orgs.
-- depends: 0002.identity

-- Give up rather than queue every query on the tables we lock behind a lock we wait for.
SET LOCAL lock_timeout = '5s';

CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE model_providers (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    name text NOT NULL,
    kind text NOT NULL,
    base_url text,
    api_key bytea,
    is_enabled boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT model_providers_org_id_name_key UNIQUE (org_id, name),
    CONSTRAINT model_providers_id_org_id_key UNIQUE (id, org_id),
    CONSTRAINT model_providers_name_check CHECK (name ~ '^[a-z0-9][a-z0-9_.-]{0,63}$'),
    CONSTRAINT model_providers_kind_check CHECK (
        kind IN ('anthropic', 'openai', 'openai_compatible', 'google', 'azure_openai', 'bedrock', 'ollama')
    ),
    CONSTRAINT model_providers_base_url_check CHECK (base_url ~ '^https?://')
);
COMMENT ON TABLE model_providers IS 'An org''s LLM providers: name is the org''s label (anthropic, openai, ...), kind the API it speaks.';
COMMENT ON COLUMN model_providers.api_key IS 'Encrypted (Fernet, key from APP_SECRET_KEY); the API says only whether one is set.';

CREATE TABLE models (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    provider_id uuid NOT NULL,
    name text NOT NULL,
    display_name text,
    base_model text,
    temperature double precision,
    max_tokens integer,
    is_enabled boolean NOT NULL DEFAULT true,
    is_default boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT models_provider_id_fkey FOREIGN KEY (provider_id, org_id)
        REFERENCES model_providers (id, org_id) ON DELETE CASCADE,
    CONSTRAINT models_org_id_provider_id_name_key UNIQUE (org_id, provider_id, name),
    CONSTRAINT models_name_check CHECK (length(name) BETWEEN 1 AND 200),
    CONSTRAINT models_temperature_check CHECK (temperature BETWEEN 0 AND 2),
    CONSTRAINT models_max_tokens_check CHECK (max_tokens > 0)
);
COMMENT ON COLUMN models.name IS 'The provider''s model id, e.g. claude-3-sonnet.';
-- At most one default model per org.
CREATE UNIQUE INDEX models_org_id_is_default_idx ON models (org_id) WHERE is_default;
CREATE INDEX models_provider_id_idx ON models (provider_id);

CREATE TABLE personas (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    name text NOT NULL,
    description text,
    prompt text,
    style jsonb NOT NULL DEFAULT '{}',
    avatar_url text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT personas_id_org_id_key UNIQUE (id, org_id),
    CONSTRAINT personas_name_check CHECK (length(name) BETWEEN 1 AND 200),
    CONSTRAINT personas_style_check CHECK (jsonb_typeof(style) = 'object')
);
COMMENT ON COLUMN personas.style IS 'Tone and style settings, e.g. {"tone": "friendly", "formality": "casual"}.';
CREATE INDEX personas_org_id_created_at_idx ON personas (org_id, created_at DESC);

CREATE TABLE tools (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    name text NOT NULL,
    description text,
    kind text NOT NULL,
    parameters jsonb NOT NULL DEFAULT '{"type": "object"}',
    config jsonb NOT NULL DEFAULT '{}',
    is_enabled boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT tools_org_id_name_key UNIQUE (org_id, name),
    CONSTRAINT tools_id_org_id_key UNIQUE (id, org_id),
    CONSTRAINT tools_name_check CHECK (name ~ '^[A-Za-z0-9_-]{1,64}$'),
    CONSTRAINT tools_kind_check CHECK (kind IN ('function', 'http', 'mcp')),
    CONSTRAINT tools_parameters_check CHECK (jsonb_typeof(parameters) = 'object'),
    CONSTRAINT tools_config_check CHECK (jsonb_typeof(config) = 'object')
);
COMMENT ON COLUMN tools.parameters IS 'A JSON Schema of the tool''s arguments, checked by the service before it is stored.';

CREATE TABLE agents (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    name text NOT NULL,
    description text,
    prompt text,
    primary_model_provider text,
    primary_model text,
    primary_model_temperature double precision,
    max_tokens integer,
    persona_id uuid,
    is_enabled boolean NOT NULL DEFAULT true,
    is_archived boolean NOT NULL DEFAULT false,
    version integer NOT NULL DEFAULT 1,
    created_by uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT agents_persona_id_fkey FOREIGN KEY (persona_id, org_id) REFERENCES personas (id, org_id),
    CONSTRAINT agents_id_org_id_key UNIQUE (id, org_id),
    CONSTRAINT agents_name_check CHECK (length(name) BETWEEN 1 AND 200),
    CONSTRAINT agents_primary_model_temperature_check CHECK (primary_model_temperature BETWEEN 0 AND 2),
    CONSTRAINT agents_max_tokens_check CHECK (max_tokens > 0),
    CONSTRAINT agents_version_check CHECK (version > 0)
);
COMMENT ON COLUMN agents.version IS 'The number of the agent''s latest row in agent_versions; bumped under the row lock, so versions never collide.';
CREATE INDEX agents_org_id_created_at_idx ON agents (org_id, created_at DESC, id DESC);
-- Name search (case-insensitive substring) without a sequential scan.
CREATE INDEX agents_name_trgm_idx ON agents USING gin (name gin_trgm_ops);
CREATE INDEX agents_persona_id_idx ON agents (persona_id) WHERE persona_id IS NOT NULL;

CREATE TABLE agent_tools (
    agent_id uuid NOT NULL,
    tool_id uuid NOT NULL,
    org_id uuid NOT NULL,
    PRIMARY KEY (agent_id, tool_id),
    CONSTRAINT agent_tools_agent_id_fkey FOREIGN KEY (agent_id, org_id) REFERENCES agents (id, org_id) ON DELETE CASCADE,
    CONSTRAINT agent_tools_tool_id_fkey FOREIGN KEY (tool_id, org_id) REFERENCES tools (id, org_id) ON DELETE CASCADE
);
COMMENT ON TABLE agent_tools IS 'The tools an agent may call (the API''s tools_enabled). org_id keeps both ends in one org.';
CREATE INDEX agent_tools_tool_id_idx ON agent_tools (tool_id);

CREATE TABLE agent_versions (
    agent_id uuid NOT NULL,
    version integer NOT NULL,
    org_id uuid NOT NULL,
    snapshot jsonb NOT NULL,
    created_by uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (agent_id, version),
    CONSTRAINT agent_versions_agent_id_fkey FOREIGN KEY (agent_id, org_id) REFERENCES agents (id, org_id) ON DELETE CASCADE,
    CONSTRAINT agent_versions_version_check CHECK (version > 0)
);
COMMENT ON TABLE agent_versions IS 'Every state an agent has been in: its fields and tools_enabled, written in the transaction of each change. Version 1 is the creation.';
