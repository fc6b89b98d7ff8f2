-- Undo 0017.api-keys.sql.

-- Give up rather than queue every query on the tables we lock behind a lock we wait for.
SET LOCAL lock_timeout = '5s';

-- Dropping the column drops its check with it.
ALTER TABLE tasks DROP COLUMN IF EXISTS lease_token_hash;
DROP TABLE IF EXISTS api_keys;
