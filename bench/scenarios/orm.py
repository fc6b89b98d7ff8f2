"""Scenario 2, against an ORM: the four operations of scenario 1 through SQLAlchemy 2's async ORM and the repository."""

from __future__ import annotations

import statistics
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from uuid import UUID

import psycopg
from pgvector.sqlalchemy import HALFVEC
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import DateTime, any_, func, select, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, aliased, mapped_column

from agentpress.db.migrations import yoyo_url
from agentpress.repositories import kb_search, messages, threads
from bench import data
from bench.common import Server, Table, alternate, median_ms, paired_ratio, percentile_ms, run_async, service_pool
from bench.scenarios.layer import BLOCK, PAGE, new_message, query_vectors

READ_TARGET = 2.0
WRITE_TARGET = 1.5
WARMUP = 10
# The role the ORM connects as, so that pg_stat_statements keeps its statements apart.
ORM_ROLE = "bench_orm"


# Mapped classes over the service's tables, for this benchmark only: the columns the four
# operations read or write. metadata is a reserved name on declarative classes, hence `meta`.
class Base(DeclarativeBase):
    pass


class ThreadRow(Base):
    __tablename__ = "threads"

    id: Mapped[UUID] = mapped_column(primary_key=True, server_default=func.gen_random_uuid())
    org_id: Mapped[UUID]
    user_id: Mapped[UUID]
    agent_id: Mapped[UUID | None]
    name: Mapped[str]
    message_count: Mapped[int]
    last_message_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    is_archived: Mapped[bool]
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class MessageRow(Base):
    __tablename__ = "messages"

    id: Mapped[UUID] = mapped_column(primary_key=True, server_default=func.gen_random_uuid())
    org_id: Mapped[UUID]
    thread_id: Mapped[UUID]
    role: Mapped[str]
    parts: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    text_content: Mapped[str]
    model: Mapped[str | None]
    input_tokens: Mapped[int | None]
    output_tokens: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.clock_timestamp())


class EmbeddingRow(Base):
    __tablename__ = "embeddings"

    id: Mapped[UUID] = mapped_column(primary_key=True)
    org_id: Mapped[UUID]
    knowledge_base_id: Mapped[UUID]
    file_id: Mapped[UUID | None]
    freeform_text_id: Mapped[UUID | None]
    table_id: Mapped[UUID | None]
    web_url_id: Mapped[UUID | None]
    chunk_index: Mapped[int]
    content: Mapped[str]
    # Deferred, as anyone would: a hit does not carry its 3072 numbers back.
    embedding: Mapped[Any] = mapped_column(HALFVEC(3072), deferred=True)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSONB)


class KnowledgeBaseRow(Base):
    __tablename__ = "knowledge_bases"

    id: Mapped[UUID] = mapped_column(primary_key=True)
    org_id: Mapped[UUID]
    is_enabled: Mapped[bool]


class FileRow(Base):
    __tablename__ = "knowledge_base_files"

    id: Mapped[UUID] = mapped_column(primary_key=True)
    name: Mapped[str]


class FreeformTextRow(Base):
    __tablename__ = "knowledge_base_freeform_texts"

    id: Mapped[UUID] = mapped_column(primary_key=True)
    title: Mapped[str]


class TableRow(Base):
    __tablename__ = "knowledge_base_tables"

    id: Mapped[UUID] = mapped_column(primary_key=True)
    name: Mapped[str]


class WebUrlRow(Base):
    __tablename__ = "knowledge_base_web_urls"

    id: Mapped[UUID] = mapped_column(primary_key=True)
    url: Mapped[str]


@dataclass(frozen=True)
class Operation:
    name: str
    is_write: bool
    repository: Callable[[int], Awaitable[object]]
    orm: Callable[[int], Awaitable[object]]
    calls: int
    round_trips: str


