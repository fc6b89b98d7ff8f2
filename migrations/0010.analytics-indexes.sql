-- transactional: false
-- squawk-disable-assume-in-transaction
-- What the analytics read from the source tables: an org's rows in a time range (the days the
-- rollups do not hold yet, and the refresh that fills them). CONCURRENTLY, alone in their
-- migration: these tables are the largest, and writes go on while the indexes build.
-- depends: 0009.analytics

-- A concurrent build blocks no reads or writes, but waits for the transactions already running;
-- give up after a minute rather than wait on one left open. A failed build leaves an invalid
-- index behind, and yoyo runs the migration again: so each index is dropped before it is built.
SET lock_timeout = '1min';

DROP INDEX CONCURRENTLY IF EXISTS messages_org_id_created_at_idx;
CREATE INDEX CONCURRENTLY messages_org_id_created_at_idx ON messages (org_id, created_at);
DROP INDEX CONCURRENTLY IF EXISTS threads_org_id_created_at_idx;
CREATE INDEX CONCURRENTLY threads_org_id_created_at_idx ON threads (org_id, created_at);
DROP INDEX CONCURRENTLY IF EXISTS feedback_org_id_updated_at_idx;
CREATE INDEX CONCURRENTLY feedback_org_id_updated_at_idx ON feedback (org_id, updated_at);
DROP INDEX CONCURRENTLY IF EXISTS tasks_org_id_finished_at_idx;
CREATE INDEX CONCURRENTLY tasks_org_id_finished_at_idx ON tasks (org_id, finished_at)
    WHERE status IN ('succeeded', 'failed');

RESET lock_timeout;
