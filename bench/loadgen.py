"""An HTTP/1.1 keep-alive load generator on raw asyncio streams (uvloop), in its own process (python -m bench.loadgen).

It reads a JSON spec on stdin and prints one JSON summary on stdout. Raw streams rather than an
HTTP client library: it runs on the same two cores as the server it measures, so each request
must cost it as little as possible; it reports its own CPU time so that the cost can be stated.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from bench.common import run_async

# A request slower than this is an error, and its connection is opened anew.
REQUEST_TIMEOUT_S = 10.0


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
    max_requests: int = 1_000_000


@dataclass
class Summary:
    completed: int = 0
    errors: int = 0
    elapsed_s: float = 0.0
    cpu_s: float = 0.0
    latencies_s: list[float] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    first_error: str = ""


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
    cpu_at_start: list[float] = []

    async def worker(index: int) -> None:
        position = index
        reader: asyncio.StreamReader | None = None
        writer: asyncio.StreamWriter | None = None
        try:
            while (now := time.perf_counter()) < stop_at and summary.completed < spec.max_requests:
                if reader is None or writer is None:
                    reader, writer = await asyncio.open_connection(spec.host, spec.port)
                payload = payloads[position % len(payloads)]
                position += 1
                sent = time.perf_counter()
                try:
                    writer.write(payload)
                    status = await asyncio.wait_for(read_response(reader), REQUEST_TIMEOUT_S)
                except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
                    writer.close()
                    reader = writer = None
                    if now >= measure_from:
                        summary.errors += 1
                        summary.first_error = summary.first_error or repr(exc)
                    continue
                done = time.perf_counter()
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

    async def mark_cpu() -> None:
        await asyncio.sleep(spec.warmup_s)
        cpu_at_start.append(time.process_time())

    await asyncio.gather(mark_cpu(), *(worker(i) for i in range(spec.concurrency)))
    summary.elapsed_s = min(time.perf_counter(), stop_at) - measure_from
    summary.cpu_s = time.process_time() - (cpu_at_start[0] if cpu_at_start else 0.0)
    return summary


def main() -> None:
    spec = Spec(**json.load(sys.stdin))
    summary = run_async(run(spec))
    json.dump(asdict(summary), sys.stdout)


if __name__ == "__main__":
    main()
