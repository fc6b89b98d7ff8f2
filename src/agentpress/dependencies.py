"""Request dependencies: a pooled connection per request, by name (`conn`, `analytics_conn`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from litestar.datastructures import State
from litestar.di import NamedDependency
from psycopg import AsyncConnection

from agentpress.lifespan import resources

Conn = NamedDependency[AsyncConnection[Any]]
"""A handler parameter `conn: Conn` gets the request's connection from the main pool."""
AnalyticsConn = NamedDependency[AsyncConnection[Any]]
"""A handler parameter `analytics_conn: AnalyticsConn` gets one from the analytics pool."""


async def provide_connection(state: State) -> AsyncIterator[AsyncConnection[Any]]:
    """A pooled autocommit connection for the request; atomic work opens `conn.transaction()`."""
    async with resources(state).pool.connection() as conn:
        yield conn


async def provide_analytics_connection(state: State) -> AsyncIterator[AsyncConnection[Any]]:
    async with resources(state).analytics_pool.connection() as conn:
        yield conn
