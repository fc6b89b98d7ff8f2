-- Undo 0008.tasks.sql.

DROP TABLE tasks;
DROP TABLE schedules;
