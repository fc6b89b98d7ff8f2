-- Undo 0019.tenant-keys.sql: the keys without org_id again, and the plain indexes 0018 built, as
-- 0018 left them. Their indexes are built under the lock: these are small tables (a row per agent
-- and tool, knowledge base, version or config id), and a rollback is a development or an emergency
-- step, not a routine one.

SET LOCAL lock_timeout = '5s';

-- squawk-ignore ban-drop-constraint
ALTER TABLE agent_config_ids DROP CONSTRAINT agent_config_ids_agent_id_org_id_key;
-- squawk-ignore constraint-missing-not-valid, disallowed-unique-constraint
ALTER TABLE agent_config_ids ADD CONSTRAINT agent_config_ids_agent_id_key UNIQUE (agent_id);
-- squawk-ignore require-concurrent-index-creation
CREATE UNIQUE INDEX agent_config_ids_agent_id_org_id_idx ON agent_config_ids (agent_id, org_id);

-- squawk-ignore ban-drop-constraint
ALTER TABLE agent_versions DROP CONSTRAINT agent_versions_pkey;
-- squawk-ignore constraint-missing-not-valid, adding-serial-primary-key-field
ALTER TABLE agent_versions ADD CONSTRAINT agent_versions_pkey PRIMARY KEY (agent_id, version);
-- squawk-ignore require-concurrent-index-creation
CREATE UNIQUE INDEX agent_versions_agent_id_version_org_id_idx ON agent_versions (agent_id, version, org_id);

-- squawk-ignore ban-drop-constraint
ALTER TABLE agent_knowledge_bases DROP CONSTRAINT agent_knowledge_bases_pkey;
-- squawk-ignore constraint-missing-not-valid, adding-serial-primary-key-field
ALTER TABLE agent_knowledge_bases ADD CONSTRAINT agent_knowledge_bases_pkey PRIMARY KEY (agent_id, knowledge_base_id);
-- squawk-ignore require-concurrent-index-creation
CREATE UNIQUE INDEX agent_knowledge_bases_agent_id_knowledge_base_id_org_id_idx
    ON agent_knowledge_bases (agent_id, knowledge_base_id, org_id);

-- squawk-ignore ban-drop-constraint
ALTER TABLE agent_tools DROP CONSTRAINT agent_tools_pkey;
-- squawk-ignore constraint-missing-not-valid, adding-serial-primary-key-field
ALTER TABLE agent_tools ADD CONSTRAINT agent_tools_pkey PRIMARY KEY (agent_id, tool_id);
-- squawk-ignore require-concurrent-index-creation
CREATE UNIQUE INDEX agent_tools_agent_id_tool_id_org_id_idx ON agent_tools (agent_id, tool_id, org_id);
