-- Citus readiness (docs/scaling.md, tests/sql/test_distribution.py): the agent link tables' keys
-- include org_id. Each constraint moves onto the index 0018.tenant-key-indexes built concurrently,
-- so nothing is built under the lock here. The primary keys keep their names (the plan contracts
-- in sql/queries/agents.sql name them); agent_config_ids' unique key is named for its columns.
-- depends: 0018.tenant-key-indexes

-- Give up rather than queue every query on the tables we lock behind a lock we wait for.
SET LOCAL lock_timeout = '5s';

-- Dropping the old key and promoting the new index happen in one transaction: no moment without
-- a key, and ON CONFLICT (agent_id, tool_id, org_id) in agents.sql finds the new one.
-- squawk-ignore ban-drop-constraint
ALTER TABLE agent_tools DROP CONSTRAINT agent_tools_pkey;
ALTER TABLE agent_tools ADD CONSTRAINT agent_tools_pkey
    PRIMARY KEY USING INDEX agent_tools_agent_id_tool_id_org_id_idx;

-- squawk-ignore ban-drop-constraint
ALTER TABLE agent_knowledge_bases DROP CONSTRAINT agent_knowledge_bases_pkey;
ALTER TABLE agent_knowledge_bases ADD CONSTRAINT agent_knowledge_bases_pkey
    PRIMARY KEY USING INDEX agent_knowledge_bases_agent_id_knowledge_base_id_org_id_idx;

-- squawk-ignore ban-drop-constraint
ALTER TABLE agent_versions DROP CONSTRAINT agent_versions_pkey;
ALTER TABLE agent_versions ADD CONSTRAINT agent_versions_pkey
    PRIMARY KEY USING INDEX agent_versions_agent_id_version_org_id_idx;

-- squawk-ignore ban-drop-constraint
ALTER TABLE agent_config_ids DROP CONSTRAINT agent_config_ids_agent_id_key;
ALTER TABLE agent_config_ids ADD CONSTRAINT agent_config_ids_agent_id_org_id_key
    UNIQUE USING INDEX agent_config_ids_agent_id_org_id_idx;
