-- Undo 0003.agents.sql.

-- Give up rather than queue every query on the tables we lock behind a lock we wait for.
SET LOCAL lock_timeout = '5s';

DROP TABLE agent_versions;
DROP TABLE agent_tools;
DROP TABLE agents;
DROP TABLE tools;
DROP TABLE personas;
DROP TABLE models;
DROP TABLE model_providers;
DROP EXTENSION IF EXISTS pg_trgm;
