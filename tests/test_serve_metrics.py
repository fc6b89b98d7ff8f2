"""`agentpress serve --workers 2`: a scrape of /metrics, whichever worker answers it, adds up both workers' series;
a worker that dies leaves its counts in the sums and its gauges out of them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from helpers import SECRET_KEY, bearer, free_port, serve_process
from prometheus_client.parser import text_string_to_metric_families

TOKEN = "metrics-token-0123456789"
STARTUP_SECONDS = 60
REQUESTS = 40
POOL_MAX_SIZE = 2
LEADER = ("agentpress_loop_leader", (("loop", "analytics refresh"),))


def log_entries(log: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]


def health_requests_by_pid(log: Path) -> Counter[int]:
    return Counter(
        int(str(entry["pid"]))
        for entry in log_entries(log)
        if entry.get("logger") == "agentpress.request" and entry.get("path") == "/health"
    )


def get_health(port: int) -> bool:
    """One request on a fresh connection (each may go to either worker); False while nothing listens yet."""
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as fresh:
            assert fresh.get("/health").status_code == 200
    except httpx.TransportError:
        return False
    return True


def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as fresh:
        response = fresh.get("/metrics", headers=bearer(TOKEN))
    assert response.status_code == 200, response.text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def leaders(log: Path) -> list[int]:
    """The pids that took the lead of the analytics refresh, in order."""
    return [
        int(str(entry["pid"]))
        for entry in log_entries(log)
        if str(entry.get("message", "")).startswith("this process leads analytics refresh")
    ]


def health_count(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float]) -> float:
    labels = (("method", "GET"), ("route", "/health"), ("status", "200"))
    return samples.get(("agentpress_http_request_duration_seconds_count", labels), 0.0)


def pool_max(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float]) -> float:
    return samples.get(("agentpress_db_pool_max", (("pool", "main"),)), 0.0)


def wait_for(
    what: str, check: Callable[[], bool], log: Path, server: subprocess.Popen[bytes], seconds: float = 30
) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert server.poll() is None, log.read_text()
        assert time.monotonic() < deadline, f"{what}:\n{log.read_text()[-5000:]}"
        time.sleep(0.2)


@pytest.fixture
def served(database_url: str, redis_url: str, tmp_path: Path) -> Iterator[tuple[int, Path, subprocess.Popen[bytes]]]:
    """`serve --workers 2` on a loopback port, with METRICS_TOKEN and the elected analytics refresh loop."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "APP_SECRET_KEY": SECRET_KEY,
        "DATA_DIR": str(tmp_path),
        "PORT": str(port),
        "POOL_MIN_SIZE": "1",
        "POOL_MAX_SIZE": str(POOL_MAX_SIZE),
        "ANALYTICS_POOL_MAX_SIZE": "1",
        "REDIS_URL": redis_url,
        "SCHEDULER_ENABLED": "false",
        "ANALYTICS_REFRESH_ENABLED": "true",
        "ANALYTICS_REFRESH_SECONDS": "1",
        "METRICS_TOKEN": TOKEN,
    }
    for inherited in ("WEB_CONCURRENCY", "PROMETHEUS_MULTIPROC_DIR"):
        env.pop(inherited, None)
    log = tmp_path / "serve.log"
    with serve_process(["--workers", "2"], env, log) as server:
        yield port, log, server


def test_a_scrape_adds_up_both_workers(served: tuple[int, Path, subprocess.Popen[bytes]]) -> None:
    port, log, server = served
    wait_for("the workers never answered", lambda: get_health(port), log, server, STARTUP_SECONDS)
    # Until both workers have answered, then REQUESTS more, each on a connection of its own.
    wait_for(
        "fewer than two workers answered",
        lambda: get_health(port) and len(health_requests_by_pid(log)) >= 2,
        log,
        server,
    )
    for _ in range(REQUESTS):
        assert get_health(port)
    served_by = health_requests_by_pid(log)
    total = sum(served_by.values())
    assert len(served_by) == 2 and server.pid not in served_by, served_by
    # Each worker counted only its own requests; every scrape, whichever worker answers, shows them all.
    for _ in range(4):
        samples = scrape(port)
        assert health_count(samples) >= total > max(served_by.values())
        assert pool_max(samples) == 2 * POOL_MAX_SIZE
    # One worker leads the loop: the sum over the workers is 1.
    wait_for("no worker leads", lambda: scrape(port).get(LEADER) == 1, log, server)

    # The leader dies: uvicorn starts another worker, the loop's lead passes on, and the dead worker's gauges
    # (its pool, its lead) leave the sums while its requests stay counted.
    [leader_pid] = leaders(log)
    before = health_count(scrape(port))
    os.kill(leader_pid, signal.SIGKILL)
    wait_for(
        "no new worker answered",
        lambda: get_health(port) and len(set(health_requests_by_pid(log)) - {leader_pid}) >= 2,
        log,
        server,
        STARTUP_SECONDS,
    )
    wait_for("the lead did not pass on", lambda: len(leaders(log)) == 2, log, server)
    samples = scrape(port)
    assert samples.get(LEADER) == 1
    assert pool_max(samples) == 2 * POOL_MAX_SIZE
    assert health_count(samples) >= before
