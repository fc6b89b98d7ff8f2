-- The schema that migrations/ produce, dumped by pg_dump and normalized: `make schema` writes it,
-- and a test fails when it differs from what the migrations make. Edit the migrations, not this file.

-- EXTENSION citext

CREATE EXTENSION IF NOT EXISTS citext WITH SCHEMA public;

COMMENT ON EXTENSION citext IS 'data type for case-insensitive character strings';

-- EXTENSION pg_stat_statements

CREATE EXTENSION IF NOT EXISTS pg_stat_statements WITH SCHEMA public;

COMMENT ON EXTENSION pg_stat_statements IS 'track planning and execution statistics of all SQL statements executed';

-- EXTENSION pg_trgm

CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;

COMMENT ON EXTENSION pg_trgm IS 'text similarity measurement and index searching based on trigrams';

-- EXTENSION vector

CREATE EXTENSION IF NOT EXISTS vector WITH SCHEMA public;

COMMENT ON EXTENSION vector IS 'vector data type and ivfflat and hnsw access methods';

-- TABLE agent_config_ids

CREATE TABLE public.agent_config_ids (
    org_id uuid NOT NULL,
    config_id text NOT NULL,
    agent_id uuid NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT agent_config_ids_config_id_check CHECK ((config_id ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$'::text))
);

COMMENT ON TABLE public.agent_config_ids IS 'The id an agent created by a configuration import has in that tree (agents/<config_id>/): a desktop id such as support-bot, or another org''s agent id. Later imports of the tree update the agent instead of adding one, and exports write the id back.';

-- TABLE agent_knowledge_bases

CREATE TABLE public.agent_knowledge_bases (
    agent_id uuid NOT NULL,
    knowledge_base_id uuid NOT NULL,
    org_id uuid NOT NULL
);

COMMENT ON TABLE public.agent_knowledge_bases IS 'The knowledge bases an agent may search (the API''s rag_enabled).';

-- TABLE agent_tools

CREATE TABLE public.agent_tools (
    agent_id uuid NOT NULL,
    tool_id uuid NOT NULL,
    org_id uuid NOT NULL
);

COMMENT ON TABLE public.agent_tools IS 'The tools an agent may call (the API''s tools_enabled). org_id keeps both ends in one org.';

-- TABLE agent_versions

CREATE TABLE public.agent_versions (
    agent_id uuid NOT NULL,
    version integer NOT NULL,
    org_id uuid NOT NULL,
    snapshot jsonb NOT NULL,
    created_by uuid,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT agent_versions_version_check CHECK ((version > 0))
);

COMMENT ON TABLE public.agent_versions IS 'Every state an agent has been in: its fields and tools_enabled, written in the transaction of each change. Version 1 is the creation.';

COMMENT ON COLUMN public.agent_versions.snapshot IS 'The agent''s fields and tools_enabled as they were at this version; a restore writes them back as a new version.';

-- TABLE agents

CREATE TABLE public.agents (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    org_id uuid NOT NULL,
    name text NOT NULL,
    description text,
    prompt text,
    primary_model_provider text,
    primary_model text,
    primary_model_temperature double precision,
    max_tokens integer,
    persona_id uuid,
    is_enabled boolean DEFAULT true NOT NULL,
    is_archived boolean DEFAULT false NOT NULL,
    version integer DEFAULT 1 NOT NULL,
    created_by uuid,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT agents_max_tokens_check CHECK ((max_tokens > 0)),
    CONSTRAINT agents_name_check CHECK (((length(name) >= 1) AND (length(name) <= 200))),
    CONSTRAINT agents_primary_model_temperature_check CHECK (((primary_model_temperature >= (0)::double precision) AND (primary_model_temperature <= (2)::double precision))),
    CONSTRAINT agents_version_check CHECK ((version > 0))
);

COMMENT ON TABLE public.agents IS 'An org''s AI agents: prompt, model and persona. Each change bumps version and writes a snapshot to agent_versions.';

COMMENT ON COLUMN public.agents.primary_model_provider IS 'The name of one of the org''s model_providers, or null for any provider with primary_model.';

COMMENT ON COLUMN public.agents.primary_model IS 'The model''s name (models.name), checked against the org''s enabled models when it has any.';

COMMENT ON COLUMN public.agents.version IS 'The number of the agent''s latest row in agent_versions; bumped under the row lock, so versions never collide.';

-- TABLE analytics_daily

CREATE TABLE public.analytics_daily (
    org_id uuid NOT NULL,
    day date NOT NULL,
    agent_id uuid,
    threads_created integer DEFAULT 0 NOT NULL,
    user_messages integer DEFAULT 0 NOT NULL,
    assistant_messages integer DEFAULT 0 NOT NULL,
    system_messages integer DEFAULT 0 NOT NULL,
    tool_messages integer DEFAULT 0 NOT NULL,
    input_tokens bigint DEFAULT 0 NOT NULL,
    output_tokens bigint DEFAULT 0 NOT NULL,
    feedback_up integer DEFAULT 0 NOT NULL,
    feedback_down integer DEFAULT 0 NOT NULL,
    tasks_succeeded integer DEFAULT 0 NOT NULL,
    tasks_failed integer DEFAULT 0 NOT NULL
);

COMMENT ON TABLE public.analytics_daily IS 'Per org, UTC day and agent (null: threads without one): threads created, messages by role and their tokens, feedback by the day it was last given, tasks by the day they finished.';

-- TABLE analytics_daily_tools

CREATE TABLE public.analytics_daily_tools (
    org_id uuid NOT NULL,
    day date NOT NULL,
    tool_name text NOT NULL,
    calls integer DEFAULT 0 NOT NULL,
    failures integer DEFAULT 0 NOT NULL
);

COMMENT ON TABLE public.analytics_daily_tools IS 'Per org, UTC day and tool name: tool_call parts, and tool_result parts with is_error.';

-- TABLE analytics_daily_users

CREATE TABLE public.analytics_daily_users (
    org_id uuid NOT NULL,
    day date NOT NULL,
    agent_id uuid,
    user_id uuid NOT NULL
);

COMMENT ON TABLE public.analytics_daily_users IS 'Who was active (wrote a message in a thread of theirs) per org, UTC day and agent: active users over a week or month are distinct, not a sum of days.';

-- TABLE analytics_refreshes

CREATE TABLE public.analytics_refreshes (
    org_id uuid NOT NULL,
    complete_before date,
    refreshed_at timestamp with time zone
);

COMMENT ON TABLE public.analytics_refreshes IS 'How far the rollups of an org reach; its row is also the lock two refreshes of the org take in turn.';

COMMENT ON COLUMN public.analytics_refreshes.complete_before IS 'The rollups hold every day before this one (UTC); reports read the source tables from it on. Null: never refreshed.';

-- TABLE api_keys

CREATE TABLE public.api_keys (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    org_id uuid NOT NULL,
    name text NOT NULL,
    token_hash bytea NOT NULL,
    scopes text[] NOT NULL,
    created_by uuid,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone,
    revoked_at timestamp with time zone,
    last_used_at timestamp with time zone,
    CONSTRAINT api_keys_name_check CHECK (((length(name) >= 1) AND (length(name) <= 200))),
    CONSTRAINT api_keys_scopes_check CHECK (((cardinality(scopes) > 0) AND (scopes <@ ARRAY['tasks:work'::text, 'messages:read'::text, 'messages:write'::text]))),
    CONSTRAINT api_keys_token_hash_check CHECK ((length(token_hash) = 32))
);

COMMENT ON TABLE public.api_keys IS 'Service credentials of an org (workers, the agent runtime): a bearer token starting with apk., stored only as its SHA-256. A key acts for its org only, within its scopes; it is never a signed-in user.';

COMMENT ON COLUMN public.api_keys.scopes IS 'What the key may do: tasks:work (claim, heartbeat, complete and fail the org''s tasks), messages:read and messages:write (read and append to any thread of the org).';

COMMENT ON COLUMN public.api_keys.expires_at IS 'Null: the key lasts until it is revoked.';

COMMENT ON COLUMN public.api_keys.last_used_at IS 'Written at most once a minute per key, like sessions.last_seen_at.';

-- TABLE channels

CREATE TABLE public.channels (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    org_id uuid NOT NULL,
    name text NOT NULL,
    kind text NOT NULL,
    agent_id uuid,
    settings jsonb DEFAULT '{}'::jsonb NOT NULL,
    is_enabled boolean DEFAULT true NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT channels_kind_check CHECK ((kind = ANY (ARRAY['web'::text, 'api'::text, 'slack'::text, 'discord'::text]))),
    CONSTRAINT channels_name_check CHECK (((length(name) >= 1) AND (length(name) <= 200))),
    CONSTRAINT channels_settings_check CHECK ((jsonb_typeof(settings) = 'object'::text))
);

COMMENT ON TABLE public.channels IS 'The ways an org''s agents are reached; name is the org''s label, the key of channels.yaml.';

COMMENT ON COLUMN public.channels.agent_id IS 'The agent the channel reaches; null once that agent is deleted.';

COMMENT ON COLUMN public.channels.settings IS 'The kind''s settings, exported as they are: secrets are named by environment variable (bot_token_env), never stored.';

-- TABLE email_outbox

CREATE TABLE public.email_outbox (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    kind text NOT NULL,
    to_email public.citext NOT NULL,
    subject text NOT NULL,
    body bytea NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    next_attempt_at timestamp with time zone DEFAULT now() NOT NULL,
    last_error text,
    sent_at timestamp with time zone,
    CONSTRAINT email_outbox_kind_check CHECK ((kind = ANY (ARRAY['invitation'::text, 'password_reset'::text, 'email_verification'::text, 'oauth_linked'::text])))
);

COMMENT ON TABLE public.email_outbox IS 'Mail the service has to send; a sender delivers the unsent rows oldest first and sets sent_at.';

COMMENT ON COLUMN public.email_outbox.kind IS 'Which mail it is: invitation or password_reset.';

COMMENT ON COLUMN public.email_outbox.body IS 'Encrypted (Fernet, key from APP_SECRET_KEY): bodies carry reset and invitation links.';

COMMENT ON COLUMN public.email_outbox.attempts IS 'Sends tried so far, counted at each claim (which backs next_attempt_at off further); at the sender''s maximum it is no longer tried.';

COMMENT ON COLUMN public.email_outbox.next_attempt_at IS 'When a sender may next take the message: claiming it moves this on (a lease while it is sent), and each failure backs off further.';

-- TABLE email_verifications

CREATE TABLE public.email_verifications (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    user_id uuid NOT NULL,
    email public.citext NOT NULL,
    token_hash bytea NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    used_at timestamp with time zone,
    CONSTRAINT email_verifications_token_hash_check CHECK ((length(token_hash) = 32))
);

COMMENT ON TABLE public.email_verifications IS 'Tokens mailed to prove an address is its user''s; stored as their SHA-256, single use.';

COMMENT ON COLUMN public.email_verifications.email IS 'The address the token was mailed to: it verifies the user only while that is still their email.';

COMMENT ON COLUMN public.email_verifications.used_at IS 'Set when the token is used, and when a newer token for the same user supersedes it.';

-- TABLE embeddings

CREATE TABLE public.embeddings (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    org_id uuid NOT NULL,
    knowledge_base_id uuid NOT NULL,
    file_id uuid,
    freeform_text_id uuid,
    table_id uuid,
    web_url_id uuid,
    chunk_index integer NOT NULL,
    content text NOT NULL,
    text_search tsvector GENERATED ALWAYS AS (to_tsvector('english'::regconfig, content)) STORED,
    embedding public.halfvec(3072) NOT NULL,
    metadata jsonb DEFAULT '{}'::jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT embeddings_chunk_index_check CHECK ((chunk_index >= 0)),
    CONSTRAINT embeddings_metadata_check CHECK ((jsonb_typeof(metadata) = 'object'::text)),
    CONSTRAINT embeddings_source_check CHECK ((num_nonnulls(file_id, freeform_text_id, table_id, web_url_id) = 1))
);

COMMENT ON TABLE public.embeddings IS 'Chunks of sources with their embeddings; each belongs to exactly one source of one of the four kinds.';

COMMENT ON COLUMN public.embeddings.chunk_index IS 'The chunk''s position in its source, from 0; unique per source.';

COMMENT ON COLUMN public.embeddings.text_search IS 'to_tsvector(''english'', content), stored for ranking in text and hybrid search.';

COMMENT ON COLUMN public.embeddings.embedding IS 'The chunk''s embedding, 3072 dimensions at half precision; searched by cosine distance through embeddings_embedding_hnsw_idx.';

COMMENT ON COLUMN public.embeddings.metadata IS 'The loader''s own data about the chunk (page, heading, ...), returned with search hits.';

-- TABLE feedback

CREATE TABLE public.feedback (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    org_id uuid NOT NULL,
    message_id uuid NOT NULL,
    user_id uuid NOT NULL,
    rating smallint NOT NULL,
    comment text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT feedback_comment_check CHECK ((length(comment) <= 10000)),
    CONSTRAINT feedback_rating_check CHECK ((rating = ANY (ARRAY['-1'::integer, 1])))
);

COMMENT ON TABLE public.feedback IS 'A user''s rating of a message: one per user and message; a second submission updates it.';

COMMENT ON COLUMN public.feedback.rating IS '1: thumbs up, -1: thumbs down.';

-- TABLE idempotency_keys

CREATE TABLE public.idempotency_keys (
    org_id uuid NOT NULL,
    principal_id uuid NOT NULL,
    route text NOT NULL,
    idempotency_key text NOT NULL,
    request_hash bytea NOT NULL,
    status_code smallint NOT NULL,
    headers jsonb NOT NULL,
    body bytea NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    CONSTRAINT idempotency_keys_idempotency_key_check CHECK (((length(idempotency_key) >= 1) AND (length(idempotency_key) <= 255))),
    CONSTRAINT idempotency_keys_request_hash_check CHECK ((length(request_hash) = 32)),
    CONSTRAINT idempotency_keys_status_code_check CHECK (((status_code >= 200) AND (status_code <= 299)))
);

COMMENT ON TABLE public.idempotency_keys IS 'The stored first answer to a POST sent with an Idempotency-Key, replayed to retries with the same key and body for a day; expired rows are deleted in the background (services/idempotency.py). Holds only answers that committed: a request in flight is the transaction that will insert its row.';

COMMENT ON COLUMN public.idempotency_keys.principal_id IS 'Who sent it: the signed-in user''s id, or the org API key''s id (no foreign key: a row outlives neither by more than a day, and never answers anyone else).';

COMMENT ON COLUMN public.idempotency_keys.route IS 'The method and path the key was sent to, e.g. POST /api/v1/threads/<id>/messages.';

COMMENT ON COLUMN public.idempotency_keys.request_hash IS 'The SHA-256 of the request body: the same key with another body is refused (422).';

COMMENT ON COLUMN public.idempotency_keys.headers IS 'The answer''s headers that a replay repeats (content-type, location), by lower-case name.';

COMMENT ON COLUMN public.idempotency_keys.body IS 'The answer''s body, byte for byte.';

-- TABLE invitations

CREATE TABLE public.invitations (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    org_id uuid NOT NULL,
    email public.citext NOT NULL,
    role text DEFAULT 'member'::text NOT NULL,
    token_hash bytea NOT NULL,
    invited_by uuid,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    accepted_at timestamp with time zone,
    revoked_at timestamp with time zone,
    CONSTRAINT invitations_role_check CHECK ((role = ANY (ARRAY['owner'::text, 'admin'::text, 'member'::text]))),
    CONSTRAINT invitations_token_hash_check CHECK ((length(token_hash) = 32))
);

COMMENT ON TABLE public.invitations IS 'Invitations to join an org, accepted by a signed-in user with the same email.';

COMMENT ON COLUMN public.invitations.role IS 'The org role the invitee gets on accepting.';

COMMENT ON COLUMN public.invitations.token_hash IS 'SHA-256 of the token in the invitation link.';

COMMENT ON COLUMN public.invitations.invited_by IS 'The member who sent the invitation; null once that user is deleted.';

-- TABLE knowledge_base_files

CREATE TABLE public.knowledge_base_files (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    org_id uuid NOT NULL,
    knowledge_base_id uuid NOT NULL,
    status text DEFAULT 'pending'::text NOT NULL,
    error text,
    name text NOT NULL,
    mime_type text,
    size_bytes bigint,
    storage_uri text NOT NULL,
    checksum_sha256 text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT knowledge_base_files_checksum_sha256_check CHECK ((checksum_sha256 ~ '^[0-9a-f]{64}$'::text)),
    CONSTRAINT knowledge_base_files_size_bytes_check CHECK ((size_bytes >= 0)),
    CONSTRAINT knowledge_base_files_status_check CHECK ((status = ANY (ARRAY['pending'::text, 'processing'::text, 'ready'::text, 'failed'::text])))
);

COMMENT ON TABLE public.knowledge_base_files IS 'Uploaded documents of a knowledge base; the bytes live in storage_uri, their chunks come through the chunks API.';

COMMENT ON COLUMN public.knowledge_base_files.status IS 'pending until its chunks are stored through the chunks API or `agentpress kb ingest`, then ready.';

COMMENT ON COLUMN public.knowledge_base_files.storage_uri IS 'Where the file''s bytes are (s3://, file://, ...); the database never holds them.';

-- TABLE knowledge_base_freeform_texts

CREATE TABLE public.knowledge_base_freeform_texts (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    org_id uuid NOT NULL,
    knowledge_base_id uuid NOT NULL,
    status text DEFAULT 'pending'::text NOT NULL,
    error text,
    title text NOT NULL,
    content text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT knowledge_base_freeform_texts_status_check CHECK ((status = ANY (ARRAY['pending'::text, 'processing'::text, 'ready'::text, 'failed'::text])))
);

COMMENT ON TABLE public.knowledge_base_freeform_texts IS 'Texts written into a knowledge base; with EMBEDDINGS_URL set, the service chunks and embeds them.';

COMMENT ON COLUMN public.knowledge_base_freeform_texts.status IS 'pending after each change of content; processing while the embedder holds it (a lease counted from updated_at); ready once its chunks are stored; failed with error.';

-- TABLE knowledge_base_tables

CREATE TABLE public.knowledge_base_tables (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    org_id uuid NOT NULL,
    knowledge_base_id uuid NOT NULL,
    status text DEFAULT 'pending'::text NOT NULL,
    error text,
    name text NOT NULL,
    columns jsonb NOT NULL,
    rows jsonb DEFAULT '[]'::jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT knowledge_base_tables_columns_check CHECK ((jsonb_typeof(columns) = 'array'::text)),
    CONSTRAINT knowledge_base_tables_rows_check CHECK ((jsonb_typeof(rows) = 'array'::text)),
    CONSTRAINT knowledge_base_tables_status_check CHECK ((status = ANY (ARRAY['pending'::text, 'processing'::text, 'ready'::text, 'failed'::text])))
);

COMMENT ON TABLE public.knowledge_base_tables IS 'Tabular data in a knowledge base (columns and rows as JSON); with EMBEDDINGS_URL set, the service chunks and embeds them.';

COMMENT ON COLUMN public.knowledge_base_tables.status IS 'pending after each change of columns or rows; processing while the embedder holds it (a lease counted from updated_at); ready once its chunks are stored; failed with error.';

COMMENT ON COLUMN public.knowledge_base_tables.columns IS 'The columns, in order: [{"name": ..., "type": ...}].';

COMMENT ON COLUMN public.knowledge_base_tables.rows IS 'The rows, each an array of values in column order.';

-- TABLE knowledge_base_web_urls

CREATE TABLE public.knowledge_base_web_urls (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    org_id uuid NOT NULL,
    knowledge_base_id uuid NOT NULL,
    status text DEFAULT 'pending'::text NOT NULL,
    error text,
    url text NOT NULL,
    crawl_depth integer DEFAULT 0 NOT NULL,
    crawl_interval interval,
    last_crawled_at timestamp with time zone,
    next_crawl_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT knowledge_base_web_urls_crawl_depth_check CHECK (((crawl_depth >= 0) AND (crawl_depth <= 10))),
    CONSTRAINT knowledge_base_web_urls_crawl_interval_check CHECK ((crawl_interval > '00:00:00'::interval)),
    CONSTRAINT knowledge_base_web_urls_status_check CHECK ((status = ANY (ARRAY['pending'::text, 'processing'::text, 'ready'::text, 'failed'::text]))),
    CONSTRAINT knowledge_base_web_urls_url_check CHECK ((url ~ '^https?://'::text))
);

COMMENT ON TABLE public.knowledge_base_web_urls IS 'Web pages a crawler fetches into a knowledge base, optionally following links and again at an interval.';

COMMENT ON COLUMN public.knowledge_base_web_urls.crawl_depth IS 'How many links deep to follow from url: 0 is the page alone.';

COMMENT ON COLUMN public.knowledge_base_web_urls.crawl_interval IS 'How often to crawl again; null: once.';

COMMENT ON COLUMN public.knowledge_base_web_urls.next_crawl_at IS 'When a crawler should next fetch it; null: not due.';

-- TABLE knowledge_bases

CREATE TABLE public.knowledge_bases (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    org_id uuid NOT NULL,
    name text NOT NULL,
    description text,
    embedding_model text,
    is_enabled boolean DEFAULT true NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT knowledge_bases_name_check CHECK (((length(name) >= 1) AND (length(name) <= 200)))
);

COMMENT ON TABLE public.knowledge_bases IS 'An org''s searchable document collections (RAG): sources of four kinds, chunked into embeddings.';

COMMENT ON COLUMN public.knowledge_bases.embedding_model IS 'The model the chunks are embedded with (3072 dimensions), for the record; the service embeds with EMBEDDINGS_MODEL.';

-- TABLE messages

CREATE TABLE public.messages (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    org_id uuid NOT NULL,
    thread_id uuid NOT NULL,
    role text NOT NULL,
    parts jsonb NOT NULL,
    text_content text DEFAULT ''::text NOT NULL,
    text_search tsvector GENERATED ALWAYS AS (to_tsvector('english'::regconfig, text_content)) STORED,
    model text,
    input_tokens integer,
    output_tokens integer,
    created_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    CONSTRAINT messages_input_tokens_check CHECK ((input_tokens >= 0)),
    CONSTRAINT messages_output_tokens_check CHECK ((output_tokens >= 0)),
    CONSTRAINT messages_parts_check CHECK ((jsonb_typeof(parts) = 'array'::text)),
    CONSTRAINT messages_role_check CHECK ((role = ANY (ARRAY['user'::text, 'assistant'::text, 'system'::text, 'tool'::text])))
);

COMMENT ON TABLE public.messages IS 'The messages of threads, in order of created_at then id. org_id repeats the thread''s for the composite keys.';

COMMENT ON COLUMN public.messages.parts IS 'Typed parts: text {text}, reasoning {text}, tool_call {tool_call_id, tool_name, arguments}, tool_result {tool_call_id, tool_name, result, is_error}, file {name, mime_type, uri}. Validated by the service.';

COMMENT ON COLUMN public.messages.text_content IS 'The text of the text parts, for search.';

COMMENT ON COLUMN public.messages.text_search IS 'to_tsvector(''english'', text_content), stored for ranking; searched through messages_text_content_gin_idx.';

COMMENT ON COLUMN public.messages.model IS 'The model that wrote an assistant message.';

COMMENT ON COLUMN public.messages.input_tokens IS 'Tokens the model read to write this message, as its provider counted them.';

COMMENT ON COLUMN public.messages.output_tokens IS 'Tokens the model wrote for this message, as its provider counted them.';

-- TABLE model_providers

CREATE TABLE public.model_providers (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    org_id uuid NOT NULL,
    name text NOT NULL,
    kind text NOT NULL,
    base_url text,
    api_key bytea,
    is_enabled boolean DEFAULT true NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    api_key_env text,
    CONSTRAINT model_providers_api_key_env_check CHECK ((api_key_env ~ '^[A-Za-z_][A-Za-z0-9_]{0,127}$'::text)),
    CONSTRAINT model_providers_base_url_check CHECK ((base_url ~ '^https?://'::text)),
    CONSTRAINT model_providers_kind_check CHECK ((kind = ANY (ARRAY['anthropic'::text, 'openai'::text, 'openai_compatible'::text, 'google'::text, 'azure_openai'::text, 'bedrock'::text, 'ollama'::text]))),
    CONSTRAINT model_providers_name_check CHECK ((name ~ '^[a-z0-9][a-z0-9_.-]{0,63}$'::text))
);

COMMENT ON TABLE public.model_providers IS 'An org''s LLM providers: name is the org''s label (anthropic, openai, ...), kind the API it speaks.';

COMMENT ON COLUMN public.model_providers.base_url IS 'The API endpoint, for self-hosted and compatible providers; null: the kind''s default.';

COMMENT ON COLUMN public.model_providers.api_key IS 'Encrypted (Fernet, key from APP_SECRET_KEY); the API says only whether one is set.';

COMMENT ON COLUMN public.model_providers.api_key_env IS 'The environment variable a configuration import read the API key from (providers/<name>.yaml api_key_env); the name only, never the key.';

-- TABLE models

CREATE TABLE public.models (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    org_id uuid NOT NULL,
    provider_id uuid NOT NULL,
    name text NOT NULL,
    display_name text,
    base_model text,
    temperature double precision,
    max_tokens integer,
    is_enabled boolean DEFAULT true NOT NULL,
    is_default boolean DEFAULT false NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT models_max_tokens_check CHECK ((max_tokens > 0)),
    CONSTRAINT models_name_check CHECK (((length(name) >= 1) AND (length(name) <= 200))),
    CONSTRAINT models_temperature_check CHECK (((temperature >= (0)::double precision) AND (temperature <= (2)::double precision)))
);

COMMENT ON TABLE public.models IS 'The models an org has enabled, each at one of its providers; an agent''s primary_model must be one of the enabled ones once the org has any.';

COMMENT ON COLUMN public.models.name IS 'The provider''s model id, e.g. claude-3-sonnet.';

COMMENT ON COLUMN public.models.base_model IS 'The underlying model when name is an alias or variant (a deployment name, a fine-tune); informational.';

COMMENT ON COLUMN public.models.is_default IS 'The org''s default model; at most one per org (models_org_id_is_default_idx).';

-- TABLE oauth_connections

CREATE TABLE public.oauth_connections (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    user_id uuid NOT NULL,
    provider text NOT NULL,
    provider_id text NOT NULL,
    access_token bytea,
    refresh_token bytea,
    scopes text[] DEFAULT '{}'::text[] NOT NULL,
    expires_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    is_linked_unverified boolean DEFAULT false NOT NULL,
    CONSTRAINT oauth_connections_provider_check CHECK ((provider = ANY (ARRAY['github'::text, 'google'::text])))
);

COMMENT ON TABLE public.oauth_connections IS 'GitHub and Google identities linked to users: one user may have several, an identity belongs to one user.';

COMMENT ON COLUMN public.oauth_connections.provider_id IS 'The user''s id at the provider.';

COMMENT ON COLUMN public.oauth_connections.access_token IS 'Encrypted (Fernet, key from APP_SECRET_KEY); never returned by the API.';

COMMENT ON COLUMN public.oauth_connections.refresh_token IS 'Encrypted (Fernet, key from APP_SECRET_KEY); never returned by the API.';

COMMENT ON COLUMN public.oauth_connections.is_linked_unverified IS 'The user''s email was unverified when this link was made: a password reset removes the link.';

-- TABLE oauth_states

CREATE TABLE public.oauth_states (
    state_hash bytea NOT NULL,
    provider text NOT NULL,
    code_verifier bytea NOT NULL,
    browser_hash bytea NOT NULL,
    user_id uuid,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    CONSTRAINT oauth_states_provider_check CHECK ((provider = ANY (ARRAY['github'::text, 'google'::text]))),
    CONSTRAINT oauth_states_state_hash_check CHECK ((length(state_hash) = 32))
);

COMMENT ON TABLE public.oauth_states IS 'OAuth sign-ins in flight: the state (hashed), the PKCE verifier (encrypted), the hash of the nonce cookie of the browser that started it and, when linking, the signed-in user. Single use.';

-- TABLE org_members

CREATE TABLE public.org_members (
    org_id uuid NOT NULL,
    user_id uuid NOT NULL,
    role text DEFAULT 'member'::text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT org_members_role_check CHECK ((role = ANY (ARRAY['owner'::text, 'admin'::text, 'member'::text])))
);

COMMENT ON TABLE public.org_members IS 'Who belongs to which org, with their role there. The primary key serves an org''s members; org_members_user_id_idx a user''s orgs.';

COMMENT ON COLUMN public.org_members.role IS 'Role in this org: owner (every org keeps at least one), admin (manages members), member.';

-- TABLE orgs

CREATE TABLE public.orgs (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    name text NOT NULL,
    slug text NOT NULL,
    is_default boolean DEFAULT false NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT orgs_name_check CHECK (((length(name) >= 1) AND (length(name) <= 200))),
    CONSTRAINT orgs_slug_check CHECK (((slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'::text) AND (length(slug) <= 64)))
);

COMMENT ON TABLE public.orgs IS 'Tenants. Every tenant resource belongs to one org; is_default marks the org new users join.';

-- TABLE password_reset_requests

CREATE TABLE public.password_reset_requests (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    email public.citext NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT password_reset_requests_email_check CHECK ((length((email)::text) <= 320))
);

COMMENT ON TABLE public.password_reset_requests IS 'Password reset requests as they came, whether or not the address has an account; the service works through them in the background (the account lookup, the token, the mail) and deletes each.';

-- TABLE password_resets

CREATE TABLE public.password_resets (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    user_id uuid NOT NULL,
    token_hash bytea NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    used_at timestamp with time zone,
    CONSTRAINT password_resets_token_hash_check CHECK ((length(token_hash) = 32))
);

COMMENT ON TABLE public.password_resets IS 'Single-use password reset links, valid for an hour; only the token''s SHA-256 is stored.';

COMMENT ON COLUMN public.password_resets.used_at IS 'Set when the token is used, and when a newer token for the same user supersedes it.';

-- TABLE personas

CREATE TABLE public.personas (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    org_id uuid NOT NULL,
    name text NOT NULL,
    description text,
    prompt text,
    style jsonb DEFAULT '{}'::jsonb NOT NULL,
    avatar_url text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT personas_name_check CHECK (((length(name) >= 1) AND (length(name) <= 200))),
    CONSTRAINT personas_style_check CHECK ((jsonb_typeof(style) = 'object'::text))
);

COMMENT ON TABLE public.personas IS 'Reusable tone, style and prompt for an org''s agents; one in use by an agent cannot be deleted.';

COMMENT ON COLUMN public.personas.style IS 'Tone and style settings, e.g. {"tone": "friendly", "formality": "casual"}.';

-- TABLE schedules

CREATE TABLE public.schedules (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    org_id uuid NOT NULL,
    agent_id uuid NOT NULL,
    name text NOT NULL,
    kind text NOT NULL,
    run_at timestamp with time zone,
    cron text,
    timezone text,
    input jsonb DEFAULT '{}'::jsonb NOT NULL,
    is_enabled boolean DEFAULT true NOT NULL,
    next_run_at timestamp with time zone,
    last_run_at timestamp with time zone,
    created_by uuid,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT schedules_kind_check CHECK ((((kind = 'once'::text) AND (run_at IS NOT NULL) AND (cron IS NULL)) OR ((kind = 'cron'::text) AND (cron IS NOT NULL) AND (timezone IS NOT NULL) AND (run_at IS NULL)))),
    CONSTRAINT schedules_name_check CHECK (((length(name) >= 1) AND (length(name) <= 200)))
);

COMMENT ON TABLE public.schedules IS 'Templates that queue a task for their agent with their input: once at run_at, or on a cron expression in a timezone.';

COMMENT ON COLUMN public.schedules.cron IS 'A cron expression (stepped with croniter) read in timezone; only for kind cron.';

COMMENT ON COLUMN public.schedules.timezone IS 'The IANA time zone the cron expression is read in, e.g. Europe/Paris.';

COMMENT ON COLUMN public.schedules.input IS 'The input of every task the schedule queues.';

COMMENT ON COLUMN public.schedules.next_run_at IS 'The next occurrence to turn into a task; the scheduler advances it in the transaction that creates the task. Null once a one-time schedule has fired.';

COMMENT ON COLUMN public.schedules.last_run_at IS 'When the scheduler last queued a task for it.';

-- TABLE sessions

CREATE TABLE public.sessions (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    user_id uuid NOT NULL,
    token_hash bytea NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    last_seen_at timestamp with time zone DEFAULT now() NOT NULL,
    revoked_at timestamp with time zone,
    user_agent text,
    ip inet,
    CONSTRAINT sessions_token_hash_check CHECK ((length(token_hash) = 32))
);

COMMENT ON TABLE public.sessions IS 'Signed-in sessions; the bearer token is never stored, only its SHA-256.';

COMMENT ON COLUMN public.sessions.token_hash IS 'SHA-256 of the bearer token; the token itself is only ever in the client''s hands.';

COMMENT ON COLUMN public.sessions.last_seen_at IS 'When the session last authenticated a request.';

COMMENT ON COLUMN public.sessions.revoked_at IS 'Set by sign-out, revocation, a password reset or disabling the user; the token is refused from then on.';

-- TABLE task_claim_turns

CREATE TABLE public.task_claim_turns (
    org_id uuid NOT NULL,
    last_claimed_at timestamp with time zone NOT NULL
);

COMMENT ON TABLE public.task_claim_turns IS 'One row per org whose tasks a claim has taken, written by claim_tasks in the same statement: orgs without a row, then the least recently served, are served first. Losing the rows only resets the rotation.';

-- TABLE tasks

CREATE TABLE public.tasks (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    org_id uuid NOT NULL,
    agent_id uuid NOT NULL,
    schedule_id uuid,
    thread_id uuid,
    status text DEFAULT 'queued'::text NOT NULL,
    input jsonb DEFAULT '{}'::jsonb NOT NULL,
    output jsonb,
    error text,
    attempt integer DEFAULT 0 NOT NULL,
    max_attempts integer DEFAULT 3 NOT NULL,
    priority integer DEFAULT 0 NOT NULL,
    run_after timestamp with time zone DEFAULT now() NOT NULL,
    claimed_by text,
    lease_expires_at timestamp with time zone,
    queued_at timestamp with time zone DEFAULT now() NOT NULL,
    started_at timestamp with time zone,
    finished_at timestamp with time zone,
    created_by uuid,
    lease_token_hash bytea,
    CONSTRAINT tasks_attempt_check CHECK ((attempt >= 0)),
    CONSTRAINT tasks_max_attempts_check CHECK (((max_attempts >= 1) AND (max_attempts <= 100))),
    CONSTRAINT tasks_running_check CHECK (((status <> 'running'::text) OR ((claimed_by IS NOT NULL) AND (lease_expires_at IS NOT NULL)))),
    CONSTRAINT tasks_status_check CHECK ((status = ANY (ARRAY['queued'::text, 'running'::text, 'succeeded'::text, 'failed'::text, 'cancelled'::text])))
);

COMMENT ON TABLE public.tasks IS 'Executions of an agent with an input: a queue that workers claim under a lease (FOR UPDATE SKIP LOCKED), retried with backoff.';

COMMENT ON COLUMN public.tasks.schedule_id IS 'The schedule that queued the task; null when queued directly or once the schedule is deleted.';

COMMENT ON COLUMN public.tasks.thread_id IS 'The conversation the task runs in, if any; null once that thread is deleted.';

COMMENT ON COLUMN public.tasks.output IS 'What the worker reported on success.';

COMMENT ON COLUMN public.tasks.error IS 'The last failure''s message.';

COMMENT ON COLUMN public.tasks.attempt IS 'Claims so far; a retryable failure queues the task again while attempt < max_attempts.';

COMMENT ON COLUMN public.tasks.priority IS 'Higher runs first; within a priority, the oldest first.';

COMMENT ON COLUMN public.tasks.run_after IS 'Not claimed before this time: when it was queued for, or the retry backoff.';

COMMENT ON COLUMN public.tasks.claimed_by IS 'The worker holding (or last holding) the task, as named to the claim.';

COMMENT ON COLUMN public.tasks.lease_expires_at IS 'A running task whose lease has passed is claimable again: its worker is presumed gone. Heartbeats extend it.';

COMMENT ON COLUMN public.tasks.lease_token_hash IS 'The SHA-256 of the lease token the last claim returned; heartbeat, complete and fail must present the token. Cleared when the task leaves running.';

-- TABLE threads

CREATE TABLE public.threads (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    org_id uuid NOT NULL,
    user_id uuid NOT NULL,
    agent_id uuid,
    name text DEFAULT 'New thread'::text NOT NULL,
    message_count integer DEFAULT 0 NOT NULL,
    last_message_at timestamp with time zone,
    is_archived boolean DEFAULT false NOT NULL,
    metadata jsonb DEFAULT '{}'::jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT threads_message_count_check CHECK ((message_count >= 0)),
    CONSTRAINT threads_metadata_check CHECK ((jsonb_typeof(metadata) = 'object'::text)),
    CONSTRAINT threads_name_check CHECK (((length(name) >= 1) AND (length(name) <= 500)))
);

COMMENT ON TABLE public.threads IS 'A user''s conversations in an org, optionally with an agent; only their owner sees them.';

COMMENT ON COLUMN public.threads.message_count IS 'Kept by the appends and deletes of messages, in their transactions, under the thread''s row lock.';

COMMENT ON COLUMN public.threads.last_message_at IS 'created_at of the newest message; kept with message_count under the thread''s row lock.';

COMMENT ON COLUMN public.threads.metadata IS 'The client''s own data about the thread (a JSON object), stored as given.';

-- TABLE tools

CREATE TABLE public.tools (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    org_id uuid NOT NULL,
    name text NOT NULL,
    description text,
    kind text NOT NULL,
    parameters jsonb DEFAULT '{"type": "object"}'::jsonb NOT NULL,
    config jsonb DEFAULT '{}'::jsonb NOT NULL,
    is_enabled boolean DEFAULT true NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT tools_config_check CHECK ((jsonb_typeof(config) = 'object'::text)),
    CONSTRAINT tools_kind_check CHECK ((kind = ANY (ARRAY['function'::text, 'http'::text, 'mcp'::text]))),
    CONSTRAINT tools_name_check CHECK ((name ~ '^[A-Za-z0-9_-]{1,64}$'::text)),
    CONSTRAINT tools_parameters_check CHECK ((jsonb_typeof(parameters) = 'object'::text))
);

COMMENT ON TABLE public.tools IS 'Tools an org''s agents may call, with the JSON Schema of their arguments; agent_tools says which agent has which.';

COMMENT ON COLUMN public.tools.name IS 'The name the model calls the tool by; unique in the org.';

COMMENT ON COLUMN public.tools.kind IS 'How the tool is invoked: function, http or mcp; config holds what that kind needs.';

COMMENT ON COLUMN public.tools.parameters IS 'A JSON Schema of the tool''s arguments, checked by the service before it is stored.';

-- TABLE users

CREATE TABLE public.users (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    email public.citext NOT NULL,
    username public.citext,
    first_name text,
    last_name text,
    display_name text,
    avatar_url text,
    github_id text,
    github_username text,
    google_id text,
    password_hash text,
    role text DEFAULT 'guest'::text NOT NULL,
    provider text DEFAULT 'email'::text NOT NULL,
    is_email_verified boolean DEFAULT false NOT NULL,
    is_disabled boolean DEFAULT false NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT users_email_check CHECK ((((length((email)::text) >= 3) AND (length((email)::text) <= 320)) AND (POSITION(('@'::text) IN (email)) > 1))),
    CONSTRAINT users_provider_check CHECK ((provider = ANY (ARRAY['email'::text, 'github'::text, 'google'::text]))),
    CONSTRAINT users_role_check CHECK ((role = ANY (ARRAY['admin'::text, 'user'::text, 'guest'::text])))
);

COMMENT ON TABLE public.users IS 'People who sign in. email and username are citext: unique regardless of case.';

COMMENT ON COLUMN public.users.github_id IS 'The GitHub account id (stable, unlike github_username); set by GitHub sign-in or linking.';

COMMENT ON COLUMN public.users.google_id IS 'The Google account id (the OpenID subject); set by Google sign-in or linking.';

COMMENT ON COLUMN public.users.password_hash IS 'argon2id (PHC string); bcrypt hashes imported from AgentPress verify and are re-hashed at the next sign-in. NULL for OAuth-only users.';

COMMENT ON COLUMN public.users.role IS 'Platform role: admin manages users and may act in every org; user may create orgs; guest only reads.';

COMMENT ON COLUMN public.users.provider IS 'How the user signed up: email (password), github or google. Other sign-in methods may be linked later.';

COMMENT ON COLUMN public.users.is_disabled IS 'A disabled user cannot sign in; disabling ends their sessions.';

-- CONSTRAINT agent_config_ids agent_config_ids_agent_id_org_id_key

ALTER TABLE ONLY public.agent_config_ids
    ADD CONSTRAINT agent_config_ids_agent_id_org_id_key UNIQUE (agent_id, org_id);

-- CONSTRAINT agent_config_ids agent_config_ids_pkey

ALTER TABLE ONLY public.agent_config_ids
    ADD CONSTRAINT agent_config_ids_pkey PRIMARY KEY (org_id, config_id);

-- CONSTRAINT agent_knowledge_bases agent_knowledge_bases_pkey

ALTER TABLE ONLY public.agent_knowledge_bases
    ADD CONSTRAINT agent_knowledge_bases_pkey PRIMARY KEY (agent_id, knowledge_base_id, org_id);

-- CONSTRAINT agent_tools agent_tools_pkey

ALTER TABLE ONLY public.agent_tools
    ADD CONSTRAINT agent_tools_pkey PRIMARY KEY (agent_id, tool_id, org_id);

-- CONSTRAINT agent_versions agent_versions_pkey

ALTER TABLE ONLY public.agent_versions
    ADD CONSTRAINT agent_versions_pkey PRIMARY KEY (agent_id, version, org_id);

-- CONSTRAINT agents agents_pkey

ALTER TABLE ONLY public.agents
    ADD CONSTRAINT agents_pkey PRIMARY KEY (id, org_id);

-- CONSTRAINT analytics_daily analytics_daily_org_id_day_agent_id_key

ALTER TABLE ONLY public.analytics_daily
    ADD CONSTRAINT analytics_daily_org_id_day_agent_id_key UNIQUE NULLS NOT DISTINCT (org_id, day, agent_id);

-- CONSTRAINT analytics_daily_tools analytics_daily_tools_pkey

ALTER TABLE ONLY public.analytics_daily_tools
    ADD CONSTRAINT analytics_daily_tools_pkey PRIMARY KEY (org_id, day, tool_name);

-- CONSTRAINT analytics_daily_users analytics_daily_users_org_id_day_agent_id_user_id_key

ALTER TABLE ONLY public.analytics_daily_users
    ADD CONSTRAINT analytics_daily_users_org_id_day_agent_id_user_id_key UNIQUE NULLS NOT DISTINCT (org_id, day, agent_id, user_id);

-- CONSTRAINT analytics_refreshes analytics_refreshes_pkey

ALTER TABLE ONLY public.analytics_refreshes
    ADD CONSTRAINT analytics_refreshes_pkey PRIMARY KEY (org_id);

-- CONSTRAINT api_keys api_keys_pkey

ALTER TABLE ONLY public.api_keys
    ADD CONSTRAINT api_keys_pkey PRIMARY KEY (id, org_id);

-- CONSTRAINT api_keys api_keys_token_hash_key

ALTER TABLE ONLY public.api_keys
    ADD CONSTRAINT api_keys_token_hash_key UNIQUE (token_hash);

-- CONSTRAINT channels channels_org_id_name_key

ALTER TABLE ONLY public.channels
    ADD CONSTRAINT channels_org_id_name_key UNIQUE (org_id, name);

-- CONSTRAINT channels channels_pkey

ALTER TABLE ONLY public.channels
    ADD CONSTRAINT channels_pkey PRIMARY KEY (id, org_id);

-- CONSTRAINT email_outbox email_outbox_pkey

ALTER TABLE ONLY public.email_outbox
    ADD CONSTRAINT email_outbox_pkey PRIMARY KEY (id);

-- CONSTRAINT email_verifications email_verifications_pkey

ALTER TABLE ONLY public.email_verifications
    ADD CONSTRAINT email_verifications_pkey PRIMARY KEY (id);

-- CONSTRAINT email_verifications email_verifications_token_hash_key

ALTER TABLE ONLY public.email_verifications
    ADD CONSTRAINT email_verifications_token_hash_key UNIQUE (token_hash);

-- CONSTRAINT embeddings embeddings_pkey

ALTER TABLE ONLY public.embeddings
    ADD CONSTRAINT embeddings_pkey PRIMARY KEY (id, org_id);

-- CONSTRAINT feedback feedback_message_id_user_id_org_id_key

ALTER TABLE ONLY public.feedback
    ADD CONSTRAINT feedback_message_id_user_id_org_id_key UNIQUE (message_id, user_id, org_id);

-- CONSTRAINT feedback feedback_pkey

ALTER TABLE ONLY public.feedback
    ADD CONSTRAINT feedback_pkey PRIMARY KEY (id, org_id);

-- CONSTRAINT idempotency_keys idempotency_keys_pkey

ALTER TABLE ONLY public.idempotency_keys
    ADD CONSTRAINT idempotency_keys_pkey PRIMARY KEY (org_id, principal_id, route, idempotency_key);

-- CONSTRAINT invitations invitations_pkey

ALTER TABLE ONLY public.invitations
    ADD CONSTRAINT invitations_pkey PRIMARY KEY (id, org_id);

-- CONSTRAINT invitations invitations_token_hash_key

ALTER TABLE ONLY public.invitations
    ADD CONSTRAINT invitations_token_hash_key UNIQUE (token_hash);

-- CONSTRAINT knowledge_base_files knowledge_base_files_id_knowledge_base_id_org_id_key

ALTER TABLE ONLY public.knowledge_base_files
    ADD CONSTRAINT knowledge_base_files_id_knowledge_base_id_org_id_key UNIQUE (id, knowledge_base_id, org_id);

-- CONSTRAINT knowledge_base_files knowledge_base_files_pkey

ALTER TABLE ONLY public.knowledge_base_files
    ADD CONSTRAINT knowledge_base_files_pkey PRIMARY KEY (id, org_id);

-- CONSTRAINT knowledge_base_freeform_texts knowledge_base_freeform_texts_id_knowledge_base_id_org_id_key

ALTER TABLE ONLY public.knowledge_base_freeform_texts
    ADD CONSTRAINT knowledge_base_freeform_texts_id_knowledge_base_id_org_id_key UNIQUE (id, knowledge_base_id, org_id);

-- CONSTRAINT knowledge_base_freeform_texts knowledge_base_freeform_texts_pkey

ALTER TABLE ONLY public.knowledge_base_freeform_texts
    ADD CONSTRAINT knowledge_base_freeform_texts_pkey PRIMARY KEY (id, org_id);

-- CONSTRAINT knowledge_base_tables knowledge_base_tables_id_knowledge_base_id_org_id_key

ALTER TABLE ONLY public.knowledge_base_tables
    ADD CONSTRAINT knowledge_base_tables_id_knowledge_base_id_org_id_key UNIQUE (id, knowledge_base_id, org_id);

-- CONSTRAINT knowledge_base_tables knowledge_base_tables_pkey

ALTER TABLE ONLY public.knowledge_base_tables
    ADD CONSTRAINT knowledge_base_tables_pkey PRIMARY KEY (id, org_id);

-- CONSTRAINT knowledge_base_web_urls knowledge_base_web_urls_id_knowledge_base_id_org_id_key

ALTER TABLE ONLY public.knowledge_base_web_urls
    ADD CONSTRAINT knowledge_base_web_urls_id_knowledge_base_id_org_id_key UNIQUE (id, knowledge_base_id, org_id);

-- CONSTRAINT knowledge_base_web_urls knowledge_base_web_urls_pkey

ALTER TABLE ONLY public.knowledge_base_web_urls
    ADD CONSTRAINT knowledge_base_web_urls_pkey PRIMARY KEY (id, org_id);

-- CONSTRAINT knowledge_bases knowledge_bases_pkey

ALTER TABLE ONLY public.knowledge_bases
    ADD CONSTRAINT knowledge_bases_pkey PRIMARY KEY (id, org_id);

-- CONSTRAINT messages messages_pkey

ALTER TABLE ONLY public.messages
    ADD CONSTRAINT messages_pkey PRIMARY KEY (id, org_id);

-- CONSTRAINT model_providers model_providers_org_id_name_key

ALTER TABLE ONLY public.model_providers
    ADD CONSTRAINT model_providers_org_id_name_key UNIQUE (org_id, name);

-- CONSTRAINT model_providers model_providers_pkey

ALTER TABLE ONLY public.model_providers
    ADD CONSTRAINT model_providers_pkey PRIMARY KEY (id, org_id);

-- CONSTRAINT models models_org_id_provider_id_name_key

ALTER TABLE ONLY public.models
    ADD CONSTRAINT models_org_id_provider_id_name_key UNIQUE (org_id, provider_id, name);

-- CONSTRAINT models models_pkey

ALTER TABLE ONLY public.models
    ADD CONSTRAINT models_pkey PRIMARY KEY (id, org_id);

-- CONSTRAINT oauth_connections oauth_connections_pkey

ALTER TABLE ONLY public.oauth_connections
    ADD CONSTRAINT oauth_connections_pkey PRIMARY KEY (id);

-- CONSTRAINT oauth_connections oauth_connections_provider_provider_id_key

ALTER TABLE ONLY public.oauth_connections
    ADD CONSTRAINT oauth_connections_provider_provider_id_key UNIQUE (provider, provider_id);

-- CONSTRAINT oauth_states oauth_states_pkey

ALTER TABLE ONLY public.oauth_states
    ADD CONSTRAINT oauth_states_pkey PRIMARY KEY (state_hash);

-- CONSTRAINT org_members org_members_pkey

ALTER TABLE ONLY public.org_members
    ADD CONSTRAINT org_members_pkey PRIMARY KEY (org_id, user_id);

-- CONSTRAINT orgs orgs_pkey

ALTER TABLE ONLY public.orgs
    ADD CONSTRAINT orgs_pkey PRIMARY KEY (id);

-- CONSTRAINT orgs orgs_slug_key

ALTER TABLE ONLY public.orgs
    ADD CONSTRAINT orgs_slug_key UNIQUE (slug);

-- CONSTRAINT password_reset_requests password_reset_requests_pkey

ALTER TABLE ONLY public.password_reset_requests
    ADD CONSTRAINT password_reset_requests_pkey PRIMARY KEY (id);

-- CONSTRAINT password_resets password_resets_pkey

ALTER TABLE ONLY public.password_resets
    ADD CONSTRAINT password_resets_pkey PRIMARY KEY (id);

-- CONSTRAINT password_resets password_resets_token_hash_key

ALTER TABLE ONLY public.password_resets
    ADD CONSTRAINT password_resets_token_hash_key UNIQUE (token_hash);

-- CONSTRAINT personas personas_pkey

ALTER TABLE ONLY public.personas
    ADD CONSTRAINT personas_pkey PRIMARY KEY (id, org_id);

-- CONSTRAINT schedules schedules_pkey

ALTER TABLE ONLY public.schedules
    ADD CONSTRAINT schedules_pkey PRIMARY KEY (id, org_id);

-- CONSTRAINT sessions sessions_pkey

ALTER TABLE ONLY public.sessions
    ADD CONSTRAINT sessions_pkey PRIMARY KEY (id);

-- CONSTRAINT sessions sessions_token_hash_key

ALTER TABLE ONLY public.sessions
    ADD CONSTRAINT sessions_token_hash_key UNIQUE (token_hash);

-- CONSTRAINT task_claim_turns task_claim_turns_pkey

ALTER TABLE ONLY public.task_claim_turns
    ADD CONSTRAINT task_claim_turns_pkey PRIMARY KEY (org_id);

-- CHECK CONSTRAINT tasks tasks_lease_token_hash_check

ALTER TABLE public.tasks
    ADD CONSTRAINT tasks_lease_token_hash_check CHECK ((length(lease_token_hash) = 32)) NOT VALID;

-- CONSTRAINT tasks tasks_pkey

ALTER TABLE ONLY public.tasks
    ADD CONSTRAINT tasks_pkey PRIMARY KEY (id, org_id);

-- CONSTRAINT threads threads_pkey

ALTER TABLE ONLY public.threads
    ADD CONSTRAINT threads_pkey PRIMARY KEY (id, org_id);

-- CONSTRAINT tools tools_org_id_name_key

ALTER TABLE ONLY public.tools
    ADD CONSTRAINT tools_org_id_name_key UNIQUE (org_id, name);

-- CONSTRAINT tools tools_pkey

ALTER TABLE ONLY public.tools
    ADD CONSTRAINT tools_pkey PRIMARY KEY (id, org_id);

-- CONSTRAINT users users_email_key

ALTER TABLE ONLY public.users
    ADD CONSTRAINT users_email_key UNIQUE (email);

-- CONSTRAINT users users_github_id_key

ALTER TABLE ONLY public.users
    ADD CONSTRAINT users_github_id_key UNIQUE (github_id);

-- CONSTRAINT users users_google_id_key

ALTER TABLE ONLY public.users
    ADD CONSTRAINT users_google_id_key UNIQUE (google_id);

-- CONSTRAINT users users_pkey

ALTER TABLE ONLY public.users
    ADD CONSTRAINT users_pkey PRIMARY KEY (id);

-- CONSTRAINT users users_username_key

ALTER TABLE ONLY public.users
    ADD CONSTRAINT users_username_key UNIQUE (username);

-- INDEX agent_knowledge_bases_knowledge_base_id_idx

CREATE INDEX agent_knowledge_bases_knowledge_base_id_idx ON public.agent_knowledge_bases USING btree (knowledge_base_id);

-- INDEX agent_tools_tool_id_idx

CREATE INDEX agent_tools_tool_id_idx ON public.agent_tools USING btree (tool_id);

-- INDEX agents_name_trgm_idx

CREATE INDEX agents_name_trgm_idx ON public.agents USING gin (name public.gin_trgm_ops);

COMMENT ON INDEX public.agents_name_trgm_idx IS 'Substring search of agent names (search_agents, a custom plan for the pattern): held on 100,000 agents by test_the_name_search_uses_the_trigram_index_on_100k_agents.';

-- INDEX agents_org_id_created_at_idx

CREATE INDEX agents_org_id_created_at_idx ON public.agents USING btree (org_id, created_at DESC, id DESC);

-- INDEX agents_persona_id_idx

CREATE INDEX agents_persona_id_idx ON public.agents USING btree (persona_id) WHERE (persona_id IS NOT NULL);

-- INDEX api_keys_created_by_idx

CREATE INDEX api_keys_created_by_idx ON public.api_keys USING btree (created_by) WHERE (created_by IS NOT NULL);

COMMENT ON INDEX public.api_keys_created_by_idx IS 'Deleting a user clears the created_by of the keys they made (api_keys_created_by_fkey ON DELETE SET NULL).';

-- INDEX api_keys_org_id_created_at_idx

CREATE INDEX api_keys_org_id_created_at_idx ON public.api_keys USING btree (org_id, created_at DESC, id DESC);

COMMENT ON INDEX public.api_keys_org_id_created_at_idx IS 'An org''s keys, newest first (list_api_keys, count_api_keys), and the cascade when an org is deleted.';

-- INDEX channels_agent_id_idx

CREATE INDEX channels_agent_id_idx ON public.channels USING btree (agent_id) WHERE (agent_id IS NOT NULL);

COMMENT ON INDEX public.channels_agent_id_idx IS 'Deleting an agent clears its channels'' agent_id (channels_agent_id_fkey ON DELETE SET NULL).';

-- INDEX email_outbox_unsent_idx

CREATE INDEX email_outbox_unsent_idx ON public.email_outbox USING btree (next_attempt_at) WHERE (sent_at IS NULL);

-- INDEX email_verifications_user_id_idx

CREATE INDEX email_verifications_user_id_idx ON public.email_verifications USING btree (user_id) WHERE (used_at IS NULL);

COMMENT ON INDEX public.email_verifications_user_id_idx IS 'A user''s live tokens, superseded by each new one.';

-- INDEX embeddings_embedding_hnsw_idx

CREATE INDEX embeddings_embedding_hnsw_idx ON public.embeddings USING hnsw (embedding public.halfvec_cosine_ops) WITH (m='16', ef_construction='128');

COMMENT ON INDEX public.embeddings_embedding_hnsw_idx IS 'Vector search (search_chunks_by_vector): held on 5,000 vectors of 3072 dimensions by tests/sql/test_kb_search_recall.py, which the realistic data set has none of.';

-- INDEX embeddings_file_id_chunk_index_org_id_idx

CREATE UNIQUE INDEX embeddings_file_id_chunk_index_org_id_idx ON public.embeddings USING btree (file_id, chunk_index, org_id) WHERE (file_id IS NOT NULL);

COMMENT ON INDEX public.embeddings_file_id_chunk_index_org_id_idx IS 'One chunk per index of a file; replacing a file''s chunks deletes them by file_id, as does the cascade from knowledge_base_files.';

-- INDEX embeddings_freeform_text_id_chunk_index_org_id_idx

CREATE UNIQUE INDEX embeddings_freeform_text_id_chunk_index_org_id_idx ON public.embeddings USING btree (freeform_text_id, chunk_index, org_id) WHERE (freeform_text_id IS NOT NULL);

COMMENT ON INDEX public.embeddings_freeform_text_id_chunk_index_org_id_idx IS 'One chunk per index of a freeform text; replacing its chunks deletes them by freeform_text_id, as does the cascade.';

-- INDEX embeddings_knowledge_base_id_idx

CREATE INDEX embeddings_knowledge_base_id_idx ON public.embeddings USING btree (knowledge_base_id);

COMMENT ON INDEX public.embeddings_knowledge_base_id_idx IS 'Deleting a knowledge base deletes its chunks (cascade), and searches filtered to knowledge bases read them by it.';

-- INDEX embeddings_table_id_chunk_index_org_id_idx

CREATE UNIQUE INDEX embeddings_table_id_chunk_index_org_id_idx ON public.embeddings USING btree (table_id, chunk_index, org_id) WHERE (table_id IS NOT NULL);

COMMENT ON INDEX public.embeddings_table_id_chunk_index_org_id_idx IS 'One chunk per index of a table source; replacing its chunks deletes them by table_id, as does the cascade.';

-- INDEX embeddings_text_search_gin_idx

CREATE INDEX embeddings_text_search_gin_idx ON public.embeddings USING gin (text_search);

COMMENT ON INDEX public.embeddings_text_search_gin_idx IS 'Full-text search over chunks (search_chunks_by_text, run unprepared): held by tests/sql/test_kb_search_recall.py, beside the vector index.';

-- INDEX embeddings_web_url_id_chunk_index_org_id_idx

CREATE UNIQUE INDEX embeddings_web_url_id_chunk_index_org_id_idx ON public.embeddings USING btree (web_url_id, chunk_index, org_id) WHERE (web_url_id IS NOT NULL);

COMMENT ON INDEX public.embeddings_web_url_id_chunk_index_org_id_idx IS 'One chunk per index of a web URL; replacing its chunks deletes them by web_url_id, as does the cascade.';

-- INDEX feedback_org_id_updated_at_idx

CREATE INDEX feedback_org_id_updated_at_idx ON public.feedback USING btree (org_id, updated_at);

-- INDEX feedback_user_id_idx

CREATE INDEX feedback_user_id_idx ON public.feedback USING btree (user_id);

COMMENT ON INDEX public.feedback_user_id_idx IS 'Deleting a user deletes their ratings (feedback_user_id_fkey ON DELETE CASCADE).';

-- INDEX idempotency_keys_expires_at_idx

CREATE INDEX idempotency_keys_expires_at_idx ON public.idempotency_keys USING btree (expires_at);

COMMENT ON INDEX public.idempotency_keys_expires_at_idx IS 'The expired rows, oldest first, for the background purge (delete_expired_idempotency_keys).';

-- INDEX invitations_org_id_created_at_idx

CREATE INDEX invitations_org_id_created_at_idx ON public.invitations USING btree (org_id, created_at DESC);

-- INDEX knowledge_base_files_knowledge_base_id_created_at_idx

CREATE INDEX knowledge_base_files_knowledge_base_id_created_at_idx ON public.knowledge_base_files USING btree (knowledge_base_id, created_at DESC, id DESC);

-- INDEX knowledge_base_freeform_texts_knowledge_base_id_created_at_idx

CREATE INDEX knowledge_base_freeform_texts_knowledge_base_id_created_at_idx ON public.knowledge_base_freeform_texts USING btree (knowledge_base_id, created_at DESC, id DESC);

-- INDEX knowledge_base_tables_knowledge_base_id_created_at_idx

CREATE INDEX knowledge_base_tables_knowledge_base_id_created_at_idx ON public.knowledge_base_tables USING btree (knowledge_base_id, created_at DESC, id DESC);

-- INDEX knowledge_base_web_urls_knowledge_base_id_created_at_idx

CREATE INDEX knowledge_base_web_urls_knowledge_base_id_created_at_idx ON public.knowledge_base_web_urls USING btree (knowledge_base_id, created_at DESC, id DESC);

-- INDEX knowledge_base_web_urls_next_crawl_at_idx

CREATE INDEX knowledge_base_web_urls_next_crawl_at_idx ON public.knowledge_base_web_urls USING btree (next_crawl_at) WHERE (next_crawl_at IS NOT NULL);

COMMENT ON INDEX public.knowledge_base_web_urls_next_crawl_at_idx IS 'The web URLs due for crawling, for the crawler that reads next_crawl_at.';

-- INDEX knowledge_bases_org_id_created_at_idx

CREATE INDEX knowledge_bases_org_id_created_at_idx ON public.knowledge_bases USING btree (org_id, created_at DESC, id DESC);

-- INDEX messages_org_id_created_at_idx

CREATE INDEX messages_org_id_created_at_idx ON public.messages USING btree (org_id, created_at);

-- INDEX messages_text_content_gin_idx

CREATE INDEX messages_text_content_gin_idx ON public.messages USING gin (text_search);

-- INDEX messages_thread_id_created_at_idx

CREATE INDEX messages_thread_id_created_at_idx ON public.messages USING btree (thread_id, created_at, id);

-- INDEX models_org_id_is_default_idx

CREATE UNIQUE INDEX models_org_id_is_default_idx ON public.models USING btree (org_id) WHERE is_default;

-- INDEX models_provider_id_idx

CREATE INDEX models_provider_id_idx ON public.models USING btree (provider_id);

COMMENT ON INDEX public.models_provider_id_idx IS 'Deleting a model provider deletes its models (models_provider_id_fkey ON DELETE CASCADE).';

-- INDEX oauth_connections_user_id_idx

CREATE INDEX oauth_connections_user_id_idx ON public.oauth_connections USING btree (user_id);

COMMENT ON INDEX public.oauth_connections_user_id_idx IS 'Deleting a user deletes their OAuth links (cascade), and a user''s links are read by user.';

-- INDEX oauth_states_expires_at_idx

CREATE INDEX oauth_states_expires_at_idx ON public.oauth_states USING btree (expires_at);

-- INDEX org_members_user_id_idx

CREATE INDEX org_members_user_id_idx ON public.org_members USING btree (user_id, org_id);

-- INDEX orgs_is_default_idx

CREATE UNIQUE INDEX orgs_is_default_idx ON public.orgs USING btree (is_default) WHERE is_default;

COMMENT ON INDEX public.orgs_is_default_idx IS 'At most one default org: unique over the rows where is_default.';

-- INDEX password_reset_requests_created_at_idx

CREATE INDEX password_reset_requests_created_at_idx ON public.password_reset_requests USING btree (created_at);

COMMENT ON INDEX public.password_reset_requests_created_at_idx IS 'The oldest request first.';

-- INDEX password_resets_user_id_idx

CREATE INDEX password_resets_user_id_idx ON public.password_resets USING btree (user_id) WHERE (used_at IS NULL);

-- INDEX personas_org_id_created_at_idx

CREATE INDEX personas_org_id_created_at_idx ON public.personas USING btree (org_id, created_at DESC);

-- INDEX schedules_next_run_at_idx

CREATE INDEX schedules_next_run_at_idx ON public.schedules USING btree (next_run_at) WHERE (is_enabled AND (next_run_at IS NOT NULL));

-- INDEX schedules_org_id_created_at_idx

CREATE INDEX schedules_org_id_created_at_idx ON public.schedules USING btree (org_id, created_at DESC, id DESC);

-- INDEX sessions_user_id_created_at_idx

CREATE INDEX sessions_user_id_created_at_idx ON public.sessions USING btree (user_id, created_at DESC);

-- INDEX tasks_agent_id_queued_at_idx

CREATE INDEX tasks_agent_id_queued_at_idx ON public.tasks USING btree (agent_id, queued_at DESC);

COMMENT ON INDEX public.tasks_agent_id_queued_at_idx IS 'A listing of one agent''s tasks, newest first (list_tasks with agent_id), and the cascade when an agent is deleted.';

-- INDEX tasks_lease_expires_at_idx

CREATE INDEX tasks_lease_expires_at_idx ON public.tasks USING btree (lease_expires_at) WHERE (status = 'running'::text);

-- INDEX tasks_org_id_finished_at_idx

CREATE INDEX tasks_org_id_finished_at_idx ON public.tasks USING btree (org_id, finished_at) WHERE (status = ANY (ARRAY['succeeded'::text, 'failed'::text]));

-- INDEX tasks_org_id_queue_idx

CREATE INDEX tasks_org_id_queue_idx ON public.tasks USING btree (org_id, priority DESC, run_after, queued_at) WHERE (status = 'queued'::text);

-- INDEX tasks_org_id_queued_at_idx

CREATE INDEX tasks_org_id_queued_at_idx ON public.tasks USING btree (org_id, queued_at DESC, id DESC);

-- INDEX tasks_schedule_id_queued_at_idx

CREATE INDEX tasks_schedule_id_queued_at_idx ON public.tasks USING btree (schedule_id, queued_at DESC) WHERE (schedule_id IS NOT NULL);

COMMENT ON INDEX public.tasks_schedule_id_queued_at_idx IS 'A listing of one schedule''s tasks, newest first (list_tasks with schedule_id), and ON DELETE SET NULL from schedules.';

-- INDEX tasks_thread_id_idx

CREATE INDEX tasks_thread_id_idx ON public.tasks USING btree (thread_id) WHERE (thread_id IS NOT NULL);

COMMENT ON INDEX public.tasks_thread_id_idx IS 'Deleting a thread clears its tasks'' thread_id (tasks_thread_id_fkey ON DELETE SET NULL).';

-- INDEX threads_agent_id_idx

CREATE INDEX threads_agent_id_idx ON public.threads USING btree (agent_id) WHERE (agent_id IS NOT NULL);

-- INDEX threads_org_id_created_at_idx

CREATE INDEX threads_org_id_created_at_idx ON public.threads USING btree (org_id, created_at);

-- INDEX threads_user_id_created_at_idx

CREATE INDEX threads_user_id_created_at_idx ON public.threads USING btree (org_id, user_id, created_at DESC, id DESC);

-- STATISTICS threads_org_id_user_id_agent_id_stats

CREATE STATISTICS public.threads_org_id_user_id_agent_id_stats (dependencies, mcv) ON org_id, user_id, agent_id FROM public.threads;

-- FK CONSTRAINT agent_config_ids agent_config_ids_agent_id_fkey

ALTER TABLE ONLY public.agent_config_ids
    ADD CONSTRAINT agent_config_ids_agent_id_fkey FOREIGN KEY (agent_id, org_id) REFERENCES public.agents(id, org_id) ON DELETE CASCADE;

-- FK CONSTRAINT agent_knowledge_bases agent_knowledge_bases_agent_id_fkey

ALTER TABLE ONLY public.agent_knowledge_bases
    ADD CONSTRAINT agent_knowledge_bases_agent_id_fkey FOREIGN KEY (agent_id, org_id) REFERENCES public.agents(id, org_id) ON DELETE CASCADE;

-- FK CONSTRAINT agent_knowledge_bases agent_knowledge_bases_knowledge_base_id_fkey

ALTER TABLE ONLY public.agent_knowledge_bases
    ADD CONSTRAINT agent_knowledge_bases_knowledge_base_id_fkey FOREIGN KEY (knowledge_base_id, org_id) REFERENCES public.knowledge_bases(id, org_id) ON DELETE CASCADE;

-- FK CONSTRAINT agent_tools agent_tools_agent_id_fkey

ALTER TABLE ONLY public.agent_tools
    ADD CONSTRAINT agent_tools_agent_id_fkey FOREIGN KEY (agent_id, org_id) REFERENCES public.agents(id, org_id) ON DELETE CASCADE;

-- FK CONSTRAINT agent_tools agent_tools_tool_id_fkey

ALTER TABLE ONLY public.agent_tools
    ADD CONSTRAINT agent_tools_tool_id_fkey FOREIGN KEY (tool_id, org_id) REFERENCES public.tools(id, org_id) ON DELETE CASCADE;

-- FK CONSTRAINT agent_versions agent_versions_agent_id_fkey

ALTER TABLE ONLY public.agent_versions
    ADD CONSTRAINT agent_versions_agent_id_fkey FOREIGN KEY (agent_id, org_id) REFERENCES public.agents(id, org_id) ON DELETE CASCADE;

-- FK CONSTRAINT agent_versions agent_versions_created_by_fkey

ALTER TABLE ONLY public.agent_versions
    ADD CONSTRAINT agent_versions_created_by_fkey FOREIGN KEY (created_by) REFERENCES public.users(id) ON DELETE SET NULL;

-- FK CONSTRAINT agents agents_created_by_fkey

ALTER TABLE ONLY public.agents
    ADD CONSTRAINT agents_created_by_fkey FOREIGN KEY (created_by) REFERENCES public.users(id) ON DELETE SET NULL;

-- FK CONSTRAINT agents agents_org_id_fkey

ALTER TABLE ONLY public.agents
    ADD CONSTRAINT agents_org_id_fkey FOREIGN KEY (org_id) REFERENCES public.orgs(id) ON DELETE CASCADE;

-- FK CONSTRAINT agents agents_persona_id_fkey

ALTER TABLE ONLY public.agents
    ADD CONSTRAINT agents_persona_id_fkey FOREIGN KEY (persona_id, org_id) REFERENCES public.personas(id, org_id);

-- FK CONSTRAINT analytics_daily analytics_daily_org_id_fkey

ALTER TABLE ONLY public.analytics_daily
    ADD CONSTRAINT analytics_daily_org_id_fkey FOREIGN KEY (org_id) REFERENCES public.orgs(id) ON DELETE CASCADE;

-- FK CONSTRAINT analytics_daily_tools analytics_daily_tools_org_id_fkey

ALTER TABLE ONLY public.analytics_daily_tools
    ADD CONSTRAINT analytics_daily_tools_org_id_fkey FOREIGN KEY (org_id) REFERENCES public.orgs(id) ON DELETE CASCADE;

-- FK CONSTRAINT analytics_daily_users analytics_daily_users_org_id_fkey

ALTER TABLE ONLY public.analytics_daily_users
    ADD CONSTRAINT analytics_daily_users_org_id_fkey FOREIGN KEY (org_id) REFERENCES public.orgs(id) ON DELETE CASCADE;

-- FK CONSTRAINT analytics_refreshes analytics_refreshes_org_id_fkey

ALTER TABLE ONLY public.analytics_refreshes
    ADD CONSTRAINT analytics_refreshes_org_id_fkey FOREIGN KEY (org_id) REFERENCES public.orgs(id) ON DELETE CASCADE;

-- FK CONSTRAINT api_keys api_keys_created_by_fkey

ALTER TABLE ONLY public.api_keys
    ADD CONSTRAINT api_keys_created_by_fkey FOREIGN KEY (created_by) REFERENCES public.users(id) ON DELETE SET NULL;

-- FK CONSTRAINT api_keys api_keys_org_id_fkey

ALTER TABLE ONLY public.api_keys
    ADD CONSTRAINT api_keys_org_id_fkey FOREIGN KEY (org_id) REFERENCES public.orgs(id) ON DELETE CASCADE;

-- FK CONSTRAINT channels channels_agent_id_fkey

ALTER TABLE ONLY public.channels
    ADD CONSTRAINT channels_agent_id_fkey FOREIGN KEY (agent_id, org_id) REFERENCES public.agents(id, org_id) ON DELETE SET NULL (agent_id);

-- FK CONSTRAINT channels channels_org_id_fkey

ALTER TABLE ONLY public.channels
    ADD CONSTRAINT channels_org_id_fkey FOREIGN KEY (org_id) REFERENCES public.orgs(id) ON DELETE CASCADE;

-- FK CONSTRAINT email_verifications email_verifications_user_id_fkey

ALTER TABLE ONLY public.email_verifications
    ADD CONSTRAINT email_verifications_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id) ON DELETE CASCADE;

-- FK CONSTRAINT embeddings embeddings_file_id_fkey

ALTER TABLE ONLY public.embeddings
    ADD CONSTRAINT embeddings_file_id_fkey FOREIGN KEY (file_id, knowledge_base_id, org_id) REFERENCES public.knowledge_base_files(id, knowledge_base_id, org_id) ON DELETE CASCADE;

-- FK CONSTRAINT embeddings embeddings_freeform_text_id_fkey

ALTER TABLE ONLY public.embeddings
    ADD CONSTRAINT embeddings_freeform_text_id_fkey FOREIGN KEY (freeform_text_id, knowledge_base_id, org_id) REFERENCES public.knowledge_base_freeform_texts(id, knowledge_base_id, org_id) ON DELETE CASCADE;

-- FK CONSTRAINT embeddings embeddings_knowledge_base_id_fkey

ALTER TABLE ONLY public.embeddings
    ADD CONSTRAINT embeddings_knowledge_base_id_fkey FOREIGN KEY (knowledge_base_id, org_id) REFERENCES public.knowledge_bases(id, org_id) ON DELETE CASCADE;

-- FK CONSTRAINT embeddings embeddings_table_id_fkey

ALTER TABLE ONLY public.embeddings
    ADD CONSTRAINT embeddings_table_id_fkey FOREIGN KEY (table_id, knowledge_base_id, org_id) REFERENCES public.knowledge_base_tables(id, knowledge_base_id, org_id) ON DELETE CASCADE;

-- FK CONSTRAINT embeddings embeddings_web_url_id_fkey

ALTER TABLE ONLY public.embeddings
    ADD CONSTRAINT embeddings_web_url_id_fkey FOREIGN KEY (web_url_id, knowledge_base_id, org_id) REFERENCES public.knowledge_base_web_urls(id, knowledge_base_id, org_id) ON DELETE CASCADE;

-- FK CONSTRAINT feedback feedback_message_id_fkey

ALTER TABLE ONLY public.feedback
    ADD CONSTRAINT feedback_message_id_fkey FOREIGN KEY (message_id, org_id) REFERENCES public.messages(id, org_id) ON DELETE CASCADE;

-- FK CONSTRAINT feedback feedback_user_id_fkey

ALTER TABLE ONLY public.feedback
    ADD CONSTRAINT feedback_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id) ON DELETE CASCADE;

-- FK CONSTRAINT idempotency_keys idempotency_keys_org_id_fkey

ALTER TABLE ONLY public.idempotency_keys
    ADD CONSTRAINT idempotency_keys_org_id_fkey FOREIGN KEY (org_id) REFERENCES public.orgs(id) ON DELETE CASCADE;

-- FK CONSTRAINT invitations invitations_invited_by_fkey

ALTER TABLE ONLY public.invitations
    ADD CONSTRAINT invitations_invited_by_fkey FOREIGN KEY (invited_by) REFERENCES public.users(id) ON DELETE SET NULL;

-- FK CONSTRAINT invitations invitations_org_id_fkey

ALTER TABLE ONLY public.invitations
    ADD CONSTRAINT invitations_org_id_fkey FOREIGN KEY (org_id) REFERENCES public.orgs(id) ON DELETE CASCADE;

-- FK CONSTRAINT knowledge_base_files knowledge_base_files_knowledge_base_id_fkey

ALTER TABLE ONLY public.knowledge_base_files
    ADD CONSTRAINT knowledge_base_files_knowledge_base_id_fkey FOREIGN KEY (knowledge_base_id, org_id) REFERENCES public.knowledge_bases(id, org_id) ON DELETE CASCADE;

-- FK CONSTRAINT knowledge_base_freeform_texts knowledge_base_freeform_texts_knowledge_base_id_fkey

ALTER TABLE ONLY public.knowledge_base_freeform_texts
    ADD CONSTRAINT knowledge_base_freeform_texts_knowledge_base_id_fkey FOREIGN KEY (knowledge_base_id, org_id) REFERENCES public.knowledge_bases(id, org_id) ON DELETE CASCADE;

-- FK CONSTRAINT knowledge_base_tables knowledge_base_tables_knowledge_base_id_fkey

ALTER TABLE ONLY public.knowledge_base_tables
    ADD CONSTRAINT knowledge_base_tables_knowledge_base_id_fkey FOREIGN KEY (knowledge_base_id, org_id) REFERENCES public.knowledge_bases(id, org_id) ON DELETE CASCADE;

-- FK CONSTRAINT knowledge_base_web_urls knowledge_base_web_urls_knowledge_base_id_fkey

ALTER TABLE ONLY public.knowledge_base_web_urls
    ADD CONSTRAINT knowledge_base_web_urls_knowledge_base_id_fkey FOREIGN KEY (knowledge_base_id, org_id) REFERENCES public.knowledge_bases(id, org_id) ON DELETE CASCADE;

-- FK CONSTRAINT knowledge_bases knowledge_bases_org_id_fkey

ALTER TABLE ONLY public.knowledge_bases
    ADD CONSTRAINT knowledge_bases_org_id_fkey FOREIGN KEY (org_id) REFERENCES public.orgs(id) ON DELETE CASCADE;

-- FK CONSTRAINT messages messages_thread_id_fkey

ALTER TABLE ONLY public.messages
    ADD CONSTRAINT messages_thread_id_fkey FOREIGN KEY (thread_id, org_id) REFERENCES public.threads(id, org_id) ON DELETE CASCADE;

-- FK CONSTRAINT model_providers model_providers_org_id_fkey

ALTER TABLE ONLY public.model_providers
    ADD CONSTRAINT model_providers_org_id_fkey FOREIGN KEY (org_id) REFERENCES public.orgs(id) ON DELETE CASCADE;

-- FK CONSTRAINT models models_org_id_fkey

ALTER TABLE ONLY public.models
    ADD CONSTRAINT models_org_id_fkey FOREIGN KEY (org_id) REFERENCES public.orgs(id) ON DELETE CASCADE;

-- FK CONSTRAINT models models_provider_id_fkey

ALTER TABLE ONLY public.models
    ADD CONSTRAINT models_provider_id_fkey FOREIGN KEY (provider_id, org_id) REFERENCES public.model_providers(id, org_id) ON DELETE CASCADE;

-- FK CONSTRAINT oauth_connections oauth_connections_user_id_fkey

ALTER TABLE ONLY public.oauth_connections
    ADD CONSTRAINT oauth_connections_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id) ON DELETE CASCADE;

-- FK CONSTRAINT oauth_states oauth_states_user_id_fkey

ALTER TABLE ONLY public.oauth_states
    ADD CONSTRAINT oauth_states_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id) ON DELETE CASCADE;

-- FK CONSTRAINT org_members org_members_org_id_fkey

ALTER TABLE ONLY public.org_members
    ADD CONSTRAINT org_members_org_id_fkey FOREIGN KEY (org_id) REFERENCES public.orgs(id) ON DELETE CASCADE;

-- FK CONSTRAINT org_members org_members_user_id_fkey

ALTER TABLE ONLY public.org_members
    ADD CONSTRAINT org_members_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id) ON DELETE CASCADE;

