"""Recall of vector search through the HNSW index on 5,000 clustered halfvec(3072) chunks, and its plans.

Also the measurement behind migration 0007's m and ef_construction: run this file as a script
(`.venv/bin/python tests/sql/test_kb_search_recall.py "$(make -s db-url)"`); it works in a scratch
database of that server and drops it at the end.
"""

from __future__ import annotations

import json
import re
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg
import pytest
from pgvector import HalfVector
from pgvector.psycopg import register_vector_async

from agentpress.db import migrations
from agentpress.db.paths import MIGRATIONS_DIR
from agentpress.db.queries import queries
from agentpress.repositories.kb_search import EF_SEARCH, search_chunks_by_text, search_chunks_by_vector

INDEX = "embeddings_embedding_hnsw_idx"
TEXT_INDEX = "embeddings_text_search_gin_idx"
MIGRATION = MIGRATIONS_DIR / "0007.embeddings-hnsw.sql"
ORG_ID = UUID("00000000-0000-4000-8000-00000000000a")
BIG_KB_ID = UUID("00000000-0000-4000-8000-0000000000b1")
SMALL_KB_ID = UUID("00000000-0000-4000-8000-0000000000b2")
CHUNKS = 5_000
CENTRES = 300
QUERIES = 20
# Each point is its centre plus noise of the same scale in every dimension: two chunks of one
# cluster have a cosine similarity of about 0.5, two of different clusters about 0, as related and
# unrelated texts have with real embedding models (uniform noise would be the worst case, not the
# usual one). 300 centres for 5,000 chunks: clusters of about 17, so a top 10 is mostly one cluster.
NOISE = 1.0


# Generated in SQL (about 2 seconds for 5,000 vectors): no numpy, nothing sent over the wire.
# One chunk in twenty is in the small knowledge base, spread over every cluster. The query vectors
# are drawn like the chunks but are not among them. random() is seeded, so reruns are alike.
def seed_sql(spread: float = 1.0) -> str:
    """The seed; spread 0 puts every centre at the origin: uniform random directions, the worst case."""
    # Only this module's constants are interpolated.
    return f"""
SELECT setseed(0.42);
INSERT INTO orgs (id, name, slug) VALUES ('{ORG_ID}', 'Recall', 'recall');
INSERT INTO knowledge_bases (id, org_id, name) VALUES
    ('{BIG_KB_ID}', '{ORG_ID}', 'Big'), ('{SMALL_KB_ID}', '{ORG_ID}', 'Small');
INSERT INTO knowledge_base_files (id, org_id, knowledge_base_id, name, storage_uri, status) VALUES
    (md5('file:big')::uuid, '{ORG_ID}', '{BIG_KB_ID}', 'big.txt', 's3://recall/big.txt', 'ready'),
    (md5('file:small')::uuid, '{ORG_ID}', '{SMALL_KB_ID}', 'small.txt', 's3://recall/small.txt', 'ready');
-- c * 0 makes the inner query correlated, so that each centre gets draws of its own.
CREATE TEMP TABLE seed_centres AS
SELECT c, (SELECT array_agg({spread} * random_normal()) FROM generate_series(1, 3072 + c * 0))::real[] AS v
FROM generate_series(0, {CENTRES - 1}) AS c;
CREATE TEMP TABLE seed_points AS
SELECT i, floor(random() * {CENTRES})::int AS c, i % 20 = 0 AS is_small
FROM generate_series(0, {CHUNKS + QUERIES - 1}) AS i;
INSERT INTO embeddings (org_id, knowledge_base_id, file_id, chunk_index, content, embedding)
SELECT '{ORG_ID}',
    CASE WHEN p.is_small THEN '{SMALL_KB_ID}'::uuid ELSE '{BIG_KB_ID}'::uuid END,
    md5(CASE WHEN p.is_small THEN 'file:small' ELSE 'file:big' END)::uuid,
    p.i,
    'Chunk ' || p.i || ' about topic ' || p.c || CASE WHEN p.i % 50 = 10 THEN ', mentions zanzibar' ELSE '' END,
    (SELECT array_agg(x + {NOISE} * random_normal()) FROM unnest(c.v) AS x)::halfvec(3072)
FROM seed_points AS p JOIN seed_centres AS c ON c.c = p.c
WHERE p.i < {CHUNKS};
CREATE TABLE seed_queries AS
SELECT p.i AS q, (SELECT array_agg(x + {NOISE} * random_normal()) FROM unnest(c.v) AS x)::halfvec(3072) AS embedding
FROM seed_points AS p JOIN seed_centres AS c ON c.c = p.c
WHERE p.i >= {CHUNKS};
"""  # noqa: S608


def index_statement(m: int | None = None, ef_construction: int | None = None) -> str:
    """Migration 0007's CREATE INDEX, optionally with other parameters (and not CONCURRENTLY, for speed)."""
    statement = "\n".join(line for line in MIGRATION.read_text().splitlines() if not line.startswith("--"))
    statement = statement.strip().rstrip(";").replace(" CONCURRENTLY", "")
    if m is not None:
        statement = re.sub(r"m = \d+", f"m = {m}", statement)
    if ef_construction is not None:
        statement = re.sub(r"ef_construction = \d+", f"ef_construction = {ef_construction}", statement)
    return statement


