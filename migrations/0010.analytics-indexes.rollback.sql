-- transactional: false
-- squawk-disable-assume-in-transaction
-- Undo 0010.analytics-indexes.sql.

-- Give up rather than queue every query on these tables behind a lock we wait for.
SET lock_timeout = '5s';

DROP INDEX CONCURRENTLY IF EXISTS tasks_org_id_finished_at_idx;
DROP INDEX CONCURRENTLY IF EXISTS feedback_org_id_updated_at_idx;
DROP INDEX CONCURRENTLY IF EXISTS threads_org_id_created_at_idx;
DROP INDEX CONCURRENTLY IF EXISTS messages_org_id_created_at_idx;

RESET lock_timeout;
