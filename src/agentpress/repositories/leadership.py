"""Leader election for the once-per-deployment loops, and the server's connection limit."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection

from agentpress.db.queries import queries


async def try_lock_leadership(conn: AsyncConnection[Any], *, key: int) -> bool:
    """Take the session-level advisory lock `key` on this (direct) connection; False when another holds it."""
    return await queries.leadership.try_lock_leadership.scalar_required(conn, bool, key=key)


async def get_connection_limit(conn: AsyncConnection[Any]) -> int:
    return await queries.leadership.get_connection_limit.scalar_required(conn, int)


async def holds_leadership(conn: AsyncConnection[Any], *, key: int) -> bool:
    """Whether this connection's session holds the advisory lock `key`."""
    return await queries.leadership.holds_leadership.scalar_required(conn, bool, key=key)
