-- Undo 0014.task-claim-turns.sql.

-- Give up rather than queue every query on the tables we lock behind a lock we wait for.
SET LOCAL lock_timeout = '5s';

DROP TABLE IF EXISTS task_claim_turns;
