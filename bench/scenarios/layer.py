"""Scenario 1, layer overhead: four operations through the repository functions and as the same SQL on bare psycopg."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import RowFactory, dict_row, tuple_row
from psycopg.types.json import Jsonb
from pydantic import TypeAdapter

from agentpress.db.queries import queries
from agentpress.models.messages import NewMessage
from agentpress.models.threads import Thread
from agentpress.repositories import kb_search, messages, threads
from bench import data
from bench.common import (
    Server,
    Table,
    alternate,
    median_ms,
    paired_ratio,
    percentile_ms,
    run_async,
    service_pool,
    timed,
)

TARGET = 1.10
PAGE = 20
# Calls per contender per round. Call by call, each contender would run with the caches the other
# left (a bare read after a repository call measured 5-15% slower than after another bare read);
# rounds of ten keep each warm, as a service serving many alike requests is, and still alternate
# every few milliseconds.
BLOCK = 10


@dataclass(frozen=True)
class Operation:
    """One operation as its contenders run it, each called with the index of its arguments."""

    name: str
    contenders: dict[str, Callable[[int], Awaitable[object]]]
    calls: int


def new_message(i: int) -> NewMessage:
    """What the API hands append_messages for a one-part user message."""
    text = f"benchmark message {i}: where is my refund for the invoice of last week?"
    return NewMessage(
        role="user",
        parts=[{"type": "text", "text": text}],
        text_content=text,
        model=None,
        input_tokens=None,
        output_tokens=None,
    )


async def query_vectors(conn: AsyncConnection[Any]) -> list[Any]:
    cur = await conn.execute("SELECT embedding FROM bench_query_vectors ORDER BY q")
    return [row[0] for row in await cur.fetchall()]


def operations(conn: AsyncConnection[Any], size: data.Size, vectors: list[Any], quick: bool) -> list[Operation]:
    """The four operations, each as the repository call and as bare psycopg running the same statements."""
    keys = data.random_thread_keys(size, 5000, seed=42)
    # The users of those threads, each with threads / users of them (50 at full size): page 1 of 3.
    users = [(key.org_id, key.user_id) for key in keys]
    appended = [new_message(i) for i in range(len(keys))]
    vector_org = data.org_id(0)
    scale = 1 if quick else 3

    def key(i: int) -> data.ThreadKey:
        return keys[i % len(keys)]

    async def fetch(sql: str, params: dict[str, Any], rows: RowFactory[Any], *, many: bool, **options: Any) -> object:
        """Bare psycopg: the statement with its parameters, rows as `rows` makes them."""
        async with conn.cursor(row_factory=rows) as cur:
            await cur.execute(sql, params, **options)
            return await (cur.fetchall() if many else cur.fetchone())

    def get(rows: RowFactory[Any]) -> Callable[[int], Awaitable[object]]:
        async def call(i: int) -> object:
            k = key(i)
            params = {"org_id": k.org_id, "user_id": k.user_id, "thread_id": k.thread_id}
            return await fetch(queries.threads.get_thread.sql, params, rows, many=False)

        return call

    async def repo_get(i: int) -> object:
        k = key(i)
        return await threads.get_thread(conn, org_id=k.org_id, user_id=k.user_id, thread_id=k.thread_id)

    def list_page(rows: RowFactory[Any]) -> Callable[[int], Awaitable[object]]:
        async def call(i: int) -> object:
            org_id, user_id = users[i % len(users)]
            params = {"org_id": org_id, "user_id": user_id, "agent_id": None, "limit": PAGE, "offset": 0}
            return await fetch(queries.threads.list_threads.sql, params, rows, many=True)

        return call

    async def repo_list(i: int) -> object:
        org_id, user_id = users[i % len(users)]
        return await threads.list_threads(
            conn, org_id=org_id, user_id=user_id, agent_id=None, pattern=None, limit=PAGE, offset=0
        )

    def append(rows: RowFactory[Any]) -> Callable[[int], Awaitable[object]]:
        async def call(i: int) -> object:
            k = key(i)
            message = appended[i % len(appended)].model_dump()
            params = {"org_id": k.org_id, "user_id": k.user_id, "thread_id": k.thread_id, "messages": Jsonb([message])}
            return await fetch(queries.messages.append_messages.sql, params, rows, many=True)

        return call

    async def repo_append(i: int) -> object:
        k = key(i)
        return await messages.append_messages(
            conn, org_id=k.org_id, user_id=k.user_id, thread_id=k.thread_id, messages=[appended[i % len(appended)]]
        )

    def vector(rows: RowFactory[Any]) -> Callable[[int], Awaitable[object]]:
        async def call(i: int) -> object:
            async with conn.transaction():
                settings = queries.kb_search.set_vector_search_settings.sql
                await conn.execute(settings, {"ef_search": kb_search.EF_SEARCH})
                embedding = vectors[i % len(vectors)]
                params = {"org_id": vector_org, "embedding": embedding, "knowledge_base_ids": None, "k": 10}
                # Unprepared, as the repository runs it (see repositories/kb_search.py).
                sql = queries.kb_search.search_chunks_by_vector.sql
                return await fetch(sql, params, rows, many=True, prepare=False)

        return call

    async def repo_vector(i: int) -> object:
        return await kb_search.search_chunks_by_vector(
            conn, org_id=vector_org, embedding=vectors[i % len(vectors)], knowledge_base_ids=None, k=10
        )

    def contenders(
        bare: Callable[[RowFactory[Any]], Callable[[int], Awaitable[object]]],
        repository: Callable[[int], Awaitable[object]],
    ) -> dict[str, Callable[[int], Awaitable[object]]]:
        return {"tuples": bare(tuple_row), "dicts": bare(dict_row), "repository": repository}

    return [
        Operation("get thread by id", contenders(get, repo_get), calls=2000 * scale),
        Operation(f"list a page of {PAGE} threads", contenders(list_page, repo_list), calls=2000 * scale),
        Operation("append a message", contenders(append, repo_append), calls=200 * scale),
        Operation("vector top-10 search", contenders(vector, repo_vector), calls=200 * scale),
    ]


async def measure(url: str, size: data.Size, quick: bool) -> Table:
    # The service's own pool settings (autocommit, statement timeouts, pgvector types); one
    # connection held for the whole run, shared by all the contenders.
    pool = service_pool(url, 1)
    await pool.open()
    try:
        async with pool.connection() as conn:
            vectors = await query_vectors(conn)
            rows: list[list[Any]] = []
            misses: list[str] = []
            for op in operations(conn, size, vectors, quick):
                samples = await alternate(op.contenders, rounds=op.calls // BLOCK, per_round=BLOCK)
                tuples, dicts, repo = (median_ms(samples[name]) * 1000 for name in ("tuples", "dicts", "repository"))
                ratio = paired_ratio(samples["repository"], samples["tuples"], BLOCK)
                over_dicts = paired_ratio(samples["repository"], samples["dicts"], BLOCK)
                rows.append(
                    [
                        op.name,
                        round(tuples),
                        round(dicts),
                        round(repo),
                        round(ratio, 3),
                        f"{(ratio - 1) * 100:+.1f}%",
                        round(over_dicts, 3),
                        round(percentile_ms(samples["tuples"], 95) * 1000),
                        round(percentile_ms(samples["repository"], 95) * 1000),
                        len(samples["repository"]),
                        "yes" if ratio <= TARGET else "no",
                    ]
                )
                if ratio > TARGET:
                    misses.append(
                        f"Missed on {op.name}: the repository adds {repo - tuples:.0f} µs to a {tuples:.0f} µs read, "
                        f"{dicts - tuples:.0f} µs making dicts of the rows and {repo - dicts:.0f} µs validating "
                        "them into models (with the repository function's own code); the round trip and "
                        "psycopg's loading of the values are the same for every contender."
                    )
            page = await model_cost(conn, size)
    finally:
        await pool.close()
    return Table(
        scenario="layer",
        title="Layer overhead: repository function vs the same SQL on bare psycopg, one connection",
        columns=[
            "operation",
            "bare p50 µs",
            "bare dicts p50 µs",
            "repository p50 µs",
            "repository / bare",
            "overhead",
            "repository / bare dicts",
            "bare p95 µs",
            "repository p95 µs",
            "calls each",
            f"≤ {TARGET:.2f}x",
        ],
        rows=rows,
        notes=[
            f"Data: {size.threads:,} threads of {size.users:,} users in {data.ORGS} orgs, {size.messages:,} messages, "
            f"{size.chunks:,} chunks of 3072 dimensions (halfvec, HNSW).",
            "Every contender runs the same statements (the named query's .sql) on one pooled connection of the "
            f"service's settings (autocommit, Unix socket), in rounds of {BLOCK} calls each, the order rotating, "
            "with the same arguments. "
            "bare: psycopg's default tuple rows; bare dicts: psycopg's dict_row; repository: the repository "
            "function, which returns pydantic models.",
            "Ratios are the median over rounds of the ratio of the two contenders' medians in that round. "
            "Target: the repository at most 10% over bare psycopg (ratio ≤ 1.10).",
            "What the repository adds is the model: rows as dicts (bare dicts / bare) and their validation into "
            f"pydantic models (repository / bare dicts). Measured alone on a page of {PAGE} threads: dicts "
            f"{page.dicts_us:.0f} µs, validation into Thread models {page.validate_us:.0f} µs "
            f"({page.validate_us / PAGE:.1f} µs a row), the same as a class_row page costs {page.class_row_us:.0f} µs.",
            *misses,
        ],
    )


@dataclass(frozen=True)
class PageCost:
    """Microseconds to turn one page of thread rows into dicts, to validate them, and class_row's way."""

    dicts_us: float
    validate_us: float
    class_row_us: float


async def model_cost(conn: AsyncConnection[Any], size: data.Size) -> PageCost:
    """The model's share of a list, without the database: timed on one fetched page, in memory."""
    key = data.thread_key(1, size)
    params = {"org_id": key.org_id, "user_id": key.user_id, "agent_id": None, "limit": PAGE, "offset": 0}
    cur = await conn.execute(queries.threads.list_threads.sql, params)
    tuples = await cur.fetchall()
    names = [column.name for column in cur.description or []]
    dicts = [dict(zip(names, row, strict=True)) for row in tuples]
    adapter = TypeAdapter(list[Thread])

    def median_us(call: Callable[[], object]) -> float:
        return median_ms(timed(call, 500)) * 1000

    return PageCost(
        dicts_us=median_us(lambda: [dict(zip(names, row, strict=True)) for row in tuples]),
        validate_us=median_us(lambda: adapter.validate_python(dicts)),
        class_row_us=median_us(lambda: [Thread(**dict(zip(names, row, strict=True))) for row in tuples]),
    )


def run(server: Server, quick: bool) -> list[Table]:
    size = data.size(quick)
    url = data.conversations(server, size)
    return [run_async(measure(url, size, quick))]
