"""Tools of an org; deleting one takes it off its agents first, each getting a new version."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from agentpress.db.queries import queries
from agentpress.models.tools import Tool, ToolKind
from agentpress.repositories import agents


async def list_tools(
    conn: AsyncConnection[Any],
    *,
    org_id: UUID,
    kind: ToolKind | None,
    is_enabled: bool | None,
    limit: int,
    offset: int,
) -> tuple[list[Tool], int]:
    """One page of the org's tools and the total, by name; a filter left None matches every tool."""
    items = await queries.tools.list_tools.many(
        conn, Tool, org_id=org_id, kind=kind, is_enabled=is_enabled, limit=limit, offset=offset
    )
    total = await queries.tools.count_tools.scalar_required(conn, int, org_id=org_id, kind=kind, is_enabled=is_enabled)
    return items, total


async def get_tool(conn: AsyncConnection[Any], *, org_id: UUID, tool_id: UUID) -> Tool | None:
    return await queries.tools.get_tool.one(conn, Tool, org_id=org_id, tool_id=tool_id)


async def get_tool_for_update(conn: AsyncConnection[Any], *, org_id: UUID, tool_id: UUID) -> Tool | None:
    """The tool, locked until the caller's transaction ends."""
    return await queries.tools.get_tool_for_update.one(conn, Tool, org_id=org_id, tool_id=tool_id)


async def create_tool(
    conn: AsyncConnection[Any],
    *,
    org_id: UUID,
    name: str,
    description: str | None,
    kind: ToolKind,
    parameters: dict[str, Any],
    config: dict[str, Any],
    is_enabled: bool,
) -> Tool:
    return await queries.tools.create_tool.one_required(
        conn,
        Tool,
        org_id=org_id,
        name=name,
        description=description,
        kind=kind,
        parameters=Jsonb(parameters),
        config=Jsonb(config),
        is_enabled=is_enabled,
    )


async def update_tool(
    conn: AsyncConnection[Any],
    *,
    org_id: UUID,
    tool_id: UUID,
    name: str,
    description: str | None,
    kind: ToolKind,
    parameters: dict[str, Any],
    config: dict[str, Any],
    is_enabled: bool,
) -> Tool | None:
    return await queries.tools.update_tool.one(
        conn,
        Tool,
        org_id=org_id,
        tool_id=tool_id,
        name=name,
        description=description,
        kind=kind,
        parameters=Jsonb(parameters),
        config=Jsonb(config),
        is_enabled=is_enabled,
    )


async def delete_tool(
    conn: AsyncConnection[Any], *, org_id: UUID, tool_id: UUID, deleted_by: UUID | None
) -> list[UUID] | None:
    """Take a tool off every agent that has it (each gets a new version) and delete it, all or nothing.

    Returns the agents changed, or None when the org has no such tool.
    """
    async with conn.transaction():
        # The lock keeps agents from being given the tool between taking it off them and deleting it:
        # the cascade would otherwise drop it from them without a version saying so.
        if await get_tool_for_update(conn, org_id=org_id, tool_id=tool_id) is None:
            return None
        changed = await agents.remove_tool_from_agents(conn, org_id=org_id, tool_id=tool_id, created_by=deleted_by)
        await queries.tools.delete_tool.execrows(conn, org_id=org_id, tool_id=tool_id)
    return changed
