-- Undo 0022.tenant-foreign-keys-validate.sql: the foreign keys as 0021 left them, NOT VALID. A
-- constraint cannot be marked not valid again, so each is dropped and re-created so (no scan).

SET LOCAL lock_timeout = '5s';

-- squawk-ignore ban-drop-constraint
ALTER TABLE agent_config_ids DROP CONSTRAINT agent_config_ids_agent_id_fkey;
ALTER TABLE agent_config_ids ADD CONSTRAINT agent_config_ids_agent_id_fkey
    FOREIGN KEY (agent_id, org_id) REFERENCES agents (id, org_id) ON DELETE CASCADE NOT VALID;
-- squawk-ignore ban-drop-constraint
ALTER TABLE agent_knowledge_bases DROP CONSTRAINT agent_knowledge_bases_agent_id_fkey;
ALTER TABLE agent_knowledge_bases ADD CONSTRAINT agent_knowledge_bases_agent_id_fkey
    FOREIGN KEY (agent_id, org_id) REFERENCES agents (id, org_id) ON DELETE CASCADE NOT VALID;
-- squawk-ignore ban-drop-constraint
ALTER TABLE agent_knowledge_bases DROP CONSTRAINT agent_knowledge_bases_knowledge_base_id_fkey;
ALTER TABLE agent_knowledge_bases ADD CONSTRAINT agent_knowledge_bases_knowledge_base_id_fkey
    FOREIGN KEY (knowledge_base_id, org_id) REFERENCES knowledge_bases (id, org_id) ON DELETE CASCADE NOT VALID;
-- squawk-ignore ban-drop-constraint
ALTER TABLE agent_tools DROP CONSTRAINT agent_tools_agent_id_fkey;
ALTER TABLE agent_tools ADD CONSTRAINT agent_tools_agent_id_fkey
    FOREIGN KEY (agent_id, org_id) REFERENCES agents (id, org_id) ON DELETE CASCADE NOT VALID;
-- squawk-ignore ban-drop-constraint
ALTER TABLE agent_tools DROP CONSTRAINT agent_tools_tool_id_fkey;
ALTER TABLE agent_tools ADD CONSTRAINT agent_tools_tool_id_fkey
    FOREIGN KEY (tool_id, org_id) REFERENCES tools (id, org_id) ON DELETE CASCADE NOT VALID;
-- squawk-ignore ban-drop-constraint
ALTER TABLE agent_versions DROP CONSTRAINT agent_versions_agent_id_fkey;
ALTER TABLE agent_versions ADD CONSTRAINT agent_versions_agent_id_fkey
    FOREIGN KEY (agent_id, org_id) REFERENCES agents (id, org_id) ON DELETE CASCADE NOT VALID;
-- squawk-ignore ban-drop-constraint
ALTER TABLE agents DROP CONSTRAINT agents_persona_id_fkey;
ALTER TABLE agents ADD CONSTRAINT agents_persona_id_fkey
    FOREIGN KEY (persona_id, org_id) REFERENCES personas (id, org_id) NOT VALID;
-- squawk-ignore ban-drop-constraint
ALTER TABLE channels DROP CONSTRAINT channels_agent_id_fkey;
ALTER TABLE channels ADD CONSTRAINT channels_agent_id_fkey
    FOREIGN KEY (agent_id, org_id) REFERENCES agents (id, org_id) ON DELETE SET NULL (agent_id) NOT VALID;
-- squawk-ignore ban-drop-constraint
ALTER TABLE embeddings DROP CONSTRAINT embeddings_file_id_fkey;
ALTER TABLE embeddings ADD CONSTRAINT embeddings_file_id_fkey
    FOREIGN KEY (file_id, knowledge_base_id, org_id) REFERENCES knowledge_base_files (id, knowledge_base_id, org_id) ON DELETE CASCADE NOT VALID;
-- squawk-ignore ban-drop-constraint
ALTER TABLE embeddings DROP CONSTRAINT embeddings_freeform_text_id_fkey;
ALTER TABLE embeddings ADD CONSTRAINT embeddings_freeform_text_id_fkey
    FOREIGN KEY (freeform_text_id, knowledge_base_id, org_id) REFERENCES knowledge_base_freeform_texts (id, knowledge_base_id, org_id) ON DELETE CASCADE NOT VALID;
-- squawk-ignore ban-drop-constraint
ALTER TABLE embeddings DROP CONSTRAINT embeddings_knowledge_base_id_fkey;
ALTER TABLE embeddings ADD CONSTRAINT embeddings_knowledge_base_id_fkey
    FOREIGN KEY (knowledge_base_id, org_id) REFERENCES knowledge_bases (id, org_id) ON DELETE CASCADE NOT VALID;
-- squawk-ignore ban-drop-constraint
ALTER TABLE embeddings DROP CONSTRAINT embeddings_table_id_fkey;
ALTER TABLE embeddings ADD CONSTRAINT embeddings_table_id_fkey
    FOREIGN KEY (table_id, knowledge_base_id, org_id) REFERENCES knowledge_base_tables (id, knowledge_base_id, org_id) ON DELETE CASCADE NOT VALID;
