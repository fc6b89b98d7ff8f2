-- Enough rows that the planner prefers an index wherever one serves the query: 20,000 users in
-- 2,000 orgs (each with an API key), and 100,000 agents, nearly all in the default org (the worst case for a name search).
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

INSERT INTO email_verifications (user_id, email, token_hash, expires_at, used_at)
SELECT id, email, sha256(('verify' || id::text)::bytea), now() + interval '2 days',
       CASE WHEN random() < 0.9 THEN now() END
FROM users;

INSERT INTO api_keys (org_id, name, token_hash, scopes)
SELECT id, 'worker', sha256(('key' || id::text)::bytea), ARRAY['tasks:work'] FROM orgs;

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

INSERT INTO oauth_states (state_hash, provider, code_verifier, browser_hash, expires_at)
SELECT sha256(('state' || n)::bytea), 'github', '\x00'::bytea, sha256(('browser' || n)::bytea),
    now() + interval '10 minutes'
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

-- Ten personas per org in all, added after the agents above so that those stay one per persona:
-- with a single persona per org, the (org_id, created_at) index would look as good as the key.
INSERT INTO personas (org_id, name, created_at)
SELECT o.id, 'Persona ' || n || ' of ' || o.slug, now() - n * interval '1 minute'
FROM orgs AS o, generate_series(1, 9) AS n;

-- Conversations: 5,000 threads of the 1,000 users of 100 orgs (five each, half with an agent), four
-- messages per thread, and the owner's feedback on every tenth message. Ten users per org with
-- threads, as in life: an org's threads are many users' threads.
INSERT INTO threads (org_id, user_id, agent_id, name, message_count, last_message_at, created_at)
SELECT m.org_id, m.user_id, CASE WHEN n % 2 = 0 THEN a.id END, 'Thread ' || n, 4,
       now() - n * interval '1 hour', now() - n * interval '1 day'
FROM (
    SELECT org_id, user_id FROM org_members WHERE org_id IN (SELECT id FROM orgs ORDER BY id LIMIT 100)
) AS m
LEFT JOIN LATERAL (SELECT id FROM agents WHERE org_id = m.org_id ORDER BY created_at LIMIT 1) AS a ON true,
     generate_series(1, 5) AS n;

INSERT INTO messages (org_id, thread_id, role, parts, text_content, created_at)
SELECT t.org_id, t.id, CASE WHEN k % 2 = 1 THEN 'user' ELSE 'assistant' END,
       jsonb_build_array(jsonb_build_object('type', 'text', 'text', 'message ' || k || ' about ' || md5(t.id::text))),
       'message ' || k || ' about ' || md5(t.id::text), t.created_at + k * interval '1 minute'
FROM threads AS t, generate_series(1, 4) AS k;

INSERT INTO feedback (org_id, message_id, user_id, rating)
SELECT m.org_id, m.id, t.user_id, 1
FROM (SELECT id, org_id, thread_id, row_number() OVER (ORDER BY id) AS n FROM messages) AS m
JOIN threads AS t ON t.id = m.thread_id
WHERE m.n % 10 = 0;

-- Knowledge bases: three per org (with one per org, the (org_id, created_at) index would look as good
-- as the key), a few hundred sources of each kind spread over them, and each org's first knowledge
-- base given to its agent with a persona, as agent_tools has. No embeddings here.
INSERT INTO knowledge_bases (org_id, name, created_at)
SELECT o.id, 'Knowledge ' || n || ' of ' || o.slug, now() - n * interval '1 hour'
FROM orgs AS o, generate_series(1, 3) AS n;

INSERT INTO knowledge_base_files (org_id, knowledge_base_id, name, storage_uri)
SELECT kb.org_id, kb.id, 'file ' || n || '.pdf', 's3://seed/' || kb.id || '/' || n
FROM (SELECT id, org_id FROM knowledge_bases ORDER BY id LIMIT 300) AS kb, generate_series(1, 2) AS n;

INSERT INTO knowledge_base_freeform_texts (org_id, knowledge_base_id, title, content)
SELECT kb.org_id, kb.id, 'Text ' || n, 'Some freeform text ' || n
FROM (SELECT id, org_id FROM knowledge_bases ORDER BY id LIMIT 300) AS kb, generate_series(1, 2) AS n;

INSERT INTO knowledge_base_tables (org_id, knowledge_base_id, name, columns, rows)
SELECT kb.org_id, kb.id, 'Table ' || n, '[{"name": "a", "type": "text"}]', '[["x"], ["y"]]'
FROM (SELECT id, org_id FROM knowledge_bases ORDER BY id LIMIT 300) AS kb, generate_series(1, 2) AS n;

INSERT INTO knowledge_base_web_urls (org_id, knowledge_base_id, url)
SELECT kb.org_id, kb.id, 'https://example.com/' || kb.id || '/' || n
FROM (SELECT id, org_id FROM knowledge_bases ORDER BY id LIMIT 300) AS kb, generate_series(1, 2) AS n;

INSERT INTO agent_knowledge_bases (agent_id, knowledge_base_id, org_id)
SELECT a.id, kb.id, a.org_id
FROM agents AS a
JOIN LATERAL (SELECT id FROM knowledge_bases WHERE org_id = a.org_id ORDER BY created_at LIMIT 1) AS kb ON true
WHERE a.persona_id IS NOT NULL;

