-- Citus readiness (docs/scaling.md, tests/sql/test_distribution.py): every tenant table's primary
-- key is (id, org_id), each knowledge-base source's key within its knowledge base and the
-- embeddings' keys and foreign keys to the sources include org_id, and so does feedback's one
-- rating per user and message. Each constraint moves onto the index 0020 built concurrently, so
-- nothing is built under the lock here. The foreign keys that depended on the dropped keys are
-- re-created against the new ones NOT VALID (no scan under the lock); 0022 validates them.
-- The primary keys keep their names; the (id, org_id) unique keys they replace are gone, and the
-- plan contracts in sql/queries/ that named those now name the primary keys.
-- depends: 0020.tenant-primary-key-indexes

-- Give up rather than queue every query on the tables we lock behind a lock we wait for.
SET LOCAL lock_timeout = '5s';

-- The foreign keys that depend on keys dropped below; each comes back below against the new key.
-- squawk-ignore ban-drop-constraint
ALTER TABLE agent_config_ids DROP CONSTRAINT agent_config_ids_agent_id_fkey;
-- squawk-ignore ban-drop-constraint
ALTER TABLE agent_knowledge_bases DROP CONSTRAINT agent_knowledge_bases_agent_id_fkey;
-- squawk-ignore ban-drop-constraint
ALTER TABLE agent_knowledge_bases DROP CONSTRAINT agent_knowledge_bases_knowledge_base_id_fkey;
-- squawk-ignore ban-drop-constraint
ALTER TABLE agent_tools DROP CONSTRAINT agent_tools_agent_id_fkey;
-- squawk-ignore ban-drop-constraint
ALTER TABLE agent_tools DROP CONSTRAINT agent_tools_tool_id_fkey;
-- squawk-ignore ban-drop-constraint
ALTER TABLE agent_versions DROP CONSTRAINT agent_versions_agent_id_fkey;
-- squawk-ignore ban-drop-constraint
ALTER TABLE agents DROP CONSTRAINT agents_persona_id_fkey;
-- squawk-ignore ban-drop-constraint
ALTER TABLE channels DROP CONSTRAINT channels_agent_id_fkey;
-- squawk-ignore ban-drop-constraint
ALTER TABLE embeddings DROP CONSTRAINT embeddings_file_id_fkey;
-- squawk-ignore ban-drop-constraint
ALTER TABLE embeddings DROP CONSTRAINT embeddings_freeform_text_id_fkey;
-- squawk-ignore ban-drop-constraint
ALTER TABLE embeddings DROP CONSTRAINT embeddings_knowledge_base_id_fkey;
-- squawk-ignore ban-drop-constraint
ALTER TABLE embeddings DROP CONSTRAINT embeddings_table_id_fkey;
-- squawk-ignore ban-drop-constraint
ALTER TABLE embeddings DROP CONSTRAINT embeddings_web_url_id_fkey;
-- squawk-ignore ban-drop-constraint
ALTER TABLE feedback DROP CONSTRAINT feedback_message_id_fkey;
-- squawk-ignore ban-drop-constraint
ALTER TABLE knowledge_base_files DROP CONSTRAINT knowledge_base_files_knowledge_base_id_fkey;
-- squawk-ignore ban-drop-constraint
ALTER TABLE knowledge_base_freeform_texts DROP CONSTRAINT knowledge_base_freeform_texts_knowledge_base_id_fkey;
-- squawk-ignore ban-drop-constraint
ALTER TABLE knowledge_base_tables DROP CONSTRAINT knowledge_base_tables_knowledge_base_id_fkey;
-- squawk-ignore ban-drop-constraint
ALTER TABLE knowledge_base_web_urls DROP CONSTRAINT knowledge_base_web_urls_knowledge_base_id_fkey;
-- squawk-ignore ban-drop-constraint
ALTER TABLE messages DROP CONSTRAINT messages_thread_id_fkey;
-- squawk-ignore ban-drop-constraint
ALTER TABLE models DROP CONSTRAINT models_provider_id_fkey;
-- squawk-ignore ban-drop-constraint
ALTER TABLE schedules DROP CONSTRAINT schedules_agent_id_fkey;
-- squawk-ignore ban-drop-constraint
ALTER TABLE tasks DROP CONSTRAINT tasks_agent_id_fkey;
-- squawk-ignore ban-drop-constraint
ALTER TABLE tasks DROP CONSTRAINT tasks_schedule_id_fkey;
-- squawk-ignore ban-drop-constraint
ALTER TABLE tasks DROP CONSTRAINT tasks_thread_id_fkey;
-- squawk-ignore ban-drop-constraint
ALTER TABLE threads DROP CONSTRAINT threads_agent_id_fkey;

