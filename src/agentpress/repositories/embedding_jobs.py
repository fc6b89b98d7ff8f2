"""The embedding worker's queue of freeform texts and tables: claim, check still current, fail, retry."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from agentpress.db.queries import queries
from agentpress.models.embedding_jobs import ClaimedFreeformText, ClaimedSource, ClaimedTable
from agentpress.models.knowledge_bases import KnowledgeBaseFreeformText, KnowledgeBaseTable


async def claim_freeform_text(conn: AsyncConnection[Any], *, lease_seconds: float) -> ClaimedFreeformText | None:
    """Lease the oldest pending freeform text (or one whose lease ran out) by setting it processing."""
    return await queries.embedding_jobs.claim_freeform_text.one(conn, ClaimedFreeformText, lease_seconds=lease_seconds)


async def claim_table(conn: AsyncConnection[Any], *, lease_seconds: float) -> ClaimedTable | None:
    """Lease the oldest pending table (or one whose lease ran out) by setting it processing."""
    return await queries.embedding_jobs.claim_table.one(conn, ClaimedTable, lease_seconds=lease_seconds)


async def lock_claimed_freeform_text(
    conn: AsyncConnection[Any], *, source_id: UUID, content: str
) -> ClaimedSource | None:
    """The text, locked, if it is still processing this content; None when it changed or went away."""
    return await queries.embedding_jobs.lock_claimed_freeform_text.one(
        conn, ClaimedSource, source_id=source_id, content=content
    )


async def lock_claimed_table(
    conn: AsyncConnection[Any], *, source_id: UUID, columns: list[dict[str, Any]], rows: list[list[Any]]
) -> ClaimedSource | None:
    """The table, locked, if it is still processing these columns and rows; None when it changed or went away."""
    return await queries.embedding_jobs.lock_claimed_table.one(
        conn, ClaimedSource, source_id=source_id, columns=Jsonb(columns), rows=Jsonb(rows)
    )


async def fail_freeform_text(conn: AsyncConnection[Any], *, source_id: UUID, error: str) -> bool:
    """Mark a claimed text failed; False when it was changed or deleted meanwhile."""
    return await queries.embedding_jobs.fail_freeform_text.execrows(conn, source_id=source_id, error=error) > 0


async def fail_table(conn: AsyncConnection[Any], *, source_id: UUID, error: str) -> bool:
    """Mark a claimed table failed; False when it was changed or deleted meanwhile."""
    return await queries.embedding_jobs.fail_table.execrows(conn, source_id=source_id, error=error) > 0


async def retry_freeform_text(
    conn: AsyncConnection[Any], *, org_id: UUID, knowledge_base_id: UUID, source_id: UUID
) -> KnowledgeBaseFreeformText | None:
    """Put a failed text back to pending; None when there is no such text or it has not failed."""
    return await queries.embedding_jobs.retry_freeform_text.one(
        conn, KnowledgeBaseFreeformText, org_id=org_id, knowledge_base_id=knowledge_base_id, source_id=source_id
    )


async def retry_table(
    conn: AsyncConnection[Any], *, org_id: UUID, knowledge_base_id: UUID, source_id: UUID
) -> KnowledgeBaseTable | None:
    """Put a failed table back to pending; None when there is no such table or it has not failed."""
    return await queries.embedding_jobs.retry_table.one(
        conn, KnowledgeBaseTable, org_id=org_id, knowledge_base_id=knowledge_base_id, source_id=source_id
    )
