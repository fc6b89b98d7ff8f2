"""Scenario 6: full-text search over 1M messages (quick: 100k) through repositories.message_search."""

from __future__ import annotations

import time
from typing import Any
from uuid import UUID

import psycopg

from agentpress.repositories.message_search import search_messages
from bench.common import Server, Table, median_ms, percentile_ms, run_async

ORGS = 20
USERS = 2_001
MESSAGES_PER_THREAD = 10
PAGE_SIZE = 20
# The heavy user holds a tenth of all threads; the others share the rest.
HEAVY_SHARE = 10
SELECTIVE = "zanzibar"  # in about one message in 10,000
COMMON = "refund"  # one of ~190 words, in about one message in ten
TARGET_P95_MS = {SELECTIVE: 50.0, COMMON: 200.0}
GIN_MAINTENANCE_WORK_MEM = "1GB"

# Like tests/sql/seed_conversations.sql, at a size of our choosing: ORGS orgs, USERS users (user k in
# org k % ORGS, user 0 in the default org is the heavy one), %(threads)s threads of ten messages each.
# Texts of 6 to 30 words come from a vocabulary of everyday support words; the rare word is added to
# one message in 10,007. Ids are md5-derived and random() is seeded, so every run makes the same rows.
SEED = [
    "SELECT setseed(0.42)",
    "CREATE TEMP TABLE seed_orgs (k integer PRIMARY KEY, id uuid NOT NULL)",
    "INSERT INTO seed_orgs (k, id) SELECT 0, id FROM orgs WHERE is_default",
    f"""INSERT INTO orgs (id, name, slug)
    SELECT md5('org:' || k)::uuid, 'Search ' || k, 'search-' || k FROM generate_series(1, {ORGS - 1}) AS k""",
    f"INSERT INTO seed_orgs (k, id) SELECT k, md5('org:' || k)::uuid FROM generate_series(1, {ORGS - 1}) AS k",
    "CREATE TEMP TABLE seed_users (k integer PRIMARY KEY, id uuid NOT NULL, org_id uuid NOT NULL)",
    f"""INSERT INTO seed_users (k, id, org_id)
    SELECT g.k, md5('user:' || g.k)::uuid, o.id
    FROM generate_series(0, {USERS - 1}) AS g (k) JOIN seed_orgs AS o ON o.k = g.k %% {ORGS}""",
    """INSERT INTO users (id, email, username, role)
    SELECT id, 'user' || k || '@search.example.com', 'search' || k, 'user' FROM seed_users""",
    "INSERT INTO org_members (org_id, user_id, role) SELECT org_id, id, 'member' FROM seed_users",
    # Threads 1..threads/HEAVY_SHARE are the heavy user's; the rest go round the other users.
    f"""INSERT INTO threads (id, org_id, user_id, name, message_count, last_message_at, created_at, updated_at)
    SELECT md5('thread:' || n)::uuid, u.org_id, u.id, 'Thread ' || n, {MESSAGES_PER_THREAD},
        now() - n * interval '1 minute' + {MESSAGES_PER_THREAD} * interval '1 second',
        now() - n * interval '1 minute', now() - n * interval '1 minute'
    FROM generate_series(1, %(threads)s) AS n
    JOIN seed_users AS u
        ON u.k = CASE WHEN n <= %(threads)s / {HEAVY_SHARE} THEN 0 ELSE 1 + n %% {USERS - 1} END""",
    "CREATE TEMP TABLE seed_words (words text[] NOT NULL)",
    """INSERT INTO seed_words (words) VALUES (string_to_array(
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
    ' '))""",
    "CREATE TEMP TABLE seed_texts (k integer PRIMARY KEY, text_content text NOT NULL)",
    # Correlated with g.k, so drawn anew for every text.
    """INSERT INTO seed_texts (k, text_content)
    SELECT g.k, (
        SELECT string_agg(w.words[1 + floor(random() * array_length(w.words, 1))::integer], ' ')
        FROM generate_series(1, 6 + g.k %% 25) AS i, seed_words AS w
    )
    FROM generate_series(0, 9999) AS g (k)""",
    # Message n is message (n - 1) / threads + 1 of thread (n - 1) % threads + 1, written that many seconds in,
    # with one of the texts at random.
    """INSERT INTO messages (org_id, thread_id, role, parts, text_content, created_at)
    SELECT t.org_id, t.id, CASE WHEN m.position %% 2 = 1 THEN 'user' ELSE 'assistant' END,
        jsonb_build_array(jsonb_build_object('type', 'text', 'text', x.text_content)),
        x.text_content, t.created_at + m.position * interval '1 second'
    FROM (
        SELECT n, 1 + (n - 1) %% %(threads)s AS thread_n, (n - 1) / %(threads)s + 1 AS position,
            floor(random() * 10000)::integer AS text_k
        FROM generate_series(1, %(messages)s) AS n
    ) AS m
    JOIN threads AS t ON t.id = md5('thread:' || m.thread_n)::uuid
    CROSS JOIN LATERAL (
        SELECT CASE WHEN m.n %% 10007 = 0 THEN s.text_content || ' zanzibar' ELSE s.text_content END AS text_content
        FROM seed_texts AS s
        WHERE s.k = m.text_k
    ) AS x""",
    "DROP TABLE seed_texts, seed_words, seed_users, seed_orgs",
]