-- FK CONSTRAINT password_resets password_resets_user_id_fkey

ALTER TABLE ONLY public.password_resets
    ADD CONSTRAINT password_resets_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id) ON DELETE CASCADE;

-- FK CONSTRAINT personas personas_org_id_fkey

ALTER TABLE ONLY public.personas
    ADD CONSTRAINT personas_org_id_fkey FOREIGN KEY (org_id) REFERENCES public.orgs(id) ON DELETE CASCADE;

-- FK CONSTRAINT schedules schedules_agent_id_fkey

ALTER TABLE ONLY public.schedules
    ADD CONSTRAINT schedules_agent_id_fkey FOREIGN KEY (agent_id, org_id) REFERENCES public.agents(id, org_id) ON DELETE CASCADE;

-- FK CONSTRAINT schedules schedules_created_by_fkey

ALTER TABLE ONLY public.schedules
    ADD CONSTRAINT schedules_created_by_fkey FOREIGN KEY (created_by) REFERENCES public.users(id) ON DELETE SET NULL;

-- FK CONSTRAINT schedules schedules_org_id_fkey

ALTER TABLE ONLY public.schedules
    ADD CONSTRAINT schedules_org_id_fkey FOREIGN KEY (org_id) REFERENCES public.orgs(id) ON DELETE CASCADE;

