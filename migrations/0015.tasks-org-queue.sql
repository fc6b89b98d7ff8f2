-- transactional: false
-- squawk-disable-assume-in-transaction
-- The queue by org: claim_tasks walks the orgs with queued tasks and takes each one's best due
-- task (priority, then age) from this index; create_task counts an org's queued tasks in it
-- against MAX_QUEUED_TASKS_PER_ORG. It replaces tasks_queue_idx, which ordered every org's
-- tasks together (one org's flood at high priority came before everyone else).
-- depends: 0014.task-claim-turns

-- A concurrent build blocks no reads or writes, but waits for the transactions already running;
-- give up after a minute rather than wait on one left open. A failed build leaves an invalid
-- index behind, and yoyo runs the migration again: so the index is dropped before it is built.
SET lock_timeout = '1min';

DROP INDEX CONCURRENTLY IF EXISTS tasks_org_id_queue_idx;
CREATE INDEX CONCURRENTLY tasks_org_id_queue_idx ON tasks (org_id, priority DESC, run_after, queued_at)
    WHERE status = 'queued';
DROP INDEX CONCURRENTLY IF EXISTS tasks_queue_idx;

RESET lock_timeout;
