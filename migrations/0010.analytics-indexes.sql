-- transactional: false
-- What the analytics read from the source tables: an org's rows in a time range (the days the
-- rollups do not hold yet, and the refresh that fills them). CONCURRENTLY, alone in their
-- migration: these tables are the largest, and writes go on while the indexes build.
-- depends: 0009.analytics

CREATE INDEX CONCURRENTLY IF NOT EXISTS messages_org_id_created_at_idx ON messages (org_id, created_at);
CREATE INDEX CONCURRENTLY IF NOT EXISTS threads_org_id_created_at_idx ON threads (org_id, created_at);
CREATE INDEX CONCURRENTLY IF NOT EXISTS feedback_org_id_updated_at_idx ON feedback (org_id, updated_at);
CREATE INDEX CONCURRENTLY IF NOT EXISTS tasks_org_id_finished_at_idx ON tasks (org_id, finished_at)
    WHERE status IN ('succeeded', 'failed');