-- FK CONSTRAINT sessions sessions_user_id_fkey

ALTER TABLE ONLY public.sessions
    ADD CONSTRAINT sessions_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id) ON DELETE CASCADE;

-- FK CONSTRAINT task_claim_turns task_claim_turns_org_id_fkey

ALTER TABLE ONLY public.task_claim_turns
    ADD CONSTRAINT task_claim_turns_org_id_fkey FOREIGN KEY (org_id) REFERENCES public.orgs(id) ON DELETE CASCADE;

-- FK CONSTRAINT tasks tasks_agent_id_fkey

ALTER TABLE ONLY public.tasks
    ADD CONSTRAINT tasks_agent_id_fkey FOREIGN KEY (agent_id, org_id) REFERENCES public.agents(id, org_id) ON DELETE CASCADE;

-- FK CONSTRAINT tasks tasks_created_by_fkey

ALTER TABLE ONLY public.tasks
    ADD CONSTRAINT tasks_created_by_fkey FOREIGN KEY (created_by) REFERENCES public.users(id) ON DELETE SET NULL;

-- FK CONSTRAINT tasks tasks_org_id_fkey

ALTER TABLE ONLY public.tasks
    ADD CONSTRAINT tasks_org_id_fkey FOREIGN KEY (org_id) REFERENCES public.orgs(id) ON DELETE CASCADE;

