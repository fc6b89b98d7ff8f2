-- transactional: false
-- squawk-disable-assume-in-transaction
-- Citus readiness (docs/scaling.md): the indexes of the tenant tables' new keys, each with org_id,
-- built here concurrently so that 0021.tenant-primary-keys only swaps constraints onto them.
-- org_id is implied in every one (a row's id, its knowledge base or its message fixes the org), so
-- no rule changes: the old keys and these hold the same rows. org_id comes last, so every lookup
-- by the leading columns reads as before.
-- depends: 0019.tenant-keys

-- A concurrent build blocks no reads or writes, but waits for the transactions already running;
-- give up after a minute rather than wait on one left open. A failed build leaves an invalid
-- index behind, and yoyo runs the migration again: so each index is dropped before it is built.
SET lock_timeout = '1min';

-- The primary keys: (id, org_id) in place of (id).
DROP INDEX CONCURRENTLY IF EXISTS agents_id_org_id_idx;
CREATE UNIQUE INDEX CONCURRENTLY agents_id_org_id_idx
    ON agents (id, org_id);
DROP INDEX CONCURRENTLY IF EXISTS api_keys_id_org_id_idx;
CREATE UNIQUE INDEX CONCURRENTLY api_keys_id_org_id_idx
    ON api_keys (id, org_id);
DROP INDEX CONCURRENTLY IF EXISTS channels_id_org_id_idx;
CREATE UNIQUE INDEX CONCURRENTLY channels_id_org_id_idx
    ON channels (id, org_id);
DROP INDEX CONCURRENTLY IF EXISTS embeddings_id_org_id_idx;
CREATE UNIQUE INDEX CONCURRENTLY embeddings_id_org_id_idx
    ON embeddings (id, org_id);
DROP INDEX CONCURRENTLY IF EXISTS feedback_id_org_id_idx;
CREATE UNIQUE INDEX CONCURRENTLY feedback_id_org_id_idx
    ON feedback (id, org_id);
DROP INDEX CONCURRENTLY IF EXISTS invitations_id_org_id_idx;
CREATE UNIQUE INDEX CONCURRENTLY invitations_id_org_id_idx
    ON invitations (id, org_id);
DROP INDEX CONCURRENTLY IF EXISTS knowledge_base_files_id_org_id_idx;
CREATE UNIQUE INDEX CONCURRENTLY knowledge_base_files_id_org_id_idx
    ON knowledge_base_files (id, org_id);
DROP INDEX CONCURRENTLY IF EXISTS knowledge_base_freeform_texts_id_org_id_idx;
CREATE UNIQUE INDEX CONCURRENTLY knowledge_base_freeform_texts_id_org_id_idx
    ON knowledge_base_freeform_texts (id, org_id);
DROP INDEX CONCURRENTLY IF EXISTS knowledge_base_tables_id_org_id_idx;
CREATE UNIQUE INDEX CONCURRENTLY knowledge_base_tables_id_org_id_idx
    ON knowledge_base_tables (id, org_id);
DROP INDEX CONCURRENTLY IF EXISTS knowledge_base_web_urls_id_org_id_idx;
CREATE UNIQUE INDEX CONCURRENTLY knowledge_base_web_urls_id_org_id_idx
    ON knowledge_base_web_urls (id, org_id);
DROP INDEX CONCURRENTLY IF EXISTS knowledge_bases_id_org_id_idx;
CREATE UNIQUE INDEX CONCURRENTLY knowledge_bases_id_org_id_idx
    ON knowledge_bases (id, org_id);
DROP INDEX CONCURRENTLY IF EXISTS messages_id_org_id_idx;
CREATE UNIQUE INDEX CONCURRENTLY messages_id_org_id_idx
    ON messages (id, org_id);
DROP INDEX CONCURRENTLY IF EXISTS model_providers_id_org_id_idx;
CREATE UNIQUE INDEX CONCURRENTLY model_providers_id_org_id_idx
    ON model_providers (id, org_id);
DROP INDEX CONCURRENTLY IF EXISTS models_id_org_id_idx;
CREATE UNIQUE INDEX CONCURRENTLY models_id_org_id_idx
    ON models (id, org_id);
DROP INDEX CONCURRENTLY IF EXISTS personas_id_org_id_idx;
CREATE UNIQUE INDEX CONCURRENTLY personas_id_org_id_idx
    ON personas (id, org_id);
DROP INDEX CONCURRENTLY IF EXISTS schedules_id_org_id_idx;
CREATE UNIQUE INDEX CONCURRENTLY schedules_id_org_id_idx
    ON schedules (id, org_id);
DROP INDEX CONCURRENTLY IF EXISTS tasks_id_org_id_idx;
CREATE UNIQUE INDEX CONCURRENTLY tasks_id_org_id_idx
    ON tasks (id, org_id);
DROP INDEX CONCURRENTLY IF EXISTS threads_id_org_id_idx;
CREATE UNIQUE INDEX CONCURRENTLY threads_id_org_id_idx
    ON threads (id, org_id);
DROP INDEX CONCURRENTLY IF EXISTS tools_id_org_id_idx;
CREATE UNIQUE INDEX CONCURRENTLY tools_id_org_id_idx
    ON tools (id, org_id);

-- Each knowledge-base source's key within its knowledge base, which the embeddings reference.
DROP INDEX CONCURRENTLY IF EXISTS knowledge_base_files_id_knowledge_base_id_org_id_idx;
CREATE UNIQUE INDEX CONCURRENTLY knowledge_base_files_id_knowledge_base_id_org_id_idx
    ON knowledge_base_files (id, knowledge_base_id, org_id);
DROP INDEX CONCURRENTLY IF EXISTS knowledge_base_freeform_texts_id_knowledge_base_id_org_id_idx;
CREATE UNIQUE INDEX CONCURRENTLY knowledge_base_freeform_texts_id_knowledge_base_id_org_id_idx
    ON knowledge_base_freeform_texts (id, knowledge_base_id, org_id);
DROP INDEX CONCURRENTLY IF EXISTS knowledge_base_tables_id_knowledge_base_id_org_id_idx;
CREATE UNIQUE INDEX CONCURRENTLY knowledge_base_tables_id_knowledge_base_id_org_id_idx
    ON knowledge_base_tables (id, knowledge_base_id, org_id);
DROP INDEX CONCURRENTLY IF EXISTS knowledge_base_web_urls_id_knowledge_base_id_org_id_idx;
CREATE UNIQUE INDEX CONCURRENTLY knowledge_base_web_urls_id_knowledge_base_id_org_id_idx
    ON knowledge_base_web_urls (id, knowledge_base_id, org_id);

-- An embedding's place in its source (one row per chunk).
DROP INDEX CONCURRENTLY IF EXISTS embeddings_file_id_chunk_index_org_id_idx;
CREATE UNIQUE INDEX CONCURRENTLY embeddings_file_id_chunk_index_org_id_idx
    ON embeddings (file_id, chunk_index, org_id) WHERE file_id IS NOT NULL;
DROP INDEX CONCURRENTLY IF EXISTS embeddings_freeform_text_id_chunk_index_org_id_idx;
CREATE UNIQUE INDEX CONCURRENTLY embeddings_freeform_text_id_chunk_index_org_id_idx
    ON embeddings (freeform_text_id, chunk_index, org_id) WHERE freeform_text_id IS NOT NULL;
DROP INDEX CONCURRENTLY IF EXISTS embeddings_table_id_chunk_index_org_id_idx;
CREATE UNIQUE INDEX CONCURRENTLY embeddings_table_id_chunk_index_org_id_idx
    ON embeddings (table_id, chunk_index, org_id) WHERE table_id IS NOT NULL;
DROP INDEX CONCURRENTLY IF EXISTS embeddings_web_url_id_chunk_index_org_id_idx;
CREATE UNIQUE INDEX CONCURRENTLY embeddings_web_url_id_chunk_index_org_id_idx
    ON embeddings (web_url_id, chunk_index, org_id) WHERE web_url_id IS NOT NULL;

-- One rating per user and message.
DROP INDEX CONCURRENTLY IF EXISTS feedback_message_id_user_id_org_id_idx;
CREATE UNIQUE INDEX CONCURRENTLY feedback_message_id_user_id_org_id_idx
    ON feedback (message_id, user_id, org_id);

RESET lock_timeout;
