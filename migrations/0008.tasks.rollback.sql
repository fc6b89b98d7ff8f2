-- Undo 0008.tasks.sql.

-- Give up rather than queue every query on the tables we lock behind a lock we wait for.
SET LOCAL lock_timeout = '5s';

DROP TABLE tasks;
DROP TABLE schedules;
