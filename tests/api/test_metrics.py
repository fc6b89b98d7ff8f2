"""GET /metrics behind METRICS_TOKEN, the series it shows moving with real requests, pools, caches, the queue, the
outbox and the leader; and the X-Request-Id every request gets, in its response, its log lines and 5xx bodies."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from helpers import People, bearer, free_port, headers
from litestar import Litestar, get
from litestar.testing import TestClient
from prometheus_client.parser import text_string_to_metric_families

from agentpress.settings import ConfigError, Settings
from agentpress.web.app import create_app
from agentpress.web.lifespan import Resources

TOKEN = "metrics-token-0123456789"
REQUESTS = "agentpress_http_request_duration_seconds"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@get("/test/boom", operation_id="test_boom")
async def boom() -> None:
    raise RuntimeError("a bug")


@pytest.fixture
def metered(make_settings: Callable[..., Settings]) -> Callable[..., TestClient[Litestar]]:
    """Start the service with METRICS_TOKEN set and a route that fails with a 500; keyword arguments override."""

    def start(**overrides: object) -> TestClient[Litestar]:
        settings = make_settings(metrics_token=TOKEN, **overrides)
        return TestClient(app=create_app(settings, route_handlers=[boom]), raise_server_exceptions=False)

    return start


@pytest.fixture
def client(metered: Callable[..., TestClient[Litestar]]) -> Iterator[TestClient[Litestar]]:
    with metered() as started:
        yield started


def scrape(client: TestClient[Litestar]) -> Samples:
    response = client.get("/metrics", headers=bearer(TOKEN))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def log_lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]


def test_metrics_needs_the_token(client: TestClient[Litestar], make_settings: Callable[..., Settings]) -> None:
    assert client.get("/metrics").status_code == 401
    wrong = client.get("/metrics", headers=bearer("not-the-metrics-token"))
    assert wrong.status_code == 401 and wrong.json()["code"] == "unauthorized"
    assert wrong.headers["www-authenticate"] == "Bearer"
    assert client.get("/metrics", headers={"Authorization": f"bearer {TOKEN}"}).status_code == 200
    # OpenMetrics for a scraper that asks for it.
    openmetrics = client.get("/metrics", headers={**bearer(TOKEN), "Accept": "application/openmetrics-text"})
    assert openmetrics.headers["content-type"].startswith("application/openmetrics-text")
    assert openmetrics.text.endswith("# EOF\n")
    # Unset, there is no such route as far as anyone can tell; and it is not in the OpenAPI document.
    with TestClient(app=create_app(make_settings())) as without:
        assert without.get("/metrics", headers=bearer(TOKEN)).status_code == 404
        assert "/metrics" not in without.get("/schema/openapi.json").json()["paths"]


def test_a_short_token_is_refused(make_settings: Callable[..., Settings]) -> None:
    with pytest.raises(ConfigError, match=r"METRICS_TOKEN: .*at least 16 characters"):
        make_settings(metrics_token="short")


def test_requests_are_counted_by_route_template_method_and_status(client: TestClient[Litestar]) -> None:
    route = "/api/v1/threads/{thread_id}"
    before = scrape(client)
    for _ in range(3):  # three threads, one route: the id is not a label
        assert client.get(f"/api/v1/threads/{uuid.uuid4()}").status_code == 401
    assert client.get("/no/such/route").status_code == 404
    assert client.request("BREW", "/no/such/route").status_code in (404, 405)
    after = scrape(client)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved(f"{REQUESTS}_count", route=route, method="GET", status="401") == 3
    assert moved(f"{REQUESTS}_bucket", route=route, method="GET", status="401", le="+Inf") == 3
    assert moved(f"{REQUESTS}_sum", route=route, method="GET", status="401") > 0
    assert moved(f"{REQUESTS}_count", route="unmatched", method="GET", status="404") == 1
    unmatched_other = [key for key in after if key[0] == f"{REQUESTS}_count" and ("method", "other") in key[1]]
    assert unmatched_other and all(("route", "unmatched") in key[1] for key in unmatched_other)
    # No series names a path with an id in it.
    assert not [key for key in after if any(re.search(r"[0-9a-f]{8}-", v) for _, v in key[1])]


def test_every_request_gets_an_id_in_its_response_and_its_log_line(
    client: TestClient[Litestar], capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    generated = client.get("/health").headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
    assert client.get("/health").headers["x-request-id"] != generated
    kept = "0b7e6c1a-trace.id:42_X"
    assert client.get("/no/such/route", headers={"X-Request-Id": kept}).headers["x-request-id"] == kept
    for malformed in ("x" * 129, "has space", 'quote"d', ""):
        replaced = client.get("/health", headers={"X-Request-Id": malformed}).headers["x-request-id"]
        assert re.fullmatch(r"[0-9a-f]{32}", replaced), malformed
    requests = [line for line in log_lines(capsys) if line["logger"] == "agentpress.request"]
    assert requests[0]["request_id"] == generated and requests[0]["route"] == "/health"
    assert requests[2]["request_id"] == kept and requests[2]["route"] == "unmatched"
    assert len({line["request_id"] for line in requests}) == len(requests)


def test_a_5xx_body_and_its_log_lines_carry_the_request_id(
    client: TestClient[Litestar], capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    response = client.get("/test/boom", headers={"X-Request-Id": "client-chosen-1"})
    assert response.status_code == 500
    assert response.headers.get_list("x-request-id") == ["client-chosen-1"]
    assert response.json() == {
        "status_code": 500,
        "code": "internal_error",
        "detail": "internal error",
        "errors": [],
        "request_id": "client-chosen-1",
    }
    lines = log_lines(capsys)
    failure = next(line for line in lines if line["message"] == "unhandled error")
    assert failure["request_id"] == "client-chosen-1" and "RuntimeError: a bug" in failure["exception"]
    assert [line["request_id"] for line in lines if line["logger"] == "agentpress.request"] == ["client-chosen-1"]
    # A 4xx body stays as it was: the id is in its header.
    assert "request_id" not in client.get("/no/such/route").json()


def test_pool_series_show_size_use_and_waiting(client: TestClient[Litestar]) -> None:
    resources: Resources = client.app.state.resources
    samples = scrape(client)
    assert value(samples, "agentpress_db_pool_max", pool="main") == 4  # make_settings' POOL_MAX_SIZE
    assert value(samples, "agentpress_db_pool_max", pool="analytics") == 4
    assert value(samples, "agentpress_db_pool_connections", pool="main") >= 1
    assert ("agentpress_db_pool_waiting", frozenset({("pool", "main")})) in samples
    held = [client.blocking_portal.call(resources.pool.getconn) for _ in range(2)]
    try:
        in_use = value(scrape(client), "agentpress_db_pool_in_use", pool="main")
        assert in_use >= 2
    finally:
        for conn in held:
            client.blocking_portal.call(resources.pool.putconn, conn)
    assert value(scrape(client), "agentpress_db_pool_in_use", pool="main") == in_use - 2


def test_cache_hits_and_misses_are_counted(metered: Callable[..., TestClient[Litestar]], database_url: str) -> None:
    # The session cache on: the first request with a token loads it, the next ones are hits.
    with metered(session_cache_seconds=60) as client:
        people = People(client, database_url)
        people.add("reader")
        before = scrape(client)
        for _ in range(3):
            assert client.get("/api/v1/auth/me", headers=headers(people, "reader")).status_code == 200
        after = scrape(client)
    misses = value(after, "agentpress_cache_misses_total", cache="auth") - value(
        before, "agentpress_cache_misses_total", cache="auth"
    )
    hits = value(after, "agentpress_cache_hits_total", cache="auth") - value(
        before, "agentpress_cache_hits_total", cache="auth"
    )
    assert misses >= 1 and hits >= 2 and misses + hits >= 3


def test_redis_failures_are_counted(metered: Callable[..., TestClient[Litestar]], database_url: str) -> None:
    # A Redis that is not there (nothing listens on the port): every read goes to the database, and says why.
    with metered(session_cache_seconds=60, redis_url=f"redis://127.0.0.1:{free_port()}/0") as client:
        people = People(client, database_url)
        people.add("reader")
        before = scrape(client)
        assert client.get("/api/v1/auth/me", headers=headers(people, "reader")).status_code == 200
        after = scrape(client)
    failed = value(after, "agentpress_cache_redis_failures_total", cache="auth", operation="get") - value(
        before, "agentpress_cache_redis_failures_total", cache="auth", operation="get"
    )
    assert failed >= 1


def test_queue_and_outbox_are_read_at_scrape_time_and_cached(
    metered: Callable[..., TestClient[Litestar]], database_url: str
) -> None:
    with metered() as client:
        people = People(client, database_url)
        people.add("owner", org_role="owner")
        agent = people.agent("owner")
        for _ in range(3):
            created = client.post("/api/v1/tasks", json={"agent_id": agent}, headers=headers(people, "owner"))
            assert created.status_code == 201, created.text
        claimed = client.post("/api/v1/tasks/claim", json={"worker_id": "w1"}, headers=headers(people, "owner"))
        assert claimed.status_code == 200 and len(claimed.json()) == 1, claimed.text
        with psycopg.connect(database_url) as conn:
            # Not due for an hour: the outbox loop leaves it alone, and it stays in the backlog.
            conn.execute(
                "INSERT INTO email_outbox (kind, to_email, subject, body, next_attempt_at) "
                "VALUES ('invitation', 'someone@example.com', 'hi', '\\x00', now() + interval '1 hour')"
            )
        samples = scrape(client)
        assert value(samples, "agentpress_task_queue_depth", status="queued") == 2
        assert value(samples, "agentpress_task_queue_depth", status="running") == 1
        assert value(samples, "agentpress_outbox_backlog") == 1
        # Read again only after a few seconds, however often it is scraped.
        assert (
            client.post("/api/v1/tasks", json={"agent_id": agent}, headers=headers(people, "owner")).status_code == 201
        )
        assert value(scrape(client), "agentpress_task_queue_depth", status="queued") == 2


def test_the_leader_of_a_loop_shows(metered: Callable[..., TestClient[Litestar]]) -> None:
    leading = ("agentpress_loop_leader", frozenset({("loop", "analytics refresh")}))
    with metered() as client:
        before = scrape(client).get(leading, 0.0)
    with metered(analytics_refresh_enabled=True, analytics_refresh_seconds=0.2) as client:
        deadline = time.monotonic() + 10
        while (now := scrape(client).get(leading)) != before + 1:
            assert time.monotonic() < deadline, f"never led: {now}"
            time.sleep(0.1)
    # Stopped: the process leads no more.
    with metered() as client:
        assert scrape(client)[leading] == before
