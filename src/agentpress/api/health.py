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

from agentpress.web.lifespan import pending_migrations, resources

CheckResult = Literal["ok", "off", "unavailable", "pending_migrations"]


class Health(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ready", "not_ready"]
    database: CheckResult
    migrations: CheckResult
    redis: CheckResult
    pending_migrations: list[str] = []


class HealthController(Controller):
    path = "/"
    tags = ["health"]  # noqa: RUF012 (Litestar declares it as a plain attribute)

    @get("/health", operation_id="get_health", summary="Liveness: the process answers")
    async def health(self) -> Health:
        return Health(status="ok")

    @get(
        "/ready",
        operation_id="get_readiness",
        summary="Readiness: database reachable, no pending migrations, Redis reachable when configured",
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
        )
        return Response(report, status_code=200 if is_ready else 503)