def seed(conn: psycopg.Connection[Any], messages: int) -> float:
    """The conversations; the seconds it took. The messages' secondary indexes are dropped for the load and
    built again after it, with their own definitions, as a bulk load would (faster than 1M inserts into them)."""
    started = time.perf_counter()
    definitions = [
        row[0]
        for row in conn.execute(
            "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index AS i "
            "WHERE i.indrelid = 'messages'::regclass AND NOT i.indisprimary AND NOT i.indisunique"
        ).fetchall()
    ]
    names = [
        row[0]
        for row in conn.execute(
            "SELECT c.relname FROM pg_index AS i JOIN pg_class AS c ON c.oid = i.indexrelid "
            "WHERE i.indrelid = 'messages'::regclass AND NOT i.indisprimary AND NOT i.indisunique"
        ).fetchall()
    ]
    for name in names:
        conn.execute(f'DROP INDEX "{name}"')
    params = {"threads": messages // MESSAGES_PER_THREAD, "messages": messages}
    with conn.transaction():
        for statement in SEED:
            conn.execute(statement, params)
    conn.execute(f"SET maintenance_work_mem = '{GIN_MAINTENANCE_WORK_MEM}'")
    for definition in definitions:
        conn.execute(definition)
    conn.execute("RESET maintenance_work_mem")
    conn.execute("VACUUM (ANALYZE) threads, messages, users, org_members")
    return time.perf_counter() - started


async def measure(
    url: str, contenders: dict[str, tuple[UUID, UUID, str]], repeat: int
) -> dict[str, tuple[list[float], int]]:
    """Each contender `repeat` times, in turn: seconds per search (a page of PAGE_SIZE and the total)."""
    results: dict[str, tuple[list[float], int]] = {name: ([], 0) for name in contenders}
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        for round_number in range(repeat + 1):
            for name, (org_id, user_id, term) in contenders.items():
                started = time.perf_counter()
                _, total = await search_messages(
                    conn,
                    org_id=org_id,
                    user_id=user_id,
                    q=term,
                    thread_id=None,
                    agent_id=None,
                    limit=PAGE_SIZE,
                    offset=0,
                )
                elapsed = time.perf_counter() - started
                if round_number:  # round 0 warms the caches
                    results[name][0].append(elapsed)
                    results[name] = (results[name][0], total)
    return results


def run(server: Server, quick: bool) -> list[Table]:
    messages, repeat = (100_000, 20) if quick else (1_000_000, 40)
    url = server.database("fulltext")
    with psycopg.connect(url, autocommit=True) as conn:
        seconds = seed(conn, messages)
        users = {
            k: conn.execute(  # type: ignore[misc]
                "SELECT u.id, m.org_id, (SELECT count(*) FROM messages AS x JOIN threads AS t ON t.id = x.thread_id "
                "WHERE t.user_id = u.id) FROM users AS u JOIN org_members AS m ON m.user_id = u.id WHERE u.email = %s",
                [f"user{k}@search.example.com"],
            ).fetchone()
            for k in (0, 1)
        }
    contenders: dict[str, tuple[UUID, UUID, str]] = {}
    labels = {0: "heavy user", 1: "typical user"}
    for k, (user_id, org_id, _) in users.items():
        for term in (SELECTIVE, COMMON):
            contenders[f"{labels[k]}|{term}"] = (org_id, user_id, term)
    results = run_async(measure(url, contenders, repeat))
    rows: list[list[Any]] = []
    for name, (times, total) in results.items():
        label, term = name.split("|")
        user_messages = users[0 if label == "heavy user" else 1][2]
        p95 = percentile_ms(times, 95)
        rows.append(
            [
                label,
                user_messages,
                f"{term} ({'selective' if term == SELECTIVE else 'common'})",
                total,
                round(median_ms(times), 2),
                round(p95, 2),
                TARGET_P95_MS[term],
                f"{p95 / TARGET_P95_MS[term]:.2f}",
            ]
        )
    notes = [
        f"{messages:,} messages in {messages // MESSAGES_PER_THREAD:,} threads of {USERS:,} users in {ORGS} orgs "
        f"(seeded in {seconds:.0f} s); the heavy user holds a tenth of them.",
        f"Each search: search_messages for page 1 of {PAGE_SIZE} (ranked, with snippets) with the total "
        f"of the matches; {repeat} times per row after one warm-up, the rows in turn, one connection.",
    ]
    return [
        Table(
            scenario="fulltext",
            title="Full-text search over messages (message_search.search_messages)",
            columns=["user", "user's messages", "term", "matches", "p50 ms", "p95 ms", "target p95 ms", "p95 / target"],
            rows=rows,
            notes=notes,
        )
    ]
