-- Undo 0003.agents.sql.

DROP TABLE agent_versions;
DROP TABLE agent_tools;
DROP TABLE agents;
DROP TABLE tools;
DROP TABLE personas;
DROP TABLE models;
DROP TABLE model_providers;
DROP EXTENSION IF EXISTS pg_trgm;
