-- Undo 0001.extensions.sql.

DROP EXTENSION IF EXISTS vector;
