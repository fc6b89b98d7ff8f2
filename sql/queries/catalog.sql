-- Queries over PostgreSQL's catalog, used by the SQL checks (agentpress.sqlcheck).

-- name: list_not_null_columns :many
-- The NOT NULL columns of the given tables; a model field that is not optional must come from one.
SELECT attrelid::bigint AS table_oid, attnum::integer AS column_number
FROM pg_attribute
WHERE attrelid = ANY(%(table_oids)s::oid[])
  AND attnum > 0
  AND attnotnull
  AND NOT attisdropped
ORDER BY attrelid, attnum
LIMIT 100000;
