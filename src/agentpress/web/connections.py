"""A request's database access: one pooled connection at a time, taken on first use, back by the request's end."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

from litestar.types import ASGIApp, Receive, Scope, Send
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool


class RequestDatabase:
    """The request's way to the main pool.

    Litestar resolves dependencies only after it has read the request's body (`data`, `body`), so nothing
    here runs while a slow client is still sending. A block that needs the database enters
    `connection()`: the first one takes a connection from the pool and the last one to leave gives it back,
    so the request holds one connection at most, and none between blocks. The `conn` dependency is such a
    block around the whole handler; a handler with a slow step that is not SQL (a password hash, an
    outbound call, parsing an upload) takes `db` instead and opens a block around each piece of SQL.
    """

    def __init__(self, pool: AsyncConnectionPool[AsyncConnection[Any]]) -> None:
        self._pool = pool
        # Dependencies resolve one after another (web/dependency_order.py), but a handler's blocks may still
        # overlap (tasks it gathers): they share one checkout.
        self._lock = asyncio.Lock()
        self._conn: AsyncConnection[Any] | None = None
        self._users = 0
        self._closed = False

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[AsyncConnection[Any]]:
        async with self._lock:
            if self._closed:
                raise RuntimeError("the request is over: its database access is closed")
            if self._conn is None:
                self._conn = await self._pool.getconn()
            self._users += 1
            conn = self._conn
        try:
            yield conn
        finally:
            self._users -= 1
            # Not when close() has given it back already (see there).
            if self._users == 0 and self._conn is conn:
                self._conn = None
                await self._pool.putconn(conn)

    async def close(self) -> None:
        """Give back a connection a block still holds when the request is over.

        Normally none: every block has ended. But when a dependency fails (401 from auth, 404 for another
        org's X-Org-Id) while the `conn` dependency resolved before it has already entered its block,
        Litestar never resumes that generator, and its connection would stay out of the pool until garbage
        collection, if ever: a stream of bad tokens would drain the pool. release_connections calls this.
        """
        self._closed = True
        conn, self._conn = self._conn, None
        if conn is not None:
            await self._pool.putconn(conn)

    @property
    def holds_connection(self) -> bool:
        """Whether a block is open now (for tests of when the connection is taken)."""
        return self._conn is not None


_SCOPE_KEY = "agentpress.request_databases"


def request_database(scope: Scope, pool: AsyncConnectionPool[AsyncConnection[Any]]) -> RequestDatabase:
    """A RequestDatabase on `pool` for this request, closed when the request ends (see release_connections)."""
    db = RequestDatabase(pool)
    cast("dict[str, Any]", scope).setdefault(_SCOPE_KEY, []).append(db)
    return db


def release_connections(app: ASGIApp) -> ASGIApp:
    """Wrap the app so that whatever a request's dependencies left holding is given back when it ends."""

    async def handle(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await app(scope, receive, send)
        finally:
            databases: list[RequestDatabase] = cast("dict[str, Any]", scope).pop(_SCOPE_KEY, [])
            for db in databases:
                await db.close()

    return handle
