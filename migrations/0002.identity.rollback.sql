-- Undo 0002.identity.sql.

-- Give up rather than queue every query on the tables we lock behind a lock we wait for.
SET LOCAL lock_timeout = '5s';

DROP TABLE email_outbox;
DROP TABLE oauth_states;
DROP TABLE oauth_connections;
DROP TABLE password_resets;
DROP TABLE invitations;
DROP TABLE sessions;
DROP TABLE org_members;
DROP TABLE orgs;
DROP TABLE users;
DROP EXTENSION IF EXISTS citext;