def seed(conn: psycopg.Connection[Any], spread: float = 1.0) -> None:
    """Load the chunks into a migrated database, then build the index on them as migration 0007 does."""
    # Built after the rows are in, as on a live table: an HNSW build is faster than 5,000 inserts into it.
    conn.execute(f"DROP INDEX IF EXISTS {INDEX}")
    conn.execute(seed_sql(spread))
    # Its own statement: VACUUM cannot run in the transaction of a multi-statement string.
    conn.execute("VACUUM (ANALYZE) embeddings, knowledge_bases")


def query_vectors(conn: psycopg.Connection[Any]) -> list[HalfVector]:
    rows = conn.execute("SELECT embedding::text FROM seed_queries ORDER BY q").fetchall()
    return [HalfVector.from_text(text) for (text,) in rows]


def exact_top(conn: psycopg.Connection[Any], embedding: HalfVector, k: int, kb_id: UUID | None = None) -> list[UUID]:
    """The true k nearest chunks, by a sequential scan that computes every distance."""
    with conn.transaction():
        conn.execute("SET LOCAL enable_indexscan = off")
        rows = conn.execute(
            "SELECT id FROM embeddings WHERE org_id = %s AND (%s::uuid IS NULL OR knowledge_base_id = %s::uuid) "
            "ORDER BY embedding <=> %s::halfvec(3072) LIMIT %s",
            [ORG_ID, kb_id, kb_id, embedding.to_text(), k],
        ).fetchall()
    return [row[0] for row in rows]


@dataclass(frozen=True)
class Seeded:
    conn: psycopg.Connection[Any]
    url: str
    queries: list[HalfVector]


@pytest.fixture(scope="module")
def seeded(database_url_module: str) -> Iterator[Seeded]:
    with psycopg.connect(database_url_module, autocommit=True) as conn:
        seed(conn)
        conn.execute(index_statement())
        conn.execute("ANALYZE embeddings")
        yield Seeded(conn, database_url_module, query_vectors(conn))


@pytest.fixture
async def aconn(seeded: Seeded) -> Any:
    async with await psycopg.AsyncConnection.connect(seeded.url, autocommit=True) as conn:
        await register_vector_async(conn)
        yield conn


pytestmark = pytest.mark.anyio


def test_the_seed_is_what_the_recall_test_needs(seeded: Seeded) -> None:
    counts = dict(seeded.conn.execute("SELECT knowledge_base_id, count(*) FROM embeddings GROUP BY 1").fetchall())
    assert sum(counts.values()) == CHUNKS
    assert counts[SMALL_KB_ID] == CHUNKS // 20  # 5%
    assert len(seeded.queries) == QUERIES
    # Clustered: a query's nearest chunk is far closer than the median chunk.
    (nearest, median) = seeded.conn.execute(  # type: ignore[misc]
        "SELECT min(d), percentile_cont(0.5) WITHIN GROUP (ORDER BY d) FROM ("
        "SELECT embedding <=> (SELECT embedding FROM seed_queries ORDER BY q LIMIT 1) AS d FROM embeddings) AS s"
    ).fetchone()
    assert nearest < 0.6 < 0.9 < median


async def test_recall_at_10_through_the_index_is_at_least_95_percent(seeded: Seeded, aconn: Any) -> None:
    found = 0
    for embedding in seeded.queries:
        hits = await search_chunks_by_vector(aconn, org_id=ORG_ID, embedding=embedding, knowledge_base_ids=None, k=10)
        assert [hit.score for hit in hits] == sorted((hit.score for hit in hits), reverse=True)
        found += len({hit.id for hit in hits} & set(exact_top(seeded.conn, embedding, 10)))
    recall = found / (10 * len(seeded.queries))
    assert recall >= 0.95, f"recall@10 {recall:.3f} at ef_search {EF_SEARCH}"


async def test_a_search_filtered_to_a_knowledge_base_of_5_percent_still_returns_k(seeded: Seeded, aconn: Any) -> None:
    found = 0
    for embedding in seeded.queries[:10]:
        hits = await search_chunks_by_vector(
            aconn, org_id=ORG_ID, embedding=embedding, knowledge_base_ids=[SMALL_KB_ID], k=10
        )
        assert len(hits) == 10
        assert {hit.knowledge_base_id for hit in hits} == {SMALL_KB_ID}
        found += len({hit.id for hit in hits} & set(exact_top(seeded.conn, embedding, 10, SMALL_KB_ID)))
    assert found / 100 >= 0.9
    # What the iterative scan is for: without it, the scan stops at ef_search candidates, of which
    # only about 5% pass the filter.
    embedding = seeded.queries[0]
    with seeded.conn.transaction():
        seeded.conn.execute("SELECT set_config('hnsw.ef_search', %s, true)", [str(EF_SEARCH)])
        seeded.conn.execute("SET LOCAL hnsw.iterative_scan = off")
        rows = seeded.conn.execute(
            queries.kb_search.search_chunks_by_vector.sql,
            {"org_id": ORG_ID, "embedding": embedding.to_text(), "knowledge_base_ids": [SMALL_KB_ID], "k": 10},
        ).fetchall()
    assert len(rows) < 10


