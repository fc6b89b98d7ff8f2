"""The service behind PgBouncer in transaction mode (DATABASE_POOLER=pgbouncer), an alias per pool.

Each test starts its own pgbouncer on a loopback port in front of the embedded server's unix socket. Where no
`pgbouncer` binary is installed (`.ci/run` installs Debian's with apt when it can), the tests skip and say so.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fixtures import widgets
from helpers import EmbeddedServer, api_key, bearer, free_port, make_platform_admin, register
from litestar.testing import TestClient

from agentpress.settings import Settings
from agentpress.web.app import create_app

# Debian installs it in /usr/sbin, which is not on every user's PATH.
PGBOUNCER = shutil.which("pgbouncer") or shutil.which("pgbouncer", path="/usr/sbin:/usr/local/sbin")
pytestmark = pytest.mark.skipif(
    PGBOUNCER is None, reason="no pgbouncer binary on PATH (apt-get install pgbouncer; .ci/run does it as root)"
)


@dataclass(frozen=True)
class Bouncer:
    """A running pgbouncer: the URLs of its two aliases, `main` and `analytics`, for one database."""

    main_url: str
    analytics_url: str


@pytest.fixture
def start_pgbouncer(embedded_server: EmbeddedServer, tmp_path: Path) -> Iterator[Callable[..., Bouncer]]:
    """Start pgbouncer in transaction mode with an alias per pool in front of `dbname`, each alias setting its
    pool's limits in connect_query; stopped after the test."""
    processes: list[subprocess.Popen[bytes]] = []

    def start(
        dbname: str,
        *,
        main_ms: int = 5_000,
        analytics_ms: int = 30_000,
        idle_ms: int = 10_000,
        pool_size: int = 2,
    ) -> Bouncer:
        assert PGBOUNCER is not None
        port = free_port()
        server = f"host={embedded_server.host} port={embedded_server.port} dbname={dbname}"
        (tmp_path / "users.txt").write_text(f'"{embedded_server.user}" ""\n')
        ini = tmp_path / "pgbouncer.ini"
        ini.write_text(
            "[databases]\n"
            f"main = {server} connect_query='SET statement_timeout = {main_ms}; "
            f"SET idle_in_transaction_session_timeout = {idle_ms}'\n"
            f"analytics = {server} connect_query='SET statement_timeout = {analytics_ms}; "
            f"SET idle_in_transaction_session_timeout = {idle_ms}'\n"
            "[pgbouncer]\n"
            "listen_addr = 127.0.0.1\n"
            f"listen_port = {port}\n"
            # No unix socket of its own: the loopback port is the one way in.
            "unix_socket_dir =\n"
            "auth_type = trust\n"
            f"auth_file = {tmp_path / 'users.txt'}\n"
            "pool_mode = transaction\n"
            # Fewer server connections than the app's pools hold: transactions of different client
            # connections share server connections, as they do in production.
            f"default_pool_size = {pool_size}\n"
        )
        command = [PGBOUNCER, str(ini)]
        if os.geteuid() == 0:
            # pgbouncer refuses to run as root; as the embedded server's system user it can reach the server's
            # socket in its data directory. It reads its files before it switches user.
            command[1:1] = ["-u", pwd.getpwuid(embedded_server.pgdata.stat().st_uid).pw_name]
        log_path = tmp_path / "pgbouncer.log"
        with log_path.open("wb") as log_file:
            processes.append(subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT))
        bouncer = Bouncer(
            main_url=f"postgresql://{embedded_server.user}@127.0.0.1:{port}/main",
            analytics_url=f"postgresql://{embedded_server.user}@127.0.0.1:{port}/analytics",
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                psycopg.connect(bouncer.main_url, connect_timeout=2).close()
                return bouncer
            except psycopg.OperationalError:
                if processes[-1].poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"pgbouncer did not start: {log_path.read_text()}") from None
                time.sleep(0.05)

    yield start
    for process in processes:
        process.terminate()
        process.wait(timeout=10)


def dbname(url: str) -> str:
    return url.split("@/")[1].split("?")[0]


def behind(bouncer: Bouncer, make_settings: Callable[..., Settings], database_url: str, **overrides: Any) -> Settings:
    """Settings for an app whose pools go through `bouncer`, with psycopg's prepared statements off (1.18 < 1.21)."""
    return make_settings(
        database_url=bouncer.main_url,
        analytics_database_url=bouncer.analytics_url,
        # The loops that elect a leader hold a session-level advisory lock: not through the pooler.
        direct_database_url=database_url,
        database_pooler="pgbouncer",
        database_prepare=False,
        **overrides,
    )


