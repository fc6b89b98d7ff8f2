-- Undo 0021.tenant-primary-keys.sql: the keys without org_id again, with their foreign keys as
-- they were, and the plain indexes 0020 built, as 0020 left them. The old keys' indexes are built
-- under the lock, messages' and embeddings' too: a rollback is a development or an emergency step,
-- not a routine one.

SET LOCAL lock_timeout = '5s';

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

-- squawk-ignore ban-drop-constraint
ALTER TABLE feedback DROP CONSTRAINT feedback_message_id_user_id_org_id_key;
-- squawk-ignore constraint-missing-not-valid, disallowed-unique-constraint
ALTER TABLE feedback ADD CONSTRAINT feedback_message_id_user_id_key UNIQUE (message_id, user_id);
-- squawk-ignore require-concurrent-index-creation
CREATE UNIQUE INDEX feedback_message_id_user_id_org_id_idx ON feedback (message_id, user_id, org_id);

-- squawk-ignore require-concurrent-index-creation
CREATE UNIQUE INDEX embeddings_file_id_chunk_index_idx ON embeddings (file_id, chunk_index) WHERE file_id IS NOT NULL;
COMMENT ON INDEX embeddings_file_id_chunk_index_idx IS 'One chunk per index of a file; replacing a file''s chunks deletes them by file_id, as does the cascade from knowledge_base_files.';
COMMENT ON INDEX embeddings_file_id_chunk_index_org_id_idx IS NULL;
-- squawk-ignore require-concurrent-index-creation
CREATE UNIQUE INDEX embeddings_freeform_text_id_chunk_index_idx ON embeddings (freeform_text_id, chunk_index) WHERE freeform_text_id IS NOT NULL;
COMMENT ON INDEX embeddings_freeform_text_id_chunk_index_idx IS 'One chunk per index of a freeform text; replacing its chunks deletes them by freeform_text_id, as does the cascade.';
COMMENT ON INDEX embeddings_freeform_text_id_chunk_index_org_id_idx IS NULL;
-- squawk-ignore require-concurrent-index-creation
CREATE UNIQUE INDEX embeddings_table_id_chunk_index_idx ON embeddings (table_id, chunk_index) WHERE table_id IS NOT NULL;
COMMENT ON INDEX embeddings_table_id_chunk_index_idx IS 'One chunk per index of a table source; replacing its chunks deletes them by table_id, as does the cascade.';
COMMENT ON INDEX embeddings_table_id_chunk_index_org_id_idx IS NULL;
-- squawk-ignore require-concurrent-index-creation
CREATE UNIQUE INDEX embeddings_web_url_id_chunk_index_idx ON embeddings (web_url_id, chunk_index) WHERE web_url_id IS NOT NULL;
COMMENT ON INDEX embeddings_web_url_id_chunk_index_idx IS 'One chunk per index of a web URL; replacing its chunks deletes them by web_url_id, as does the cascade.';
COMMENT ON INDEX embeddings_web_url_id_chunk_index_org_id_idx IS NULL;