-- The primary keys: (id, org_id) in place of (id); where UNIQUE (id, org_id) was the foreign
-- keys' target, the primary key takes its place.
-- squawk-ignore ban-drop-constraint
ALTER TABLE agents DROP CONSTRAINT agents_id_org_id_key;
-- squawk-ignore ban-drop-constraint
ALTER TABLE agents DROP CONSTRAINT agents_pkey;
ALTER TABLE agents ADD CONSTRAINT agents_pkey PRIMARY KEY USING INDEX agents_id_org_id_idx;
-- squawk-ignore ban-drop-constraint
ALTER TABLE api_keys DROP CONSTRAINT api_keys_pkey;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_pkey PRIMARY KEY USING INDEX api_keys_id_org_id_idx;
-- squawk-ignore ban-drop-constraint
ALTER TABLE channels DROP CONSTRAINT channels_id_org_id_key;
-- squawk-ignore ban-drop-constraint
ALTER TABLE channels DROP CONSTRAINT channels_pkey;
ALTER TABLE channels ADD CONSTRAINT channels_pkey PRIMARY KEY USING INDEX channels_id_org_id_idx;
-- squawk-ignore ban-drop-constraint
ALTER TABLE embeddings DROP CONSTRAINT embeddings_pkey;
ALTER TABLE embeddings ADD CONSTRAINT embeddings_pkey PRIMARY KEY USING INDEX embeddings_id_org_id_idx;
-- squawk-ignore ban-drop-constraint
ALTER TABLE feedback DROP CONSTRAINT feedback_pkey;
ALTER TABLE feedback ADD CONSTRAINT feedback_pkey PRIMARY KEY USING INDEX feedback_id_org_id_idx;
-- squawk-ignore ban-drop-constraint
ALTER TABLE invitations DROP CONSTRAINT invitations_pkey;
ALTER TABLE invitations ADD CONSTRAINT invitations_pkey PRIMARY KEY USING INDEX invitations_id_org_id_idx;
-- squawk-ignore ban-drop-constraint
ALTER TABLE knowledge_base_files DROP CONSTRAINT knowledge_base_files_pkey;
ALTER TABLE knowledge_base_files ADD CONSTRAINT knowledge_base_files_pkey PRIMARY KEY USING INDEX knowledge_base_files_id_org_id_idx;
-- squawk-ignore ban-drop-constraint
ALTER TABLE knowledge_base_freeform_texts DROP CONSTRAINT knowledge_base_freeform_texts_pkey;
ALTER TABLE knowledge_base_freeform_texts ADD CONSTRAINT knowledge_base_freeform_texts_pkey PRIMARY KEY USING INDEX knowledge_base_freeform_texts_id_org_id_idx;
-- squawk-ignore ban-drop-constraint
ALTER TABLE knowledge_base_tables DROP CONSTRAINT knowledge_base_tables_pkey;
ALTER TABLE knowledge_base_tables ADD CONSTRAINT knowledge_base_tables_pkey PRIMARY KEY USING INDEX knowledge_base_tables_id_org_id_idx;
-- squawk-ignore ban-drop-constraint
ALTER TABLE knowledge_base_web_urls DROP CONSTRAINT knowledge_base_web_urls_pkey;
ALTER TABLE knowledge_base_web_urls ADD CONSTRAINT knowledge_base_web_urls_pkey PRIMARY KEY USING INDEX knowledge_base_web_urls_id_org_id_idx;
-- squawk-ignore ban-drop-constraint
ALTER TABLE knowledge_bases DROP CONSTRAINT knowledge_bases_id_org_id_key;
-- squawk-ignore ban-drop-constraint
ALTER TABLE knowledge_bases DROP CONSTRAINT knowledge_bases_pkey;
ALTER TABLE knowledge_bases ADD CONSTRAINT knowledge_bases_pkey PRIMARY KEY USING INDEX knowledge_bases_id_org_id_idx;
-- squawk-ignore ban-drop-constraint
ALTER TABLE messages DROP CONSTRAINT messages_id_org_id_key;
-- squawk-ignore ban-drop-constraint
ALTER TABLE messages DROP CONSTRAINT messages_pkey;
ALTER TABLE messages ADD CONSTRAINT messages_pkey PRIMARY KEY USING INDEX messages_id_org_id_idx;
-- squawk-ignore ban-drop-constraint
ALTER TABLE model_providers DROP CONSTRAINT model_providers_id_org_id_key;
-- squawk-ignore ban-drop-constraint
ALTER TABLE model_providers DROP CONSTRAINT model_providers_pkey;
ALTER TABLE model_providers ADD CONSTRAINT model_providers_pkey PRIMARY KEY USING INDEX model_providers_id_org_id_idx;
-- squawk-ignore ban-drop-constraint
ALTER TABLE models DROP CONSTRAINT models_pkey;
ALTER TABLE models ADD CONSTRAINT models_pkey PRIMARY KEY USING INDEX models_id_org_id_idx;
-- squawk-ignore ban-drop-constraint
ALTER TABLE personas DROP CONSTRAINT personas_id_org_id_key;
-- squawk-ignore ban-drop-constraint
ALTER TABLE personas DROP CONSTRAINT personas_pkey;
ALTER TABLE personas ADD CONSTRAINT personas_pkey PRIMARY KEY USING INDEX personas_id_org_id_idx;
-- squawk-ignore ban-drop-constraint
ALTER TABLE schedules DROP CONSTRAINT schedules_id_org_id_key;
-- squawk-ignore ban-drop-constraint
ALTER TABLE schedules DROP CONSTRAINT schedules_pkey;
ALTER TABLE schedules ADD CONSTRAINT schedules_pkey PRIMARY KEY USING INDEX schedules_id_org_id_idx;
-- squawk-ignore ban-drop-constraint
ALTER TABLE tasks DROP CONSTRAINT tasks_pkey;
ALTER TABLE tasks ADD CONSTRAINT tasks_pkey PRIMARY KEY USING INDEX tasks_id_org_id_idx;
-- squawk-ignore ban-drop-constraint
ALTER TABLE threads DROP CONSTRAINT threads_id_org_id_key;
-- squawk-ignore ban-drop-constraint
ALTER TABLE threads DROP CONSTRAINT threads_pkey;
ALTER TABLE threads ADD CONSTRAINT threads_pkey PRIMARY KEY USING INDEX threads_id_org_id_idx;
-- squawk-ignore ban-drop-constraint
ALTER TABLE tools DROP CONSTRAINT tools_id_org_id_key;
-- squawk-ignore ban-drop-constraint
ALTER TABLE tools DROP CONSTRAINT tools_pkey;
ALTER TABLE tools ADD CONSTRAINT tools_pkey PRIMARY KEY USING INDEX tools_id_org_id_idx;

