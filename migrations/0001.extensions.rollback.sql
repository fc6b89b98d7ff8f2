-- Undo 0001.extensions.sql.

-- Give up rather than queue every query on the tables we lock behind a lock we wait for.
SET LOCAL lock_timeout = '5s';

DROP EXTENSION IF EXISTS vector;