-- squawk-ignore ban-drop-constraint
ALTER TABLE knowledge_base_files DROP CONSTRAINT knowledge_base_files_id_knowledge_base_id_org_id_key;
-- squawk-ignore constraint-missing-not-valid, disallowed-unique-constraint
ALTER TABLE knowledge_base_files ADD CONSTRAINT knowledge_base_files_id_knowledge_base_id_key UNIQUE (id, knowledge_base_id);
-- squawk-ignore require-concurrent-index-creation
CREATE UNIQUE INDEX knowledge_base_files_id_knowledge_base_id_org_id_idx ON knowledge_base_files (id, knowledge_base_id, org_id);
-- squawk-ignore ban-drop-constraint
ALTER TABLE knowledge_base_freeform_texts DROP CONSTRAINT knowledge_base_freeform_texts_id_knowledge_base_id_org_id_key;
-- squawk-ignore constraint-missing-not-valid, disallowed-unique-constraint
ALTER TABLE knowledge_base_freeform_texts ADD CONSTRAINT knowledge_base_freeform_texts_id_knowledge_base_id_key UNIQUE (id, knowledge_base_id);
-- squawk-ignore require-concurrent-index-creation
CREATE UNIQUE INDEX knowledge_base_freeform_texts_id_knowledge_base_id_org_id_idx ON knowledge_base_freeform_texts (id, knowledge_base_id, org_id);
-- squawk-ignore ban-drop-constraint
ALTER TABLE knowledge_base_tables DROP CONSTRAINT knowledge_base_tables_id_knowledge_base_id_org_id_key;
-- squawk-ignore constraint-missing-not-valid, disallowed-unique-constraint
ALTER TABLE knowledge_base_tables ADD CONSTRAINT knowledge_base_tables_id_knowledge_base_id_key UNIQUE (id, knowledge_base_id);
-- squawk-ignore require-concurrent-index-creation
CREATE UNIQUE INDEX knowledge_base_tables_id_knowledge_base_id_org_id_idx ON knowledge_base_tables (id, knowledge_base_id, org_id);
-- squawk-ignore ban-drop-constraint
ALTER TABLE knowledge_base_web_urls DROP CONSTRAINT knowledge_base_web_urls_id_knowledge_base_id_org_id_key;
-- squawk-ignore constraint-missing-not-valid, disallowed-unique-constraint
ALTER TABLE knowledge_base_web_urls ADD CONSTRAINT knowledge_base_web_urls_id_knowledge_base_id_key UNIQUE (id, knowledge_base_id);
-- squawk-ignore require-concurrent-index-creation
CREATE UNIQUE INDEX knowledge_base_web_urls_id_knowledge_base_id_org_id_idx ON knowledge_base_web_urls (id, knowledge_base_id, org_id);

