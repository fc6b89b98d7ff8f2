"""Liveness, readiness, OpenAPI, startup checks and request logs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
from helpers import free_port
from litestar import Litestar
from litestar.testing import TestClient

from agentpress.db import migrations
from agentpress.settings import Settings
from agentpress.web.app import create_app


def log_lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    """The JSON log lines written to stderr so far."""
    return [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]


def log_messages(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return [line["message"] for line in log_lines(capsys)]


def test_health_answers_200(client: TestClient[Litestar]) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_ready_reports_database_migrations_and_redis(client: TestClient[Litestar]) -> None:
    response = client.get("/ready")
    assert response.status_code == 200, response.text
    assert response.json() == {
        "status": "ready",
        "database": "ok",
        "migrations": "ok",
        "redis": "ok",
        "pending_migrations": [],
        # ANALYTICS_DATABASE_URL is unset: reports run on the main database (test_analytics_replica.py has a standby).
        "analytics_database": None,
    }


def test_ready_is_503_when_redis_is_configured_but_down(make_settings: Callable[..., Settings]) -> None:
    with TestClient(app=create_app(make_settings(redis_url="redis://127.0.0.1:1/0"))) as client:
        response = client.get("/ready")
        assert response.status_code == 503
        assert response.json()["redis"] == "unavailable"
        assert response.json()["database"] == "ok"
        # Liveness does not depend on Redis.
        assert client.get("/health").status_code == 200


def test_with_redis_off_caching_is_off_and_said_once(
    make_settings: Callable[..., Settings], capsys: pytest.CaptureFixture[str]
) -> None:
    with TestClient(app=create_app(make_settings(redis_url="off"))) as client:
        assert client.get("/ready").json()["redis"] == "off"
        assert client.get("/ready").status_code == 200
    assert log_messages(capsys).count("REDIS_URL is off: caching is off") == 1


def test_openapi_schema_and_browsable_ui(client: TestClient[Litestar]) -> None:
    schema = client.get("/schema/openapi.json")
    assert schema.status_code == 200
    operations = {operation["operationId"] for path in schema.json()["paths"].values() for operation in path.values()}
    assert {"get_health", "get_readiness"} <= operations
    ui = client.get("/schema")
    assert ui.status_code == 200
    assert "text/html" in ui.headers["content-type"]


def test_every_route_has_an_operation_id(client: TestClient[Litestar]) -> None:
    for path, item in client.get("/schema/openapi.json").json()["paths"].items():
        for method, operation in item.items():
            assert operation.get("operationId"), f"{method.upper()} {path} has no operation_id"


def test_starting_with_pending_migrations_fails_saying_make_db_migrate(empty_database_url: str) -> None:
    env = {**os.environ, "DATABASE_URL": empty_database_url, "REDIS_URL": "off", "PORT": str(free_port())}
    env.pop("AUTO_MIGRATE", None)
    started = subprocess.run(
        [sys.executable, "-m", "agentpress.cli", "serve"], env=env, capture_output=True, text=True, timeout=60
    )
    assert started.returncode != 0
    ids = migrations.migration_ids()
    assert f"{len(ids)} pending migration(s) ({', '.join(ids)}): run `make db-migrate`" in started.stderr


def test_auto_migrate_applies_pending_migrations_at_startup(
    empty_database_url: str, make_settings: Callable[..., Settings]
) -> None:
    app = create_app(make_settings(database_url=empty_database_url, auto_migrate=True))
    with TestClient(app=app) as client:
        assert client.get("/ready").json()["migrations"] == "ok"
    assert all(status.is_applied for status in migrations.status(empty_database_url))


def test_one_structured_log_line_per_request(client: TestClient[Litestar], capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    client.get("/health")
    client.get("/no/such/route")
    requests = [line for line in log_lines(capsys) if line["logger"] == "agentpress.request"]
    assert [(r["method"], r["path"], r["status"]) for r in requests] == [
        ("GET", "/health", 200),
        ("GET", "/no/such/route", 404),
    ]
    assert all(isinstance(r["duration_ms"], float) for r in requests)
