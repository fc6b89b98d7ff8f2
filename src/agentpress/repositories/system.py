"""The service's own state: which migrations the database has."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection

from agentpress.db.queries import queries
from agentpress.models.system import AppliedMigration


async def list_applied_migrations(conn: AsyncConnection[Any]) -> list[AppliedMigration]:
    return await queries.system.list_applied_migrations.many(conn, AppliedMigration)
