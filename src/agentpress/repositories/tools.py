"""Tools of an org; deleting one takes it off its agents first, each getting a new version."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from agentpress.db.queries import queries
from agentpress.models.tools import Tool, ToolKind


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


async def delete_tool(conn: AsyncConnection[Any], *, org_id: UUID, tool_id: UUID) -> bool:
    """Delete a tool; call after taking it off the agents (services.agent_configs.delete_tool). False when the
    org has no such tool."""
    return await queries.tools.delete_tool.execrows(conn, org_id=org_id, tool_id=tool_id) > 0
