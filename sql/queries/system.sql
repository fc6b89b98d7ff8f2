-- Queries about the service's own state, used by the readiness check.

-- name: list_applied_migrations :many
-- The migrations yoyo has applied, oldest first; /ready compares them with migrations/.
SELECT migration_id, applied_at_utc
FROM _yoyo_migration
ORDER BY applied_at_utc, migration_id
LIMIT 10000;
