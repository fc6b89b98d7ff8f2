"""Request dependencies, by name: the database (`db`, `conn`, `analytics_conn`), the settings and the cache."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency
from psycopg import AsyncConnection

from agentpress.services.passwords import PasswordWork
from agentpress.settings import Settings
from agentpress.web.cache import Cache
from agentpress.web.connections import RequestDatabase, request_database
from agentpress.web.lifespan import resources

Db = NamedDependency[RequestDatabase]
"""A handler parameter `db: Db` takes a connection only around each block of SQL (`async with db.connection()`)."""
Conn = NamedDependency[AsyncConnection[Any]]
"""A handler parameter `conn: Conn` gets the request's connection from the main pool for the whole handler."""
AnalyticsConn = NamedDependency[AsyncConnection[Any]]
"""A handler parameter `analytics_conn: AnalyticsConn` gets one from the analytics pool."""
AppSettings = NamedDependency[Settings]
"""A handler parameter `settings: AppSettings` gets the service's settings."""
Passwords = NamedDependency[PasswordWork]
"""A handler parameter `passwords: Passwords` hashes and verifies passwords on the bounded thread pool."""
CacheDep = NamedDependency[Cache]
"""A handler parameter `cache: CacheDep` gets the Redis cache (a pass-through when REDIS_URL is off)."""


def provide_db(request: Request[Any, Any, Any]) -> RequestDatabase:
    return request_database(request.scope, resources(request.app.state).pool)


async def provide_connection(db: Db) -> AsyncIterator[AsyncConnection[Any]]:
    """A pooled autocommit connection for the request; atomic work opens `conn.transaction()`."""
    async with db.connection() as conn:
        yield conn


async def provide_analytics_connection(request: Request[Any, Any, Any]) -> AsyncIterator[AsyncConnection[Any]]:
    analytics = request_database(request.scope, resources(request.app.state).analytics_pool)
    async with analytics.connection() as conn:
        yield conn


def provide_settings(state: State) -> Settings:
    return resources(state).settings


def provide_cache(state: State) -> Cache:
    return resources(state).cache


def provide_passwords(state: State) -> PasswordWork:
    return resources(state).passwords
