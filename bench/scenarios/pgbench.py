"""Scenario 3, the limit: get_thread's SQL prepared under pgbench, beside the service's point reads through its pool."""

from __future__ import annotations

import asyncio
import re
import resource
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from agentpress.db import embedded
from agentpress.db.queries import queries
from agentpress.repositories import threads
from bench import data
from bench.common import Server, Table, run_async, service_pool

CLIENTS = (1, 8)


@dataclass(frozen=True)
class Rate:
    """Point reads per second over a run, their mean latency and the client's CPU per read."""

    tps: float
    latency_ms: float
    client_cpu_us: float
    failed: int


def script(size: data.Size) -> str:
    """get_thread's statement for pgbench: a random thread n, its ids made from n as the data set makes them."""
    statement = queries.threads.get_thread.sql
    for name, value in {
        "thread_id": "md5('thread:' || :n)::uuid",
        "org_id": "md5('org:' || :o)::uuid",
        "user_id": "md5('user:' || :u)::uuid",
    }.items():
        statement = statement.replace(f"%({name})s", value)
    return f"\\set n random(1, {size.threads})\n\\set u :n % {size.users}\n\\set o :u % {data.ORGS}\n{statement};\n"


def pgbench(url: str, path: Path, clients: int, seconds: int) -> Rate:
    """One run of pgbench: prepared statements, `clients` connections on up to two threads (the cores)."""
    command = [
        str(embedded.bin_path("pgbench")),
        "--no-vacuum",
        "--protocol=prepared",
        f"--file={path}",
        f"--client={clients}",
        f"--jobs={min(clients, 2)}",
        f"--time={seconds}",
        url,
    ]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    tps = float(_find(r"^tps = ([\d.]+)", done.stdout))
    transactions = int(_find(r"^number of transactions actually processed: (\d+)", done.stdout))
    failed_match = re.search(r"^number of failed transactions: (\d+)", done.stdout, re.MULTILINE)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return Rate(
        tps=tps,
        latency_ms=float(_find(r"^latency average = ([\d.]+) ms", done.stdout)),
        client_cpu_us=cpu / max(transactions, 1) * 1e6,
        failed=int(failed_match.group(1)) if failed_match else 0,
    )


def _find(pattern: str, output: str) -> str:
    match = re.search(pattern, output, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"pgbench printed no {pattern!r}:\n{output}")
    return match.group(1)


async def service(url: str, size: data.Size, clients: int, seconds: float) -> Rate:
    """get_thread through the service's pool at `clients` concurrent requests, each checking out a
    connection as a request does, for `seconds`; one event loop, as one service process has."""
    pool = service_pool(url, clients)
    await pool.open()
    await pool.wait()
    keys = data.random_thread_keys(size, 10_000, seed=3)
    latencies: list[float] = []

    async def client(start: int, deadline: float) -> None:
        i = start
        while time.perf_counter() < deadline:
            k = keys[i % len(keys)]
            i += clients
            started = time.perf_counter()
            async with pool.connection() as conn:
                await threads.get_thread(conn, org_id=k.org_id, user_id=k.user_id, thread_id=k.thread_id)
            latencies.append(time.perf_counter() - started)

    try:
        # A second of warm-up: every connection has prepared the statement before the clock starts.
        await asyncio.gather(*(client(c, time.perf_counter() + 1) for c in range(clients)))
        latencies.clear()
        cpu, started = time.process_time(), time.perf_counter()
        await asyncio.gather(*(client(c, started + seconds) for c in range(clients)))
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    finally:
        await pool.close()
    return Rate(
        tps=len(latencies) / elapsed,
        latency_ms=sum(latencies) / len(latencies) * 1000,
        client_cpu_us=cpu / len(latencies) * 1e6,
        failed=0,
    )


async def round_trip_cpu(url: str, rounds: int = 20, per_round: int = 200) -> tuple[float, float]:
    """This process's CPU µs per `SELECT 1` round trip through async psycopg and through sync psycopg,
    in alternating blocks."""
    cpu = {"async": 0.0, "sync": 0.0}
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as aconn:
        with psycopg.connect(url, autocommit=True) as conn:
            for _ in range(rounds):
                started = time.process_time()
                for _ in range(per_round):
                    await aconn.execute("SELECT 1")
                cpu["async"] += time.process_time() - started
                started = time.process_time()
                for _ in range(per_round):
                    conn.execute("SELECT 1")
                cpu["sync"] += time.process_time() - started
    count = rounds * per_round
    return cpu["async"] / count * 1e6, cpu["sync"] / count * 1e6


