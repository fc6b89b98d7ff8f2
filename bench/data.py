"""The conversation data set scenarios share: orgs, users, threads, messages and a knowledge base, made by SQL."""

from __future__ import annotations

import hashlib
import random
import time
from dataclasses import dataclass
from uuid import UUID

import psycopg
from psycopg import sql

from bench.common import Server

ORGS = 20
AGENTS_PER_ORG = 5
MESSAGES_PER_THREAD = 10
# Chunks cluster round this many centres, as real embeddings of related texts do (see
# tests/sql/test_kb_search_recall.py): a top 10 then comes mostly from one or two clusters.
CENTRES = 100
QUERY_VECTORS = 20
KB_ID = UUID("00000000-0000-4000-8000-0000000000b1")
FILE_ID = UUID("00000000-0000-4000-8000-0000000000f1")

# Everyday support-chat words; each message takes one of 1,000 texts of 6 to 30 of them.
WORDS = (
    "the a to of and is in it for on with can you my we please thanks hello help issue error order refund "
    "invoice payment card account password login reset email address shipping delivery package tracking "
    "number customer support agent ticket priority urgent question answer problem solution database query "
    "index table column migration deploy server cluster node memory disk latency timeout retry cache redis "
    "postgres python script function variable loop exception stack trace log warning report dashboard chart "
    "metric usage billing plan upgrade downgrade subscription trial cancel renew contract price discount "
    "coupon tax receipt statement balance transfer bank schedule meeting calendar reminder deadline project "
    "milestone release version feature bug fix patch document file upload download attachment image pdf"
)


@dataclass(frozen=True)
class Size:
    """How much data: `threads` threads of `users` users in ORGS orgs, ten messages each, `chunks` chunks."""

    threads: int
    users: int
    chunks: int

    @property
    def messages(self) -> int:
        return self.threads * MESSAGES_PER_THREAD


FULL = Size(threads=100_000, users=2_000, chunks=3_000)
QUICK = Size(threads=10_000, users=200, chunks=1_000)


def size(quick: bool) -> Size:
    return QUICK if quick else FULL


# Ids are md5 of a name ('org:3', 'user:17', 'thread:42'), so a scenario (or pgbench's script) can
# name a row without reading it back. Thread n belongs to user n % users, who acts in org user % ORGS.
def org_id(k: int) -> UUID:
    return _md5_uuid(f"org:{k}")


def user_id(k: int) -> UUID:
    return _md5_uuid(f"user:{k}")


def thread_id(n: int) -> UUID:
    return _md5_uuid(f"thread:{n}")


@dataclass(frozen=True)
class ThreadKey:
    """What get_thread takes: the thread with its org and user."""

    org_id: UUID
    user_id: UUID
    thread_id: UUID


def thread_key(n: int, data: Size) -> ThreadKey:
    """Thread n (1..data.threads)."""
    user = n % data.users
    return ThreadKey(org_id(user % ORGS), user_id(user), thread_id(n))


def random_thread_keys(data: Size, count: int, seed: int) -> list[ThreadKey]:
    """`count` threads drawn at random (the same ones for the same seed), for contenders to share."""
    rng = random.Random(seed)
    return [thread_key(rng.randint(1, data.threads), data) for _ in range(count)]


def _md5_uuid(name: str) -> UUID:
    return UUID(hashlib.md5(name.encode()).hexdigest())


# Loaded with their secondary indexes dropped and built again afterwards: 1M messages load in a
# quarter of the time, and an HNSW graph of 3072 dimensions builds in bulk faster than row by row.
BULK_TABLES = ("threads", "messages", "embeddings")