-- FK CONSTRAINT tasks tasks_schedule_id_fkey

ALTER TABLE ONLY public.tasks
    ADD CONSTRAINT tasks_schedule_id_fkey FOREIGN KEY (schedule_id, org_id) REFERENCES public.schedules(id, org_id) ON DELETE SET NULL (schedule_id);

-- FK CONSTRAINT tasks tasks_thread_id_fkey

ALTER TABLE ONLY public.tasks
    ADD CONSTRAINT tasks_thread_id_fkey FOREIGN KEY (thread_id, org_id) REFERENCES public.threads(id, org_id) ON DELETE SET NULL (thread_id);

-- FK CONSTRAINT threads threads_agent_id_fkey

ALTER TABLE ONLY public.threads
    ADD CONSTRAINT threads_agent_id_fkey FOREIGN KEY (agent_id, org_id) REFERENCES public.agents(id, org_id) ON DELETE SET NULL (agent_id);

-- FK CONSTRAINT threads threads_org_id_fkey

ALTER TABLE ONLY public.threads
    ADD CONSTRAINT threads_org_id_fkey FOREIGN KEY (org_id) REFERENCES public.orgs(id) ON DELETE CASCADE;

-- FK CONSTRAINT threads threads_user_id_fkey

ALTER TABLE ONLY public.threads
    ADD CONSTRAINT threads_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id) ON DELETE CASCADE;

-- FK CONSTRAINT tools tools_org_id_fkey

ALTER TABLE ONLY public.tools
    ADD CONSTRAINT tools_org_id_fkey FOREIGN KEY (org_id) REFERENCES public.orgs(id) ON DELETE CASCADE;