def limit_warnings(capsys: pytest.CaptureFixture[str]) -> list[str]:
    """The pools' warnings about limits that differ from the settings, from the JSON log lines on stderr."""
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    return [line["message"] for line in lines if line["logger"] == "agentpress.db.pools"]


def test_the_smoke_path_runs_through_pgbouncer_in_transaction_mode(
    start_pgbouncer: Callable[..., Bouncer], make_settings: Callable[..., Settings], database_url: str
) -> None:
    bouncer = start_pgbouncer(dbname(database_url))
    settings = behind(bouncer, make_settings, database_url)
    with TestClient(app=create_app(settings)) as client:
        admin = bearer(make_platform_admin(database_url, register(client, "admin@example.com"))["token"])
        agent = client.post("/api/v1/agents", json={"name": "Support bot"}, headers=admin)
        assert agent.status_code == 201, agent.text
        thread = client.post("/api/v1/threads", json={"name": "Chat", "agent_id": agent.json()["id"]}, headers=admin)
        assert thread.status_code == 201, thread.text
        messages = f"/api/v1/threads/{thread.json()['id']}/messages"
        runtime = api_key(client, admin, ["messages:read", "messages:write"], name="runtime")
        # More rounds than psycopg's prepare threshold (5): with prepared statements on, PgBouncer 1.18 would
        # hand a later execution to a server connection that never saw the PREPARE.
        for number in range(8):
            body = {"messages": [{"role": "user", "parts": [{"type": "text", "text": f"hello {number}"}]}]}
            appended = client.post(messages, json=body, headers=runtime if number % 2 else admin)
            assert appended.status_code == 201, appended.text
            page = client.get(messages, headers=admin)
            assert page.status_code == 200, page.text
            assert len(page.json()["items"]) == number + 1
            # A page of threads carries its total (one statement).
            listed = client.get("/api/v1/threads", headers=admin)
            assert (listed.status_code, listed.json()["total"]) == (200, 1), listed.text
        report = client.get("/api/v1/analytics/usage", headers=admin)
        assert report.status_code == 200, report.text
        assert client.get(f"/api/v1/threads/{thread.json()['id']}", headers=admin).json()["message_count"] == 8


def test_each_pool_has_the_limits_of_its_alias(
    start_pgbouncer: Callable[..., Bouncer],
    make_settings: Callable[..., Settings],
    widgets_database_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bouncer = start_pgbouncer(dbname(widgets_database_url), main_ms=1234, idle_ms=4321)
    settings = behind(
        bouncer,
        make_settings,
        widgets_database_url,
        statement_timeout_ms=1234,
        idle_in_transaction_session_timeout_ms=4321,
    )
    with TestClient(app=create_app(settings, route_handlers=[widgets.WidgetController])) as api:
        assert api.get("/test/widgets/settings/statement_timeout").json() == {"main": "1234ms", "analytics": "30s"}
        idle = api.get("/test/widgets/settings/idle_in_transaction_session_timeout").json()
        assert idle == {"main": "4321ms", "analytics": "4321ms"}
    assert limit_warnings(capsys) == []


def test_an_alias_without_the_limits_the_settings_ask_for_is_logged(
    start_pgbouncer: Callable[..., Bouncer],
    make_settings: Callable[..., Settings],
    widgets_database_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bouncer = start_pgbouncer(dbname(widgets_database_url), main_ms=0)
    settings = behind(bouncer, make_settings, widgets_database_url)
    with TestClient(app=create_app(settings, route_handlers=[widgets.WidgetController])) as api:
        for _ in range(3):
            assert api.get("/test/widgets/settings/statement_timeout").json() == {"main": "0", "analytics": "30s"}
    # Once per pool, however many connections it opens.
    warnings = limit_warnings(capsys)
    assert len(warnings) == 1, warnings
    assert "the main pool's connections have statement_timeout=0ms where the settings ask for" in warnings[0]


def test_pgbouncer_refuses_the_startup_options_a_direct_connection_carries(
    start_pgbouncer: Callable[..., Bouncer], database_url: str
) -> None:
    # Why DATABASE_POOLER exists: the options the pools send a direct connection end the connection here.
    bouncer = start_pgbouncer(dbname(database_url))
    with pytest.raises(psycopg.OperationalError, match="unsupported startup parameter: options"):
        psycopg.connect(bouncer.main_url, options="-c statement_timeout=5000", connect_timeout=5).close()
