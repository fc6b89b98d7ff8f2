-- Email verification (issue 17): single-use verification tokens; which OAuth links were made while
-- their user's email was unverified (a password reset removes them: an attacker who registered
-- someone else's address and linked their own GitHub must lose it when the owner takes the
-- account back); the new mail kinds; and the queue of password reset requests, so that a request
-- does the same work for a known and an unknown address (the lookup happens off the request).
-- depends: 0015.tasks-org-queue

-- Give up rather than queue every query on the tables we lock behind a lock we wait for.
SET LOCAL lock_timeout = '5s';

CREATE TABLE email_verifications (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email citext NOT NULL,
    token_hash bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at timestamptz,
    CONSTRAINT email_verifications_token_hash_key UNIQUE (token_hash),
    CONSTRAINT email_verifications_token_hash_check CHECK (length(token_hash) = 32)
);
COMMENT ON TABLE email_verifications IS 'Tokens mailed to prove an address is its user''s; stored as their SHA-256, single use.';
COMMENT ON COLUMN email_verifications.email IS 'The address the token was mailed to: it verifies the user only while that is still their email.';
COMMENT ON COLUMN email_verifications.used_at IS 'Set when the token is used, and when a newer token for the same user supersedes it.';
CREATE INDEX email_verifications_user_id_idx ON email_verifications (user_id) WHERE used_at IS NULL;
COMMENT ON INDEX email_verifications_user_id_idx IS 'A user''s live tokens, superseded by each new one.';

-- A constant default: no table rewrite (PostgreSQL 11+).
ALTER TABLE oauth_connections ADD COLUMN is_linked_unverified boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN oauth_connections.is_linked_unverified IS 'The user''s email was unverified when this link was made: a password reset removes the link.';
-- Links that exist now were made without any verification: those of users still unverified are
-- treated as made while unverified. They keep signing in until the account's password is reset.
UPDATE oauth_connections
SET is_linked_unverified = true
FROM users
WHERE users.id = oauth_connections.user_id AND NOT users.is_email_verified;

-- The outbox is a small table (one row a mail): checking its rows under the lock is quick,
-- so the constraint is replaced in one step rather than added NOT VALID and validated later.
-- squawk-ignore ban-drop-constraint
ALTER TABLE email_outbox DROP CONSTRAINT email_outbox_kind_check;
-- squawk-ignore constraint-missing-not-valid
ALTER TABLE email_outbox ADD CONSTRAINT email_outbox_kind_check
    CHECK (kind IN ('invitation', 'password_reset', 'email_verification', 'oauth_linked'));

CREATE TABLE password_reset_requests (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email citext NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT password_reset_requests_email_check CHECK (length(email) <= 320)
);
COMMENT ON TABLE password_reset_requests IS 'Password reset requests as they came, whether or not the address has an account; the service works through them in the background (the account lookup, the token, the mail) and deletes each.';
CREATE INDEX password_reset_requests_created_at_idx ON password_reset_requests (created_at);
COMMENT ON INDEX password_reset_requests_created_at_idx IS 'The oldest request first.';