-- squawk-ignore ban-drop-constraint
ALTER TABLE agents DROP CONSTRAINT agents_pkey;
-- squawk-ignore constraint-missing-not-valid, adding-serial-primary-key-field
ALTER TABLE agents ADD CONSTRAINT agents_pkey PRIMARY KEY (id);
-- squawk-ignore constraint-missing-not-valid, disallowed-unique-constraint
ALTER TABLE agents ADD CONSTRAINT agents_id_org_id_key UNIQUE (id, org_id);
-- squawk-ignore require-concurrent-index-creation
CREATE UNIQUE INDEX agents_id_org_id_idx ON agents (id, org_id);
-- squawk-ignore ban-drop-constraint
ALTER TABLE api_keys DROP CONSTRAINT api_keys_pkey;
-- squawk-ignore constraint-missing-not-valid, adding-serial-primary-key-field
ALTER TABLE api_keys ADD CONSTRAINT api_keys_pkey PRIMARY KEY (id);
-- squawk-ignore require-concurrent-index-creation
CREATE UNIQUE INDEX api_keys_id_org_id_idx ON api_keys (id, org_id);
-- squawk-ignore ban-drop-constraint
ALTER TABLE channels DROP CONSTRAINT channels_pkey;
-- squawk-ignore constraint-missing-not-valid, adding-serial-primary-key-field
ALTER TABLE channels ADD CONSTRAINT channels_pkey PRIMARY KEY (id);
-- squawk-ignore constraint-missing-not-valid, disallowed-unique-constraint
ALTER TABLE channels ADD CONSTRAINT channels_id_org_id_key UNIQUE (id, org_id);
-- squawk-ignore require-concurrent-index-creation
CREATE UNIQUE INDEX channels_id_org_id_idx ON channels (id, org_id);
-- squawk-ignore ban-drop-constraint
ALTER TABLE embeddings DROP CONSTRAINT embeddings_pkey;
-- squawk-ignore constraint-missing-not-valid, adding-serial-primary-key-field
ALTER TABLE embeddings ADD CONSTRAINT embeddings_pkey PRIMARY KEY (id);
-- squawk-ignore require-concurrent-index-creation
CREATE UNIQUE INDEX embeddings_id_org_id_idx ON embeddings (id, org_id);
-- squawk-ignore ban-drop-constraint
ALTER TABLE feedback DROP CONSTRAINT feedback_pkey;
-- squawk-ignore constraint-missing-not-valid, adding-serial-primary-key-field
ALTER TABLE feedback ADD CONSTRAINT feedback_pkey PRIMARY KEY (id);
-- squawk-ignore require-concurrent-index-creation
CREATE UNIQUE INDEX feedback_id_org_id_idx ON feedback (id, org_id);
-- squawk-ignore ban-drop-constraint
ALTER TABLE invitations DROP CONSTRAINT invitations_pkey;
-- squawk-ignore constraint-missing-not-valid, adding-serial-primary-key-field
ALTER TABLE invitations ADD CONSTRAINT invitations_pkey PRIMARY KEY (id);
-- squawk-ignore require-concurrent-index-creation
CREATE UNIQUE INDEX invitations_id_org_id_idx ON invitations (id, org_id);
-- squawk-ignore ban-drop-constraint
ALTER TABLE knowledge_base_files DROP CONSTRAINT knowledge_base_files_pkey;
-- squawk-ignore constraint-missing-not-valid, adding-serial-primary-key-field
ALTER TABLE knowledge_base_files ADD CONSTRAINT knowledge_base_files_pkey PRIMARY KEY (id);
-- squawk-ignore require-concurrent-index-creation
CREATE UNIQUE INDEX knowledge_base_files_id_org_id_idx ON knowledge_base_files (id, org_id);
-- squawk-ignore ban-drop-constraint
ALTER TABLE knowledge_base_freeform_texts DROP CONSTRAINT knowledge_base_freeform_texts_pkey;
-- squawk-ignore constraint-missing-not-valid, adding-serial-primary-key-field
ALTER TABLE knowledge_base_freeform_texts ADD CONSTRAINT knowledge_base_freeform_texts_pkey PRIMARY KEY (id);
-- squawk-ignore require-concurrent-index-creation
CREATE UNIQUE INDEX knowledge_base_freeform_texts_id_org_id_idx ON knowledge_base_freeform_texts (id, org_id);
-- squawk-ignore ban-drop-constraint
ALTER TABLE knowledge_base_tables DROP CONSTRAINT knowledge_base_tables_pkey;
-- squawk-ignore constraint-missing-not-valid, adding-serial-primary-key-field
ALTER TABLE knowledge_base_tables ADD CONSTRAINT knowledge_base_tables_pkey PRIMARY KEY (id);
-- squawk-ignore require-concurrent-index-creation
CREATE UNIQUE INDEX knowledge_base_tables_id_org_id_idx ON knowledge_base_tables (id, org_id);
-- squawk-ignore ban-drop-constraint
ALTER TABLE knowledge_base_web_urls DROP CONSTRAINT knowledge_base_web_urls_pkey;
-- squawk-ignore constraint-missing-not-valid, adding-serial-primary-key-field
ALTER TABLE knowledge_base_web_urls ADD CONSTRAINT knowledge_base_web_urls_pkey PRIMARY KEY (id);
-- squawk-ignore require-concurrent-index-creation
CREATE UNIQUE INDEX knowledge_base_web_urls_id_org_id_idx ON knowledge_base_web_urls (id, org_id);
-- squawk-ignore ban-drop-constraint
ALTER TABLE knowledge_bases DROP CONSTRAINT knowledge_bases_pkey;
-- squawk-ignore constraint-missing-not-valid, adding-serial-primary-key-field
ALTER TABLE knowledge_bases ADD CONSTRAINT knowledge_bases_pkey PRIMARY KEY (id);
-- squawk-ignore constraint-missing-not-valid, disallowed-unique-constraint
ALTER TABLE knowledge_bases ADD CONSTRAINT knowledge_bases_id_org_id_key UNIQUE (id, org_id);
-- squawk-ignore require-concurrent-index-creation
CREATE UNIQUE INDEX knowledge_bases_id_org_id_idx ON knowledge_bases (id, org_id);
-- squawk-ignore ban-drop-constraint
ALTER TABLE messages DROP CONSTRAINT messages_pkey;
-- squawk-ignore constraint-missing-not-valid, adding-serial-primary-key-field
ALTER TABLE messages ADD CONSTRAINT messages_pkey PRIMARY KEY (id);
-- squawk-ignore constraint-missing-not-valid, disallowed-unique-constraint
ALTER TABLE messages ADD CONSTRAINT messages_id_org_id_key UNIQUE (id, org_id);
-- squawk-ignore require-concurrent-index-creation
CREATE UNIQUE INDEX messages_id_org_id_idx ON messages (id, org_id);
-- squawk-ignore ban-drop-constraint
ALTER TABLE model_providers DROP CONSTRAINT model_providers_pkey;
-- squawk-ignore constraint-missing-not-valid, adding-serial-primary-key-field
ALTER TABLE model_providers ADD CONSTRAINT model_providers_pkey PRIMARY KEY (id);
-- squawk-ignore constraint-missing-not-valid, disallowed-unique-constraint
ALTER TABLE model_providers ADD CONSTRAINT model_providers_id_org_id_key UNIQUE (id, org_id);
-- squawk-ignore require-concurrent-index-creation
CREATE UNIQUE INDEX model_providers_id_org_id_idx ON model_providers (id, org_id);
-- squawk-ignore ban-drop-constraint
ALTER TABLE models DROP CONSTRAINT models_pkey;
-- squawk-ignore constraint-missing-not-valid, adding-serial-primary-key-field
ALTER TABLE models ADD CONSTRAINT models_pkey PRIMARY KEY (id);
-- squawk-ignore require-concurrent-index-creation
CREATE UNIQUE INDEX models_id_org_id_idx ON models (id, org_id);
-- squawk-ignore ban-drop-constraint
ALTER TABLE personas DROP CONSTRAINT personas_pkey;
-- squawk-ignore constraint-missing-not-valid, adding-serial-primary-key-field
ALTER TABLE personas ADD CONSTRAINT personas_pkey PRIMARY KEY (id);
-- squawk-ignore constraint-missing-not-valid, disallowed-unique-constraint
ALTER TABLE personas ADD CONSTRAINT personas_id_org_id_key UNIQUE (id, org_id);
-- squawk-ignore require-concurrent-index-creation
CREATE UNIQUE INDEX personas_id_org_id_idx ON personas (id, org_id);
-- squawk-ignore ban-drop-constraint
ALTER TABLE schedules DROP CONSTRAINT schedules_pkey;
-- squawk-ignore constraint-missing-not-valid, adding-serial-primary-key-field
ALTER TABLE schedules ADD CONSTRAINT schedules_pkey PRIMARY KEY (id);
-- squawk-ignore constraint-missing-not-valid, disallowed-unique-constraint
ALTER TABLE schedules ADD CONSTRAINT schedules_id_org_id_key UNIQUE (id, org_id);
-- squawk-ignore require-concurrent-index-creation
CREATE UNIQUE INDEX schedules_id_org_id_idx ON schedules (id, org_id);
-- squawk-ignore ban-drop-constraint
ALTER TABLE tasks DROP CONSTRAINT tasks_pkey;
-- squawk-ignore constraint-missing-not-valid, adding-serial-primary-key-field
ALTER TABLE tasks ADD CONSTRAINT tasks_pkey PRIMARY KEY (id);
-- squawk-ignore require-concurrent-index-creation
CREATE UNIQUE INDEX tasks_id_org_id_idx ON tasks (id, org_id);
-- squawk-ignore ban-drop-constraint
ALTER TABLE threads DROP CONSTRAINT threads_pkey;
-- squawk-ignore constraint-missing-not-valid, adding-serial-primary-key-field
ALTER TABLE threads ADD CONSTRAINT threads_pkey PRIMARY KEY (id);
-- squawk-ignore constraint-missing-not-valid, disallowed-unique-constraint
ALTER TABLE threads ADD CONSTRAINT threads_id_org_id_key UNIQUE (id, org_id);
-- squawk-ignore require-concurrent-index-creation
CREATE UNIQUE INDEX threads_id_org_id_idx ON threads (id, org_id);
-- squawk-ignore ban-drop-constraint
ALTER TABLE tools DROP CONSTRAINT tools_pkey;
-- squawk-ignore constraint-missing-not-valid, adding-serial-primary-key-field
ALTER TABLE tools ADD CONSTRAINT tools_pkey PRIMARY KEY (id);
-- squawk-ignore constraint-missing-not-valid, disallowed-unique-constraint
ALTER TABLE tools ADD CONSTRAINT tools_id_org_id_key UNIQUE (id, org_id);
-- squawk-ignore require-concurrent-index-creation
CREATE UNIQUE INDEX tools_id_org_id_idx ON tools (id, org_id);

