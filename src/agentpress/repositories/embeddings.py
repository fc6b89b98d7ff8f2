"""Chunks of knowledge-base sources: replace a source's whole set of embeddings atomically, through binary COPY."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple
from uuid import UUID

from pgvector import HalfVector
from psycopg import AsyncConnection

from agentpress.db.queries import queries
from agentpress.models.embeddings import ChunkRow, IngestedSource, SourceKind


class EmbeddingRow(NamedTuple):
    """A row of copy_embeddings, its fields the statement's columns in order (the SQL checks hold them to it)."""

    org_id: UUID
    knowledge_base_id: UUID
    file_id: UUID | None
    freeform_text_id: UUID | None
    table_id: UUID | None
    web_url_id: UUID | None
    chunk_index: int
    content: str
    embedding: HalfVector
    metadata: dict[str, Any]


# The column types of copy_embeddings, in its order. Binary COPY applies no casts, so each value is
# dumped as exactly this type; "halfvec" resolves through the types pgvector registered on the connection.
COPY_TYPES = ("uuid", "uuid", "uuid", "uuid", "uuid", "uuid", "int4", "text", "halfvec", "jsonb")
SOURCE_KINDS: tuple[SourceKind, ...] = ("file", "freeform_text", "table", "web_url")


async def mark_source_ready(
    conn: AsyncConnection[Any], *, kind: SourceKind, org_id: UUID | None, knowledge_base_id: UUID, source_id: UUID
) -> IngestedSource | None:
    """Set the source ready and lock it until the caller's transaction ends; None when it is not in that
    knowledge base (or, with org_id, not in that org). org_id None: no org check (operator tools)."""
    params: dict[str, Any] = {"org_id": org_id, "knowledge_base_id": knowledge_base_id, "source_id": source_id}
    if kind == "file":
        return await queries.embeddings.update_file_source_ready.one(conn, IngestedSource, **params)
    if kind == "freeform_text":
        return await queries.embeddings.update_freeform_text_source_ready.one(conn, IngestedSource, **params)
    if kind == "table":
        return await queries.embeddings.update_table_source_ready.one(conn, IngestedSource, **params)
    return await queries.embeddings.update_web_url_source_ready.one(conn, IngestedSource, **params)


async def delete_source_embeddings(conn: AsyncConnection[Any], *, kind: SourceKind, source_id: UUID) -> int:
    """Delete every chunk of the source; the number deleted."""
    if kind == "file":
        return await queries.embeddings.delete_file_embeddings.execrows(conn, source_id=source_id)
    if kind == "freeform_text":
        return await queries.embeddings.delete_freeform_text_embeddings.execrows(conn, source_id=source_id)
    if kind == "table":
        return await queries.embeddings.delete_table_embeddings.execrows(conn, source_id=source_id)
    return await queries.embeddings.delete_web_url_embeddings.execrows(conn, source_id=source_id)


async def copy_embeddings(
    conn: AsyncConnection[Any], *, source: IngestedSource, kind: SourceKind, chunks: Sequence[ChunkRow]
) -> None:
    """Stream the chunks of one source into embeddings with binary COPY (copy_embeddings' text)."""
    # One of the four source columns carries the id, the other three are NULL (embeddings_source_check).
    file_id, freeform_text_id, table_id, web_url_id = (source.id if k == kind else None for k in SOURCE_KINDS)
    async with conn.cursor() as cur, queries.embeddings.copy_embeddings.copy(cur, EmbeddingRow) as copy:
        copy.set_types(COPY_TYPES)
        for chunk in chunks:
            await copy.write_row(
                EmbeddingRow(
                    org_id=source.org_id,
                    knowledge_base_id=source.knowledge_base_id,
                    file_id=file_id,
                    freeform_text_id=freeform_text_id,
                    table_id=table_id,
                    web_url_id=web_url_id,
                    chunk_index=chunk.chunk_index,
                    content=chunk.content,
                    embedding=chunk.embedding,
                    metadata=chunk.metadata,
                )
            )


async def replace_chunks(
    conn: AsyncConnection[Any],
    *,
    kind: SourceKind,
    org_id: UUID | None,
    knowledge_base_id: UUID,
    source_id: UUID,
    chunks: Sequence[ChunkRow],
) -> IngestedSource | None:
    """Replace a source's chunks and mark it ready, in one transaction; None (nothing written) when the
    source is not found. Concurrent readers see the old set or the new one: the delete and the copy
    commit together, and the source's row lock makes concurrent replacements of one source queue."""
    async with conn.transaction():
        source = await mark_source_ready(
            conn, kind=kind, org_id=org_id, knowledge_base_id=knowledge_base_id, source_id=source_id
        )
        if source is None:
            return None
        await delete_source_embeddings(conn, kind=kind, source_id=source_id)
        await copy_embeddings(conn, source=source, kind=kind, chunks=chunks)
    return source