-- The sources' keys within their knowledge base.
-- squawk-ignore ban-drop-constraint
ALTER TABLE knowledge_base_files DROP CONSTRAINT knowledge_base_files_id_knowledge_base_id_key;
ALTER TABLE knowledge_base_files ADD CONSTRAINT knowledge_base_files_id_knowledge_base_id_org_id_key UNIQUE USING INDEX knowledge_base_files_id_knowledge_base_id_org_id_idx;
-- squawk-ignore ban-drop-constraint
ALTER TABLE knowledge_base_freeform_texts DROP CONSTRAINT knowledge_base_freeform_texts_id_knowledge_base_id_key;
ALTER TABLE knowledge_base_freeform_texts ADD CONSTRAINT knowledge_base_freeform_texts_id_knowledge_base_id_org_id_key UNIQUE USING INDEX knowledge_base_freeform_texts_id_knowledge_base_id_org_id_idx;
-- squawk-ignore ban-drop-constraint
ALTER TABLE knowledge_base_tables DROP CONSTRAINT knowledge_base_tables_id_knowledge_base_id_key;
ALTER TABLE knowledge_base_tables ADD CONSTRAINT knowledge_base_tables_id_knowledge_base_id_org_id_key UNIQUE USING INDEX knowledge_base_tables_id_knowledge_base_id_org_id_idx;
-- squawk-ignore ban-drop-constraint
ALTER TABLE knowledge_base_web_urls DROP CONSTRAINT knowledge_base_web_urls_id_knowledge_base_id_key;
ALTER TABLE knowledge_base_web_urls ADD CONSTRAINT knowledge_base_web_urls_id_knowledge_base_id_org_id_key UNIQUE USING INDEX knowledge_base_web_urls_id_knowledge_base_id_org_id_idx;