def operations(
    pool: AsyncConnectionPool[AsyncConnection[Any]],
    sessions: async_sessionmaker[AsyncSession],
    size: data.Size,
    vectors: list[Any],
    quick: bool,
) -> list[Operation]:
    """Each operation as one request does it: the repository on a connection from the service's pool,
    the ORM in a session of its own (its engine's pool), as each is meant to be used."""
    keys = data.random_thread_keys(size, 5000, seed=7)
    appended = [new_message(i) for i in range(len(keys))]
    vector_org = data.org_id(0)
    scale = 1 if quick else 3

    def key(i: int) -> data.ThreadKey:
        return keys[i % len(keys)]

    async def repo_get(i: int) -> object:
        k = key(i)
        async with pool.connection() as conn:
            return await threads.get_thread(conn, org_id=k.org_id, user_id=k.user_id, thread_id=k.thread_id)

    async def orm_get(i: int) -> object:
        k = key(i)
        async with sessions() as session:
            return await session.scalar(
                select(ThreadRow).where(
                    ThreadRow.id == k.thread_id, ThreadRow.org_id == k.org_id, ThreadRow.user_id == k.user_id
                )
            )

    async def repo_list(i: int) -> object:
        k = key(i)
        async with pool.connection() as conn:
            return await threads.list_threads(
                conn, org_id=k.org_id, user_id=k.user_id, agent_id=None, pattern=None, limit=PAGE, offset=0
            )

    async def orm_list(i: int) -> object:
        k = key(i)
        async with sessions() as session:
            found = await session.scalars(
                select(ThreadRow)
                .where(ThreadRow.org_id == k.org_id, ThreadRow.user_id == k.user_id)
                .order_by(ThreadRow.created_at.desc(), ThreadRow.id.desc())
                .limit(PAGE)
                .offset(0)
            )
            return found.all()

    async def repo_append(i: int) -> object:
        k = key(i)
        async with pool.connection() as conn:
            return await messages.append_messages(
                conn, org_id=k.org_id, user_id=k.user_id, thread_id=k.thread_id, messages=[appended[i % len(appended)]]
            )

    async def orm_append(i: int) -> object:
        # The unit of work as the ORM is written: lock and load the thread, count the message, add
        # it, flush (INSERT ... RETURNING its server defaults), stamp the thread, commit.
        k = key(i)
        new = appended[i % len(appended)]
        async with sessions() as session, session.begin():
            thread = await session.scalar(
                select(ThreadRow)
                .where(ThreadRow.id == k.thread_id, ThreadRow.org_id == k.org_id, ThreadRow.user_id == k.user_id)
                .with_for_update()
            )
            if thread is None:
                return None
            thread.message_count += 1
            thread.updated_at = func.now()
            message = MessageRow(
                org_id=k.org_id,
                thread_id=k.thread_id,
                role=new.role,
                parts=new.parts,
                text_content=new.text_content,
                model=new.model,
                input_tokens=new.input_tokens,
                output_tokens=new.output_tokens,
            )
            session.add(message)
            await session.flush()
            thread.last_message_at = message.created_at
        return [message]

    async def repo_vector(i: int) -> object:
        async with pool.connection() as conn:
            return await kb_search.search_chunks_by_vector(
                conn, org_id=vector_org, embedding=vectors[i % len(vectors)], knowledge_base_ids=None, k=10
            )

    async def orm_vector(i: int) -> object:
        # The same settings and statement shape as the service's (an index scan in distance order
        # under a LIMIT, the knowledge bases as an array, then the sources), so that both get the
        # same plan; a custom plan forced, since psycopg prepares the ORM's statement after five runs.
        embedding = vectors[i % len(vectors)]
        async with sessions() as session, session.begin():
            await session.execute(
                text(
                    "SELECT set_config('hnsw.ef_search', :ef, true), "
                    "set_config('hnsw.iterative_scan', 'relaxed_order', true), "
                    "set_config('enable_sort', 'off', true), "
                    "set_config('plan_cache_mode', 'force_custom_plan', true)"
                ),
                {"ef": str(kb_search.EF_SEARCH)},
            )
            bases = select(KnowledgeBaseRow.id).where(
                KnowledgeBaseRow.org_id == vector_org, KnowledgeBaseRow.is_enabled
            )
            distance = EmbeddingRow.embedding.cosine_distance(embedding)
            nearest = (
                select(EmbeddingRow, distance.label("distance"))
                .where(
                    EmbeddingRow.org_id == vector_org,
                    EmbeddingRow.knowledge_base_id == any_(func.array(bases.scalar_subquery())),
                )
                .order_by(distance)
                .limit(10)
                .subquery()
            )
            chunk = aliased(EmbeddingRow, nearest)
            found = await session.execute(
                select(chunk, nearest.c.distance, FileRow.name, FreeformTextRow.title, TableRow.name, WebUrlRow.url)
                .outerjoin(FileRow, FileRow.id == chunk.file_id)
                .outerjoin(FreeformTextRow, FreeformTextRow.id == chunk.freeform_text_id)
                .outerjoin(TableRow, TableRow.id == chunk.table_id)
                .outerjoin(WebUrlRow, WebUrlRow.id == chunk.web_url_id)
                .order_by(nearest.c.distance, chunk.id)
            )
            return found.all()

    return [
        Operation("get thread by id", False, repo_get, orm_get, 1000 * scale, "1 / 3"),
        Operation(f"list a page of {PAGE} threads", False, repo_list, orm_list, 1000 * scale, "1 / 3"),
        Operation("append a message", True, repo_append, orm_append, 120 * scale, "1 / 6"),
        Operation("vector top-10 search", False, repo_vector, orm_vector, 120 * scale, "4 / 4"),
    ]


async def server_times(pool: AsyncConnectionPool[AsyncConnection[Any]], *, reset: bool = False) -> dict[str, float]:
    """Seconds the server spent executing this database's statements since the last reset, by role:
    the ORM connects as ORM_ROLE, so pg_stat_statements (keyed by user) keeps the two apart."""
    async with pool.connection() as conn:
        if reset:
            await conn.execute("SELECT pg_stat_statements_reset()")
            return {}
        cur = await conn.execute(
            "SELECT CASE WHEN r.rolname = %s THEN 'orm' ELSE 'repository' END, sum(s.total_exec_time) / 1000 "
            "FROM pg_stat_statements AS s JOIN pg_roles AS r ON r.oid = s.userid "
            "WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND s.query NOT LIKE '%%pg_stat_statements%%' GROUP BY 1",
            [ORM_ROLE],
        )
        return {name: float(seconds) for name, seconds in await cur.fetchall()}


