-- Statement statistics from pg_stat_statements, for `agentpress db top`, which names each statement
-- after the query of sql/queries/ it comes from (src/agentpress/db/querystats.py: PostgreSQL 18 drops
-- the leading /* <file>.<name> */ from the text it keeps). The view needs the extension (migration
-- 0012) and shared_preload_libraries = 'pg_stat_statements' on the server (the embedded server sets it).

-- name: list_top_statements :many
-- The statements run in this database with the most total execution time since the statistics were
-- last reset. pg_stat_statements counts a statement apart per user, nesting level and parameter types
-- (psycopg sends an int as int2, int4 or int8 by its value); summed here per text.
-- The view holds at most pg_stat_statements.max entries (5000 by default): no index is needed.
SELECT
    s.query,
    sum(s.calls)::bigint AS calls,
    sum(s.total_exec_time) AS total_ms,
    sum(s.total_exec_time) / greatest(sum(s.calls), 1)::double precision AS mean_ms,
    sum(s.rows)::bigint AS rows
FROM pg_stat_statements AS s
WHERE s.dbid = (SELECT d.oid FROM pg_database AS d WHERE d.datname = current_database())
GROUP BY s.query
ORDER BY total_ms DESC, calls DESC
LIMIT %(limit)s;
