"""The service's own state: which migrations the database has, whether a server is a standby and how far it trails."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection

from agentpress.db.queries import queries
from agentpress.models.system import AppliedMigration, ReplicationStatus


async def list_applied_migrations(conn: AsyncConnection[Any]) -> list[AppliedMigration]:
    return await queries.system.list_applied_migrations.many(conn, AppliedMigration)


async def get_replication_status(conn: AsyncConnection[Any]) -> ReplicationStatus:
    return await queries.system.get_replication_status.one_required(conn, ReplicationStatus)
