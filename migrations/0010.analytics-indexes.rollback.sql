-- transactional: false
-- Undo 0010.analytics-indexes.sql.

DROP INDEX CONCURRENTLY IF EXISTS tasks_org_id_finished_at_idx;
DROP INDEX CONCURRENTLY IF EXISTS feedback_org_id_updated_at_idx;
DROP INDEX CONCURRENTLY IF EXISTS threads_org_id_created_at_idx;
DROP INDEX CONCURRENTLY IF EXISTS messages_org_id_created_at_idx;
