"""The service's own state: which migrations the database has, whether a server is a standby and how far it trails."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection

from agentpress.db.queries import queries
from agentpress.models.system import AppliedMigration, ReplicationStatus, SessionSetting


async def list_applied_migrations(conn: AsyncConnection[Any]) -> list[AppliedMigration]:
    return await queries.system.list_applied_migrations.many(conn, AppliedMigration)


async def get_replication_status(conn: AsyncConnection[Any]) -> ReplicationStatus:
    return await queries.system.get_replication_status.one_required(conn, ReplicationStatus)


async def list_session_limits(conn: AsyncConnection[Any], *, names: list[str]) -> dict[str, int]:
    """The integer settings `names` as this connection has them (a time limit in milliseconds)."""
    rows = await queries.system.list_session_limits.many(conn, SessionSetting, names=names)
    return {row.name: int(row.setting) for row in rows if row.name is not None and row.setting is not None}


async def set_local_statement_timeout(conn: AsyncConnection[Any], *, timeout_ms: int) -> None:
    """Bound the statements of the transaction in progress to `timeout_ms` (it must be in one)."""
    await queries.system.set_local_statement_timeout.exec(conn, timeout_ms=timeout_ms)