-- squawk-ignore ban-drop-constraint
ALTER TABLE embeddings DROP CONSTRAINT embeddings_web_url_id_fkey;
ALTER TABLE embeddings ADD CONSTRAINT embeddings_web_url_id_fkey
    FOREIGN KEY (web_url_id, knowledge_base_id, org_id) REFERENCES knowledge_base_web_urls (id, knowledge_base_id, org_id) ON DELETE CASCADE NOT VALID;
-- squawk-ignore ban-drop-constraint
ALTER TABLE feedback DROP CONSTRAINT feedback_message_id_fkey;
ALTER TABLE feedback ADD CONSTRAINT feedback_message_id_fkey
    FOREIGN KEY (message_id, org_id) REFERENCES messages (id, org_id) ON DELETE CASCADE NOT VALID;
-- squawk-ignore ban-drop-constraint
ALTER TABLE knowledge_base_files DROP CONSTRAINT knowledge_base_files_knowledge_base_id_fkey;
ALTER TABLE knowledge_base_files ADD CONSTRAINT knowledge_base_files_knowledge_base_id_fkey
    FOREIGN KEY (knowledge_base_id, org_id) REFERENCES knowledge_bases (id, org_id) ON DELETE CASCADE NOT VALID;
-- squawk-ignore ban-drop-constraint
ALTER TABLE knowledge_base_freeform_texts DROP CONSTRAINT knowledge_base_freeform_texts_knowledge_base_id_fkey;
ALTER TABLE knowledge_base_freeform_texts ADD CONSTRAINT knowledge_base_freeform_texts_knowledge_base_id_fkey
    FOREIGN KEY (knowledge_base_id, org_id) REFERENCES knowledge_bases (id, org_id) ON DELETE CASCADE NOT VALID;
-- squawk-ignore ban-drop-constraint
ALTER TABLE knowledge_base_tables DROP CONSTRAINT knowledge_base_tables_knowledge_base_id_fkey;
ALTER TABLE knowledge_base_tables ADD CONSTRAINT knowledge_base_tables_knowledge_base_id_fkey
    FOREIGN KEY (knowledge_base_id, org_id) REFERENCES knowledge_bases (id, org_id) ON DELETE CASCADE NOT VALID;
-- squawk-ignore ban-drop-constraint
ALTER TABLE knowledge_base_web_urls DROP CONSTRAINT knowledge_base_web_urls_knowledge_base_id_fkey;
ALTER TABLE knowledge_base_web_urls ADD CONSTRAINT knowledge_base_web_urls_knowledge_base_id_fkey
    FOREIGN KEY (knowledge_base_id, org_id) REFERENCES knowledge_bases (id, org_id) ON DELETE CASCADE NOT VALID;
-- squawk-ignore ban-drop-constraint
ALTER TABLE messages DROP CONSTRAINT messages_thread_id_fkey;
ALTER TABLE messages ADD CONSTRAINT messages_thread_id_fkey
    FOREIGN KEY (thread_id, org_id) REFERENCES threads (id, org_id) ON DELETE CASCADE NOT VALID;
-- squawk-ignore ban-drop-constraint
ALTER TABLE models DROP CONSTRAINT models_provider_id_fkey;
ALTER TABLE models ADD CONSTRAINT models_provider_id_fkey
    FOREIGN KEY (provider_id, org_id) REFERENCES model_providers (id, org_id) ON DELETE CASCADE NOT VALID;
-- squawk-ignore ban-drop-constraint
ALTER TABLE schedules DROP CONSTRAINT schedules_agent_id_fkey;
ALTER TABLE schedules ADD CONSTRAINT schedules_agent_id_fkey
    FOREIGN KEY (agent_id, org_id) REFERENCES agents (id, org_id) ON DELETE CASCADE NOT VALID;
-- squawk-ignore ban-drop-constraint
ALTER TABLE tasks DROP CONSTRAINT tasks_agent_id_fkey;
ALTER TABLE tasks ADD CONSTRAINT tasks_agent_id_fkey
    FOREIGN KEY (agent_id, org_id) REFERENCES agents (id, org_id) ON DELETE CASCADE NOT VALID;
-- squawk-ignore ban-drop-constraint
ALTER TABLE tasks DROP CONSTRAINT tasks_schedule_id_fkey;
ALTER TABLE tasks ADD CONSTRAINT tasks_schedule_id_fkey
    FOREIGN KEY (schedule_id, org_id) REFERENCES schedules (id, org_id) ON DELETE SET NULL (schedule_id) NOT VALID;
-- squawk-ignore ban-drop-constraint
ALTER TABLE tasks DROP CONSTRAINT tasks_thread_id_fkey;
ALTER TABLE tasks ADD CONSTRAINT tasks_thread_id_fkey
    FOREIGN KEY (thread_id, org_id) REFERENCES threads (id, org_id) ON DELETE SET NULL (thread_id) NOT VALID;
-- squawk-ignore ban-drop-constraint
ALTER TABLE threads DROP CONSTRAINT threads_agent_id_fkey;
ALTER TABLE threads ADD CONSTRAINT threads_agent_id_fkey
    FOREIGN KEY (agent_id, org_id) REFERENCES agents (id, org_id) ON DELETE SET NULL (agent_id) NOT VALID;
