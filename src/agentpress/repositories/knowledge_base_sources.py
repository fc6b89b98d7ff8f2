"""Sources of knowledge bases, one set of functions per kind with the same shape, so that the API can
treat the kinds alike: list, get, get locked, create (pending; None when the org has no such knowledge
base), update (every field, merged by the caller) and delete (with the source's embeddings)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from agentpress.db.queries import queries
from agentpress.models.knowledge_bases import (
    KnowledgeBaseFile,
    KnowledgeBaseFreeformText,
    KnowledgeBaseTable,
    KnowledgeBaseWebUrl,
)

# Files.


async def list_files(
    conn: AsyncConnection[Any], *, org_id: UUID, knowledge_base_id: UUID, limit: int, offset: int
) -> tuple[list[KnowledgeBaseFile], int]:
    """One page of a knowledge base's files and the total, newest first."""
    items = await queries.knowledge_base_sources.list_kb_files.many(
        conn, KnowledgeBaseFile, org_id=org_id, knowledge_base_id=knowledge_base_id, limit=limit, offset=offset
    )
    total = await queries.knowledge_base_sources.count_kb_files.scalar_required(
        conn, int, org_id=org_id, knowledge_base_id=knowledge_base_id
    )
    return items, total


async def get_file(
    conn: AsyncConnection[Any], *, org_id: UUID, knowledge_base_id: UUID, source_id: UUID
) -> KnowledgeBaseFile | None:
    return await queries.knowledge_base_sources.get_kb_file.one(
        conn, KnowledgeBaseFile, org_id=org_id, knowledge_base_id=knowledge_base_id, file_id=source_id
    )


async def get_file_for_update(
    conn: AsyncConnection[Any], *, org_id: UUID, knowledge_base_id: UUID, source_id: UUID
) -> KnowledgeBaseFile | None:
    """The file, locked until the caller's transaction ends."""
    return await queries.knowledge_base_sources.get_kb_file_for_update.one(
        conn, KnowledgeBaseFile, org_id=org_id, knowledge_base_id=knowledge_base_id, file_id=source_id
    )


async def create_file(
    conn: AsyncConnection[Any],
    *,
    org_id: UUID,
    knowledge_base_id: UUID,
    name: str,
    mime_type: str | None,
    size_bytes: int | None,
    storage_uri: str,
    checksum_sha256: str | None,
) -> KnowledgeBaseFile | None:
    return await queries.knowledge_base_sources.create_kb_file.one(
        conn,
        KnowledgeBaseFile,
        org_id=org_id,
        knowledge_base_id=knowledge_base_id,
        name=name,
        mime_type=mime_type,
        size_bytes=size_bytes,
        storage_uri=storage_uri,
        checksum_sha256=checksum_sha256,
    )


async def update_file(
    conn: AsyncConnection[Any],
    *,
    org_id: UUID,
    knowledge_base_id: UUID,
    source_id: UUID,
    name: str,
    mime_type: str | None,
    size_bytes: int | None,
    storage_uri: str,
    checksum_sha256: str | None,
) -> KnowledgeBaseFile | None:
    return await queries.knowledge_base_sources.update_kb_file.one(
        conn,
        KnowledgeBaseFile,
        org_id=org_id,
        knowledge_base_id=knowledge_base_id,
        file_id=source_id,
        name=name,
        mime_type=mime_type,
        size_bytes=size_bytes,
        storage_uri=storage_uri,
        checksum_sha256=checksum_sha256,
    )


async def delete_file(conn: AsyncConnection[Any], *, org_id: UUID, knowledge_base_id: UUID, source_id: UUID) -> bool:
    deleted = await queries.knowledge_base_sources.delete_kb_file.execrows(
        conn, org_id=org_id, knowledge_base_id=knowledge_base_id, file_id=source_id
    )
    return deleted == 1


# Freeform texts.


async def list_freeform_texts(
    conn: AsyncConnection[Any], *, org_id: UUID, knowledge_base_id: UUID, limit: int, offset: int
) -> tuple[list[KnowledgeBaseFreeformText], int]:
    """One page of a knowledge base's freeform texts and the total, newest first."""
    items = await queries.knowledge_base_sources.list_kb_freeform_texts.many(
        conn, KnowledgeBaseFreeformText, org_id=org_id, knowledge_base_id=knowledge_base_id, limit=limit, offset=offset
    )
    total = await queries.knowledge_base_sources.count_kb_freeform_texts.scalar_required(
        conn, int, org_id=org_id, knowledge_base_id=knowledge_base_id
    )
    return items, total