-- squawk-ignore constraint-missing-not-valid, adding-foreign-key-constraint
ALTER TABLE agent_config_ids ADD CONSTRAINT agent_config_ids_agent_id_fkey
    FOREIGN KEY (agent_id, org_id) REFERENCES agents (id, org_id) ON DELETE CASCADE;
-- squawk-ignore constraint-missing-not-valid, adding-foreign-key-constraint
ALTER TABLE agent_knowledge_bases ADD CONSTRAINT agent_knowledge_bases_agent_id_fkey
    FOREIGN KEY (agent_id, org_id) REFERENCES agents (id, org_id) ON DELETE CASCADE;
-- squawk-ignore constraint-missing-not-valid, adding-foreign-key-constraint
ALTER TABLE agent_knowledge_bases ADD CONSTRAINT agent_knowledge_bases_knowledge_base_id_fkey
    FOREIGN KEY (knowledge_base_id, org_id) REFERENCES knowledge_bases (id, org_id) ON DELETE CASCADE;
-- squawk-ignore constraint-missing-not-valid, adding-foreign-key-constraint
ALTER TABLE agent_tools ADD CONSTRAINT agent_tools_agent_id_fkey
    FOREIGN KEY (agent_id, org_id) REFERENCES agents (id, org_id) ON DELETE CASCADE;