def median_rate(rates: list[Rate]) -> Rate:
    return Rate(
        tps=statistics.median(rate.tps for rate in rates),
        latency_ms=statistics.median(rate.latency_ms for rate in rates),
        client_cpu_us=statistics.median(rate.client_cpu_us for rate in rates),
        failed=sum(rate.failed for rate in rates),
    )


def limit_note(service_cpu: dict[int, float], pgbench_cpu: dict[int, float], async_us: float, sync_us: float) -> str:
    """What bounds the service's rate, in the run's own figures: its CPU per read."""
    per_read = " and ".join(f"{us:.0f} µs at {clients} client(s)" for clients, us in service_cpu.items())
    return (
        f"What limits the service: its own CPU, {per_read} per read (pgbench's client: "
        f"{max(pgbench_cpu.values()):.0f} µs at most), so one process tops out near "
        f"{1e6 / min(service_cpu.values()):,.0f} reads/s on one core, and at 8 clients it shares the 2 cores "
        f"with the server's backends. A round trip alone (SELECT 1) costs {async_us:.0f} µs of CPU through "
        f"async psycopg on uvloop (as the service runs) and {sync_us:.0f} µs through sync psycopg; the rest of a "
        "read is the pool's checkout, the statement's parameters and result, and the model."
    )


def run(server: Server, quick: bool) -> list[Table]:
    size = data.size(quick)
    url = data.conversations(server, size)
    seconds = 2 if quick else 5
    rows: list[list[Any]] = []
    service_cpu: dict[int, float] = {}
    pgbench_cpu: dict[int, float] = {}
    with tempfile.TemporaryDirectory(prefix="agentpress-pgbench-") as tmp:
        path = Path(tmp) / "get_thread.sql"
        path.write_text(script(size), encoding="utf-8")
        for clients in CLIENTS:
            # In turn, each with the machine to itself while it runs, in the order A B B A so that a
            # drift in between falls on both; each figure is the median of its two runs.
            runs: dict[str, list[Rate]] = {"pgbench": [], "service": []}
            for name in ("pgbench", "service", "service", "pgbench"):
                if name == "pgbench":
                    runs[name].append(pgbench(url, path, clients, seconds))
                else:
                    runs[name].append(run_async(service(url, size, clients, seconds)))
            ceiling, ours = median_rate(runs["pgbench"]), median_rate(runs["service"])
            for name, rate in (("pgbench -M prepared", ceiling), ("service: pool + get_thread", ours)):
                rows.append(
                    [
                        name,
                        clients,
                        round(rate.tps),
                        round(rate.latency_ms, 3),
                        round(rate.client_cpu_us),
                        rate.failed,
                        f"{rate.tps / ceiling.tps:.0%}",
                    ]
                )
            service_cpu[clients] = ours.client_cpu_us
            pgbench_cpu[clients] = ceiling.client_cpu_us
    async_us, sync_us = run_async(round_trip_cpu(url))
    return [
        Table(
            scenario="pgbench",
            title="The limit: get_thread's SQL from pgbench vs the service's point reads through its pool",
            columns=["client", "clients", "reads/s", "mean latency ms", "client CPU µs/read", "failed", "of pgbench"],
            rows=rows,
            notes=[
                f"Two runs of {seconds} s each per client and concurrency (order A B B A, medians), on the data "
                f"set of layer ({size.threads:,} threads); the script picks a random thread and runs get_thread's "
                "statement with its ids (md5 of the thread's number, as the data set makes them), prepared; "
                "pgbench on up to 2 threads.",
                "service: asyncio tasks on one event loop (one service process), each read checking a connection "
                "out of the service's pool (create_pool: its checkout check, then the read) and returning a "
                "pydantic Thread; client CPU is this process's CPU time per read.",
                limit_note(service_cpu, pgbench_cpu, async_us, sync_us),
            ],
        )
    ]
