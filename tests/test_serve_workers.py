"""`agentpress serve --workers N`: N processes answer on one port, each with its own pools."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import psycopg
import pytest
from helpers import SECRET_KEY, free_port, serve_process

from agentpress.cli.serve_commands import check_connection_budget, connections_per_worker
from agentpress.settings import Settings, load_settings

STARTUP_SECONDS = 60


def request_pids(log: Path) -> set[int]:
    """The pids of the processes that logged a request to /health so far."""
    pids = set()
    for line in log.read_text().splitlines():
        if line.startswith("{"):
            entry = json.loads(line)
            if entry.get("logger") == "agentpress.request" and entry.get("path") == "/health":
                pids.add(entry["pid"])
    return pids


def test_two_workers_answer_on_one_port(database_url: str, tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "APP_SECRET_KEY": SECRET_KEY,
        "DATA_DIR": str(tmp_path),
        "PORT": str(port),
        "POOL_MIN_SIZE": "1",
        "POOL_MAX_SIZE": "2",
        "REDIS_URL": "off",
        "SCHEDULER_ENABLED": "false",
        "ANALYTICS_REFRESH_ENABLED": "false",
    }
    env.pop("WEB_CONCURRENCY", None)
    log = tmp_path / "serve.log"
    with serve_process(["--workers", "2"], env, log) as server:
        deadline = time.monotonic() + STARTUP_SECONDS
        # Each new connection goes to whichever worker accepts it first: ask until both have answered.
        while len(request_pids(log)) < 2:
            assert server.poll() is None, log.read_text()
            assert time.monotonic() < deadline, f"fewer than two workers answered:\n{log.read_text()}"
            try:
                with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as fresh:
                    assert fresh.get("/health").status_code == 200
            except httpx.TransportError:
                time.sleep(0.1)  # the workers are still starting
        pids = request_pids(log)
        assert len(pids) == 2 and server.pid not in pids, pids
        # uvicorn believes no X-Forwarded-For (proxy_headers off): TRUSTED_PROXIES, empty here, is the only rule,
        # so a loopback client cannot name another address for its session and its rate limits.
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            body = {"email": "peer@example.com", "password": "long enough password"}
            answer = client.post("/api/v1/auth/register", json=body, headers={"X-Forwarded-For": "198.51.100.9"})
            assert answer.status_code == 201, answer.text
        with psycopg.connect(database_url) as conn:
            row = conn.execute("SELECT host(ip) FROM sessions").fetchone()
        assert row == ("127.0.0.1",)
    assert server.returncode == 0, log.read_text()


def test_a_worker_that_cannot_start_fails_the_command(empty_database_url: str, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": empty_database_url,
        "REDIS_URL": "off",
        "PORT": str(free_port()),
        "DATA_DIR": str(tmp_path),
    }
    env.pop("AUTO_MIGRATE", None)
    started = subprocess.run(
        [sys.executable, "-m", "agentpress.cli", "serve", "--workers", "2"],
        env=env,
        capture_output=True,
        text=True,
        timeout=STARTUP_SECONDS,
    )
    assert started.returncode != 0
    assert "pending migration(s)" in started.stderr


def test_a_worker_holds_its_pools_and_the_leader_connection() -> None:
    settings = load_settings(pool_max_size=10, analytics_pool_max_size=4)
    assert connections_per_worker(settings) == 10 + 4 + 1
    replica = load_settings(
        pool_max_size=10,
        analytics_pool_max_size=4,
        database_url="postgresql://primary/agentpress",
        redis_url="off",
        analytics_database_url="postgresql://replica/agentpress",
        analytics_refresh_enabled=False,
    )
    assert connections_per_worker(replica) == 10


def test_the_connection_budget_warns_unless_a_pooler_bounds_the_server(
    database_url: str, make_settings: Callable[..., Settings], caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings()
    with caplog.at_level(logging.WARNING, logger="agentpress.serve"):
        check_connection_budget(database_url, settings, workers=1000)
    assert "but the server accepts" in caplog.text
    caplog.clear()
    # Behind PgBouncer the pools are the pooler's clients: its own limits bound the server's connections.
    pooled = settings.model_copy(update={"database_pooler": "pgbouncer", "direct_database_url": database_url})
    with caplog.at_level(logging.WARNING, logger="agentpress.serve"):
        check_connection_budget(database_url, pooled, workers=1000)
    assert "but the server accepts" not in caplog.text
