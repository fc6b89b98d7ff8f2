-- transactional: false
-- squawk-disable-assume-in-transaction
-- Validate the foreign keys 0021.tenant-primary-keys re-created NOT VALID. Validation scans each
-- referencing table (messages and embeddings are the large ones) under SHARE UPDATE EXCLUSIVE,
-- which lets reads and writes go on; it is a migration of its own so that 0021's short lock is not
-- held while it runs, and without a transaction so that each VALIDATE commits on its own: one
-- snapshot across every scan would hold back vacuum, and every table's lock would last to the end.
-- Validating a key already valid does nothing, so a run that stopped halfway is simply run again.
-- depends: 0021.tenant-primary-keys

-- Give up rather than queue behind a long transaction on a table being validated.
SET lock_timeout = '5s';

ALTER TABLE agent_config_ids VALIDATE CONSTRAINT agent_config_ids_agent_id_fkey;
ALTER TABLE agent_knowledge_bases VALIDATE CONSTRAINT agent_knowledge_bases_agent_id_fkey;
ALTER TABLE agent_knowledge_bases VALIDATE CONSTRAINT agent_knowledge_bases_knowledge_base_id_fkey;
ALTER TABLE agent_tools VALIDATE CONSTRAINT agent_tools_agent_id_fkey;
ALTER TABLE agent_tools VALIDATE CONSTRAINT agent_tools_tool_id_fkey;
ALTER TABLE agent_versions VALIDATE CONSTRAINT agent_versions_agent_id_fkey;
ALTER TABLE agents VALIDATE CONSTRAINT agents_persona_id_fkey;
ALTER TABLE channels VALIDATE CONSTRAINT channels_agent_id_fkey;
ALTER TABLE embeddings VALIDATE CONSTRAINT embeddings_file_id_fkey;
ALTER TABLE embeddings VALIDATE CONSTRAINT embeddings_freeform_text_id_fkey;
ALTER TABLE embeddings VALIDATE CONSTRAINT embeddings_knowledge_base_id_fkey;
ALTER TABLE embeddings VALIDATE CONSTRAINT embeddings_table_id_fkey;
ALTER TABLE embeddings VALIDATE CONSTRAINT embeddings_web_url_id_fkey;
ALTER TABLE feedback VALIDATE CONSTRAINT feedback_message_id_fkey;
ALTER TABLE knowledge_base_files VALIDATE CONSTRAINT knowledge_base_files_knowledge_base_id_fkey;
ALTER TABLE knowledge_base_freeform_texts VALIDATE CONSTRAINT knowledge_base_freeform_texts_knowledge_base_id_fkey;
ALTER TABLE knowledge_base_tables VALIDATE CONSTRAINT knowledge_base_tables_knowledge_base_id_fkey;
ALTER TABLE knowledge_base_web_urls VALIDATE CONSTRAINT knowledge_base_web_urls_knowledge_base_id_fkey;
ALTER TABLE messages VALIDATE CONSTRAINT messages_thread_id_fkey;
ALTER TABLE models VALIDATE CONSTRAINT models_provider_id_fkey;
ALTER TABLE schedules VALIDATE CONSTRAINT schedules_agent_id_fkey;
ALTER TABLE tasks VALIDATE CONSTRAINT tasks_agent_id_fkey;
ALTER TABLE tasks VALIDATE CONSTRAINT tasks_schedule_id_fkey;
ALTER TABLE tasks VALIDATE CONSTRAINT tasks_thread_id_fkey;
ALTER TABLE threads VALIDATE CONSTRAINT threads_agent_id_fkey;

RESET lock_timeout;
