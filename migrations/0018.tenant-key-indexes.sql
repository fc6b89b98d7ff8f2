-- transactional: false
-- squawk-disable-assume-in-transaction
-- Citus readiness (docs/scaling.md): the keys of the agent link tables with org_id in them, built
-- here concurrently so that 0019.tenant-keys only swaps constraints onto them. org_id is implied by
-- agent_id (agent_id and org_id reference agents (id, org_id)), so no rule changes: the old keys and
-- these hold the same rows. org_id comes last, so every lookup by the leading columns reads as before.
-- depends: 0017.api-keys

-- A concurrent build blocks no reads or writes, but waits for the transactions already running;
-- give up after a minute rather than wait on one left open. A failed build leaves an invalid
-- index behind, and yoyo runs the migration again: so each index is dropped before it is built.
SET lock_timeout = '1min';

DROP INDEX CONCURRENTLY IF EXISTS agent_tools_agent_id_tool_id_org_id_idx;
CREATE UNIQUE INDEX CONCURRENTLY agent_tools_agent_id_tool_id_org_id_idx
    ON agent_tools (agent_id, tool_id, org_id);
DROP INDEX CONCURRENTLY IF EXISTS agent_knowledge_bases_agent_id_knowledge_base_id_org_id_idx;
CREATE UNIQUE INDEX CONCURRENTLY agent_knowledge_bases_agent_id_knowledge_base_id_org_id_idx
    ON agent_knowledge_bases (agent_id, knowledge_base_id, org_id);
DROP INDEX CONCURRENTLY IF EXISTS agent_versions_agent_id_version_org_id_idx;
CREATE UNIQUE INDEX CONCURRENTLY agent_versions_agent_id_version_org_id_idx
    ON agent_versions (agent_id, version, org_id);
DROP INDEX CONCURRENTLY IF EXISTS agent_config_ids_agent_id_org_id_idx;
CREATE UNIQUE INDEX CONCURRENTLY agent_config_ids_agent_id_org_id_idx
    ON agent_config_ids (agent_id, org_id);

RESET lock_timeout;
