-- transactional: false
-- squawk-disable-assume-in-transaction
-- Undo 0015.tasks-org-queue.sql.

SET lock_timeout = '1min';

DROP INDEX CONCURRENTLY IF EXISTS tasks_queue_idx;
CREATE INDEX CONCURRENTLY tasks_queue_idx ON tasks (priority DESC, run_after, queued_at) WHERE status = 'queued';
DROP INDEX CONCURRENTLY IF EXISTS tasks_org_id_queue_idx;

RESET lock_timeout;
