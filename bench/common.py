"""What every scenario shares: a fresh embedded server, migrated databases, timing, medians and result tables."""

from __future__ import annotations

import asyncio
import math
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import AsyncConnection, sql
from psycopg_pool import AsyncConnectionPool

from agentpress.db import embedded, migrations
from agentpress.db.pools import create_pool

T = TypeVar("T")


@dataclass
class Table:
    """One result table: printed by the runner and written to bench/results/*.json."""

    scenario: str
    title: str
    columns: list[str]
    rows: list[list[Any]]
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Server:
    """A running embedded PostgreSQL for one benchmark run; `url` is its `postgres` database."""

    pgdata: Path
    url: str

    def database(self, name: str, *, migrated: bool = True) -> str:
        """A new database on this server (migrated unless told otherwise); its URL."""
        unique = f"{name}_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(unique)))
        url = urlunsplit(urlsplit(self.url)._replace(path=f"/{unique}"))
        if migrated:
            migrations.apply(url)
        return url

    def copy(self, template_url: str, name: str) -> str:
        """A new database copied from the one at `template_url` (nobody may be connected to it); its URL."""
        template = urlsplit(template_url).path.lstrip("/")
        unique = f"{name}_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(self.url, autocommit=True) as conn:
            # FILE_COPY: a checkpoint and a copy of the files, seconds for a gigabyte, where the
            # default WAL_LOG strategy writes every block through the WAL.
            conn.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {} STRATEGY FILE_COPY").format(
                    sql.Identifier(unique), sql.Identifier(template)
                )
            )
        return urlunsplit(urlsplit(self.url)._replace(path=f"/{unique}"))


@contextmanager
def fresh_server(root: Path) -> Iterator[Server]:
    """A new embedded server with its data under `root`, stopped afterwards."""
    pgdata = root / "pgdata"
    url = embedded.start(pgdata, database="postgres")
    try:
        yield Server(pgdata, url)
    finally:
        embedded.stop(pgdata)


def service_pool(url: str, size: int) -> AsyncConnectionPool[AsyncConnection[Any]]:
    """A pool of `size` connections made as the service makes its own (autocommit, a check on
    checkout, statement timeouts, pgvector types); not yet open."""
    return create_pool(
        url,
        name="bench",
        min_size=size,
        max_size=size,
        timeout=5,
        statement_timeout_ms=5000,
        idle_in_transaction_session_timeout_ms=10000,
    )


def run_async(main: Coroutine[Any, Any, T]) -> T:
    """`main` on the event loop the service runs on: uvloop where it is installed (uvicorn's choice
    with loop="auto"), so the service and its comparators pay the same loop's cost per statement."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)


def timed(call: Callable[[], Any], repeat: int) -> list[float]:
    """Seconds per call, `repeat` times."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return times


async def alternate(
    contenders: dict[str, Callable[[int], Awaitable[object]]], *, rounds: int, per_round: int, warmup: int = 10
) -> dict[str, list[float]]:
    """Seconds per call of each contender, run in turns: round r runs `per_round` calls of each, the
    order rotating from round to round, so drift on a shared machine falls on all of them alike.
    Call i of every contender gets the same argument i, so they do the same work."""
    names = list(contenders)
    for name in names:
        for i in range(warmup):
            await contenders[name](i)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            call, out = contenders[name], samples[name]
            for i in range(r * per_round, (r + 1) * per_round):
                started = time.perf_counter()
                await call(i)
                out.append(time.perf_counter() - started)
    return samples


def paired_ratio(numerator: list[float], denominator: list[float], per_round: int) -> float:
    """The median over rounds of the ratio of two contenders' medians in that round (samples as
    `alternate` returns them): each round's pair ran within milliseconds, so drift cancels."""
    ratios = [
        statistics.median(numerator[start : start + per_round])
        / statistics.median(denominator[start : start + per_round])
        for start in range(0, min(len(numerator), len(denominator)), per_round)
    ]
    return statistics.median(ratios)


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def percentile_ms(samples: list[float], p: float) -> float:
    """The p-th percentile (0..100) of samples in seconds, in milliseconds (nearest rank)."""
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))
    return ordered[index] * 1000