-- squawk-ignore constraint-missing-not-valid, adding-foreign-key-constraint
ALTER TABLE agent_tools ADD CONSTRAINT agent_tools_tool_id_fkey
    FOREIGN KEY (tool_id, org_id) REFERENCES tools (id, org_id) ON DELETE CASCADE;
-- squawk-ignore constraint-missing-not-valid, adding-foreign-key-constraint
ALTER TABLE agent_versions ADD CONSTRAINT agent_versions_agent_id_fkey
    FOREIGN KEY (agent_id, org_id) REFERENCES agents (id, org_id) ON DELETE CASCADE;
-- squawk-ignore constraint-missing-not-valid, adding-foreign-key-constraint
ALTER TABLE agents ADD CONSTRAINT agents_persona_id_fkey
    FOREIGN KEY (persona_id, org_id) REFERENCES personas (id, org_id);
-- squawk-ignore constraint-missing-not-valid, adding-foreign-key-constraint
ALTER TABLE channels ADD CONSTRAINT channels_agent_id_fkey
    FOREIGN KEY (agent_id, org_id) REFERENCES agents (id, org_id) ON DELETE SET NULL (agent_id);
-- squawk-ignore constraint-missing-not-valid, adding-foreign-key-constraint
ALTER TABLE embeddings ADD CONSTRAINT embeddings_file_id_fkey
    FOREIGN KEY (file_id, knowledge_base_id) REFERENCES knowledge_base_files (id, knowledge_base_id) ON DELETE CASCADE;
-- squawk-ignore constraint-missing-not-valid, adding-foreign-key-constraint
ALTER TABLE embeddings ADD CONSTRAINT embeddings_freeform_text_id_fkey
    FOREIGN KEY (freeform_text_id, knowledge_base_id) REFERENCES knowledge_base_freeform_texts (id, knowledge_base_id) ON DELETE CASCADE;
-- squawk-ignore constraint-missing-not-valid, adding-foreign-key-constraint
ALTER TABLE embeddings ADD CONSTRAINT embeddings_knowledge_base_id_fkey
    FOREIGN KEY (knowledge_base_id, org_id) REFERENCES knowledge_bases (id, org_id) ON DELETE CASCADE;
-- squawk-ignore constraint-missing-not-valid, adding-foreign-key-constraint
ALTER TABLE embeddings ADD CONSTRAINT embeddings_table_id_fkey
    FOREIGN KEY (table_id, knowledge_base_id) REFERENCES knowledge_base_tables (id, knowledge_base_id) ON DELETE CASCADE;