-- The embeddings' chunk indexes: the new ones are built; nothing infers the old ones (no ON CONFLICT),
-- and dropping one only waits for the lock the transaction holds already. Their comments move too.
-- squawk-ignore require-concurrent-index-deletion
DROP INDEX embeddings_file_id_chunk_index_idx;
COMMENT ON INDEX embeddings_file_id_chunk_index_org_id_idx IS 'One chunk per index of a file; replacing a file''s chunks deletes them by file_id, as does the cascade from knowledge_base_files.';
-- squawk-ignore require-concurrent-index-deletion
DROP INDEX embeddings_freeform_text_id_chunk_index_idx;
COMMENT ON INDEX embeddings_freeform_text_id_chunk_index_org_id_idx IS 'One chunk per index of a freeform text; replacing its chunks deletes them by freeform_text_id, as does the cascade.';
-- squawk-ignore require-concurrent-index-deletion
DROP INDEX embeddings_table_id_chunk_index_idx;
COMMENT ON INDEX embeddings_table_id_chunk_index_org_id_idx IS 'One chunk per index of a table source; replacing its chunks deletes them by table_id, as does the cascade.';
-- squawk-ignore require-concurrent-index-deletion
DROP INDEX embeddings_web_url_id_chunk_index_idx;
COMMENT ON INDEX embeddings_web_url_id_chunk_index_org_id_idx IS 'One chunk per index of a web URL; replacing its chunks deletes them by web_url_id, as does the cascade.';

-- Feedback: ON CONFLICT (message_id, user_id, org_id) in feedback.sql finds the new key.
-- squawk-ignore ban-drop-constraint
ALTER TABLE feedback DROP CONSTRAINT feedback_message_id_user_id_key;
ALTER TABLE feedback ADD CONSTRAINT feedback_message_id_user_id_org_id_key
    UNIQUE USING INDEX feedback_message_id_user_id_org_id_idx;

