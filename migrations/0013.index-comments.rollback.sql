-- Undo 0013.index-comments.sql.

-- Give up rather than queue every query on the tables we lock behind a lock we wait for.
SET LOCAL lock_timeout = '5s';

COMMENT ON INDEX agents_name_trgm_idx IS NULL;
COMMENT ON INDEX channels_agent_id_idx IS NULL;
COMMENT ON INDEX embeddings_embedding_hnsw_idx IS NULL;
COMMENT ON INDEX embeddings_file_id_chunk_index_idx IS NULL;
COMMENT ON INDEX embeddings_freeform_text_id_chunk_index_idx IS NULL;
COMMENT ON INDEX embeddings_table_id_chunk_index_idx IS NULL;
COMMENT ON INDEX embeddings_web_url_id_chunk_index_idx IS NULL;
COMMENT ON INDEX embeddings_knowledge_base_id_idx IS NULL;
COMMENT ON INDEX embeddings_text_search_gin_idx IS NULL;
COMMENT ON INDEX feedback_user_id_idx IS NULL;
COMMENT ON INDEX knowledge_base_web_urls_next_crawl_at_idx IS NULL;
COMMENT ON INDEX models_provider_id_idx IS NULL;
COMMENT ON INDEX oauth_connections_user_id_idx IS NULL;
COMMENT ON INDEX orgs_is_default_idx IS NULL;
COMMENT ON INDEX tasks_agent_id_queued_at_idx IS NULL;
COMMENT ON INDEX tasks_schedule_id_queued_at_idx IS NULL;
COMMENT ON INDEX tasks_thread_id_idx IS NULL;
