"""Personas of an org."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from agentpress.db.queries import queries
from agentpress.models.personas import Persona


async def list_personas(
    conn: AsyncConnection[Any], *, org_id: UUID, limit: int, offset: int
) -> tuple[list[Persona], int]:
    """One page of the org's personas and the total, newest first."""
    items = await queries.personas.list_personas.many(conn, Persona, org_id=org_id, limit=limit, offset=offset)
    total = await queries.personas.count_personas.scalar_required(conn, int, org_id=org_id)
    return items, total


async def get_persona(conn: AsyncConnection[Any], *, org_id: UUID, persona_id: UUID) -> Persona | None:
    return await queries.personas.get_persona.one(conn, Persona, org_id=org_id, persona_id=persona_id)


async def get_persona_for_update(conn: AsyncConnection[Any], *, org_id: UUID, persona_id: UUID) -> Persona | None:
    """The persona, locked until the caller's transaction ends."""
    return await queries.personas.get_persona_for_update.one(conn, Persona, org_id=org_id, persona_id=persona_id)


async def create_persona(
    conn: AsyncConnection[Any],
    *,
    org_id: UUID,
    name: str,
    description: str | None,
    prompt: str | None,
    style: dict[str, Any],
    avatar_url: str | None,
) -> Persona:
    return await queries.personas.create_persona.one_required(
        conn,
        Persona,
        org_id=org_id,
        name=name,
        description=description,
        prompt=prompt,
        style=Jsonb(style),
        avatar_url=avatar_url,
    )


async def update_persona(
    conn: AsyncConnection[Any],
    *,
    org_id: UUID,
    persona_id: UUID,
    name: str,
    description: str | None,
    prompt: str | None,
    style: dict[str, Any],
    avatar_url: str | None,
) -> Persona | None:
    return await queries.personas.update_persona.one(
        conn,
        Persona,
        org_id=org_id,
        persona_id=persona_id,
        name=name,
        description=description,
        prompt=prompt,
        style=Jsonb(style),
        avatar_url=avatar_url,
    )


async def delete_persona(conn: AsyncConnection[Any], *, org_id: UUID, persona_id: UUID) -> bool:
    """Delete a persona; False when there is none. Raises ForeignKeyViolation while agents use it."""
    return await queries.personas.delete_persona.execrows(conn, org_id=org_id, persona_id=persona_id) == 1
