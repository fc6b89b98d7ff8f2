-- Undo 0005.threads-statistics.sql.

-- Give up rather than queue every query on the tables we lock behind a lock we wait for.
SET LOCAL lock_timeout = '5s';

DROP STATISTICS IF EXISTS threads_org_id_user_id_agent_id_stats;
