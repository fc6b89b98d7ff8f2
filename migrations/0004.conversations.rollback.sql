-- Undo 0004.conversations.sql.

-- Give up rather than queue every query on the tables we lock behind a lock we wait for.
SET LOCAL lock_timeout = '5s';

DROP TABLE feedback;
DROP TABLE messages;
DROP TABLE threads;
