-- Identity and tenancy: users, orgs and their members, sessions, invitations, password resets,
-- OAuth connections and sign-in states, and the outbox of mail to send.
-- Tokens of every kind are stored only as their SHA-256 (bytea, 32 bytes); provider tokens are
-- encrypted by the service (Fernet, key from APP_SECRET_KEY) before they reach the database.
-- depends: 0001.extensions

-- Give up rather than queue every query on the tables we lock behind a lock we wait for.
SET LOCAL lock_timeout = '5s';

CREATE EXTENSION IF NOT EXISTS citext;

CREATE TABLE users (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email citext NOT NULL,
    username citext,
    first_name text,
    last_name text,
    display_name text,
    avatar_url text,
    github_id text,
    github_username text,
    google_id text,
    password_hash text,
    role text NOT NULL DEFAULT 'guest',
    provider text NOT NULL DEFAULT 'email',
    is_email_verified boolean NOT NULL DEFAULT false,
    is_disabled boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_email_key UNIQUE (email),
    CONSTRAINT users_username_key UNIQUE (username),
    CONSTRAINT users_github_id_key UNIQUE (github_id),
    CONSTRAINT users_google_id_key UNIQUE (google_id),
    CONSTRAINT users_role_check CHECK (role IN ('admin', 'user', 'guest')),
    CONSTRAINT users_provider_check CHECK (provider IN ('email', 'github', 'google')),
    CONSTRAINT users_email_check CHECK (length(email) BETWEEN 3 AND 320 AND position('@' in email) > 1)
);
COMMENT ON TABLE users IS 'People who sign in. email and username are citext: unique regardless of case.';
COMMENT ON COLUMN users.password_hash IS 'argon2id (PHC string); bcrypt hashes imported from AgentPress verify and are re-hashed at the next sign-in. NULL for OAuth-only users.';
COMMENT ON COLUMN users.role IS 'Platform role: admin manages users and may act in every org; user may create orgs; guest only reads.';

CREATE TABLE orgs (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name text NOT NULL,
    slug text NOT NULL,
    is_default boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT orgs_slug_key UNIQUE (slug),
    CONSTRAINT orgs_name_check CHECK (length(name) BETWEEN 1 AND 200),
    CONSTRAINT orgs_slug_check CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(slug) <= 64)
);
COMMENT ON TABLE orgs IS 'Tenants. Every tenant resource belongs to one org; is_default marks the org new users join.';
-- At most one default org.
CREATE UNIQUE INDEX orgs_is_default_idx ON orgs (is_default) WHERE is_default;

INSERT INTO orgs (name, slug, is_default) VALUES ('Default', 'default', true);

CREATE TABLE org_members (
    org_id uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role text NOT NULL DEFAULT 'member',
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, user_id),
    CONSTRAINT org_members_role_check CHECK (role IN ('owner', 'admin', 'member'))
);
COMMENT ON TABLE org_members IS 'Who belongs to which org, with their role there. The primary key serves an org''s members; org_members_user_id_idx a user''s orgs.';
CREATE INDEX org_members_user_id_idx ON org_members (user_id, org_id);

CREATE TABLE sessions (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz,
    user_agent text,
    ip inet,
    CONSTRAINT sessions_token_hash_key UNIQUE (token_hash),
    CONSTRAINT sessions_token_hash_check CHECK (length(token_hash) = 32)
);
COMMENT ON TABLE sessions IS 'Signed-in sessions; the bearer token is never stored, only its SHA-256.';
CREATE INDEX sessions_user_id_created_at_idx ON sessions (user_id, created_at DESC);

CREATE TABLE invitations (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    email citext NOT NULL,
    role text NOT NULL DEFAULT 'member',
    token_hash bytea NOT NULL,
    invited_by uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    accepted_at timestamptz,
    revoked_at timestamptz,
    CONSTRAINT invitations_token_hash_key UNIQUE (token_hash),
    CONSTRAINT invitations_token_hash_check CHECK (length(token_hash) = 32),
    CONSTRAINT invitations_role_check CHECK (role IN ('owner', 'admin', 'member'))
);
COMMENT ON TABLE invitations IS 'Invitations to join an org, accepted by a signed-in user with the same email.';
CREATE INDEX invitations_org_id_created_at_idx ON invitations (org_id, created_at DESC);

CREATE TABLE password_resets (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at timestamptz,
    CONSTRAINT password_resets_token_hash_key UNIQUE (token_hash),
    CONSTRAINT password_resets_token_hash_check CHECK (length(token_hash) = 32)
);
COMMENT ON COLUMN password_resets.used_at IS 'Set when the token is used, and when a newer token for the same user supersedes it.';
CREATE INDEX password_resets_user_id_idx ON password_resets (user_id) WHERE used_at IS NULL;

CREATE TABLE oauth_connections (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider text NOT NULL,
    provider_id text NOT NULL,
    access_token bytea,
    refresh_token bytea,
    scopes text[] NOT NULL DEFAULT '{}',
    expires_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT oauth_connections_provider_provider_id_key UNIQUE (provider, provider_id),
    CONSTRAINT oauth_connections_provider_check CHECK (provider IN ('github', 'google'))
);
COMMENT ON COLUMN oauth_connections.access_token IS 'Encrypted (Fernet, key from APP_SECRET_KEY); never returned by the API.';
COMMENT ON COLUMN oauth_connections.refresh_token IS 'Encrypted (Fernet, key from APP_SECRET_KEY); never returned by the API.';
CREATE INDEX oauth_connections_user_id_idx ON oauth_connections (user_id);

CREATE TABLE oauth_states (
    state_hash bytea PRIMARY KEY,
    provider text NOT NULL,
    code_verifier bytea NOT NULL,
    browser_hash bytea NOT NULL,
    user_id uuid REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    CONSTRAINT oauth_states_state_hash_check CHECK (length(state_hash) = 32),
    CONSTRAINT oauth_states_provider_check CHECK (provider IN ('github', 'google'))
);
-- Abandoned sign-ins are swept by expiry at each start.
CREATE INDEX oauth_states_expires_at_idx ON oauth_states (expires_at);
COMMENT ON TABLE oauth_states IS 'OAuth sign-ins in flight: the state (hashed), the PKCE verifier (encrypted), the hash of the nonce cookie of the browser that started it and, when linking, the signed-in user. Single use.';

CREATE TABLE email_outbox (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    kind text NOT NULL,
    to_email citext NOT NULL,
    subject text NOT NULL,
    body bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error text,
    sent_at timestamptz,
    CONSTRAINT email_outbox_kind_check CHECK (kind IN ('invitation', 'password_reset'))
);
COMMENT ON TABLE email_outbox IS 'Mail the service has to send; a sender delivers the unsent rows oldest first and sets sent_at.';
COMMENT ON COLUMN email_outbox.body IS 'Encrypted (Fernet, key from APP_SECRET_KEY): bodies carry reset and invitation links.';
COMMENT ON COLUMN email_outbox.next_attempt_at IS 'When a sender may next take the message: claiming it moves this on (a lease while it is sent), and each failure backs off further.';
CREATE INDEX email_outbox_unsent_idx ON email_outbox (next_attempt_at) WHERE sent_at IS NULL;
