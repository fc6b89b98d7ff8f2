"""Prometheus metrics: the series the service records, added up over `agentpress serve`'s worker processes, and
what a scrape of GET /metrics (api/health.py) shows."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import psycopg
from litestar import Litestar
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from agentpress.models.tasks import TaskQueueDepth
from agentpress.repositories import outbox, system, tasks
from agentpress.services.mail import MAX_ATTEMPTS

if TYPE_CHECKING:  # web.lifespan imports web.cache, which imports this module
    from agentpress.web.lifespan import Resources

log = logging.getLogger("agentpress.web.metrics")
Pool = AsyncConnectionPool[AsyncConnection[Any]]

# prometheus_client picks its mode from this variable when it is imported: `agentpress serve` with several workers
# sets it before they start (cli/serve_commands.py), and each worker then writes its values to files in that
# directory, which a scrape of any worker adds up (MultiProcessCollector). Unset: the values live in the process.
MULTIPROCESS = "PROMETHEUS_MULTIPROC_DIR" in os.environ
# The service's own series, apart from prometheus_client's default registry (which other libraries may fill).
SERIES = CollectorRegistry()

# The route label of a request that matched no route (404, or 405 for a path without that method): one label,
# whatever the path, so that scanners cannot create series.
UNMATCHED = "unmatched"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Bounds, in seconds, for a service whose reads answer in about a millisecond and whose reports may take 30 s.
_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

REQUEST_SECONDS = Histogram(
    "agentpress_http_request_duration_seconds",
    "HTTP requests by route template (`unmatched`: no route), method and status: the time until the response was "
    "sent; its _count is the number of requests",
    ["route", "method", "status"],
    buckets=_BUCKETS,
    registry=SERIES,
)


def _pool_gauge(name: str, documentation: str) -> Gauge:
    # Pools are per process: `livesum` adds up the live workers' figures (a dead worker's are dropped).
    return Gauge(name, documentation, ["pool"], registry=SERIES, multiprocess_mode="livesum")


POOL_SIZE = _pool_gauge("agentpress_db_pool_connections", "Connections the pool holds open")
POOL_IN_USE = _pool_gauge("agentpress_db_pool_in_use", "Connections of the pool lent out")
POOL_WAITING = _pool_gauge("agentpress_db_pool_waiting", "Requests waiting for a connection of the pool")
POOL_MAX = _pool_gauge("agentpress_db_pool_max", "The most connections the pool may open")
CACHE_HITS = Counter(
    "agentpress_cache_hits", "Reads answered without the database (cache: data or auth)", ["cache"], registry=SERIES
)
CACHE_LOCAL_HITS = Counter(
    "agentpress_cache_local_hits",
    "Of the hits, those answered from the process's own memory, without Redis (LOCAL_CACHE_SECONDS)",
    ["cache"],
    registry=SERIES,
)
CACHE_MISSES = Counter("agentpress_cache_misses", "Reads that loaded from the database", ["cache"], registry=SERIES)
REDIS_FAILURES = Counter(
    "agentpress_cache_redis_failures",
    "Redis operations that failed or timed out (then the database answers for a second)",
    ["cache", "operation"],
    registry=SERIES,
)
LOOP_LEADER = Gauge(
    "agentpress_loop_leader",
    "1 while a process of this `serve` leads the background loop (elected loops only; the others run everywhere)",
    ["loop"],
    registry=SERIES,
    multiprocess_mode="livesum",
)

# Each process reads the queue and the outbox at most this often, however often it is scraped, on one pool
# connection it waits for at most CONNECTION_WAIT_SECONDS, each statement bounded by READING_TIMEOUT_MS.
READING_SECONDS = 5.0
CONNECTION_WAIT_SECONDS = 1.0
READING_TIMEOUT_MS = 500
# How often each worker of a several-process `serve` writes its pools' figures for the others' scrapes.
SAMPLE_SECONDS = 5.0

_observers: dict[tuple[str, str, int], Callable[[float], None]] = {}


def observe_request(route: str, method: str, status: int, seconds: float) -> None:
    """Count a request and its duration: one dictionary look-up and one observation once its labels were seen."""
    if method not in _METHODS:
        method = "other"  # any token is a method to HTTP: keep the label's values few
    key = (route, method, status)
    observe = _observers.get(key)
    if observe is None:
        observe = _observers[key] = REQUEST_SECONDS.labels(route, method, str(status)).observe
    observe(seconds)


def sample_pools(pools: Mapping[str, Pool]) -> None:
    """Write each pool's size, connections in use and waiting requests."""
    for name, pool in pools.items():
        stats = pool.get_stats()
        size = stats.get("pool_size", 0)
        POOL_SIZE.labels(name).set(size)
        POOL_IN_USE.labels(name).set(size - stats.get("pool_available", 0))
        POOL_WAITING.labels(name).set(stats.get("requests_waiting", 0))
        POOL_MAX.labels(name).set(stats.get("pool_max", 0))


