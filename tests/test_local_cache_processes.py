"""Two `agentpress serve` processes on one database and one Redis, each with its local cache layer: what one of
them changes (a sign-out, sign out everywhere, a rename, a deletion) is seen by the other's very next request,
although the other answered the same requests from its own memory just before."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from helpers import PASSWORD, SECRET_KEY, bearer, free_port, register, serve_process
from prometheus_client.parser import text_string_to_metric_families

TOKEN = "metrics-token-0123456789"
STARTUP_SECONDS = 60
API = "/api/v1"


class Served:
    """One serve process: its client and its log."""

    def __init__(self, port: int, log: Path, server: subprocess.Popen[bytes]) -> None:
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10)
        self.log = log
        self.server = server

    def local_hits(self, cache: str) -> float:
        response = self.client.get("/metrics", headers=bearer(TOKEN))
        assert response.status_code == 200, response.text
        for family in text_string_to_metric_families(response.text):
            for sample in family.samples:
                if sample.name == "agentpress_cache_local_hits_total" and sample.labels == {"cache": cache}:
                    return sample.value
        return 0.0


def wait_for(what: str, check: Callable[[], bool], served: Served, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert served.server.poll() is None, served.log.read_text()
        assert time.monotonic() < deadline, f"{what}:\n{served.log.read_text()[-5000:]}"
        time.sleep(0.1)


def subscribed(served: Served) -> bool:
    return "subscribed to Redis's invalidations" in served.log.read_text()


@pytest.fixture
def two(database_url: str, redis_url: str, tmp_path: Path) -> Iterator[tuple[Served, Served]]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "APP_SECRET_KEY": SECRET_KEY,
        "POOL_MIN_SIZE": "1",
        "POOL_MAX_SIZE": "2",
        "ANALYTICS_POOL_MAX_SIZE": "1",
        "SCHEDULER_ENABLED": "false",
        "ANALYTICS_REFRESH_ENABLED": "false",
        "METRICS_TOKEN": TOKEN,
        "SESSION_CACHE_SECONDS": "60",
        "LOCAL_CACHE_SECONDS": "30",  # longer than the test: only an invalidation can end what B holds
        "PASSWORD_HASH_TIME_COST": "1",
        "PASSWORD_HASH_MEMORY_KIB": "1024",
        "PASSWORD_HASH_PARALLELISM": "1",
    }
    for inherited in ("WEB_CONCURRENCY", "PROMETHEUS_MULTIPROC_DIR"):
        env.pop(inherited, None)
    with ExitStack() as stack:
        both = []
        for name in ("a", "b"):
            port = free_port()
            data = tmp_path / name
            data.mkdir()
            log = tmp_path / f"{name}.log"
            process_env = {**env, "PORT": str(port), "DATA_DIR": str(data)}
            server = stack.enter_context(serve_process(["--workers", "1"], process_env, log))
            served = Served(port, log, server)
            stack.callback(served.client.close)
            both.append(served)
        for served in both:
            wait_for("the local cache never subscribed", lambda s=served: subscribed(s), served, STARTUP_SECONDS)  # type: ignore[misc]
        yield both[0], both[1]


def warm(served: Served, url: str, headers: dict[str, str]) -> None:
    """Read `url` on `served` until both its session and the resource come from its own memory."""
    auth, data = served.local_hits("auth"), served.local_hits("data")
    deadline = time.monotonic() + 10
    while served.local_hits("auth") <= auth or served.local_hits("data") <= data:
        assert time.monotonic() < deadline, "never served from the local layer"
        auth, data = served.local_hits("auth"), served.local_hits("data")
        assert served.client.get(url, headers=headers).status_code == 200
        time.sleep(0.02)


def test_what_one_process_changes_the_other_sees_at_once(two: tuple[Served, Served]) -> None:
    a, b = two
    signed_in = register(a.client, "ada@example.com")
    headers = bearer(signed_in["token"])
    thread = a.client.post(f"{API}/threads", json={"name": "first"}, headers=headers)
    assert thread.status_code == 201, thread.text
    url = f"{API}/threads/{thread.json()['id']}"

    warm(b, url, headers)
    assert a.client.patch(url, json={"name": "renamed"}, headers=headers).status_code == 200
    assert b.client.get(url, headers=headers).json()["name"] == "renamed"

    warm(b, url, headers)
    warm(b, f"{url}/messages", headers)
    hello = {"role": "user", "parts": [{"type": "text", "text": "hello"}]}
    message = a.client.post(f"{url}/messages", json={"messages": [hello]}, headers=headers)
    assert message.status_code == 201, message.text
    items = b.client.get(f"{url}/messages", headers=headers).json()["items"]
    assert [item["parts"][0]["text"] for item in items] == ["hello"]

    warm(b, url, headers)
    assert a.client.delete(url, headers=headers).status_code == 204
    assert b.client.get(url, headers=headers).status_code == 404

    # Sign-out through A: B, which has the session in memory, refuses it on the next request.
    other = a.client.post(f"{API}/threads", json={"name": "other"}, headers=headers).json()
    other_url = f"{API}/threads/{other['id']}"
    warm(b, other_url, headers)
    assert a.client.post(f"{API}/auth/logout", headers=headers).status_code == 204
    assert b.client.get(other_url, headers=headers).status_code == 401

    # Sign out everywhere through A.
    login = a.client.post(f"{API}/auth/login", json={"email": "ada@example.com", "password": PASSWORD})
    assert login.status_code == 200, login.text
    headers = bearer(login.json()["token"])
    warm(b, other_url, headers)
    assert a.client.post(f"{API}/auth/sessions/revoke-all", headers=headers).status_code == 204
    assert b.client.get(other_url, headers=headers).status_code == 401
