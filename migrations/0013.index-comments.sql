-- Why each index that no query's plan contract names exists (tests/sql/test_plan_contracts.py
-- fails on an index that neither a contract names nor a comment explains). Most serve a foreign
-- key's ON DELETE: without them, deleting the referenced row scans the referencing table.
-- depends: 0012.schema-comments

-- Give up rather than queue every query on the tables we lock behind a lock we wait for.
SET LOCAL lock_timeout = '5s';

COMMENT ON INDEX agents_name_trgm_idx IS 'Substring search of agent names (search_agents, a custom plan for the pattern): held on 100,000 agents by test_the_name_search_uses_the_trigram_index_on_100k_agents.';
COMMENT ON INDEX channels_agent_id_idx IS 'Deleting an agent clears its channels'' agent_id (channels_agent_id_fkey ON DELETE SET NULL).';
COMMENT ON INDEX embeddings_embedding_hnsw_idx IS 'Vector search (search_chunks_by_vector): held on 5,000 vectors of 3072 dimensions by tests/sql/test_kb_search_recall.py, which the realistic data set has none of.';
COMMENT ON INDEX embeddings_file_id_chunk_index_idx IS 'One chunk per index of a file; replacing a file''s chunks deletes them by file_id, as does the cascade from knowledge_base_files.';
COMMENT ON INDEX embeddings_freeform_text_id_chunk_index_idx IS 'One chunk per index of a freeform text; replacing its chunks deletes them by freeform_text_id, as does the cascade.';
COMMENT ON INDEX embeddings_table_id_chunk_index_idx IS 'One chunk per index of a table source; replacing its chunks deletes them by table_id, as does the cascade.';
COMMENT ON INDEX embeddings_web_url_id_chunk_index_idx IS 'One chunk per index of a web URL; replacing its chunks deletes them by web_url_id, as does the cascade.';
COMMENT ON INDEX embeddings_knowledge_base_id_idx IS 'Deleting a knowledge base deletes its chunks (cascade), and searches filtered to knowledge bases read them by it.';
COMMENT ON INDEX embeddings_text_search_gin_idx IS 'Full-text search over chunks (search_chunks_by_text, run unprepared): held by tests/sql/test_kb_search_recall.py, beside the vector index.';
COMMENT ON INDEX feedback_user_id_idx IS 'Deleting a user deletes their ratings (feedback_user_id_fkey ON DELETE CASCADE).';
COMMENT ON INDEX knowledge_base_web_urls_next_crawl_at_idx IS 'The web URLs due for crawling, for the crawler that reads next_crawl_at.';
COMMENT ON INDEX models_provider_id_idx IS 'Deleting a model provider deletes its models (models_provider_id_fkey ON DELETE CASCADE).';
COMMENT ON INDEX oauth_connections_user_id_idx IS 'Deleting a user deletes their OAuth links (cascade), and a user''s links are read by user.';
COMMENT ON INDEX orgs_is_default_idx IS 'At most one default org: unique over the rows where is_default.';
COMMENT ON INDEX tasks_agent_id_queued_at_idx IS 'A listing of one agent''s tasks, newest first (list_tasks with agent_id), and the cascade when an agent is deleted.';
COMMENT ON INDEX tasks_schedule_id_queued_at_idx IS 'A listing of one schedule''s tasks, newest first (list_tasks with schedule_id), and ON DELETE SET NULL from schedules.';
COMMENT ON INDEX tasks_thread_id_idx IS 'Deleting a thread clears its tasks'' thread_id (tasks_thread_id_fkey ON DELETE SET NULL).';
