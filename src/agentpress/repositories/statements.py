"""Statement statistics: what has taken the database's time, by named query."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection

from agentpress.db.queries import queries
from agentpress.models.statements import TopStatement


async def list_top_statements(conn: AsyncConnection[Any], *, limit: int) -> list[TopStatement]:
    return await queries.statements.list_top_statements.many(conn, TopStatement, limit=limit)