def as_role(url: str, role: str) -> str:
    """`url` with another user name (the embedded server trusts local connections)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{role}@{parts.netloc.rpartition('@')[2]}"))


async def measure(url: str, size: data.Size, quick: bool) -> Table:
    # Each stack with its own pool of two, as each would be deployed; the service's pool as the
    # service makes it (autocommit, a check on checkout), SQLAlchemy's engine with its defaults.
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {ORM_ROLE} LOGIN SUPERUSER")
    pool = service_pool(url, 2)
    engine = create_async_engine(yoyo_url(as_role(url, ORM_ROLE)), pool_size=2, max_overflow=0)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    await pool.open()
    await pool.wait()
    try:
        async with pool.connection() as conn:
            vectors = await query_vectors(conn)
        rows: list[list[Any]] = []
        limits: list[str] = []
        for op in operations(pool, sessions, size, vectors, quick):
            await server_times(pool, reset=True)
            samples = await alternate(
                {"repository": op.repository, "orm": op.orm}, rounds=op.calls // BLOCK, per_round=BLOCK, warmup=WARMUP
            )
            # Server time per call of each side (pg_stat_statements, by role): the two send different
            # statements, so the server's share of each can differ.
            server = {name: seconds / (op.calls + WARMUP) * 1e6 for name, seconds in (await server_times(pool)).items()}
            repo, orm = median_ms(samples["repository"]) * 1000, median_ms(samples["orm"]) * 1000
            ratio = paired_ratio(samples["orm"], samples["repository"], BLOCK)
            target = WRITE_TARGET if op.is_write else READ_TARGET
            if ratio < target:
                repo_mean, orm_mean = (statistics.mean(samples[name]) * 1e6 for name in ("repository", "orm"))
                repo_client, orm_client = repo_mean - server["repository"], orm_mean - server["orm"]
                limits.append(
                    f"Missed on {op.name}: the server's execution takes {server['repository']:,.0f} µs of the "
                    f"repository's {repo_mean:,.0f} µs a call and {server['orm']:,.0f} µs of the ORM's "
                    f"{orm_mean:,.0f} µs (means); outside the server the repository takes {repo_client:,.0f} µs and "
                    f"the ORM {orm_client:,.0f} µs ({orm_client / repo_client:.1f}x). Even a client layer that cost "
                    f"nothing would be {orm_mean / server['repository']:.1f}x the ORM: the server's share holds the "
                    "ratio down, and no client layer removes it."
                )
            rows.append(
                [
                    op.name,
                    round(repo),
                    round(orm),
                    round(ratio, 2),
                    f"≥ {target}x",
                    "yes" if ratio >= target else "no",
                    f"{server['repository']:,.0f} / {server['orm']:,.0f}",
                    round(percentile_ms(samples["repository"], 95) * 1000),
                    round(percentile_ms(samples["orm"], 95) * 1000),
                    op.round_trips,
                    len(samples["repository"]),
                ]
            )
    finally:
        await pool.close()
        await engine.dispose()
    return Table(
        scenario="orm",
        title="Against an ORM: the repository layer vs SQLAlchemy 2 async ORM (psycopg driver), one request each",
        columns=[
            "operation",
            "repository p50 µs",
            "SQLAlchemy ORM p50 µs",
            "ORM / repository",
            "target",
            "met",
            "server µs per call repo / ORM",
            "repository p95 µs",
            "ORM p95 µs",
            "round trips repo / ORM",
            "calls each",
        ],
        rows=rows,
        notes=[
            f"Data as in layer: {size.threads:,} threads, {size.messages:,} messages, {size.chunks:,} chunks.",
            "Each call is one request's work: the repository on a connection from the service's pool "
            "(autocommit; the checkout check is a poll of the socket, no round trip), the ORM in a new "
            f"AsyncSession (BEGIN implied, ROLLBACK or COMMIT at the end); in rounds of {BLOCK} calls each, "
            "the order rotating, same arguments.",
            "ORM side as written idiomatically: select() of mapped classes (bench/scenarios/orm.py), the append as "
            "a unit of work (SELECT ... FOR UPDATE, add, flush, COMMIT); it returns mapped objects, the "
            "repository pydantic models.",
            "The vector search differs in one more way than the layer: pgvector's SQLAlchemy type sends the query "
            "vector as text (3072 numbers formatted in Python, parsed by the server), the service's pool as "
            "pgvector's binary halfvec.",
            "ORM / repository: the median over rounds of the ratio of the two medians in that round. "
            "Targets: repository at least 2x faster on reads, 1.5x on writes. "
            "Server µs per call: the statements' execution time in pg_stat_statements over the rounds, apart "
            f"by role (the ORM connects as {ORM_ROLE}).",
            *limits,
        ],
    )


def run(server: Server, quick: bool) -> list[Table]:
    size = data.size(quick)
    url = data.conversations(server, size)
    return [run_async(measure(url, size, quick))]
