"""Connection pools: the main pool for requests and a separate analytics pool for long reports."""

from __future__ import annotations

import logging
import select
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import msgspec
import psycopg
from pgvector.psycopg import register_vector_async
from psycopg import AsyncConnection
from psycopg.types.json import set_json_dumps, set_json_loads
from psycopg_pool import AsyncConnectionPool

from agentpress.db import embedded
from agentpress.repositories.system import list_session_limits
from agentpress.settings import Settings

log = logging.getLogger("agentpress.db.pools")


# A way to a connection that is entered only when needed, such as RequestDatabase.connection: a cache-aside
# read takes a pool connection on a miss only, so that a hit holds none while it waits on Redis.
Connect = Callable[[], AbstractAsyncContextManager[AsyncConnection[Any]]]


def resolve_database_url(settings: Settings) -> str:
    """DATABASE_URL when set; otherwise the embedded server, started if it is not running."""
    if settings.database_url:
        return settings.database_url
    return embedded.start(embedded.pgdata_dir(settings))


def _session_options(**settings: int | str) -> str:
    # libpq `options` set GUCs at connection start: no extra round trip per checkout.
    return " ".join(f"-c {name}={value}" for name, value in settings.items())


async def _configure(conn: AsyncConnection[Any]) -> None:
    # Runs once per new connection. json and jsonb values go through msgspec's codec rather than the standard
    # library's: the same Python values, in a third of the time (a page of 20 threads loads 20 metadata
    # objects, an append dumps its parts).
    set_json_loads(msgspec.json.decode, conn)
    set_json_dumps(msgspec.json.encode, conn)
    # pgvector's types are looked up by OID in the database, so this needs the extension, which the first
    # migration creates. Before that, the connection still serves: startup goes on to refuse pending
    # migrations with a message that says so.
    try:
        await register_vector_async(conn)
    except psycopg.ProgrammingError:
        log.warning("pgvector is not installed in this database yet: run `make db-migrate`")


class _CheckedLimits:
    """`configure` for a pool behind PgBouncer: register pgvector, then compare the limits the server applies
    (set by the PgBouncer alias's connect_query) with the ones the settings ask for.

    A mismatch is logged once per pool, not refused: the service still answers, only without the limit
    the operator meant to have. One round trip, once per new connection (PgBouncer hands each of its
    transactions to a server connection of the same alias, all started with the same connect_query).
    """

    def __init__(self, name: str, limits: dict[str, int]) -> None:
        self.name, self.limits, self.warned = name, limits, False

    async def __call__(self, conn: AsyncConnection[Any]) -> None:
        await _configure(conn)
        applied = await list_session_limits(conn, names=list(self.limits))
        wrong = {name: ms for name, ms in self.limits.items() if applied.get(name) != ms}
        if wrong and not self.warned:
            self.warned = True
            log.warning(
                "the %s pool's connections have %s where the settings ask for %s: behind PgBouncer each pool's "
                "database alias sets them in its connect_query (docs/configuration.md#pgbouncer)",
                self.name,
                ", ".join(f"{name}={applied.get(name)}ms" for name in wrong),
                ", ".join(f"{name}={ms}ms" for name, ms in wrong.items()),
            )


async def _check(conn: AsyncConnection[Any]) -> None:
    """Check a connection before the pool hands it out, with a round trip only when something is amiss.

    An idle autocommit connection has nothing to read. A server that restarted or ended the session
    has sent its FATAL message or closed the socket, either of which makes the socket readable; only
    then does the check send an empty query, which fails on a dead connection (the pool then
    replaces it) and on a live one reads whatever was pending. An empty query on every checkout
    cost a round trip per request: 40% of bare psycopg's point-read rate and about 8% of the
    service's CPU per request (bench/scenarios/http.py).
    """
    if conn.closed or _readable(conn.pgconn.socket):
        await AsyncConnectionPool.check_connection(conn)


def _readable(fd: int) -> bool:
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(0))


def create_pool(
    url: str,
    *,
    name: str,
    min_size: int,
    max_size: int,
    timeout: float,
    statement_timeout_ms: int,
    idle_in_transaction_session_timeout_ms: int,
    pgbouncer: bool = False,
    prepare: bool = True,
) -> AsyncConnectionPool[AsyncConnection[Any]]:
    """A pool of autocommit connections.

    Autocommit: a request whose work is one statement sends just that statement, with no
    BEGIN/COMMIT round trips (measured at about 2.7x the point-read throughput of a
    transaction per read). Work that must be atomic opens `conn.transaction()` itself.
    The check (_check) looks at a connection before it is handed out, so a connection
    killed by a database restart is replaced instead of failing the request.

    The limits go in the startup `options` on a direct connection: no round trip. PgBouncer refuses
    that parameter (or, listed in ignore_startup_parameters, drops it silently), so with `pgbouncer` the
    limits come from the alias's connect_query instead and are only checked (_CheckedLimits). Not SET
    LOCAL per transaction: every single-statement request would need BEGIN, SET LOCAL and COMMIT around
    it, measured at 3 to 3.7x fewer statements a second on one connection (docs/configuration.md#pgbouncer).
    `prepare=False` turns psycopg's automatic prepared statements off, for PgBouncer before 1.21.
    """
    limits = {
        "statement_timeout": statement_timeout_ms,
        "idle_in_transaction_session_timeout": idle_in_transaction_session_timeout_ms,
    }
    kwargs: dict[str, Any] = {"autocommit": True, "application_name": f"agentpress-{name}"}
    if not pgbouncer:
        kwargs["options"] = _session_options(**limits)
    if not prepare:
        kwargs["prepare_threshold"] = None
    return AsyncConnectionPool(
        url,
        name=name,
        min_size=min_size,
        max_size=max_size,
        timeout=timeout,
        # A connection attempt that fails is retried with a delay that doubles each time, for up to
        # reconnect_timeout (5 minutes by default): after an outage of a minute the next try could be
        # a minute away, and the service would answer 503 for that long after the database is back.
        # Giving up after one request's wait instead, the next request that finds no connection starts
        # a fresh attempt at once (tests/api/test_database_faults.py).
        reconnect_timeout=timeout,
        open=False,
        configure=_CheckedLimits(name, limits) if pgbouncer else _configure,
        check=_check,
        kwargs=kwargs,
    )


def create_main_pool(settings: Settings, url: str) -> AsyncConnectionPool[AsyncConnection[Any]]:
    return create_pool(
        url,
        name="main",
        min_size=settings.pool_min_size,
        max_size=settings.pool_max_size,
        timeout=settings.pool_timeout,
        statement_timeout_ms=settings.statement_timeout_ms,
        idle_in_transaction_session_timeout_ms=settings.idle_in_transaction_session_timeout_ms,
        pgbouncer=settings.database_pooler == "pgbouncer",
        prepare=settings.database_prepare,
    )


def create_analytics_pool(settings: Settings, url: str) -> AsyncConnectionPool[AsyncConnection[Any]]:
    return create_pool(
        settings.analytics_database_url or url,
        name="analytics",
        min_size=settings.analytics_pool_min_size,
        max_size=settings.analytics_pool_max_size,
        timeout=settings.pool_timeout,
        statement_timeout_ms=settings.analytics_statement_timeout_ms,
        idle_in_transaction_session_timeout_ms=settings.idle_in_transaction_session_timeout_ms,
        pgbouncer=settings.database_pooler == "pgbouncer",
        prepare=settings.database_prepare,
    )
