-- Queries over PostgreSQL's catalog, used by the SQL checks (agentpress.db.sqlcheck).

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

-- name: get_prepared_types :one
-- The parameter and result types of a statement this session prepared, as format_type spells
-- them: for the query catalogue (docs/queries.md). result_types is PostgreSQL 16+.
SELECT ARRAY(SELECT format_type(t, NULL) FROM unnest(parameter_types) WITH ORDINALITY AS p (t, n) ORDER BY n)
           AS parameter_types,
       ARRAY(SELECT format_type(t, NULL) FROM unnest(result_types) WITH ORDINALITY AS r (t, n) ORDER BY n)
           AS result_types
FROM pg_prepared_statements
WHERE name = %(name)s;
