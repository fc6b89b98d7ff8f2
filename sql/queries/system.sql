-- Queries about the service's own state, used by the readiness check and /metrics.

-- name: list_applied_migrations :many
-- The migrations yoyo has applied, oldest first; /ready compares them with migrations/.
SELECT migration_id, applied_at_utc
FROM _yoyo_migration
ORDER BY applied_at_utc, migration_id
LIMIT 10000;

-- name: get_replication_status :one
-- Whether this server is a hot standby and how far its replay trails; /ready asks the analytics
-- database (ANALYTICS_DATABASE_URL). Both lags are null on a primary. replay_lag_bytes: WAL
-- received from the primary and not replayed yet, what reports cannot see yet. replay_lag_seconds:
-- since the primary committed the last transaction replayed here, so it also grows while the
-- primary commits nothing.
SELECT pg_is_in_recovery() AS is_standby,
       CASE WHEN pg_is_in_recovery()
            THEN pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::bigint
       END AS replay_lag_bytes,
       CASE WHEN pg_is_in_recovery()
            THEN extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp())::float8
       END AS replay_lag_seconds;

-- name: list_session_limits :many
-- The values of these settings on this connection, in milliseconds for the time limits; behind
-- PgBouncer the pools compare them, once per new connection, with what the settings ask for.
SELECT name, setting
FROM pg_settings
WHERE name = ANY(%(names)s::text[])
ORDER BY name;

-- name: set_local_statement_timeout :exec
-- SET LOCAL statement_timeout for the rest of the transaction (set_config takes a parameter, SET does
-- not): the bound on /metrics' readings of the queue and the outbox, shorter than a request's.
SELECT set_config('statement_timeout', %(timeout_ms)s::integer::text, true);
