"""A request's database access: one pooled connection at a time, taken on first use and returned after."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

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
        # Dependencies of one request may resolve concurrently (auth and `conn`): they share one checkout.
        self._lock = asyncio.Lock()
        self._conn: AsyncConnection[Any] | None = None
        self._users = 0

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[AsyncConnection[Any]]:
        async with self._lock:
            if self._conn is None:
                self._conn = await self._pool.getconn()
            self._users += 1
            conn = self._conn
        try:
            yield conn
        finally:
            self._users -= 1
            if self._users == 0:
                self._conn = None
                await self._pool.putconn(conn)

    @property
    def holds_connection(self) -> bool:
        """Whether a block is open now (for tests of when the connection is taken)."""
        return self._conn is not None
