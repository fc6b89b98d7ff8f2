-- transactional: false
-- squawk-disable-assume-in-transaction
-- Undo 0020.tenant-primary-key-indexes.sql (undoing 0021.tenant-primary-keys first turns the keys
-- back into these plain indexes, which go here).

SET lock_timeout = '1min';

DROP INDEX CONCURRENTLY IF EXISTS feedback_message_id_user_id_org_id_idx;
DROP INDEX CONCURRENTLY IF EXISTS embeddings_web_url_id_chunk_index_org_id_idx;
DROP INDEX CONCURRENTLY IF EXISTS embeddings_table_id_chunk_index_org_id_idx;
DROP INDEX CONCURRENTLY IF EXISTS embeddings_freeform_text_id_chunk_index_org_id_idx;
DROP INDEX CONCURRENTLY IF EXISTS embeddings_file_id_chunk_index_org_id_idx;
DROP INDEX CONCURRENTLY IF EXISTS knowledge_base_web_urls_id_knowledge_base_id_org_id_idx;
DROP INDEX CONCURRENTLY IF EXISTS knowledge_base_tables_id_knowledge_base_id_org_id_idx;
DROP INDEX CONCURRENTLY IF EXISTS knowledge_base_freeform_texts_id_knowledge_base_id_org_id_idx;
DROP INDEX CONCURRENTLY IF EXISTS knowledge_base_files_id_knowledge_base_id_org_id_idx;
DROP INDEX CONCURRENTLY IF EXISTS tools_id_org_id_idx;
DROP INDEX CONCURRENTLY IF EXISTS threads_id_org_id_idx;
DROP INDEX CONCURRENTLY IF EXISTS tasks_id_org_id_idx;
DROP INDEX CONCURRENTLY IF EXISTS schedules_id_org_id_idx;
DROP INDEX CONCURRENTLY IF EXISTS personas_id_org_id_idx;
DROP INDEX CONCURRENTLY IF EXISTS models_id_org_id_idx;
DROP INDEX CONCURRENTLY IF EXISTS model_providers_id_org_id_idx;
DROP INDEX CONCURRENTLY IF EXISTS messages_id_org_id_idx;
DROP INDEX CONCURRENTLY IF EXISTS knowledge_bases_id_org_id_idx;
DROP INDEX CONCURRENTLY IF EXISTS knowledge_base_web_urls_id_org_id_idx;
DROP INDEX CONCURRENTLY IF EXISTS knowledge_base_tables_id_org_id_idx;
DROP INDEX CONCURRENTLY IF EXISTS knowledge_base_freeform_texts_id_org_id_idx;
DROP INDEX CONCURRENTLY IF EXISTS knowledge_base_files_id_org_id_idx;
DROP INDEX CONCURRENTLY IF EXISTS invitations_id_org_id_idx;
DROP INDEX CONCURRENTLY IF EXISTS feedback_id_org_id_idx;
DROP INDEX CONCURRENTLY IF EXISTS embeddings_id_org_id_idx;
DROP INDEX CONCURRENTLY IF EXISTS channels_id_org_id_idx;
DROP INDEX CONCURRENTLY IF EXISTS api_keys_id_org_id_idx;
DROP INDEX CONCURRENTLY IF EXISTS agents_id_org_id_idx;

RESET lock_timeout;
