-- Undo 0005.threads-statistics.sql.

DROP STATISTICS IF EXISTS threads_org_id_user_id_agent_id_stats;
