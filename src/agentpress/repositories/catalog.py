"""PostgreSQL's catalog, as the SQL checks need it."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection

from agentpress.db.queries import queries
from agentpress.models.catalog import NotNullColumn, PreparedTypes


async def list_not_null_columns(conn: AsyncConnection[Any], *, table_oids: list[int]) -> list[NotNullColumn]:
    return await queries.catalog.list_not_null_columns.many(conn, NotNullColumn, table_oids=table_oids)


async def get_prepared_types(conn: AsyncConnection[Any], *, name: str) -> PreparedTypes | None:
    """The parameter and result types of a statement this session prepared under `name`."""
    return await queries.catalog.get_prepared_types.one(conn, PreparedTypes, name=name)
