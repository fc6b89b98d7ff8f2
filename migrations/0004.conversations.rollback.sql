-- Undo 0004.conversations.sql.

DROP TABLE feedback;
DROP TABLE messages;
DROP TABLE threads;
