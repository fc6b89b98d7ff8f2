-- Leadership of the loops that run once per deployment, and the connection budget of `agentpress serve`.

-- name: try_lock_leadership :scalar
-- Take the session-level advisory lock `key` if no other session holds it; true when taken. Held until
-- the session ends (the server releases it when the connection closes, however the process died), so
-- it must be sent on a direct connection: a pooler in transaction mode would hand the session to others.
SELECT pg_try_advisory_lock(%(key)s::bigint) AS is_locked;

-- name: get_connection_limit :scalar
-- The connections a role without superuser may open: max_connections less those kept for superusers.
SELECT current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int
    AS connection_limit;

-- name: holds_leadership :scalar
-- Whether this session holds the advisory lock `key` (a bigint key is classid, its high 32 bits, and
-- objid, its low ones, with objsubid 1); the leader asks each poll, and a connection that cannot answer
-- has lost the lock with its session.
SELECT EXISTS (
    SELECT 1
    FROM pg_locks
    WHERE locktype = 'advisory'
      AND pid = pg_backend_pid()
      AND granted
      AND objsubid = 1
      AND classid::bigint = %(key)s::bigint >> 32
      AND objid::bigint = %(key)s::bigint & 4294967295
) AS is_held;
