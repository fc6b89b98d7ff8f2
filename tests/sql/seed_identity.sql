-- Enough rows in the identity tables that the planner prefers an index wherever one serves the query.
INSERT INTO users (email, username, role)
SELECT 'user' || n || '@example.com', 'user' || n, 'user' FROM generate_series(1, 20000) AS n;

INSERT INTO orgs (name, slug)
SELECT 'Org ' || n, 'org-' || n FROM generate_series(1, 2000) AS n;

INSERT INTO org_members (org_id, user_id, role)
SELECT o.id, u.id, 'member'
FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM orgs) AS o
JOIN (SELECT id, row_number() OVER (ORDER BY id) AS n FROM users) AS u ON u.n % 2000 = o.n % 2000;

INSERT INTO sessions (user_id, token_hash, expires_at)
SELECT id, sha256(id::text::bytea), now() + interval '1 day' FROM users;

INSERT INTO password_resets (user_id, token_hash, expires_at, used_at)
SELECT id, sha256(('reset' || id::text)::bytea), now() + interval '1 hour',
       CASE WHEN random() < 0.95 THEN now() END
FROM users;

INSERT INTO invitations (org_id, email, role, token_hash, expires_at)
SELECT o.id, 'invitee' || n || '@example.com', 'member', sha256(('invite' || n)::bytea), now() + interval '7 days'
FROM generate_series(1, 20000) AS n
JOIN (SELECT id, row_number() OVER (ORDER BY id) AS k FROM orgs) AS o ON o.k = n % 2000 + 1;

INSERT INTO email_outbox (kind, to_email, subject, body, sent_at)
SELECT 'invitation', 'invitee' || n || '@example.com', 'Invitation', 'body', CASE WHEN n % 100 <> 0 THEN now() END
FROM generate_series(1, 20000) AS n;

INSERT INTO oauth_connections (user_id, provider, provider_id)
SELECT id, 'github', id::text FROM users;

INSERT INTO oauth_states (state_hash, provider, code_verifier, expires_at)
SELECT sha256(('state' || n)::bytea), 'github', '\x00'::bytea, now() + interval '10 minutes'
FROM generate_series(1, 20000) AS n;

ANALYZE;
