-- Undo 0023.idempotency-keys.sql: retries with an Idempotency-Key write again.

-- Give up rather than queue every query on the tables we lock behind a lock we wait for.
SET LOCAL lock_timeout = '5s';

DROP TABLE idempotency_keys;