-- Tasks: 50 per org for its agent over the last 50 hours, nearly all finished; every twentieth
-- queued (some not before tomorrow) and two running, one of them with an expired lease.
INSERT INTO tasks (org_id, agent_id, status, input, attempt, priority, run_after, claimed_by, lease_expires_at,
                   queued_at, started_at, finished_at)
SELECT a.org_id, a.id, s.status, '{}', CASE WHEN s.status = 'queued' THEN 0 ELSE 1 END, n % 3,
       now() + CASE WHEN n % 40 = 0 THEN interval '1 day' ELSE -n * interval '1 hour' END,
       CASE WHEN s.status = 'running' THEN 'worker-' || n END,
       CASE WHEN s.status = 'running' THEN now() + (10 - n) * interval '1 minute' END,
       now() - n * interval '1 hour',
       CASE WHEN s.status <> 'queued' THEN now() - n * interval '1 hour' END,
       CASE WHEN s.status IN ('succeeded', 'failed') THEN now() - n * interval '1 hour' END
FROM agents AS a, generate_series(1, 50) AS n,
     LATERAL (SELECT CASE WHEN n % 20 = 0 THEN 'queued' WHEN n % 25 = 1 THEN 'running'
                          WHEN n % 7 = 0 THEN 'failed' ELSE 'succeeded' END AS status) AS s
WHERE a.persona_id IS NOT NULL;

-- Schedules: five per org for its agent, created over the last five days; a fifth are once-schedules
-- (half fired and disabled), the rest hourly or daily cron schedules due over the next day.
INSERT INTO schedules (org_id, agent_id, name, kind, run_at, cron, timezone, is_enabled, next_run_at, created_at)
SELECT a.org_id, a.id, 'Schedule ' || n, CASE WHEN n = 5 THEN 'once' ELSE 'cron' END,
       CASE WHEN n = 5 THEN now() + (k % 48 - 24) * interval '1 hour' END,
       CASE WHEN n = 5 THEN NULL WHEN n % 2 = 0 THEN '0 * * * *' ELSE '30 2 * * *' END,
       CASE WHEN n = 5 THEN NULL ELSE 'Europe/Berlin' END,
       n <> 5 OR k % 48 >= 24,
       CASE WHEN n <> 5 OR k % 48 >= 24 THEN now() + (k % 1440) * interval '1 minute' END,
       now() - n * interval '1 day' - k * interval '1 second'
FROM (SELECT id, org_id, row_number() OVER (ORDER BY id) AS k FROM agents WHERE persona_id IS NOT NULL) AS a,
     generate_series(1, 5) AS n;

-- Analytics: every org refreshed up to yesterday, with 20 days of rollup for its agent and for
-- threads without one, two active users a day and two tools.
INSERT INTO analytics_refreshes (org_id, complete_before, refreshed_at)
SELECT id, current_date, now() FROM orgs;
INSERT INTO analytics_daily (org_id, day, agent_id, threads_created, user_messages, assistant_messages,
                             input_tokens, output_tokens, feedback_up, tasks_succeeded)
SELECT o.id, current_date - d, a.id, 3, 10, 10, 2000, 500, 1, 2
FROM orgs AS o
LEFT JOIN LATERAL (SELECT id FROM agents WHERE org_id = o.id ORDER BY created_at LIMIT 1) AS a ON true,
     generate_series(1, 20) AS d
UNION ALL
SELECT o.id, current_date - d, NULL, 1, 2, 2, 0, 0, 0, 0
FROM orgs AS o, generate_series(1, 20) AS d;
INSERT INTO analytics_daily_users (org_id, day, agent_id, user_id)
SELECT m.org_id, current_date - d, NULL, m.user_id
FROM (SELECT org_id, user_id, row_number() OVER (PARTITION BY org_id ORDER BY user_id) AS k FROM org_members) AS m,
     generate_series(1, 20) AS d
WHERE m.k <= 2;
INSERT INTO analytics_daily_tools (org_id, day, tool_name, calls, failures)
SELECT o.id, current_date - d, 'tool_' || k, 5, k - 1
FROM orgs AS o, generate_series(1, 20) AS d, generate_series(1, 2) AS k;

-- Channels and imported agents' tree ids: two channels per org for its persona's agent, and that
-- agent's id in the tree it came from.
INSERT INTO channels (org_id, name, kind, agent_id, settings)
SELECT a.org_id, k.kind || '-' || a.id, k.kind, a.id, '{}'
FROM agents AS a, (VALUES ('web'), ('slack')) AS k (kind)
WHERE a.persona_id IS NOT NULL;
INSERT INTO agent_config_ids (org_id, config_id, agent_id)
SELECT org_id, 'agent-' || left(id::text, 8), id FROM agents WHERE persona_id IS NOT NULL;

-- Idempotency keys: the answers of the last 17 hours, 50 per org's API key (100,000), the oldest
-- three in fifty (6%) expired and waiting for the purge.
INSERT INTO idempotency_keys (org_id, principal_id, route, idempotency_key, request_hash, status_code, headers,
                              body, created_at, expires_at)
SELECT k.org_id, k.id, 'POST /api/v1/threads/' || md5(k.id::text || n)::uuid || '/messages', 'turn-' || n,
       sha256(('key' || k.id::text || n)::bytea), 201, '{"content-type": "application/json"}', '\x7b7d'::bytea,
       e.expires_at - interval '1 day', e.expires_at
FROM api_keys AS k, generate_series(1, 50) AS n,
     LATERAL (SELECT now() + (48 - n) * interval '20 minutes' - interval '10 minutes' AS expires_at) AS e;

ANALYZE;