async def get_freeform_text(
    conn: AsyncConnection[Any], *, org_id: UUID, knowledge_base_id: UUID, source_id: UUID
) -> KnowledgeBaseFreeformText | None:
    return await queries.knowledge_base_sources.get_kb_freeform_text.one(
        conn, KnowledgeBaseFreeformText, org_id=org_id, knowledge_base_id=knowledge_base_id, freeform_text_id=source_id
    )


async def get_freeform_text_for_update(
    conn: AsyncConnection[Any], *, org_id: UUID, knowledge_base_id: UUID, source_id: UUID
) -> KnowledgeBaseFreeformText | None:
    """The freeform text, locked until the caller's transaction ends."""
    return await queries.knowledge_base_sources.get_kb_freeform_text_for_update.one(
        conn, KnowledgeBaseFreeformText, org_id=org_id, knowledge_base_id=knowledge_base_id, freeform_text_id=source_id
    )


async def create_freeform_text(
    conn: AsyncConnection[Any], *, org_id: UUID, knowledge_base_id: UUID, title: str, content: str
) -> KnowledgeBaseFreeformText | None:
    return await queries.knowledge_base_sources.create_kb_freeform_text.one(
        conn,
        KnowledgeBaseFreeformText,
        org_id=org_id,
        knowledge_base_id=knowledge_base_id,
        title=title,
        content=content,
    )


async def update_freeform_text(
    conn: AsyncConnection[Any], *, org_id: UUID, knowledge_base_id: UUID, source_id: UUID, title: str, content: str
) -> KnowledgeBaseFreeformText | None:
    """Write the text; new content puts it back to pending."""
    return await queries.knowledge_base_sources.update_kb_freeform_text.one(
        conn,
        KnowledgeBaseFreeformText,
        org_id=org_id,
        knowledge_base_id=knowledge_base_id,
        freeform_text_id=source_id,
        title=title,
        content=content,
    )


async def delete_freeform_text(
    conn: AsyncConnection[Any], *, org_id: UUID, knowledge_base_id: UUID, source_id: UUID
) -> bool:
    deleted = await queries.knowledge_base_sources.delete_kb_freeform_text.execrows(
        conn, org_id=org_id, knowledge_base_id=knowledge_base_id, freeform_text_id=source_id
    )
    return deleted == 1


# Tables.


async def list_tables(
    conn: AsyncConnection[Any], *, org_id: UUID, knowledge_base_id: UUID, limit: int, offset: int
) -> tuple[list[KnowledgeBaseTable], int]:
    """One page of a knowledge base's tables and the total, newest first."""
    items = await queries.knowledge_base_sources.list_kb_tables.many(
        conn, KnowledgeBaseTable, org_id=org_id, knowledge_base_id=knowledge_base_id, limit=limit, offset=offset
    )
    total = await queries.knowledge_base_sources.count_kb_tables.scalar_required(
        conn, int, org_id=org_id, knowledge_base_id=knowledge_base_id
    )
    return items, total


async def get_table(
    conn: AsyncConnection[Any], *, org_id: UUID, knowledge_base_id: UUID, source_id: UUID
) -> KnowledgeBaseTable | None:
    return await queries.knowledge_base_sources.get_kb_table.one(
        conn, KnowledgeBaseTable, org_id=org_id, knowledge_base_id=knowledge_base_id, table_id=source_id
    )


async def get_table_for_update(
    conn: AsyncConnection[Any], *, org_id: UUID, knowledge_base_id: UUID, source_id: UUID
) -> KnowledgeBaseTable | None:
    """The table, locked until the caller's transaction ends."""
    return await queries.knowledge_base_sources.get_kb_table_for_update.one(
        conn, KnowledgeBaseTable, org_id=org_id, knowledge_base_id=knowledge_base_id, table_id=source_id
    )


async def create_table(
    conn: AsyncConnection[Any],
    *,
    org_id: UUID,
    knowledge_base_id: UUID,
    name: str,
    columns: list[dict[str, Any]],
    rows: list[list[Any]],
) -> KnowledgeBaseTable | None:
    return await queries.knowledge_base_sources.create_kb_table.one(
        conn,
        KnowledgeBaseTable,
        org_id=org_id,
        knowledge_base_id=knowledge_base_id,
        name=name,
        columns=Jsonb(columns),
        rows=Jsonb(rows),
    )


