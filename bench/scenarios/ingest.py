"""Scenario 7: ingest rates: chunks with embeddings through binary COPY (HNSW index built after, or in place),
the `agentpress kb ingest` JSONL path, and messages through the append path."""

from __future__ import annotations

import io
import json
import statistics
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
from pgvector import HalfVector
from pgvector.psycopg import register_vector, register_vector_async

from agentpress.models.embeddings import ChunkRow
from agentpress.models.messages import NewMessage
from agentpress.repositories.embeddings import replace_chunks
from agentpress.repositories.messages import append_messages
from agentpress.services.ingest import ingest_lines
from bench.common import Server, Table, run_async
from bench.scenarios.vector import INDEX, build_index, clustered_embeddings

ORG_ID = UUID("00000000-0000-4000-8000-0000000000d0")
KB_ID = UUID("00000000-0000-4000-8000-0000000000d1")
USER_ID = UUID("00000000-0000-4000-8000-0000000000d2")
# A source (a document) of this many chunks per replace_chunks call: one transaction each.
CHUNKS_PER_SOURCE = 100
THREADS = 200
MESSAGE_BATCH = 10
TARGET_PER_S = 3000


@dataclass(frozen=True)
class Plan:
    chunks: int  # without the index
    indexed_chunks: int  # with the index in place, the first of them: each costs about as much as 50 without
    jsonl_chunks: int
    single_appends: int
    batch_appends: int


def seed(conn: psycopg.Connection[Any], sources: int, threads: int) -> None:
    """The org, a knowledge base with `sources` file sources (ids md5('source:n')), a user with `threads` threads."""
    conn.execute("INSERT INTO orgs (id, name, slug) VALUES (%s, 'Ingest bench', 'ingest-bench')", [ORG_ID])
    conn.execute("INSERT INTO knowledge_bases (id, org_id, name) VALUES (%s, %s, 'Ingest')", [KB_ID, ORG_ID])
    conn.execute(
        "INSERT INTO knowledge_base_files (id, org_id, knowledge_base_id, name, storage_uri) "
        "SELECT md5('source:' || n)::uuid, %s, %s, 'doc' || n || '.txt', 's3://bench/doc' || n || '.txt' "
        "FROM generate_series(0, %s - 1) AS n",
        [ORG_ID, KB_ID, sources],
    )
    conn.execute(
        "INSERT INTO users (id, email, username, role) VALUES (%s, 'ingest@bench.example.com', 'ingest', 'user')",
        [USER_ID],
    )
    conn.execute("INSERT INTO org_members (org_id, user_id, role) VALUES (%s, %s, 'member')", [ORG_ID, USER_ID])
    conn.execute(
        "INSERT INTO threads (id, org_id, user_id, name) "
        "SELECT md5('thread:' || n)::uuid, %s, %s, 'Thread ' || n FROM generate_series(0, %s - 1) AS n",
        [ORG_ID, USER_ID, threads],
    )


def source_id(conn: psycopg.Connection[Any], n: int) -> UUID:
    (value,) = conn.execute("SELECT md5('source:' || %s::text)::uuid", [n]).fetchone()  # type: ignore[misc]
    result: UUID = value
    return result


