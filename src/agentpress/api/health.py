"""Liveness and readiness probes, and the metrics scrape."""

from __future__ import annotations

import hmac
from typing import Any, Literal

import anyio
import psycopg
from litestar import Controller, Request, Response, get
from litestar.datastructures import State
from litestar.exceptions import NotFoundException
from litestar.openapi import ResponseSpec
from prometheus_client.exposition import choose_encoder
from psycopg_pool import PoolTimeout
from pydantic import BaseModel
from redis.exceptions import RedisError

from agentpress.repositories import system
from agentpress.settings import Settings
from agentpress.web.dependencies import AppSettings
from agentpress.web.errors import unauthorized
from agentpress.web.lifespan import Resources, pending_migrations, resources
from agentpress.web.metrics import Exposition, sample_pools

CheckResult = Literal["ok", "off", "unavailable", "pending_migrations"]


class Health(BaseModel):
    status: Literal["ok"]


class AnalyticsDatabase(BaseModel):
    """The server of ANALYTICS_DATABASE_URL, where reports run: usually a hot standby of the primary."""

    status: Literal["ok", "unavailable"]
    is_standby: bool | None = None
    # WAL the standby has received and not replayed yet: changes its reports do not show yet.
    replay_lag_bytes: int | None = None
    # Since the primary committed the last transaction replayed there; this grows too while the primary is idle.
    replay_lag_seconds: float | None = None


class Readiness(BaseModel):
    status: Literal["ready", "not_ready"]
    database: CheckResult
    migrations: CheckResult
    redis: CheckResult
    pending_migrations: list[str] = []
    # Null when ANALYTICS_DATABASE_URL is unset (reports run on the main database). A standby that is down or
    # behind does not make the service unready: only reports depend on it, and they answer 503 themselves.
    analytics_database: AnalyticsDatabase | None = None


# The longest /ready waits for an analytics connection (less when POOL_TIMEOUT is).
READY_WAIT_SECONDS = 0.5


async def analytics_database(found: Resources) -> AnalyticsDatabase:
    """Whether the analytics database answers, is a standby, and how far its replay trails the primary."""
    try:
        # A probe must not hang on a dead standby or a pool full of long reports: probes time out in about 1 s.
        async with found.analytics_pool.connection(
            timeout=min(found.settings.pool_timeout, READY_WAIT_SECONDS)
        ) as conn:
            replication = await system.get_replication_status(conn)
    except (psycopg.Error, PoolTimeout):
        return AnalyticsDatabase(status="unavailable")
    return AnalyticsDatabase(status="ok", **replication.model_dump())


def check_metrics_token(settings: Settings, authorization: str | None) -> None:
    """404 while METRICS_TOKEN is unset (as if there were no such route), 401 without the token."""
    if settings.metrics_token is None:
        raise NotFoundException()
    scheme, _, given = (authorization or "").partition(" ")
    expected = settings.metrics_token.get_secret_value().encode()
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected):
        raise unauthorized("/metrics needs Authorization: Bearer <METRICS_TOKEN>")


class HealthController(Controller):
    path = "/"
    tags = ["health"]  # noqa: RUF012 (Litestar declares it as a plain attribute)

    @get("/health", operation_id="get_health", summary="Liveness: the process answers")
    async def health(self) -> Health:
        return Health(status="ok")

    @get(
        "/ready",
        operation_id="get_readiness",
        summary=(
            "Readiness: database reachable, no pending migrations, Redis reachable when configured;"
            " the analytics database's replay lag when it is a standby"
        ),
        responses={503: ResponseSpec(data_container=Readiness, description="Not ready: the report says why")},
    )
    async def ready(self, state: State) -> Response[Readiness]:
        found = resources(state)
        database: CheckResult = "ok"
        pending: list[str] = []
        try:
            pending = await pending_migrations(found.pool)
        except (psycopg.Error, PoolTimeout):
            database = "unavailable"
        redis: CheckResult = "off"
        if found.redis is not None:
            try:
                await found.redis.ping()
                redis = "ok"
            except (RedisError, OSError):
                redis = "unavailable"
        migrations: CheckResult = "pending_migrations" if pending else ("ok" if database == "ok" else "unavailable")
        is_ready = database == "ok" and not pending and redis != "unavailable"
        report = Readiness(
            status="ready" if is_ready else "not_ready",
            database=database,
            migrations=migrations,
            redis=redis,
            pending_migrations=pending,
            analytics_database=await analytics_database(found) if found.settings.analytics_database_url else None,
        )
        return Response(report, status_code=200 if is_ready else 503)

    # Not in the OpenAPI document: it is for Prometheus, not for the clients generated from it
    # (docs/configuration.md#metrics).
    @get("/metrics", operation_id="get_metrics", include_in_schema=False)
    async def metrics(self, request: Request[Any, Any, Any], state: State, settings: AppSettings) -> Response[bytes]:
        """The series in Prometheus' text format (OpenMetrics when the scraper asks for it)."""
        check_metrics_token(settings, request.headers.get("authorization"))
        exposition: Exposition = state.metrics
        sample_pools(exposition.pools)
        await exposition.reading.refresh()
        encode, content_type = choose_encoder(request.headers.get("accept", ""))
        # With several workers this reads each one's files: I/O, off the event loop.
        body = await anyio.to_thread.run_sync(encode, exposition)
        # As a header: given as media_type, Litestar would add a second charset to a text/ type.
        return Response(content=body, headers={"content-type": content_type})
