-- transactional: false
-- squawk-disable-assume-in-transaction
-- Undo 0018.tenant-key-indexes.sql (undoing 0019.tenant-keys first turns the keys back into these
-- plain indexes, which go here).

SET lock_timeout = '1min';

DROP INDEX CONCURRENTLY IF EXISTS agent_config_ids_agent_id_org_id_idx;
DROP INDEX CONCURRENTLY IF EXISTS agent_versions_agent_id_version_org_id_idx;
DROP INDEX CONCURRENTLY IF EXISTS agent_knowledge_bases_agent_id_knowledge_base_id_org_id_idx;
DROP INDEX CONCURRENTLY IF EXISTS agent_tools_agent_id_tool_id_org_id_idx;

RESET lock_timeout;