def seed_sql(data: Size) -> list[str]:
    """The statements that fill a migrated database, in order."""
    # Only this module's integers are interpolated.
    u, t, c = data.users, data.threads, data.chunks
    return [
        "SELECT setseed(0.42)",
        # Building indexes and the HNSW graph with more memory than the server's default of 64 MB.
        "SET maintenance_work_mem = '512MB'",
        f"""INSERT INTO orgs (id, name, slug)
            SELECT md5('org:' || k)::uuid, 'Bench org ' || k, 'bench-' || k FROM generate_series(0, {ORGS - 1}) AS k""",
        f"""INSERT INTO users (id, email, username, role)
            SELECT md5('user:' || k)::uuid, 'user' || k || '@bench.example.com', 'bench' || k, 'user'
            FROM generate_series(0, {u - 1}) AS k""",
        f"""INSERT INTO org_members (org_id, user_id, role)
            SELECT md5('org:' || k % {ORGS})::uuid, md5('user:' || k)::uuid, 'member'
            FROM generate_series(0, {u - 1}) AS k""",
        f"""INSERT INTO agents (id, org_id, name)
            SELECT md5('agent:' || o || ':' || j)::uuid, md5('org:' || o)::uuid, 'Agent ' || j
            FROM generate_series(0, {ORGS - 1}) AS o, generate_series(0, {AGENTS_PER_ORG - 1}) AS j""",
        # Thread n was started n minutes ago; a sixth of the threads have no agent.
        f"""INSERT INTO threads (id, org_id, user_id, agent_id, name, message_count, last_message_at, metadata,
                created_at, updated_at)
            SELECT md5('thread:' || n)::uuid, md5('org:' || n % {u} % {ORGS})::uuid, md5('user:' || n % {u})::uuid,
                CASE WHEN n % 6 <> 5 THEN md5('agent:' || n % {u} % {ORGS} || ':' || n % {AGENTS_PER_ORG})::uuid END,
                'Thread ' || n, {MESSAGES_PER_THREAD},
                now() - n * interval '1 minute' + {MESSAGES_PER_THREAD} * interval '1 second',
                jsonb_build_object('channel', 'web'),
                now() - n * interval '1 minute', now() - n * interval '1 minute'
            FROM generate_series(1, {t}) AS n""",
        # g * 0 puts the aggregate in the inner query (with outer references only, it would be the outer's).
        f"""CREATE TEMP TABLE bench_texts AS
            SELECT k, (SELECT string_agg(w[1 + floor(random() * cardinality(w))::int + g * 0], ' ')
                       FROM generate_series(1, 6 + (k * 7919) % 25) AS g) AS text
            FROM generate_series(0, 999) AS k, string_to_array('{WORDS}', ' ') AS w""",
        f"""INSERT INTO messages (org_id, thread_id, role, parts, text_content, model, input_tokens, output_tokens,
                created_at)
            SELECT md5('org:' || n % {u} % {ORGS})::uuid, md5('thread:' || n)::uuid,
                CASE WHEN j % 2 = 1 THEN 'user' ELSE 'assistant' END,
                jsonb_build_array(jsonb_build_object('type', 'text', 'text', x.text)), x.text,
                CASE WHEN j % 2 = 0 THEN 'claude-sonnet' END,
                CASE WHEN j % 2 = 0 THEN 200 + j * 50 END, CASE WHEN j % 2 = 0 THEN 150 END,
                now() - n * interval '1 minute' + j * interval '1 second'
            FROM generate_series(1, {t}) AS n, generate_series(1, {MESSAGES_PER_THREAD}) AS j, bench_texts AS x
            WHERE x.k = (n * {MESSAGES_PER_THREAD} + j) % 1000""",
        # One knowledge base of org 0 holds every chunk, all of one file.
        f"""INSERT INTO knowledge_bases (id, org_id, name) VALUES ('{KB_ID}', md5('org:0')::uuid, 'Bench docs')""",
        f"""INSERT INTO knowledge_base_files (id, org_id, knowledge_base_id, name, storage_uri, status)
            VALUES ('{FILE_ID}', md5('org:0')::uuid, '{KB_ID}', 'handbook.pdf', 's3://bench/handbook.pdf', 'ready')""",
        # c * 0 makes the inner query correlated, so that each centre gets draws of its own.
        f"""CREATE TEMP TABLE bench_centres AS
            SELECT c, (SELECT array_agg(random_normal()) FROM generate_series(1, 3072 + c * 0))::real[] AS v
            FROM generate_series(0, {CENTRES - 1}) AS c""",
        f"""INSERT INTO embeddings (org_id, knowledge_base_id, file_id, chunk_index, content, embedding)
            SELECT md5('org:0')::uuid, '{KB_ID}', '{FILE_ID}', i, 'Chunk ' || i || ' of the handbook, topic ' || c.c,
                (SELECT array_agg(x + random_normal()) FROM unnest(c.v) AS x)::halfvec(3072)
            FROM generate_series(0, {c - 1}) AS i JOIN bench_centres AS c ON c.c = i % {CENTRES}""",
        # Query vectors drawn like the chunks, not among them; scenarios read them from here.
        f"""CREATE TABLE bench_query_vectors AS
            SELECT q, (SELECT array_agg(x + random_normal()) FROM unnest(c.v) AS x)::halfvec(3072) AS embedding
            FROM generate_series(0, {QUERY_VECTORS - 1}) AS q JOIN bench_centres AS c ON c.c = (q * 37) % {CENTRES}""",
    ]


_templates: dict[tuple[str, Size], str] = {}


def conversations(server: Server, data: Size) -> str:
    """A new database holding the data set (its URL): the first call builds a template, later ones copy it."""
    key = (server.url, data)
    if key not in _templates:
        url = server.database("bench_template")
        started = time.perf_counter()
        with psycopg.connect(url, autocommit=True) as conn:
            indexes = _drop_secondary_indexes(conn, BULK_TABLES)
            for statement in seed_sql(data):
                conn.execute(statement)
            for statement in indexes:
                conn.execute(statement)
            # Hint bits set and statistics gathered now, not during the first measurements.
            conn.execute("VACUUM (ANALYZE)")
        print(f"  (data set of {data.threads:,} threads built in {time.perf_counter() - started:.0f} s)", flush=True)
        _templates[key] = url
    return server.copy(_templates[key], "conversations")


def _drop_secondary_indexes(conn: psycopg.Connection[tuple[object, ...]], tables: tuple[str, ...]) -> list[str]:
    """Drop the indexes of `tables` that back no constraint; the statements that make them again."""
    rows = conn.execute(
        """SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid), obj_description(i.indexrelid, 'pg_class')
        FROM pg_index AS i
        WHERE i.indrelid::regclass::text = ANY (%s)
          AND NOT EXISTS (SELECT FROM pg_constraint AS c WHERE c.conindid = i.indexrelid)""",
        [list(tables)],
    ).fetchall()
    again: list[str] = []
    for name, definition, comment in rows:
        conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(str(name))))
        again.append(str(definition))
        if comment is not None:
            again.append(
                sql.SQL("COMMENT ON INDEX {} IS {}").format(sql.Identifier(str(name)), sql.Literal(comment)).as_string()
            )
    return again