-- squawk-ignore constraint-missing-not-valid, adding-foreign-key-constraint
ALTER TABLE embeddings ADD CONSTRAINT embeddings_web_url_id_fkey
    FOREIGN KEY (web_url_id, knowledge_base_id) REFERENCES knowledge_base_web_urls (id, knowledge_base_id) ON DELETE CASCADE;
-- squawk-ignore constraint-missing-not-valid, adding-foreign-key-constraint
ALTER TABLE feedback ADD CONSTRAINT feedback_message_id_fkey
    FOREIGN KEY (message_id, org_id) REFERENCES messages (id, org_id) ON DELETE CASCADE;
-- squawk-ignore constraint-missing-not-valid, adding-foreign-key-constraint
ALTER TABLE knowledge_base_files ADD CONSTRAINT knowledge_base_files_knowledge_base_id_fkey
    FOREIGN KEY (knowledge_base_id, org_id) REFERENCES knowledge_bases (id, org_id) ON DELETE CASCADE;
-- squawk-ignore constraint-missing-not-valid, adding-foreign-key-constraint
ALTER TABLE knowledge_base_freeform_texts ADD CONSTRAINT knowledge_base_freeform_texts_knowledge_base_id_fkey
    FOREIGN KEY (knowledge_base_id, org_id) REFERENCES knowledge_bases (id, org_id) ON DELETE CASCADE;
-- squawk-ignore constraint-missing-not-valid, adding-foreign-key-constraint
ALTER TABLE knowledge_base_tables ADD CONSTRAINT knowledge_base_tables_knowledge_base_id_fkey
    FOREIGN KEY (knowledge_base_id, org_id) REFERENCES knowledge_bases (id, org_id) ON DELETE CASCADE;
-- squawk-ignore constraint-missing-not-valid, adding-foreign-key-constraint
ALTER TABLE knowledge_base_web_urls ADD CONSTRAINT knowledge_base_web_urls_knowledge_base_id_fkey
    FOREIGN KEY (knowledge_base_id, org_id) REFERENCES knowledge_bases (id, org_id) ON DELETE CASCADE;
-- squawk-ignore constraint-missing-not-valid, adding-foreign-key-constraint
ALTER TABLE messages ADD CONSTRAINT messages_thread_id_fkey
    FOREIGN KEY (thread_id, org_id) REFERENCES threads (id, org_id) ON DELETE CASCADE;
-- squawk-ignore constraint-missing-not-valid, adding-foreign-key-constraint
ALTER TABLE models ADD CONSTRAINT models_provider_id_fkey
    FOREIGN KEY (provider_id, org_id) REFERENCES model_providers (id, org_id) ON DELETE CASCADE;
-- squawk-ignore constraint-missing-not-valid, adding-foreign-key-constraint
ALTER TABLE schedules ADD CONSTRAINT schedules_agent_id_fkey
    FOREIGN KEY (agent_id, org_id) REFERENCES agents (id, org_id) ON DELETE CASCADE;
-- squawk-ignore constraint-missing-not-valid, adding-foreign-key-constraint
ALTER TABLE tasks ADD CONSTRAINT tasks_agent_id_fkey
    FOREIGN KEY (agent_id, org_id) REFERENCES agents (id, org_id) ON DELETE CASCADE;
-- squawk-ignore constraint-missing-not-valid, adding-foreign-key-constraint
ALTER TABLE tasks ADD CONSTRAINT tasks_schedule_id_fkey
    FOREIGN KEY (schedule_id, org_id) REFERENCES schedules (id, org_id) ON DELETE SET NULL (schedule_id);
-- squawk-ignore constraint-missing-not-valid, adding-foreign-key-constraint
ALTER TABLE tasks ADD CONSTRAINT tasks_thread_id_fkey
    FOREIGN KEY (thread_id, org_id) REFERENCES threads (id, org_id) ON DELETE SET NULL (thread_id);
-- squawk-ignore constraint-missing-not-valid, adding-foreign-key-constraint
ALTER TABLE threads ADD CONSTRAINT threads_agent_id_fkey
    FOREIGN KEY (agent_id, org_id) REFERENCES agents (id, org_id) ON DELETE SET NULL (agent_id);