async def update_table(
    conn: AsyncConnection[Any],
    *,
    org_id: UUID,
    knowledge_base_id: UUID,
    source_id: UUID,
    name: str,
    columns: list[dict[str, Any]],
    rows: list[list[Any]],
) -> KnowledgeBaseTable | None:
    """Write the table; new columns or rows put it back to pending."""
    return await queries.knowledge_base_sources.update_kb_table.one(
        conn,
        KnowledgeBaseTable,
        org_id=org_id,
        knowledge_base_id=knowledge_base_id,
        table_id=source_id,
        name=name,
        columns=Jsonb(columns),
        rows=Jsonb(rows),
    )


async def delete_table(conn: AsyncConnection[Any], *, org_id: UUID, knowledge_base_id: UUID, source_id: UUID) -> bool:
    deleted = await queries.knowledge_base_sources.delete_kb_table.execrows(
        conn, org_id=org_id, knowledge_base_id=knowledge_base_id, table_id=source_id
    )
    return deleted == 1


# Web URLs; crawl_interval in seconds.


async def list_web_urls(
    conn: AsyncConnection[Any], *, org_id: UUID, knowledge_base_id: UUID, limit: int, offset: int
) -> tuple[list[KnowledgeBaseWebUrl], int]:
    """One page of a knowledge base's web URLs and the total, newest first."""
    items = await queries.knowledge_base_sources.list_kb_web_urls.many(
        conn, KnowledgeBaseWebUrl, org_id=org_id, knowledge_base_id=knowledge_base_id, limit=limit, offset=offset
    )
    total = await queries.knowledge_base_sources.count_kb_web_urls.scalar_required(
        conn, int, org_id=org_id, knowledge_base_id=knowledge_base_id
    )
    return items, total


async def get_web_url(
    conn: AsyncConnection[Any], *, org_id: UUID, knowledge_base_id: UUID, source_id: UUID
) -> KnowledgeBaseWebUrl | None:
    return await queries.knowledge_base_sources.get_kb_web_url.one(
        conn, KnowledgeBaseWebUrl, org_id=org_id, knowledge_base_id=knowledge_base_id, web_url_id=source_id
    )


async def get_web_url_for_update(
    conn: AsyncConnection[Any], *, org_id: UUID, knowledge_base_id: UUID, source_id: UUID
) -> KnowledgeBaseWebUrl | None:
    """The web URL, locked until the caller's transaction ends."""
    return await queries.knowledge_base_sources.get_kb_web_url_for_update.one(
        conn, KnowledgeBaseWebUrl, org_id=org_id, knowledge_base_id=knowledge_base_id, web_url_id=source_id
    )


async def create_web_url(
    conn: AsyncConnection[Any],
    *,
    org_id: UUID,
    knowledge_base_id: UUID,
    url: str,
    crawl_depth: int,
    crawl_interval: int | None,
    last_crawled_at: datetime | None,
    next_crawl_at: datetime | None,
) -> KnowledgeBaseWebUrl | None:
    return await queries.knowledge_base_sources.create_kb_web_url.one(
        conn,
        KnowledgeBaseWebUrl,
        org_id=org_id,
        knowledge_base_id=knowledge_base_id,
        url=url,
        crawl_depth=crawl_depth,
        crawl_interval=crawl_interval,
        last_crawled_at=last_crawled_at,
        next_crawl_at=next_crawl_at,
    )


async def update_web_url(
    conn: AsyncConnection[Any],
    *,
    org_id: UUID,
    knowledge_base_id: UUID,
    source_id: UUID,
    url: str,
    crawl_depth: int,
    crawl_interval: int | None,
    last_crawled_at: datetime | None,
    next_crawl_at: datetime | None,
) -> KnowledgeBaseWebUrl | None:
    return await queries.knowledge_base_sources.update_kb_web_url.one(
        conn,
        KnowledgeBaseWebUrl,
        org_id=org_id,
        knowledge_base_id=knowledge_base_id,
        web_url_id=source_id,
        url=url,
        crawl_depth=crawl_depth,
        crawl_interval=crawl_interval,
        last_crawled_at=last_crawled_at,
        next_crawl_at=next_crawl_at,
    )


async def delete_web_url(conn: AsyncConnection[Any], *, org_id: UUID, knowledge_base_id: UUID, source_id: UUID) -> bool:
    deleted = await queries.knowledge_base_sources.delete_kb_web_url.execrows(
        conn, org_id=org_id, knowledge_base_id=knowledge_base_id, web_url_id=source_id
    )
    return deleted == 1
