"""`agentpress serve`: the HTTP API under uvicorn, in one process or several (--workers, WEB_CONCURRENCY)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import psycopg

from agentpress.repositories import leadership
from agentpress.settings import REDIS_OFF, Settings, available_cores

log = logging.getLogger("agentpress.serve")

# What uvicorn imports in each worker: the app cannot be handed to a spawned process, only named.
APP_FACTORY = "agentpress.web.app:create_app_from_environment"
# Connections left for everything that is not a worker: psql, migrations, the CLI, `agentpress worker`,
# monitoring. On top of the server's superuser_reserved_connections, which only superusers may use.
HEADROOM = 5


def default_workers() -> int:
    """One per core this process may run on."""
    return available_cores()


def connections_per_worker(settings: Settings) -> int:
    """The most connections one worker opens to the primary: its main pool, its analytics pool unless that
    points elsewhere (a replica), and the direct connection of the leader election."""
    shares_the_primary = settings.analytics_database_url in (None, settings.database_url)
    analytics = settings.analytics_pool_max_size if shares_the_primary else 0
    leader = 1 if settings.analytics_refresh_enabled else 0
    return settings.pool_max_size + analytics + leader


async def _connection_limit(url: str) -> int:
    async with await psycopg.AsyncConnection.connect(url, connect_timeout=5, autocommit=True) as conn:
        return await leadership.get_connection_limit(conn)


def check_connection_budget(url: str, settings: Settings, workers: int) -> None:
    """Warn when `workers` workers at their pools' maximum (plus HEADROOM) need more connections than the
    server accepts: requests would then fail to connect under load, far from the cause. Behind PgBouncer the
    pools are the pooler's clients, not the server's, and the pooler's own limits bound the server's share."""
    if settings.database_pooler == "pgbouncer":
        return
    try:
        available = asyncio.run(_connection_limit(url))
    except psycopg.Error:
        return  # the workers' startup says what is wrong with the database, in more detail
    needed = workers * connections_per_worker(settings) + HEADROOM
    if needed > available:
        log.warning(
            "%d worker(s) may open %d connection(s) each, %d with headroom, but the server accepts %d: "
            "lower POOL_MAX_SIZE or ANALYTICS_POOL_MAX_SIZE, run fewer workers, raise max_connections, or "
            "put PgBouncer in front (docs/configuration.md)",
            workers,
            connections_per_worker(settings),
            needed,
            available,
            extra={"workers": workers, "needed": needed, "available": available},
        )


@contextmanager
def metrics_directory() -> Iterator[Path]:
    """PROMETHEUS_MULTIPROC_DIR for the workers, set before they start (prometheus_client reads it when imported):
    the one given, emptied of an earlier run's files, or a new temporary directory, removed afterwards."""
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    path = Path(given) if given else Path(tempfile.mkdtemp(prefix="agentpress-metrics-"))
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):  # the files of another run's workers would be added to this one's
        stale.unlink()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(path)
    try:
        yield path
    finally:
        if not given:
            shutil.rmtree(path, ignore_errors=True)


def _supervisor(config: Any, sockets: list[socket.socket]) -> Any:
    """uvicorn's supervisor, which also marks each worker that is gone (died, restarted, retired) as dead for
    prometheus_client, so that its gauges (pools, leadership) leave the sums; its counters stay in them."""
    from prometheus_client.multiprocess import mark_process_dead
    from uvicorn.supervisors.multiprocess import Multiprocess

    class Supervisor(Multiprocess):
        def __init__(self, config: Any, sockets: list[socket.socket]) -> None:
            super().__init__(config, sockets)
            self.running: set[int] = set()

        def keep_subprocess_alive(self) -> None:
            super().keep_subprocess_alive()
            alive = {process.pid for process in self.processes if process.pid is not None}
            for pid in self.running - alive:
                mark_process_dead(pid)  # type: ignore[no-untyped-call]  # unannotated in prometheus_client
            self.running = alive

    return Supervisor(config, sockets=sockets)


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn
    from uvicorn.config import STARTUP_FAILURE

    from agentpress.db.embedded_redis import resolve_redis_url
    from agentpress.db.pools import resolve_database_url
    from agentpress.web.logs import configure_logging

    configure_logging(settings.log_level)
    workers = args.workers or settings.web_concurrency or default_workers()
    # Started (when embedded) once here rather than raced for by every worker; the workers read the URL
    # from the environment they inherit.
    url = resolve_database_url(settings)
    os.environ["DATABASE_URL"] = url
    # Likewise the local Redis (REDIS_URL unset beside the embedded database): one for every worker.
    os.environ["REDIS_URL"] = resolve_redis_url(settings) or REDIS_OFF
    # The workers size what they share the cores for (password hashing) by how many of them there are.
    os.environ["WEB_CONCURRENCY"] = str(workers)
    check_connection_budget(url, settings.model_copy(update={"database_url": url}), workers)
    log.info("serving with %d worker(s)", workers, extra={"workers": workers})
    # The app logs each request itself, as JSON; uvicorn's access log would say it twice.
    # Issue 21, lever 1 (docs/benchmarks.md, "The server"): granian 2.8 (ASGI on uvloop, either runtime mode)
    # cut none of the hot routes' service CPU per request by the 15% that would pay for a second server's
    # behaviour to keep (-14% to +8% on the GETs across A B B A runs, as much as the bare rows drifted), so
    # uvicorn stays. Its other options were left at their defaults but one: the date and server headers off would
    # save 1.6 µs a request, against about 1,000 µs; timeout_keep_alive and backlog act per connection,
    # limit_concurrency is already unset and the lifespan runs once per worker.
    config = uvicorn.Config(
        APP_FACTORY,
        factory=True,
        workers=workers,
        host=args.host or settings.host,
        port=args.port or settings.port,
        access_log=False,
        log_config=None,
        # The client's address is the socket's peer, and TRUSTED_PROXIES alone says whose X-Forwarded-For is
        # believed (web/clients.py). uvicorn's own default believed it from 127.0.0.1, before the app's rule:
        # a local client could name any address for its session and its rate limits.
        proxy_headers=False,
    )
    # One process keeps its metrics in memory, unless PROMETHEUS_MULTIPROC_DIR says otherwise.
    multiprocess = workers > 1 or "PROMETHEUS_MULTIPROC_DIR" in os.environ
    with metrics_directory() if multiprocess else nullcontext():
        if workers == 1:
            server = uvicorn.Server(config)
            server.run()
            return 0 if server.started else 1
        # uvicorn.run's own supervisor, used directly so that a worker that could not start (pending
        # migrations, an unreachable database) makes the command fail, as it does with one process.
        supervisor = _supervisor(config, [config.bind_socket()])
        supervisor.run()
    return 1 if any(process.exitcode == STARTUP_FAILURE for process in supervisor.processes) else 0


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = commands.add_parser("serve", help="serve the HTTP API")
    serve.add_argument("--host", help="default: HOST or 127.0.0.1")
    serve.add_argument("--port", type=int, help="default: PORT or 8000")
    serve.add_argument(
        "--workers",
        type=int,
        help="processes to serve with, each with its own pools; default: WEB_CONCURRENCY or one per core",
    )
    serve.set_defaults(run=_serve)
