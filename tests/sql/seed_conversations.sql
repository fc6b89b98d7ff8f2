-- Conversations at a realistic size, for tests/sql/test_conversation_plans.py: 100,000 threads and
-- 500,000 messages in 20 orgs. One user ("heavy", user0@conversations.example.com) has 20,000
-- threads in the default org, the newest of which (thread 1) holds 50,000 messages; 2,000 other
-- users share the other 80,000 threads and 450,000 messages, one user in twenty in the default org too.
-- Message texts are drawn from a vocabulary of everyday support words; the rare word "zanzibar"
-- is in about one message in 10,000, of every user. Ids are md5-derived, so reruns make the same
-- rows; random() is seeded for the same reason.
SELECT setseed(0.42);

CREATE TEMP TABLE seed_orgs (k integer PRIMARY KEY, id uuid NOT NULL);
INSERT INTO seed_orgs (k, id) SELECT 0, id FROM orgs WHERE is_default;
INSERT INTO orgs (id, name, slug)
SELECT md5('org:' || k)::uuid, 'Conversations ' || k, 'conversations-' || k FROM generate_series(1, 19) AS k;
INSERT INTO seed_orgs (k, id) SELECT k, md5('org:' || k)::uuid FROM generate_series(1, 19) AS k;

-- User k acts in org k % 20: user 0 and every twentieth user in the default org.
CREATE TEMP TABLE seed_users (k integer PRIMARY KEY, id uuid NOT NULL, org_id uuid NOT NULL);
INSERT INTO seed_users (k, id, org_id)
SELECT g.k, md5('user:' || g.k)::uuid, o.id FROM generate_series(0, 2000) AS g (k) JOIN seed_orgs AS o ON o.k = g.k % 20;
INSERT INTO users (id, email, username, role)
SELECT id, 'user' || k || '@conversations.example.com', 'conversations' || k, 'user' FROM seed_users;
INSERT INTO org_members (org_id, user_id, role) SELECT org_id, id, 'member' FROM seed_users;

-- Five agents per org; a sixth of the threads have none.
INSERT INTO agents (id, org_id, name)
SELECT md5('agent:' || o.k || ':' || j)::uuid, o.id, 'Conversation agent ' || j
FROM seed_orgs AS o, generate_series(0, 4) AS j;

-- Threads 1..20,000 are the heavy user's, newest first by number; the rest go round the other users.
CREATE TEMP TABLE seed_threads (
    n integer PRIMARY KEY, id uuid NOT NULL, org_id uuid NOT NULL, user_id uuid NOT NULL, agent_id uuid,
    created_at timestamptz NOT NULL
);
INSERT INTO seed_threads (n, id, org_id, user_id, agent_id, created_at)
SELECT n, md5('thread:' || n)::uuid, u.org_id, u.id,
    CASE WHEN n % 6 <> 5 THEN md5('agent:' || u.k % 20 || ':' || n % 6)::uuid END,
    now() - n * interval '10 seconds'
FROM generate_series(1, 100000) AS n
JOIN seed_users AS u ON u.k = CASE WHEN n <= 20000 THEN 0 ELSE 1 + (n - 20001) % 2000 END;
INSERT INTO threads (id, org_id, user_id, agent_id, name, message_count, last_message_at, created_at, updated_at)
SELECT id, org_id, user_id, agent_id, 'Thread ' || n, c.message_count,
    -- Message k of a thread is written k seconds after the thread (see below).
    created_at + c.message_count * interval '1 second', created_at, created_at
FROM seed_threads
-- Messages 1..450,000 go round threads 2..100,000 (see below); thread 1 has 50,000.
CROSS JOIN LATERAL (SELECT CASE WHEN n = 1 THEN 50000 ELSE (449999 - (n - 2)) / 99999 + 1 END AS message_count) AS c;

-- 10,000 texts of 6 to 30 words from a vocabulary of everyday support words; messages take them in turn.
CREATE TEMP TABLE seed_words (words text[] NOT NULL);
INSERT INTO seed_words (words) VALUES (string_to_array(
    'the a to of and is in it for on with can you my we please thanks hello help issue error order '
    'refund invoice payment card account password login reset email address shipping delivery package '
    'tracking number customer support agent ticket priority urgent question answer problem solution '
    'database query index table column migration deploy server cluster node memory disk latency timeout '
    'retry cache redis postgres python script function variable loop exception stack trace log warning '
    'report dashboard chart metric usage billing plan upgrade downgrade subscription trial cancel renew '
    'contract price discount coupon tax receipt statement balance transfer bank wire currency euro dollar '
    'schedule meeting calendar reminder deadline project milestone release version feature bug fix patch '
    'document file upload download attachment image pdf spreadsheet export import sync backup restore '
    'weather travel flight hotel booking seat luggage passport visa airport train station route '
    'recipe kitchen coffee lunch dinner menu allergy vegetarian reservation restaurant',
    ' '));
CREATE TEMP TABLE seed_texts (k integer PRIMARY KEY, text_content text NOT NULL);
INSERT INTO seed_texts (k, text_content)
SELECT g.k, (
    -- Correlated with g.k, so drawn anew for every text.
    SELECT string_agg(w.words[1 + floor(random() * array_length(w.words, 1))::integer], ' ')
    FROM generate_series(1, 6 + g.k % 25) AS i, seed_words AS w
)
FROM generate_series(0, 9999) AS g (k);

INSERT INTO messages (org_id, thread_id, role, parts, text_content, model, input_tokens, output_tokens, created_at)
SELECT t.org_id, t.id, r.role,
    jsonb_build_array(jsonb_build_object('type', 'text', 'text', x.text_content)),
    x.text_content,
    CASE WHEN r.role = 'assistant' THEN 'claude-sonnet' END,
    CASE WHEN r.role = 'assistant' THEN 200 + m.n % 800 END,
    CASE WHEN r.role = 'assistant' THEN 50 + m.n % 300 END,
    t.created_at + m.position * interval '1 second'
FROM (
    SELECT n, 2 + (n - 1) % 99999 AS thread_n, (n - 1) / 99999 + 1 AS position FROM generate_series(1, 450000) AS n
    UNION ALL
    SELECT 450000 + n, 1, n FROM generate_series(1, 50000) AS n
) AS m
JOIN seed_threads AS t ON t.n = m.thread_n
CROSS JOIN LATERAL (
    SELECT CASE WHEN m.n % 10007 = 0 THEN s.text_content || ' zanzibar' ELSE s.text_content END AS text_content
    FROM seed_texts AS s
    WHERE s.k = m.n % 10000 * 7919 % 10000
) AS x
CROSS JOIN LATERAL (SELECT CASE WHEN m.position % 2 = 1 THEN 'user' ELSE 'assistant' END AS role) AS r;

-- The thread owner's rating of each thread's first reply: 100,000 ratings, a third of them down.
INSERT INTO feedback (org_id, message_id, user_id, rating)
SELECT m.org_id, m.id, t.user_id, CASE WHEN t.n % 3 = 0 THEN -1 ELSE 1 END
FROM messages AS m
JOIN seed_threads AS t ON t.id = m.thread_id
WHERE m.created_at = t.created_at + interval '2 seconds';

DROP TABLE seed_texts, seed_words, seed_threads, seed_users, seed_orgs;

-- The test then runs VACUUM (ANALYZE) on its own: VACUUM cannot run inside the one transaction
-- that a multi-statement string makes.
