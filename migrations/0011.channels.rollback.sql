-- Undo 0011.channels.sql.

-- Give up rather than queue every query on the tables we lock behind a lock we wait for.
SET LOCAL lock_timeout = '5s';

ALTER TABLE model_providers DROP COLUMN api_key_env;
DROP TABLE agent_config_ids;
DROP TABLE channels;
