"""Channels of an org, keyed by name."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from agentpress.db.queries import queries
from agentpress.models.channels import Channel, ChannelFields


async def list_channels(conn: AsyncConnection[Any], *, org_id: UUID, limit: int, offset: int) -> list[Channel]:
    return await queries.channels.list_channels.many(conn, Channel, org_id=org_id, limit=limit, offset=offset)


async def create_channel(conn: AsyncConnection[Any], *, org_id: UUID, fields: ChannelFields) -> Channel:
    return await queries.channels.create_channel.one_required(
        conn,
        Channel,
        org_id=org_id,
        name=fields.name,
        kind=fields.kind,
        agent_id=fields.agent_id,
        settings=Jsonb(fields.settings),
        is_enabled=fields.is_enabled,
    )


async def update_channel(
    conn: AsyncConnection[Any], *, org_id: UUID, channel_id: UUID, fields: ChannelFields
) -> Channel | None:
    """Write every field; None when the org has no such channel."""
    return await queries.channels.update_channel.one(
        conn,
        Channel,
        org_id=org_id,
        channel_id=channel_id,
        name=fields.name,
        kind=fields.kind,
        agent_id=fields.agent_id,
        settings=Jsonb(fields.settings),
        is_enabled=fields.is_enabled,
    )
