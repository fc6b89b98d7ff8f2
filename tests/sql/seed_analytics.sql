-- Ninety days of activity (1 January to 31 March 2026, UTC) for tests/sql/test_analytics_rollup.py:
-- two orgs, 300 users, 8 agents, 20,000 threads (one in seven without an agent), 200,000 messages
-- of every role (assistant ones with tokens, some with tool calls; tool results, some failed),
-- feedback on one message in ten, and 6,000 tasks in every state. A thread's messages are 13
-- minutes apart, so that some threads cross midnight. Ids are md5-derived: reruns make the same rows.
INSERT INTO orgs (id, name, slug)
SELECT md5('analytics-org:' || k)::uuid, 'Analytics ' || k, 'analytics-' || k FROM generate_series(0, 1) AS k;

-- User k is a member of org k % 2.
INSERT INTO users (id, email, username, role)
SELECT md5('analytics-user:' || k)::uuid, 'analytics' || k || '@example.com', 'analytics' || k, 'user'
FROM generate_series(0, 299) AS k;
INSERT INTO org_members (org_id, user_id, role)
SELECT md5('analytics-org:' || k % 2)::uuid, md5('analytics-user:' || k)::uuid, 'member' FROM generate_series(0, 299) AS k;

-- Agents 0..5 in org 0, 6..7 in org 1.
INSERT INTO agents (id, org_id, name)
SELECT md5('analytics-agent:' || j)::uuid, md5('analytics-org:' || CASE WHEN j < 6 THEN 0 ELSE 1 END)::uuid,
       'Analytics agent ' || j
FROM generate_series(0, 7) AS j;
INSERT INTO tools (org_id, name, kind)
SELECT md5('analytics-org:' || k)::uuid, 'tool_' || j, 'function' FROM generate_series(0, 1) AS k, generate_series(0, 2) AS j;

-- Thread n: user n % 300 (so org n % 2), an agent of that org unless n % 7 = 0, created over the 90 days.
CREATE TEMP TABLE seed_threads AS
SELECT n, md5('analytics-thread:' || n)::uuid AS id, md5('analytics-org:' || n % 2)::uuid AS org_id,
       md5('analytics-user:' || n % 300)::uuid AS user_id,
       CASE WHEN n % 7 <> 0 THEN md5('analytics-agent:' || CASE WHEN n % 2 = 0 THEN n / 2 % 6 ELSE 6 + n / 2 % 2 END)::uuid END
           AS agent_id,
       timestamptz '2026-01-01 00:00+00' + (n * 388.8 + n % 97 * 60) * interval '1 second' AS created_at
FROM generate_series(0, 19999) AS n;
INSERT INTO threads (id, org_id, user_id, agent_id, name, message_count, created_at, updated_at)
SELECT id, org_id, user_id, agent_id, 'Thread ' || n, 10, created_at, created_at FROM seed_threads;

-- Message k (1..10) of a thread: odd k user, k 2 and 6 assistant with tokens (and a tool call of
-- tool_(n % 3) in every third thread), k 4 and 8 tool results (failed in every fifth thread), k 10 system.
INSERT INTO messages (id, org_id, thread_id, role, parts, text_content, input_tokens, output_tokens, created_at)
SELECT md5('analytics-message:' || t.n || ':' || k)::uuid, t.org_id, t.id, r.role,
       CASE
           WHEN r.role = 'assistant' AND t.n % 3 = 0 THEN jsonb_build_array(
               jsonb_build_object('type', 'tool_call', 'tool_call_id', 'c' || k, 'tool_name', 'tool_' || t.n % 3,
                                  'arguments', '{}'::jsonb))
           WHEN r.role = 'tool' THEN jsonb_build_array(
               jsonb_build_object('type', 'tool_result', 'tool_call_id', 'c' || k, 'tool_name', 'tool_' || k % 3,
                                  'result', 'r', 'is_error', t.n % 5 = 0))
           ELSE jsonb_build_array(jsonb_build_object('type', 'text', 'text', 'm'))
       END,
       'm',
       CASE WHEN r.role = 'assistant' THEN 100 + t.n % 50 END,
       CASE WHEN r.role = 'assistant' THEN 10 + k END,
       t.created_at + k * interval '13 minutes'
FROM seed_threads AS t, generate_series(1, 10) AS k,
     LATERAL (SELECT CASE WHEN k % 2 = 1 THEN 'user' WHEN k IN (2, 6) THEN 'assistant' WHEN k = 10 THEN 'system'
                          ELSE 'tool' END AS role) AS r;

-- The thread owner's rating of its second message in every tenth thread, 40 minutes later.
INSERT INTO feedback (org_id, message_id, user_id, rating, created_at, updated_at)
SELECT t.org_id, md5('analytics-message:' || t.n || ':2')::uuid, t.user_id, CASE WHEN t.n % 3 = 0 THEN -1 ELSE 1 END,
       t.created_at + interval '66 minutes', t.created_at + interval '66 minutes'
FROM seed_threads AS t
WHERE t.n % 10 = 0;

-- Tasks of the threads' agents: succeeded, failed, cancelled or still queued.
INSERT INTO tasks (org_id, agent_id, status, attempt, queued_at, started_at, finished_at)
SELECT t.org_id, t.agent_id, s.status, 1, t.created_at, t.created_at,
       CASE WHEN s.status <> 'queued' THEN t.created_at + (t.n % 180) * interval '1 minute' END
FROM seed_threads AS t,
     LATERAL (SELECT CASE t.n % 4 WHEN 0 THEN 'succeeded' WHEN 1 THEN 'failed' WHEN 2 THEN 'cancelled' ELSE 'queued' END
                  AS status) AS s
WHERE t.agent_id IS NOT NULL AND t.n % 3 = 0;

DROP TABLE seed_threads;
