-- Enough rows that the planner prefers an index wherever one serves the query: 20,000 users in
-- 2,000 orgs, and 100,000 agents, nearly all in the default org (the worst case for a name search).
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

INSERT INTO personas (org_id, name)
SELECT id, 'Persona of ' || slug FROM orgs;

INSERT INTO tools (org_id, name, kind)
SELECT o.id, 'tool_' || n, 'function' FROM orgs AS o, generate_series(1, 5) AS n;

INSERT INTO model_providers (org_id, name, kind)
SELECT id, 'anthropic', 'anthropic' FROM orgs;

INSERT INTO models (org_id, provider_id, name)
SELECT p.org_id, p.id, 'claude-' || n FROM model_providers AS p, generate_series(1, 3) AS n;

INSERT INTO agents (org_id, name, persona_id, created_at)
SELECT (SELECT id FROM orgs WHERE is_default), 'Agent ' || md5(n::text), NULL, now() - n * interval '1 second'
FROM generate_series(1, 100000) AS n;

INSERT INTO agents (org_id, name, persona_id)
SELECT p.org_id, 'Agent of ' || p.name, p.id FROM personas AS p;

INSERT INTO agent_tools (agent_id, tool_id, org_id)
SELECT a.id, t.id, a.org_id
FROM agents AS a JOIN tools AS t ON t.org_id = a.org_id AND t.name = 'tool_1'
WHERE a.persona_id IS NOT NULL;

INSERT INTO agent_versions (agent_id, version, org_id, snapshot)
SELECT id, 1, org_id, '{}' FROM agents;

ANALYZE;
