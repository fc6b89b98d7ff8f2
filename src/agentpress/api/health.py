"""Liveness and readiness probes."""

from __future__ import annotations

from typing import Literal

import psycopg
from litestar import Controller, Response, get
from litestar.datastructures import State
from litestar.openapi import ResponseSpec
from psycopg_pool import PoolTimeout
from pydantic import BaseModel
from redis.exceptions import RedisError

from agentpress.repositories import system
from agentpress.web.lifespan import Resources, pending_migrations, resources

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


async def analytics_database(found: Resources) -> AnalyticsDatabase:
    """Whether the analytics database answers, is a standby, and how far its replay trails the primary."""
    try:
        # No longer than a request would wait for a connection: a probe must not hang on a dead standby.
        async with found.analytics_pool.connection(timeout=found.settings.pool_timeout) as conn:
            replication = await system.get_replication_status(conn)
    except (psycopg.Error, PoolTimeout):
        return AnalyticsDatabase(status="unavailable")
    return AnalyticsDatabase(status="ok", **replication.model_dump())


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