-- The foreign keys again, against the new keys (the embeddings' to the sources now with org_id).
ALTER TABLE agent_config_ids ADD CONSTRAINT agent_config_ids_agent_id_fkey
    FOREIGN KEY (agent_id, org_id) REFERENCES agents (id, org_id) ON DELETE CASCADE NOT VALID;
ALTER TABLE agent_knowledge_bases ADD CONSTRAINT agent_knowledge_bases_agent_id_fkey
    FOREIGN KEY (agent_id, org_id) REFERENCES agents (id, org_id) ON DELETE CASCADE NOT VALID;
ALTER TABLE agent_knowledge_bases ADD CONSTRAINT agent_knowledge_bases_knowledge_base_id_fkey
    FOREIGN KEY (knowledge_base_id, org_id) REFERENCES knowledge_bases (id, org_id) ON DELETE CASCADE NOT VALID;
ALTER TABLE agent_tools ADD CONSTRAINT agent_tools_agent_id_fkey
    FOREIGN KEY (agent_id, org_id) REFERENCES agents (id, org_id) ON DELETE CASCADE NOT VALID;
ALTER TABLE agent_tools ADD CONSTRAINT agent_tools_tool_id_fkey
    FOREIGN KEY (tool_id, org_id) REFERENCES tools (id, org_id) ON DELETE CASCADE NOT VALID;
ALTER TABLE agent_versions ADD CONSTRAINT agent_versions_agent_id_fkey
    FOREIGN KEY (agent_id, org_id) REFERENCES agents (id, org_id) ON DELETE CASCADE NOT VALID;
ALTER TABLE agents ADD CONSTRAINT agents_persona_id_fkey
    FOREIGN KEY (persona_id, org_id) REFERENCES personas (id, org_id) NOT VALID;
ALTER TABLE channels ADD CONSTRAINT channels_agent_id_fkey
    FOREIGN KEY (agent_id, org_id) REFERENCES agents (id, org_id) ON DELETE SET NULL (agent_id) NOT VALID;
ALTER TABLE embeddings ADD CONSTRAINT embeddings_file_id_fkey
    FOREIGN KEY (file_id, knowledge_base_id, org_id) REFERENCES knowledge_base_files (id, knowledge_base_id, org_id) ON DELETE CASCADE NOT VALID;
ALTER TABLE embeddings ADD CONSTRAINT embeddings_freeform_text_id_fkey
    FOREIGN KEY (freeform_text_id, knowledge_base_id, org_id) REFERENCES knowledge_base_freeform_texts (id, knowledge_base_id, org_id) ON DELETE CASCADE NOT VALID;
ALTER TABLE embeddings ADD CONSTRAINT embeddings_knowledge_base_id_fkey
    FOREIGN KEY (knowledge_base_id, org_id) REFERENCES knowledge_bases (id, org_id) ON DELETE CASCADE NOT VALID;
ALTER TABLE embeddings ADD CONSTRAINT embeddings_table_id_fkey
    FOREIGN KEY (table_id, knowledge_base_id, org_id) REFERENCES knowledge_base_tables (id, knowledge_base_id, org_id) ON DELETE CASCADE NOT VALID;
ALTER TABLE embeddings ADD CONSTRAINT embeddings_web_url_id_fkey
    FOREIGN KEY (web_url_id, knowledge_base_id, org_id) REFERENCES knowledge_base_web_urls (id, knowledge_base_id, org_id) ON DELETE CASCADE NOT VALID;
ALTER TABLE feedback ADD CONSTRAINT feedback_message_id_fkey
    FOREIGN KEY (message_id, org_id) REFERENCES messages (id, org_id) ON DELETE CASCADE NOT VALID;
ALTER TABLE knowledge_base_files ADD CONSTRAINT knowledge_base_files_knowledge_base_id_fkey
    FOREIGN KEY (knowledge_base_id, org_id) REFERENCES knowledge_bases (id, org_id) ON DELETE CASCADE NOT VALID;
ALTER TABLE knowledge_base_freeform_texts ADD CONSTRAINT knowledge_base_freeform_texts_knowledge_base_id_fkey
    FOREIGN KEY (knowledge_base_id, org_id) REFERENCES knowledge_bases (id, org_id) ON DELETE CASCADE NOT VALID;
ALTER TABLE knowledge_base_tables ADD CONSTRAINT knowledge_base_tables_knowledge_base_id_fkey
    FOREIGN KEY (knowledge_base_id, org_id) REFERENCES knowledge_bases (id, org_id) ON DELETE CASCADE NOT VALID;
ALTER TABLE knowledge_base_web_urls ADD CONSTRAINT knowledge_base_web_urls_knowledge_base_id_fkey
    FOREIGN KEY (knowledge_base_id, org_id) REFERENCES knowledge_bases (id, org_id) ON DELETE CASCADE NOT VALID;
ALTER TABLE messages ADD CONSTRAINT messages_thread_id_fkey
    FOREIGN KEY (thread_id, org_id) REFERENCES threads (id, org_id) ON DELETE CASCADE NOT VALID;
ALTER TABLE models ADD CONSTRAINT models_provider_id_fkey
    FOREIGN KEY (provider_id, org_id) REFERENCES model_providers (id, org_id) ON DELETE CASCADE NOT VALID;
ALTER TABLE schedules ADD CONSTRAINT schedules_agent_id_fkey
    FOREIGN KEY (agent_id, org_id) REFERENCES agents (id, org_id) ON DELETE CASCADE NOT VALID;
ALTER TABLE tasks ADD CONSTRAINT tasks_agent_id_fkey
    FOREIGN KEY (agent_id, org_id) REFERENCES agents (id, org_id) ON DELETE CASCADE NOT VALID;
ALTER TABLE tasks ADD CONSTRAINT tasks_schedule_id_fkey
    FOREIGN KEY (schedule_id, org_id) REFERENCES schedules (id, org_id) ON DELETE SET NULL (schedule_id) NOT VALID;
ALTER TABLE tasks ADD CONSTRAINT tasks_thread_id_fkey
    FOREIGN KEY (thread_id, org_id) REFERENCES threads (id, org_id) ON DELETE SET NULL (thread_id) NOT VALID;
ALTER TABLE threads ADD CONSTRAINT threads_agent_id_fkey
    FOREIGN KEY (agent_id, org_id) REFERENCES agents (id, org_id) ON DELETE SET NULL (agent_id) NOT VALID;
