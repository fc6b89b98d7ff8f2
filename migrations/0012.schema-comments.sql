-- What each table and non-obvious column is for, as COMMENT ON, so that sql/schema.sql (pg_dump of
-- the migrated schema) reads as the schema's documentation. And pg_stat_statements, which
-- `agentpress db top` reads through a named query verified against this schema; it counts only on
-- a server with shared_preload_libraries = 'pg_stat_statements' (the embedded server sets it).
-- depends: 0011.channels

-- Give up rather than queue every query on the tables we lock behind a lock we wait for.
SET LOCAL lock_timeout = '5s';

-- Statement statistics of the whole server; `agentpress db top` shows this database's. Needs a
-- superuser where it is not installed yet, like vector in 0001; IF NOT EXISTS needs nothing where it is.
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;

-- Identity (0002).
COMMENT ON COLUMN users.provider IS 'How the user signed up: email (password), github or google. Other sign-in methods may be linked later.';
COMMENT ON COLUMN users.github_id IS 'The GitHub account id (stable, unlike github_username); set by GitHub sign-in or linking.';
COMMENT ON COLUMN users.google_id IS 'The Google account id (the OpenID subject); set by Google sign-in or linking.';
COMMENT ON COLUMN users.is_disabled IS 'A disabled user cannot sign in; disabling ends their sessions.';
COMMENT ON COLUMN org_members.role IS 'Role in this org: owner (every org keeps at least one), admin (manages members), member.';
COMMENT ON COLUMN sessions.token_hash IS 'SHA-256 of the bearer token; the token itself is only ever in the client''s hands.';
COMMENT ON COLUMN sessions.last_seen_at IS 'When the session last authenticated a request.';
COMMENT ON COLUMN sessions.revoked_at IS 'Set by sign-out, revocation, a password reset or disabling the user; the token is refused from then on.';
COMMENT ON COLUMN invitations.token_hash IS 'SHA-256 of the token in the invitation link.';
COMMENT ON COLUMN invitations.role IS 'The org role the invitee gets on accepting.';
COMMENT ON COLUMN invitations.invited_by IS 'The member who sent the invitation; null once that user is deleted.';
COMMENT ON TABLE password_resets IS 'Single-use password reset links, valid for an hour; only the token''s SHA-256 is stored.';
COMMENT ON TABLE oauth_connections IS 'GitHub and Google identities linked to users: one user may have several, an identity belongs to one user.';
COMMENT ON COLUMN oauth_connections.provider_id IS 'The user''s id at the provider.';
COMMENT ON COLUMN email_outbox.kind IS 'Which mail it is: invitation or password_reset.';
COMMENT ON COLUMN email_outbox.attempts IS 'Sends tried so far, counted at each claim (which backs next_attempt_at off further); at the sender''s maximum it is no longer tried.';

-- Agents and what they are made of (0003).
COMMENT ON COLUMN model_providers.base_url IS 'The API endpoint, for self-hosted and compatible providers; null: the kind''s default.';
COMMENT ON TABLE models IS 'The models an org has enabled, each at one of its providers; an agent''s primary_model must be one of the enabled ones once the org has any.';
COMMENT ON COLUMN models.base_model IS 'The underlying model when name is an alias or variant (a deployment name, a fine-tune); informational.';
COMMENT ON COLUMN models.is_default IS 'The org''s default model; at most one per org (models_org_id_is_default_idx).';
COMMENT ON TABLE personas IS 'Reusable tone, style and prompt for an org''s agents; one in use by an agent cannot be deleted.';
COMMENT ON TABLE tools IS 'Tools an org''s agents may call, with the JSON Schema of their arguments; agent_tools says which agent has which.';
COMMENT ON COLUMN tools.name IS 'The name the model calls the tool by; unique in the org.';
COMMENT ON COLUMN tools.kind IS 'How the tool is invoked: function, http or mcp; config holds what that kind needs.';
COMMENT ON TABLE agents IS 'An org''s AI agents: prompt, model and persona. Each change bumps version and writes a snapshot to agent_versions.';
COMMENT ON COLUMN agents.primary_model_provider IS 'The name of one of the org''s model_providers, or null for any provider with primary_model.';
COMMENT ON COLUMN agents.primary_model IS 'The model''s name (models.name), checked against the org''s enabled models when it has any.';
COMMENT ON COLUMN agent_versions.snapshot IS 'The agent''s fields and tools_enabled as they were at this version; a restore writes them back as a new version.';

-- Conversations (0004).
COMMENT ON TABLE threads IS 'A user''s conversations in an org, optionally with an agent; only their owner sees them.';
COMMENT ON COLUMN threads.last_message_at IS 'created_at of the newest message; kept with message_count under the thread''s row lock.';
COMMENT ON COLUMN threads.metadata IS 'The client''s own data about the thread (a JSON object), stored as given.';
COMMENT ON TABLE messages IS 'The messages of threads, in order of created_at then id. org_id repeats the thread''s for the composite keys.';
COMMENT ON COLUMN messages.text_search IS 'to_tsvector(''english'', text_content), stored for ranking; searched through messages_text_content_gin_idx.';
COMMENT ON COLUMN messages.model IS 'The model that wrote an assistant message.';
COMMENT ON COLUMN messages.input_tokens IS 'Tokens the model read to write this message, as its provider counted them.';
COMMENT ON COLUMN messages.output_tokens IS 'Tokens the model wrote for this message, as its provider counted them.';
COMMENT ON COLUMN feedback.rating IS '1: thumbs up, -1: thumbs down.';

