"""An HTTP/1.1 keep-alive load generator on raw asyncio streams (uvloop), in its own process (python -m bench.loadgen).

It reads a JSON spec on stdin and prints one JSON summary on stdout. Raw streams rather than an
HTTP client library: it runs on the same two cores as the server it measures, so each request
must cost it as little as possible. It samples its own CPU time, the server's and PostgreSQL's at
the start and the end of the measured window, so that CPU per request covers exactly the requests
it counts. It imports nothing of the service: starting it must not weigh on the machine.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

try:
    import uvloop
except ImportError:  # the server falls back to asyncio's loop too
    uvloop = None

# A request slower than this is an error, and its connection is opened anew.
REQUEST_TIMEOUT_S = 10.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(stat: Path) -> list[str]:
    """The fields of a /proc/<pid>/stat after the command name (which may hold spaces): [0] is the state."""
    return stat.read_text().rsplit(")", 1)[1].split()


def process_cpu_s(pid: int) -> float:
    """utime + stime of one process, in seconds (0 when it is gone)."""
    try:
        fields = _stat_fields(Path(f"/proc/{pid}/stat"))
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def descendants(pid: int) -> list[int]:
    """The pids of every living process under `pid` (children, their children, ...), from one pass over /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int(_stat_fields(entry / "stat")[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry.name))
    found: list[int] = []
    pending = [pid]
    while pending:
        for child in children.get(pending.pop(), []):
            found.append(child)
            pending.append(child)
    return found


def tree_cpu_s(pid: int) -> float:
    """CPU seconds of `pid` and every living process under it: `agentpress serve --workers N` is a supervisor
    whose forked (spawned) workers do the serving, and the postmaster's backends do PostgreSQL's work."""
    return process_cpu_s(pid) + sum(process_cpu_s(child) for child in descendants(pid))


def postgres_cpu_s(pgdata: str | Path) -> float:
    """CPU seconds of the postmaster and all its children (the backends, the WAL writer, ...)."""
    return tree_cpu_s(int((Path(pgdata) / "postmaster.pid").read_text().split()[0]))


@dataclass(frozen=True)
class Spec:
    host: str
    port: int
    concurrency: int
    warmup_s: float
    duration_s: float
    # Each: {"method", "path", "headers": {...}, "body": str | null}. Connection i starts at request i
    # and takes them in turn, so the mix is the same on every run.
    requests: list[dict[str, Any]]
    # Whose CPU to sample over the measured window besides the generator's own (the process and all its
    # descendants: a server with several workers counts them all).
    server_pid: int | None = None
    pgdata: str | None = None
    max_requests: int = 1_000_000


@dataclass
class Summary:
    completed: int = 0
    errors: int = 0
    elapsed_s: float = 0.0
    # CPU seconds over the measured window: "generator", "service", "postgres".
    cpu_s: dict[str, float] = field(default_factory=dict)
    latencies_s: list[float] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    first_error: str = ""
    # Every response read, warm-up and the last ones after the window included: what the server answered in
    # all while the generator ran (statements per request divide by it).
    answered: int = 0


def encode(request: dict[str, Any], host: str) -> bytes:
    body = (request.get("body") or "").encode()
    lines = [f"{request['method']} {request['path']} HTTP/1.1", f"Host: {host}"]
    lines += [f"{name}: {value}" for name, value in request.get("headers", {}).items()]
    if body or request["method"] in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def read_response(reader: asyncio.StreamReader) -> int:
    """Read one response; its status. Content-Length or chunked bodies (uvicorn sends either)."""
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, _, header_block = head.partition(b"\r\n")
    status = int(status_line.split(b" ", 2)[1])
    length = 0
    chunked = False
    for line in header_block.split(b"\r\n"):
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length:
        await reader.readexactly(length)
    return status


async def run(spec: Spec) -> Summary:
    payloads = [encode(request, spec.host) for request in spec.requests]
    summary = Summary()
    started = time.perf_counter()
    measure_from = started + spec.warmup_s
    stop_at = measure_from + spec.duration_s

    def cpu_now() -> dict[str, float]:
        return {
            "generator": time.process_time(),
            "service": tree_cpu_s(spec.server_pid) if spec.server_pid else 0.0,
            "postgres": postgres_cpu_s(spec.pgdata) if spec.pgdata else 0.0,
        }

    async def worker(index: int) -> None:
        position = index
        reader: asyncio.StreamReader | None = None
        writer: asyncio.StreamWriter | None = None
        try:
            while (now := time.perf_counter()) < stop_at and summary.completed < spec.max_requests:
                payload = payloads[position % len(payloads)]
                position += 1
                sent = time.perf_counter()
                try:
                    if reader is None or writer is None:
                        reader, writer = await asyncio.open_connection(spec.host, spec.port)
                    writer.write(payload)
                    status = await asyncio.wait_for(read_response(reader), REQUEST_TIMEOUT_S)
                except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
                    if writer is not None:
                        writer.close()
                    reader = writer = None
                    if now >= measure_from:
                        summary.errors += 1
                        summary.first_error = summary.first_error or repr(exc)
                    continue
                done = time.perf_counter()
                summary.answered += 1
                if sent < measure_from:
                    continue
                if done > stop_at:
                    break
                summary.statuses[str(status)] = summary.statuses.get(str(status), 0) + 1
                if status >= 400:
                    summary.errors += 1
                else:
                    summary.completed += 1
                    summary.latencies_s.append(done - sent)
        finally:
            if writer is not None:
                writer.close()

    async def sample_cpu() -> None:
        await asyncio.sleep(measure_from - time.perf_counter())
        start = cpu_now()
        await asyncio.sleep(stop_at - time.perf_counter())
        end = cpu_now()
        summary.cpu_s = {key: end[key] - start[key] for key in end}

    await asyncio.gather(sample_cpu(), *(worker(i) for i in range(spec.concurrency)))
    summary.elapsed_s = min(time.perf_counter(), stop_at) - measure_from
    return summary


def main() -> None:
    spec = Spec(**json.load(sys.stdin))
    summary = uvloop.run(run(spec)) if uvloop is not None else asyncio.run(run(spec))
    json.dump(asdict(summary), sys.stdout)


if __name__ == "__main__":
    main()
