"""PostgreSQL's catalog, as the SQL checks need it."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection

from agentpress.models.catalog import NotNullColumn
from agentpress.queries import queries


async def list_not_null_columns(conn: AsyncConnection[Any], *, table_oids: list[int]) -> list[NotNullColumn]:
    return await queries.catalog.list_not_null_columns.many(conn, NotNullColumn, table_oids=table_oids)
