"""Knowledge bases of an org."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from psycopg import AsyncConnection

from agentpress.db.queries import queries
from agentpress.models.knowledge_bases import KnowledgeBase


async def list_knowledge_bases(
    conn: AsyncConnection[Any], *, org_id: UUID, limit: int, offset: int
) -> tuple[list[KnowledgeBase], int]:
    """One page of the org's knowledge bases and the total, newest first."""
    items = await queries.knowledge_bases.list_knowledge_bases.many(
        conn, KnowledgeBase, org_id=org_id, limit=limit, offset=offset
    )
    total = await queries.knowledge_bases.count_knowledge_bases.scalar_required(conn, int, org_id=org_id)
    return items, total


async def get_knowledge_base(
    conn: AsyncConnection[Any], *, org_id: UUID, knowledge_base_id: UUID
) -> KnowledgeBase | None:
    return await queries.knowledge_bases.get_knowledge_base.one(
        conn, KnowledgeBase, org_id=org_id, knowledge_base_id=knowledge_base_id
    )


async def get_knowledge_base_for_update(
    conn: AsyncConnection[Any], *, org_id: UUID, knowledge_base_id: UUID
) -> KnowledgeBase | None:
    """The knowledge base, locked until the caller's transaction ends."""
    return await queries.knowledge_bases.get_knowledge_base_for_update.one(
        conn, KnowledgeBase, org_id=org_id, knowledge_base_id=knowledge_base_id
    )


async def create_knowledge_base(
    conn: AsyncConnection[Any],
    *,
    org_id: UUID,
    name: str,
    description: str | None,
    embedding_model: str | None,
    is_enabled: bool,
) -> KnowledgeBase:
    return await queries.knowledge_bases.create_knowledge_base.one_required(
        conn,
        KnowledgeBase,
        org_id=org_id,
        name=name,
        description=description,
        embedding_model=embedding_model,
        is_enabled=is_enabled,
    )


async def update_knowledge_base(
    conn: AsyncConnection[Any],
    *,
    org_id: UUID,
    knowledge_base_id: UUID,
    name: str,
    description: str | None,
    embedding_model: str | None,
    is_enabled: bool,
) -> KnowledgeBase | None:
    return await queries.knowledge_bases.update_knowledge_base.one(
        conn,
        KnowledgeBase,
        org_id=org_id,
        knowledge_base_id=knowledge_base_id,
        name=name,
        description=description,
        embedding_model=embedding_model,
        is_enabled=is_enabled,
    )


async def delete_knowledge_base(conn: AsyncConnection[Any], *, org_id: UUID, knowledge_base_id: UUID) -> bool:
    """Delete a knowledge base with its sources and their embeddings; call after taking it off the agents
    (services.agent_configs.delete_knowledge_base). False when the org has no such knowledge base."""
    deleted = await queries.knowledge_bases.delete_knowledge_base.execrows(
        conn, org_id=org_id, knowledge_base_id=knowledge_base_id
    )
    return deleted > 0
