-- Conversations: threads, their messages (typed parts, full-text search) and feedback on messages.
-- depends: 0003.agents

-- Give up rather than queue every query on the tables we lock behind a lock we wait for.
SET LOCAL lock_timeout = '5s';

CREATE TABLE threads (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    agent_id uuid,
    name text NOT NULL DEFAULT 'New thread',
    message_count integer NOT NULL DEFAULT 0,
    last_message_at timestamptz,
    is_archived boolean NOT NULL DEFAULT false,
    metadata jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    -- Deleting an agent keeps its threads, without the agent.
    CONSTRAINT threads_agent_id_fkey FOREIGN KEY (agent_id, org_id)
        REFERENCES agents (id, org_id) ON DELETE SET NULL (agent_id),
    CONSTRAINT threads_id_org_id_key UNIQUE (id, org_id),
    CONSTRAINT threads_name_check CHECK (length(name) BETWEEN 1 AND 500),
    CONSTRAINT threads_message_count_check CHECK (message_count >= 0),
    CONSTRAINT threads_metadata_check CHECK (jsonb_typeof(metadata) = 'object')
);
COMMENT ON COLUMN threads.message_count IS 'Kept by the appends and deletes of messages, in their transactions, under the thread''s row lock.';
-- A user's threads in an org, newest first; the id breaks ties for keyset pages.
CREATE INDEX threads_user_id_created_at_idx ON threads (org_id, user_id, created_at DESC, id DESC);
CREATE INDEX threads_agent_id_idx ON threads (agent_id) WHERE agent_id IS NOT NULL;

CREATE TABLE messages (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id uuid NOT NULL,
    thread_id uuid NOT NULL,
    role text NOT NULL,
    parts jsonb NOT NULL,
    text_content text NOT NULL DEFAULT '',
    -- Stored, so that ranking reads it instead of running to_tsvector on every matching row.
    text_search tsvector GENERATED ALWAYS AS (to_tsvector('english', text_content)) STORED,
    model text,
    input_tokens integer,
    output_tokens integer,
    -- clock_timestamp, not now(): the messages of one batch get increasing times, in order.
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    CONSTRAINT messages_thread_id_fkey FOREIGN KEY (thread_id, org_id) REFERENCES threads (id, org_id) ON DELETE CASCADE,
    CONSTRAINT messages_id_org_id_key UNIQUE (id, org_id),
    CONSTRAINT messages_role_check CHECK (role IN ('user', 'assistant', 'system', 'tool')),
    CONSTRAINT messages_parts_check CHECK (jsonb_typeof(parts) = 'array'),
    CONSTRAINT messages_input_tokens_check CHECK (input_tokens >= 0),
    CONSTRAINT messages_output_tokens_check CHECK (output_tokens >= 0)
);
COMMENT ON COLUMN messages.parts IS 'Typed parts: text {text}, reasoning {text}, tool_call {tool_call_id, tool_name, arguments}, tool_result {tool_call_id, tool_name, result, is_error}, file {name, mime_type, uri}. Validated by the service.';
COMMENT ON COLUMN messages.text_content IS 'The text of the text parts, for search.';
-- A thread's messages, oldest first; the id breaks ties for keyset pages.
CREATE INDEX messages_thread_id_created_at_idx ON messages (thread_id, created_at, id);
CREATE INDEX messages_text_content_gin_idx ON messages USING gin (text_search);

CREATE TABLE feedback (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id uuid NOT NULL,
    message_id uuid NOT NULL,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    rating smallint NOT NULL,
    comment text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT feedback_message_id_fkey FOREIGN KEY (message_id, org_id) REFERENCES messages (id, org_id) ON DELETE CASCADE,
    CONSTRAINT feedback_message_id_user_id_key UNIQUE (message_id, user_id),
    CONSTRAINT feedback_rating_check CHECK (rating IN (-1, 1)),
    CONSTRAINT feedback_comment_check CHECK (length(comment) <= 10000)
);
COMMENT ON TABLE feedback IS 'A user''s rating of a message: one per user and message; a second submission updates it.';
CREATE INDEX feedback_user_id_idx ON feedback (user_id);