-- Knowledge bases (0006).
COMMENT ON TABLE knowledge_bases IS 'An org''s searchable document collections (RAG): sources of four kinds, chunked into embeddings.';
COMMENT ON COLUMN knowledge_bases.embedding_model IS 'The model the chunks are embedded with (3072 dimensions), for the record; the service embeds with EMBEDDINGS_MODEL.';
COMMENT ON TABLE knowledge_base_files IS 'Uploaded documents of a knowledge base; the bytes live in storage_uri, their chunks come through the chunks API.';
COMMENT ON COLUMN knowledge_base_files.status IS 'pending until its chunks are stored through the chunks API or `agentpress kb ingest`, then ready.';
COMMENT ON COLUMN knowledge_base_files.storage_uri IS 'Where the file''s bytes are (s3://, file://, ...); the database never holds them.';
COMMENT ON TABLE knowledge_base_freeform_texts IS 'Texts written into a knowledge base; with EMBEDDINGS_URL set, the service chunks and embeds them.';
COMMENT ON COLUMN knowledge_base_freeform_texts.status IS 'pending after each change of content; processing while the embedder holds it (a lease counted from updated_at); ready once its chunks are stored; failed with error.';
COMMENT ON TABLE knowledge_base_tables IS 'Tabular data in a knowledge base (columns and rows as JSON); with EMBEDDINGS_URL set, the service chunks and embeds them.';
COMMENT ON COLUMN knowledge_base_tables.status IS 'pending after each change of columns or rows; processing while the embedder holds it (a lease counted from updated_at); ready once its chunks are stored; failed with error.';
COMMENT ON TABLE knowledge_base_web_urls IS 'Web pages a crawler fetches into a knowledge base, optionally following links and again at an interval.';
COMMENT ON COLUMN knowledge_base_web_urls.crawl_depth IS 'How many links deep to follow from url: 0 is the page alone.';
COMMENT ON COLUMN knowledge_base_web_urls.crawl_interval IS 'How often to crawl again; null: once.';
COMMENT ON COLUMN knowledge_base_web_urls.next_crawl_at IS 'When a crawler should next fetch it; null: not due.';
COMMENT ON COLUMN embeddings.chunk_index IS 'The chunk''s position in its source, from 0; unique per source.';
COMMENT ON COLUMN embeddings.text_search IS 'to_tsvector(''english'', content), stored for ranking in text and hybrid search.';
COMMENT ON COLUMN embeddings.embedding IS 'The chunk''s embedding, 3072 dimensions at half precision; searched by cosine distance through embeddings_embedding_hnsw_idx.';
COMMENT ON COLUMN embeddings.metadata IS 'The loader''s own data about the chunk (page, heading, ...), returned with search hits.';

-- Tasks and schedules (0008).
COMMENT ON TABLE schedules IS 'Templates that queue a task for their agent with their input: once at run_at, or on a cron expression in a timezone.';
COMMENT ON COLUMN schedules.cron IS 'A cron expression (stepped with croniter) read in timezone; only for kind cron.';
COMMENT ON COLUMN schedules.timezone IS 'The IANA time zone the cron expression is read in, e.g. Europe/Paris.';
COMMENT ON COLUMN schedules.input IS 'The input of every task the schedule queues.';
COMMENT ON COLUMN schedules.last_run_at IS 'When the scheduler last queued a task for it.';
COMMENT ON TABLE tasks IS 'Executions of an agent with an input: a queue that workers claim under a lease (FOR UPDATE SKIP LOCKED), retried with backoff.';
COMMENT ON COLUMN tasks.thread_id IS 'The conversation the task runs in, if any; null once that thread is deleted.';
COMMENT ON COLUMN tasks.schedule_id IS 'The schedule that queued the task; null when queued directly or once the schedule is deleted.';
COMMENT ON COLUMN tasks.attempt IS 'Claims so far; a retryable failure queues the task again while attempt < max_attempts.';
COMMENT ON COLUMN tasks.priority IS 'Higher runs first; within a priority, the oldest first.';
COMMENT ON COLUMN tasks.run_after IS 'Not claimed before this time: when it was queued for, or the retry backoff.';
COMMENT ON COLUMN tasks.claimed_by IS 'The worker holding (or last holding) the task, as named to the claim.';
COMMENT ON COLUMN tasks.lease_expires_at IS 'A running task whose lease has passed is claimable again: its worker is presumed gone. Heartbeats extend it.';
COMMENT ON COLUMN tasks.output IS 'What the worker reported on success.';
COMMENT ON COLUMN tasks.error IS 'The last failure''s message.';