class DatabaseReading(Collector):
    """The task queue's depth and the outbox's backlog: one figure for the whole database, so not added up over
    workers but read by the process a scrape reaches, at most every READING_SECONDS (a scrape must not be a way
    to load the database), and shown as read last; a reading that failed shows nothing until one succeeds."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool
        self._lock = asyncio.Lock()
        self._read_at = -math.inf
        self.queue: TaskQueueDepth | None = None
        self.backlog: int | None = None

    async def refresh(self) -> None:
        async with self._lock:
            if time.monotonic() - self._read_at < READING_SECONDS:
                return
            # Before reading: a database that fails or is slow is not asked again at every scrape either.
            self._read_at = time.monotonic()
            try:
                async with self._pool.connection(timeout=CONNECTION_WAIT_SECONDS) as conn, conn.transaction():
                    await system.set_local_statement_timeout(conn, timeout_ms=READING_TIMEOUT_MS)
                    queue = await tasks.count_tasks_in_queue(conn)
                    backlog = await outbox.count_outbox_backlog(conn, max_attempts=MAX_ATTEMPTS)
            except (psycopg.Error, PoolTimeout) as exc:
                log.warning("metrics: the task queue and outbox could not be read: %s", exc)
                self.queue = self.backlog = None
                return
            self.queue, self.backlog = queue, backlog

    def collect(self) -> Iterable[Metric]:
        if self.queue is not None:
            depth = GaugeMetricFamily(
                "agentpress_task_queue_depth", "Tasks of every org in the queue, by status", labels=["status"]
            )
            depth.add_metric(["queued"], self.queue.queued)
            depth.add_metric(["running"], self.queue.running)
            yield depth
        if self.backlog is not None:
            backlog = "Mail still to send (unsent, with attempts left)"
            yield GaugeMetricFamily("agentpress_outbox_backlog", backlog, self.backlog)


class Exposition(Collector):
    """What a scrape shows: the series (this process's, or every worker's files) and the database reading."""

    def __init__(self, pools: Mapping[str, Pool], reading: DatabaseReading) -> None:
        self.pools = pools
        self.reading = reading
        # (prometheus_client leaves MultiProcessCollector and mark_process_dead unannotated.)
        self._series: Collector = MultiProcessCollector(None) if MULTIPROCESS else SERIES  # type: ignore[no-untyped-call]

    def collect(self) -> Iterable[Metric]:
        yield from self._series.collect()
        yield from self.reading.collect()


async def _sample_every(pools: Mapping[str, Pool], seconds: float) -> None:
    while True:
        sample_pools(pools)
        await asyncio.sleep(seconds)


@contextlib.asynccontextmanager
async def metrics_lifespan(app: Litestar) -> AsyncIterator[None]:
    """After the service's lifespan has opened the pools: what /metrics reads, and with several workers the
    sampler that keeps this worker's pool figures current for scrapes that reach another worker."""
    found: Resources = app.state.resources
    pools = {"main": found.pool, "analytics": found.analytics_pool}
    app.state.metrics = Exposition(pools, DatabaseReading(found.pool))
    sampler = asyncio.create_task(_sample_every(pools, SAMPLE_SECONDS)) if MULTIPROCESS else None
    try:
        yield
    finally:
        if sampler is not None:
            sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sampler