def chunk_rows(embeddings: Sequence[HalfVector], source: int) -> list[ChunkRow]:
    return [
        ChunkRow(
            chunk_index=i,
            content=f"Chunk {i} of document {source}: about invoices, refunds and the shipping of packages.",
            embedding=embeddings[(source * CHUNKS_PER_SOURCE + i) % len(embeddings)],
            metadata={"page": i // 4},
        )
        for i in range(CHUNKS_PER_SOURCE)
    ]


async def ingest_alternating(
    urls: dict[str, str], sources: dict[str, list[UUID]], batches: list[list[ChunkRow]]
) -> dict[str, list[float]]:
    """One source's chunks into each database in turn (while it has sources left), through replace_chunks;
    seconds per source and database."""
    times: dict[str, list[float]] = {name: [] for name in urls}
    conns = {name: await psycopg.AsyncConnection.connect(url, autocommit=True) for name, url in urls.items()}
    try:
        for conn in conns.values():
            await register_vector_async(conn)
        for n, rows in enumerate(batches):
            for name, conn in conns.items():
                if n >= len(sources[name]):
                    continue
                started = time.perf_counter()
                source = await replace_chunks(
                    conn, kind="file", org_id=ORG_ID, knowledge_base_id=KB_ID, source_id=sources[name][n], chunks=rows
                )
                times[name].append(time.perf_counter() - started)
                assert source is not None
    finally:
        for conn in conns.values():
            await conn.close()
    return times


def write_jsonl(path: Path, embeddings: list[HalfVector], sources: list[UUID]) -> int:
    """A JSONL file as `agentpress kb ingest` reads it; its size in bytes."""
    with path.open("w") as out:
        for n, source in enumerate(sources):
            for i in range(CHUNKS_PER_SOURCE):
                line = {
                    "knowledge_base_id": str(KB_ID),
                    "source_kind": "file",
                    "source_id": str(source),
                    "chunk_index": i,
                    "content": f"Chunk {i} of document {n}.",
                    "embedding": [round(x, 4) for x in embeddings[n * CHUNKS_PER_SOURCE + i].to_list()],
                }
                out.write(json.dumps(line) + "\n")
    return path.stat().st_size


async def appends(url: str, plan: Plan, thread_ids: list[UUID]) -> dict[str, list[float]]:
    """append_messages with one message, with a batch, and with one message on a connection that does not
    wait for the commit's WAL flush (a diagnostic: what the flush costs), in turn; seconds per call."""
    parts = [{"type": "text", "text": "Where is my refund for order 1234? It has been a week."}]
    one = NewMessage(
        role="user", parts=parts, text_content=parts[0]["text"], model=None, input_tokens=None, output_tokens=None
    )
    contenders = (
        ("single", 1, plan.single_appends, ""),
        ("batch", MESSAGE_BATCH, plan.batch_appends, ""),
        ("no flush wait", 1, plan.single_appends, "-c synchronous_commit=off"),
    )
    times: dict[str, list[float]] = {name: [] for name, *_ in contenders}
    conns = [await psycopg.AsyncConnection.connect(url, autocommit=True, options=options) for *_, options in contenders]
    try:
        for n in range(max(plan.single_appends, plan.batch_appends)):
            for conn, (name, count, limit, _) in zip(conns, contenders, strict=True):
                if n >= limit:
                    continue
                started = time.perf_counter()
                created = await append_messages(
                    conn,
                    org_id=ORG_ID,
                    user_id=USER_ID,
                    thread_id=thread_ids[n % len(thread_ids)],
                    messages=[one] * count,
                )
                times[name].append(time.perf_counter() - started)
                assert created is not None and len(created) == count
    finally:
        for conn in conns:
            await conn.close()
    return times


def run(server: Server, quick: bool) -> list[Table]:
    plan = (
        Plan(chunks=1_500, indexed_chunks=300, jsonl_chunks=500, single_appends=500, batch_appends=100)
        if quick
        else Plan(chunks=6_000, indexed_chunks=1_000, jsonl_chunks=2_000, single_appends=2_000, batch_appends=400)
    )
    sources_per_contender = plan.chunks // CHUNKS_PER_SOURCE
    jsonl_sources = plan.jsonl_chunks // CHUNKS_PER_SOURCE
    total_sources = sources_per_contender + jsonl_sources
    urls = {"index built after": server.database("ingest_noindex"), "index in place": server.database("ingest_index")}
    sources: dict[str, list[UUID]] = {}
    for name, url in urls.items():
        with psycopg.connect(url, autocommit=True) as conn:
            seed(conn, total_sources, THREADS)
            ids = [source_id(conn, n) for n in range(total_sources)]
            # Both in the no-index database, which gets the JSONL sources after the others.
            sources[name] = ids[
                : plan.indexed_chunks // CHUNKS_PER_SOURCE if name == "index in place" else sources_per_contender
            ]
            sources["jsonl"] = ids[sources_per_contender:]
            if name == "index built after":
                conn.execute(f"DROP INDEX {INDEX}")
            conn.execute("VACUUM (ANALYZE)")
    # Distinct and clustered, as real embeddings are: an HNSW graph of a few repeated vectors builds many
    # times faster, and one of uniformly random vectors (the worst case) many times slower.
    with psycopg.connect(urls["index built after"], autocommit=True) as conn:
        register_vector(conn)
        embeddings = clustered_embeddings(conn, (sources_per_contender + jsonl_sources) * CHUNKS_PER_SOURCE, 0.7)
    batches = [chunk_rows(embeddings, n) for n in range(sources_per_contender)]
    times = run_async(ingest_alternating(urls, sources, batches))

    no_index_url = urls["index built after"]
    with psycopg.connect(no_index_url, autocommit=True) as conn:
        build_s = build_index(conn)
        # Dropped again: the JSONL ingest below runs without it too.
        conn.execute(f"DROP INDEX {INDEX}")
        thread_ids = [row[0] for row in conn.execute("SELECT id FROM threads ORDER BY id").fetchall()]

    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        path = Path(tmp) / "chunks.jsonl"
        size = write_jsonl(path, embeddings[plan.chunks :], sources["jsonl"])
        with path.open("rb") as lines:
            summary = run_async(ingest_lines(no_index_url, lines, total_bytes=size, progress_stream=io.StringIO()))
    append_times = run_async(appends(no_index_url, plan, thread_ids))

    rows: list[list[Any]] = []
    no_index = plan.chunks / sum(times["index built after"])
    with_index = plan.indexed_chunks / sum(times["index in place"])
    rows.append(
        [
            "embeddings, replace_chunks (binary COPY), HNSW index built after",
            plan.chunks,
            round(sum(times["index built after"]), 2),
            round(no_index),
            "1.00",
            f"{no_index / TARGET_PER_S:.2f}",
        ]
    )
    rows.append(
        [
            "embeddings, replace_chunks, HNSW index in place",
            plan.indexed_chunks,
            round(sum(times["index in place"]), 2),
            round(with_index),
            f"{with_index / no_index:.2f}",
            "",
        ]
    )
    both_s = sum(times["index built after"]) + build_s
    after = plan.chunks / both_s
    rows.append(
        [
            f"embeddings, ingest without the index, then CREATE INDEX ({build_s:.1f} s)",
            plan.chunks,
            round(both_s, 2),
            round(after),
            f"{after / no_index:.2f}",
            "",
        ]
    )
    jsonl_rate = summary.chunks / summary.seconds
    rows.append(
        [
            "embeddings, agentpress kb ingest (JSONL: parse, check, COPY), no index",
            summary.chunks,
            round(summary.seconds, 2),
            round(jsonl_rate),
            f"{jsonl_rate / no_index:.2f}",
            "",
        ]
    )
    single = len(append_times["single"]) / sum(append_times["single"])
    batch = MESSAGE_BATCH * len(append_times["batch"]) / sum(append_times["batch"])
    rows.append(
        [
            "messages, append_messages one at a time",
            len(append_times["single"]),
            round(sum(append_times["single"]), 2),
            round(single),
            "1.00",
            "",
        ]
    )
    rows.append(
        [
            f"messages, append_messages in batches of {MESSAGE_BATCH}",
            MESSAGE_BATCH * len(append_times["batch"]),
            round(sum(append_times["batch"]), 2),
            round(batch),
            f"{batch / single:.2f}",
            "",
        ]
    )
    unflushed = len(append_times["no flush wait"]) / sum(append_times["no flush wait"])
    rows.append(
        [
            "messages, one at a time, synchronous_commit off (diagnostic: the commit's WAL flush)",
            len(append_times["no flush wait"]),
            round(sum(append_times["no flush wait"]), 2),
            round(unflushed),
            f"{unflushed / single:.2f}",
            "",
        ]
    )
    notes = [
        f"Sources of {CHUNKS_PER_SOURCE} chunks, one replace_chunks transaction each, one connection; the two "
        f"databases take a source each in turn, the one with the index for its first {plan.indexed_chunks} "
        "chunks only (its graph grows from empty; an insert costs a little more in a bigger one). With the "
        "index in place each chunk is an HNSW insert (a search at ef_construction 128 and its neighbours' "
        "lists rewritten), computed in the backend: CPU, not WAL or the round trip.",
        f"Per-source seconds, median: {statistics.median(times['index built after']) * 1000:.1f} ms without the "
        f"HNSW index, {statistics.median(times['index in place']) * 1000:.1f} ms with it.",
        "CREATE INDEX as in the vector scenario (migration 0007's index, built with its settings).",
        f"Messages: {THREADS} threads taken in turn; each call is one transaction (lock the thread, insert, "
        "update its counters) on a connection of its own, single, batched and unflushed calls alternating.",
    ]
    return [
        Table(
            scenario="ingest",
            title="Ingest: embeddings (halfvec(3072)) and messages per second, one connection",
            columns=["path", "rows", "seconds", "rows/s", "ratio", f"vs target {TARGET_PER_S}/s"],
            rows=rows,
            notes=notes,
        )
    ]