def plan_indexes(
    conn: psycopg.Connection[Any], sql: str, params: dict[str, Any] | None = None, *, generic: bool = False
) -> set[str]:
    options = "GENERIC_PLAN, FORMAT JSON" if generic else "FORMAT JSON"
    (explained,) = conn.execute(f"EXPLAIN ({options}) {sql}", params).fetchone()  # type: ignore[misc]
    document = json.loads(explained) if isinstance(explained, str) else explained

    def nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
        yield plan
        for child in plan.get("Plans", []):
            yield from nodes(child)

    return {node["Index Name"] for node in nodes(document[0]["Plan"]) if "Index Name" in node}


@pytest.mark.parametrize("knowledge_base_ids", [None, [SMALL_KB_ID]], ids=["org", "small-kb"])
def test_vector_search_walks_the_hnsw_index(seeded: Seeded, knowledge_base_ids: list[UUID] | None) -> None:
    query = queries.kb_search.search_chunks_by_vector
    values = {
        "org_id": ORG_ID,
        "embedding": seeded.queries[0].to_text(),
        "knowledge_base_ids": knowledge_base_ids,
        "k": 10,
    }
    assert INDEX in plan_indexes(seeded.conn, query.sql, values)
    # Why the repository never lets the statement be prepared: the generic plan, not knowing k,
    # sorts the whole table rather than walk the index.
    assert INDEX not in plan_indexes(seeded.conn, query.positional_sql(), generic=True)


# Selective texts: a word in every chunk ("chunk") is rightly read by a sequential scan.
@pytest.mark.parametrize("text", ["zanzibar", 'zanzibar or "topic 12"', '"topic 7" -zanzibar'])
def test_text_search_uses_the_gin_index(seeded: Seeded, text: str) -> None:
    query = queries.kb_search.search_chunks_by_text
    values = {"org_id": ORG_ID, "query": text, "knowledge_base_ids": None, "k": 10}
    assert TEXT_INDEX in plan_indexes(seeded.conn, query.sql, values), text


async def test_text_search_finds_the_rare_word(seeded: Seeded, aconn: Any) -> None:
    hits = await search_chunks_by_text(aconn, org_id=ORG_ID, query="zanzibar", knowledge_base_ids=None, k=100)
    assert len(hits) == CHUNKS // 50
    assert all("zanzibar" in hit.content for hit in hits)
    assert {hit.source.name for hit in hits} == {"big.txt", "small.txt"}


def measure_index(
    conn: psycopg.Connection[Any],
    data: str,
    m: int,
    ef_construction: int,
    vectors: list[HalfVector],
    exact: list[set[UUID]],
) -> None:
    started = time.perf_counter()
    conn.execute(index_statement(m, ef_construction))
    build = time.perf_counter() - started
    for ef_search in (20, 40, 100, 200):
        found, elapsed = 0, 0.0
        for vector, truth in zip(vectors, exact, strict=True):
            with conn.transaction():
                conn.execute("SELECT set_config('hnsw.ef_search', %s, true)", [str(ef_search)])
                conn.execute("SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true)")
                started = time.perf_counter()
                rows = conn.execute(
                    "SELECT id FROM embeddings ORDER BY embedding <=> %s::halfvec(3072) LIMIT 10", [vector.to_text()]
                ).fetchall()
                elapsed += time.perf_counter() - started
            found += len({row[0] for row in rows} & truth)
        print(
            f"| {data} | {m} | {ef_construction} | {build:.1f} | {ef_search} "
            f"| {found / (10 * len(vectors)):.3f} | {1000 * elapsed / len(vectors):.1f} |",
            flush=True,
        )
    conn.execute(f"DROP INDEX {INDEX}")


def measure(server_url: str) -> None:
    """Build the index with a few (m, ef_construction) pairs on the seed; print build time, recall@10, query time."""
    dbname = f"hnsw_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {dbname}")
    url = re.sub(r"/[^/?]*(\?|$)", f"/{dbname}\\1", server_url, count=1)
    try:
        migrations.apply(url)
        print("| data | m | ef_construction | build s | ef_search | recall@10 | ms/query |")
        print("|---|---|---|---|---|---|---|")
        for data, spread in (("clustered", 1.0), ("uniform", 0.0)):
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("DELETE FROM orgs WHERE slug = 'recall'")  # and, by cascade, its chunks
                conn.execute("DROP TABLE IF EXISTS seed_queries")
                seed(conn, spread)
                vectors = query_vectors(conn)
                exact = [set(exact_top(conn, v, 10)) for v in vectors]
                for m, ef_construction in [(16, 64), (16, 128), (24, 128)]:
                    measure_index(conn, data, m, ef_construction, vectors, exact)
    finally:
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {dbname}")


if __name__ == "__main__":
    measure(sys.argv[1])
